"""Templates (issue 20, item 1) on both databases: a lead keeps them (audited), an agent
cannot; they fill from the ticket's plain facts; the sandbox refuses internals, huge loops
and output past its limit; a reply from a template makes its changes under the same rules
as by hand, in the same transaction; the reply reaches a real SMTP server filled."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from supportdesk.core.desk import Desk
from supportdesk.errors import InvalidTransition, NotAllowed, NotFound, UsageError
from supportdesk.rules import templating
from supportdesk.services import escalation, templates, tickets
from supportdesk.services.outbox.config import load_config
from supportdesk.services.outbox.sending import send_due
from supportdesk.services.outbox.transports import open_transport
from tests.helpers.desk import T0, DeskFactory, dump, new_ticket
from tests.helpers.smtp import Tls, smtp_server, with_mail, write_config

BODY = (
    "Hello {{ contact.first_name }},\n\n"
    "Ticket #{{ ticket.id }} ({{ ticket.subject }}) is {{ ticket.status }}, "
    "{{ ticket.priority }} priority. We answer within {{ plan.respond_target }}.\n"
    "{% if incident.title %}Incident: {{ incident.title }}{% endif %}"
    "-- {{ agent.first_name }} ({{ agent.login }})"
)


def add_waiting(desk: Desk, **kw: str) -> None:
    templates.add(
        desk,
        "need-logs",
        "reply",
        "Logs for {{ ticket.subject }}\r\nBcc: evil@example.com",
        BODY,
        set_status=kw.get("status", "pending_customer"),
        set_category=kw.get("category"),
        set_priority=kw.get("priority"),
    )


def test_a_lead_keeps_templates_audited_and_an_agent_cannot(make_desk: DeskFactory, desk: Desk):
    add_waiting(desk)
    [t] = templates.list_templates(desk)
    assert (t.name, t.kind, t.set_status) == ("need-logs", "reply", "pending_customer")
    templates.edit(desk, "need-logs", set_status="", set_priority="high")
    t = templates.show(desk, "need-logs")
    assert (t.set_status, t.set_priority) == (None, "high")
    actions = [a for (a,) in desk.store.query("SELECT action FROM audit WHERE entity = 'template'")]
    assert actions == ["template.add", "template.edit"]
    amir = make_desk("amir")
    before = dump(desk.store)
    for attempt in (
        lambda: templates.add(amir, "mine", "reply", "", "hi"),
        lambda: templates.edit(amir, "need-logs", body="hi"),
        lambda: templates.remove(amir, "need-logs"),
    ):
        with pytest.raises(NotAllowed, match="changing templates is for leads"):
            attempt()
    assert dump(desk.store) == before
    assert [x.name for x in templates.list_templates(amir)] == ["need-logs"]  # agents read
    with pytest.raises(UsageError, match="already exists"):
        templates.add(desk, "need-logs", "reply", "", "x")
    with pytest.raises(UsageError, match="unknown kind"):
        templates.add(desk, "other", "sonnet", "", "x")
    with pytest.raises(UsageError, match=r"unknown placeholder ticket\.pin_hash"):
        templates.add(desk, "other", "reply", "", "{{ ticket.pin_hash }}")
    with pytest.raises(UsageError, match=r"unknown placeholder contact\.pin_hash"):
        templates.add(desk, "other", "reply", "", "{{ contact.pin_hash }}")
    templates.remove(desk, "need-logs")
    with pytest.raises(NotFound):
        templates.show(desk, "need-logs")


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("{{ ''.__class__ }}", "unsafe"),
        ("{{ cycler.__init__.__globals__ }}", "unsafe"),
        ("{{ ticket.subject.__class__.__mro__ }}", "unsafe"),
        ("{{ range.__globals__ }}", "unsafe"),
        ("{% for i in range(100000000) %}x{% endfor %}", "past 100000"),
        ("{% for i in range(5000) %}x{% endfor %}", "at most 1000"),
        ("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", "10000"),
        ("{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}", "longer than 100000"),
        ("{{ 'a' * 1000000000 }}", "repetition"),
        ("{{ 9 ** 9 ** 9 }}", "pow is not allowed"),
        ("{{ '%999999999s' % 'a' }}", "formatting text"),
        ("{{ ticket.subject.center(1000000) }}", "not allowed"),
        ("{{ ticket.subject|center(1000000) }}", "No filter named 'center'"),
        ("{% set a = 'x' %}", "assign is not allowed"),
        ("{% include 'x' %}", "include is not allowed"),
        ("{{ lipsum(9999) }}", "unknown placeholder lipsum"),
        ("{{ ticket.items() }}", "not allowed"),
        ("x" * (templating.SOURCE_LIMIT + 1), "longer than"),
        ("{{ ticket }}", "ticket is a group of placeholders"),  # printed a Python dict
    ],
)
def test_unsafe_templates_are_refused_when_saved(desk: Desk, source: str, why: str):
    before = dump(desk.store)
    with pytest.raises(UsageError, match=re.escape(why)):
        templates.add(desk, "bad", "reply", "", source)
    assert dump(desk.store) == before


def test_a_reply_from_a_template_fills_sends_and_sets_the_status(
    make_desk: DeskFactory, desk: Desk
):
    add_waiting(desk, category="billing")
    tid = new_ticket(desk, "Site down", contact_email="priya@bluefin.example")
    amir = make_desk("amir")
    filled = templates.fill(amir, tid, "need-logs")
    assert filled.subject == "Logs for Site down Bcc: evil@example.com"  # one line
    assert filled.body.startswith(f"Hello Priya,\n\nTicket #{tid} (Site down) is new, medium")
    assert filled.body.endswith("-- Amir (amir)")
    mailed = templates.reply_with(amir, tid, "need-logs")
    assert mailed.queued
    t = tickets.show(desk, tid)
    assert (t.status, t.category) == ("pending_customer", "billing")
    [reply] = [e for e in t.events if e.kind == "reply"]
    assert reply.body == filled.body.strip() and reply.author == "amir"
    subject, body = desk.store.query(
        "SELECT subject, body FROM outbox WHERE ticket_id = ? AND kind = 'reply'", (tid,)
    )[0]
    assert subject == f"Re: Logs for Site down Bcc: evil@example.com [#{tid}]"
    assert "\n" not in subject and "\r" not in subject
    assert body.startswith(filled.body.strip())
    actions = [a for (a,) in desk.store.query("SELECT action FROM audit ORDER BY seq DESC LIMIT 4")]
    assert actions[::-1] == ["ticket.reply", "ticket.category", "ticket.status", "template.used"]
    # an edited text goes instead of the filled one
    templates.edit(desk, "need-logs", set_status="", set_category="")
    templates.reply_with(amir, tid, "need-logs", body="Edited by hand.")
    assert tickets.show(desk, tid).events[-1].body == "Edited by hand."


def test_text_from_outside_fills_a_template_as_visible_escapes(make_desk: DeskFactory, desk: Desk):
    """A customer's subject with ESC ] 0 ; ... BEL and ESC [ 2 J: the filled reply (what the
    reply editor shows, what the customer gets) has them as visible escapes; they set the
    agent's terminal title and cleared the screen from the editor (an attacking helper)."""
    templates.add(desk, "fw", "reply", "", "Re {{ ticket.subject }}:\nfixed by {{ agent.name }}")
    tid = new_ticket(
        desk, "Site down \x1b]0;HACKED\x07 \x1b[2J please", contact_email="priya@bluefin.example"
    )
    filled = templates.fill(make_desk("amir"), tid, "fw")
    assert filled.body == "Re Site down ␛]0;HACKED␇ ␛[2J please:\nfixed by Amir Patel"
    templates.reply_with(make_desk("amir"), tid, "fw")
    [(body,)] = desk.store.query(
        "SELECT body FROM outbox WHERE ticket_id = ? AND kind = 'reply'", (tid,)
    )
    assert "\x1b" not in body and "\x07" not in body and "␛]0;HACKED␇" in body
    # a template's own control characters (saved before, or by a lead) go out visible too
    templates.add(desk, "raw", "reply", "Done \x1b[2J", "Fixed.\x1b]0;pwned\x07\n\tBye")
    raw = templates.fill(make_desk("amir"), tid, "raw")
    assert (raw.subject, raw.body) == ("Done ␛[2J", "Fixed.␛]0;pwned␇\n    Bye")


def test_a_templates_changes_obey_the_rules_by_hand_and_nothing_is_sent(
    make_desk: DeskFactory, desk: Desk
):
    tid = new_ticket(desk, "Site down", contact_email="priya@bluefin.example")
    tickets.update_fields(desk, tid, priority="high")
    tickets.update_fields(desk, tid, status="resolved", code="fixed")
    templates.add(desk, "reopen-new", "reply", "", "Hi", set_status="scheduled")
    before = dump(desk.store)
    with pytest.raises(InvalidTransition):  # resolved -> scheduled is not a transition
        templates.reply_with(desk, tid, "reopen-new")
    assert dump(desk.store) == before  # the reply went with it: one transaction
    # an engineer's tier-2 ticket: an agent may not reply from a template, nor by hand
    tid2 = new_ticket(desk, "Disk full", contact_email="priya@bluefin.example")
    escalation.escalate(desk, tid2, reason="needs an engineer")
    amir = make_desk("amir")
    with pytest.raises(NotAllowed):
        tickets.reply(amir, tid2, "Hi")
    with pytest.raises(NotAllowed):
        templates.reply_with(amir, tid2, "reopen-new")


def test_an_automatic_kind_is_not_a_reply(desk: Desk):
    templates.add(desk, "ack", "acknowledgement", "", "We have #{{ ticket.id }}.")
    tid = new_ticket(desk)
    with pytest.raises(UsageError, match="is a acknowledgement template, not a reply"):
        templates.reply_with(desk, tid, "ack")


def test_a_reply_from_a_template_reaches_the_smtp_server_filled(
    make_desk: DeskFactory, desk: Desk, tmp_path: Path
):
    with_mail(desk)
    d = make_desk("lena", T0 + timedelta(minutes=1))
    add_waiting(desk)
    tid = new_ticket(d, "Mail bouncing", contact_email="priya@bluefin.example")
    templates.reply_with(d, tid, "need-logs")
    tls = Tls.make(tmp_path)
    with smtp_server(tls) as srv:
        cfg = load_config(write_config(tmp_path, srv, tls))
        send_due(d, open_transport(cfg), lease_s=cfg.lease_s)
    got = [m for m in srv.messages if f"[#{tid}]" in m.message["Subject"]]
    assert [m.message["Subject"] for m in got][-1] == (
        f"Re: Logs for Mail bouncing Bcc: evil@example.com [#{tid}]"
    )
    m = got[-1]
    assert m.rcpt_tos == ("priya@bluefin.example",)
    assert m.message["Bcc"] is None
    assert f"Hello Priya,\n\nTicket #{tid} (Mail bouncing) is" in m.text
    assert "{{" not in m.text and "-- lena (lena)" in m.text


def test_the_acknowledgement_uses_a_leads_template_of_its_kind(desk: Desk):
    from supportdesk.services.intake import mail
    from tests.helpers.samples import message

    templates.add(
        desk,
        "our-ack",
        "acknowledgement",
        "Got it: {{ ticket.subject }}",
        "Dear {{ contact.first_name }}, ticket #{{ ticket.id }} is open; "
        "we answer within {{ plan.respond_target }}.",
    )
    r = mail.ingest(desk, message("priya@bluefin.example", "Mail bouncing"))
    subject, body = desk.store.query(
        "SELECT subject, body FROM outbox WHERE kind = 'acknowledgement'"
    )[0]
    assert subject == f"Re: Got it: Mail bouncing [#{r.ticket_id}]"
    assert body.startswith(
        f"Dear Priya, ticket #{r.ticket_id} is open; we answer within 4 business hours."
    )
