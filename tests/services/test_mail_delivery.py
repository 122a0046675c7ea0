"""Delivery you can see (issue 18, item 5) on both databases: a failed reply flags its
ticket for the holder and the leads and stops counting as the first response (the respond
clock runs again, the history says why), once; a failed automatic message is only recorded;
the mail alarm is raised once and cleared by a delivery; bounces tied to their message by
the VERP address only; `mail retry`; the states a ticket's thread shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from supportdesk.core.views import DeliveryView
from supportdesk.errors import NotAllowed, NothingToDo, UsageError
from supportdesk.services import sla, tickets
from supportdesk.services.intake import mail_bounce
from supportdesk.services.outbox import failures
from supportdesk.services.outbox import views as outbox_views
from supportdesk.services.reports import sla_board
from tests.helpers.desk import T0, Fx, dump, new_ticket
from tests.helpers.outbox import (
    DOMAIN,
    TO,
    dsn,
    fail,
    mailed_reply,
    mark,
    out_of_office,
    queued,
    row,
    use_mail_policy,
)


@pytest.fixture
def mailfx(fx: Fx) -> Fx:
    use_mail_policy(fx.as_("lena"))
    return fx


def _opened(fx: Fx) -> int:
    """A medium ticket (gold: respond within 8 business hours) amir opened at T0 and holds."""
    amir = fx.as_("amir")
    tid = new_ticket(amir, contact_email=TO)
    tickets.claim(amir, tid)
    return tid


def _respond(fx: Fx, tid: int) -> Any:
    return next(c for c in sla.show(fx.desk, tid).clocks if c.name == "respond")


def test_a_failed_first_reply_flags_the_ticket_and_the_respond_clock_runs_again(
    mailfx: Fx,
) -> None:
    fx = mailfx
    tid = _opened(fx)
    mid = mailed_reply(fx.as_("amir", 10), tid)
    assert fx.row(tid, "first_response_at")[0] is not None
    assert _respond(fx, tid).state == "met"
    audit_before = fx.audit_count()
    fail(fx.as_("lena", 40), mid, "550 5.1.1 <priya@bluefin.example>: no such user")

    t = tickets.show(fx.desk, tid)
    assert t.first_response_at is None
    flagged, respond_state, used = fx.row(tid, "flagged_at", "respond_state", "respond_used_s")
    assert flagged is not None and respond_state == "running"
    assert used == 600  # the 10 minutes it had used when the reply stopped it
    why = "reply to priya@bluefin.example failed: 550 5.1.1 <priya@bluefin.example>: no such user"
    history = [e.body or "" for e in t.events]
    assert f"respond clock restarted ({why})" in history
    flag = next(e for e in t.events if e.kind == "flag")
    assert flag.new_value == failures.MAIL_FLAG and (flag.body or "").startswith(why)
    assert "no longer counts as the first response" in (flag.body or "")
    # it runs from where it stopped: due 8 business hours less the 10 minutes, from 09:40
    due = fx.row(tid, "respond_due")[0]
    assert due is not None
    # the holder and the leads are told; the audit says what happened to the message and why
    assert any("failed" in n and f"#{tid}" in n for n in fx.notices("amir"))
    assert any("failed" in n and f"#{tid}" in n for n in fx.notices("lena"))
    actions = [
        a for (a,) in fx.desk.store.query("SELECT action FROM audit ORDER BY seq")[audit_before:]
    ]
    assert actions == ["mail.failed", "ticket.mail_failed"]
    d = next(d for d in t.deliveries if d.id == mid)
    assert d.state == "failed" and d.event_id is not None
    assert d.last_error == "550 5.1.1 <priya@bluefin.example>: no such user"


def test_a_second_failure_of_the_same_message_changes_nothing(mailfx: Fx) -> None:
    fx = mailfx
    tid = _opened(fx)
    mid = mailed_reply(fx.as_("amir", 10), tid)
    fail(fx.as_("lena", 40), mid)
    before = dump(fx.desk.store)
    fail(fx.as_("lena", 50), mid, "bounced: 5.1.1 again")
    assert dump(fx.desk.store) == before


def test_a_later_response_counts_as_the_first_when_the_first_reply_fails(mailfx: Fx) -> None:
    fx = mailfx
    tid = _opened(fx)
    first = mailed_reply(fx.as_("amir", 10), tid)
    mailed_reply(fx.as_("amir", 20), tid, "And the logs are clean.")
    fail(fx.as_("lena", 40), first)
    assert fx.row(tid, "first_response_at")[0] is not None
    t = tickets.show(fx.desk, tid)
    assert t.first_response_at == T0 + timedelta(minutes=20)
    assert _respond(fx, tid).state == "met"  # it was answered, at 09:20
    flag = next(e for e in t.events if e.kind == "flag")
    assert (flag.body or "").endswith("; the next response, 10 min later, counts as the first")
    assert fx.row(tid, "flagged_at")[0] is not None


def test_a_failed_reply_that_was_not_the_first_response_only_flags(mailfx: Fx) -> None:
    fx = mailfx
    tid = _opened(fx)
    tickets.log_call(fx.as_("amir", 5), tid, "spoke", "Told them we are on it.")
    mid = mailed_reply(fx.as_("amir", 10), tid)
    fail(fx.as_("lena", 40), mid)
    t = tickets.show(fx.desk, tid)
    assert t.first_response_at == T0 + timedelta(minutes=5)
    assert _respond(fx, tid).state == "met"
    assert fx.row(tid, "flagged_at")[0] is not None


def test_a_failed_automatic_message_is_only_recorded(mailfx: Fx) -> None:
    fx = mailfx
    tid = _opened(fx)
    mid = queued(fx.as_("amir", 1), tid)
    before = (fx.row(tid, "flagged_at", "status"), fx.count("ticket_events"), fx.count("notices"))
    fail(fx.as_("lena", 5), mid, "550 no such user")
    assert (
        fx.row(tid, "flagged_at", "status"),
        fx.count("ticket_events"),
        fx.count("notices"),
    ) == before
    assert (row(fx.desk, mid).state, row(fx.desk, mid).last_error) == ("failed", "550 no such user")


def test_the_alarm_is_raised_once_bumped_and_cleared_by_a_delivery(mailfx: Fx) -> None:
    fx = mailfx
    tid = _opened(fx)
    mailed_reply(fx.as_("amir", 10), tid)
    notices = len(fx.notices("lena"))
    for minute in (11, 12, 13):
        with fx.as_("lena", minute).write(actor_required=False) as (s, _r):
            failures.transport_fault(s, fx.desk, "535 5.7.8 authentication failed")
    alarm = outbox_views.mail_alarm(fx.desk)
    assert alarm is not None and alarm.count == 3 and alarm.waiting == 1
    assert alarm.reason == "535 5.7.8 authentication failed"
    told = fx.notices("lena")[notices:]
    assert len(told) == 1 and "Mail is not going out" in told[0]  # once per alarm, not per bump
    board = sla_board.snapshot(fx.as_("lena", 14))
    assert board.mail_alarm is not None and board.mail_alarm.id == alarm.id
    with fx.as_("lena", 20).write(actor_required=False) as (s, _r):
        failures.transport_ok(s, fx.desk)
    assert outbox_views.mail_alarm(fx.desk) is None
    assert sla_board.snapshot(fx.as_("lena", 21)).mail_alarm is None
    with fx.as_("lena", 30).write(actor_required=False) as (s, _r):
        failures.transport_fault(s, fx.desk, "TLS: certificate verify failed")
    again = outbox_views.mail_alarm(fx.desk)
    assert again is not None and again.id != alarm.id and again.count == 1
    audit = [
        a
        for (a,) in fx.desk.store.query(
            "SELECT action FROM audit"
            " WHERE action IN ('mail.alarm', 'mail.alarm_clear') ORDER BY seq"
        )
    ]
    assert audit == ["mail.alarm", "mail.alarm_clear", "mail.alarm"]


def test_a_bounce_by_verp_fails_its_message_whatever_its_text_says(mailfx: Fx) -> None:
    fx = mailfx
    tid = _opened(fx)
    mid = mailed_reply(fx.as_("amir", 10), tid)
    mark(
        fx.desk, mid, state="sent", sent_at=T0 + timedelta(minutes=11), server_reply="250 2.0.0 Ok"
    )
    r = mail_bounce.ingest_for(
        fx.as_("lena", 30), dsn(), envelope_sender="<>", recipient=f"bounces+{mid}@{DOMAIN}"
    )
    assert (r.action, r.ticket_id) == ("bounce", tid)
    m = row(fx.desk, mid)
    assert m.state == "failed"
    assert m.last_error == (
        "bounced: 550 5.1.1 <priya@bluefin.example>: Recipient address rejected"
    )
    assert fx.row(tid, "flagged_at")[0] is not None and fx.row(tid, "first_response_at")[0] is None
    assert fx.desk.store.query(
        "SELECT action, ticket_id, state FROM mail_messages ORDER BY id"
    ) == [("bounce", tid, "filed")]


def test_a_bounce_without_diagnostic_and_an_old_style_bounce(mailfx: Fx) -> None:
    fx = mailfx
    tid = _opened(fx)
    a = mailed_reply(fx.as_("amir", 10), tid)
    b = mailed_reply(fx.as_("amir", 11), tid, "Second.")
    r = mail_bounce.ingest_for(
        fx.as_("lena", 30), dsn(status="5.0.0", diagnostic=None), recipient=f"bounces+{a}@{DOMAIN}"
    )
    assert r.action == "bounce" and row(fx.desk, a).last_error == "bounced: 5.0.0"
    plain = (
        b"From: MAILER-DAEMON@old.example\nSubject: failure notice\nMessage-ID: <q@old>\n\n"
        b"Sorry, I couldn't deliver it.\n"
    )
    r = mail_bounce.ingest_for(
        fx.as_("lena", 31), plain, envelope_sender="", recipient=f"<Bounces+{b}@DESK.example>"
    )
    assert r.action == "bounce" and row(fx.desk, b).last_error == "bounced"


def test_a_delayed_delivery_report_fails_nothing(mailfx: Fx) -> None:
    fx = mailfx
    tid = _opened(fx)
    mid = mailed_reply(fx.as_("amir", 10), tid)
    mark(fx.desk, mid, state="sent", sent_at=T0 + timedelta(minutes=11))
    r = mail_bounce.ingest_for(
        fx.as_("lena", 30),
        dsn(action="delayed", status="4.4.1", diagnostic="smtp; 451 try later"),
        recipient=f"bounces+{mid}@{DOMAIN}",
    )
    assert (r.action, r.ticket_id) == ("bounce_delayed", tid)
    assert row(fx.desk, mid).state == "sent"
    assert fx.row(tid, "flagged_at")[0] is None


@pytest.mark.parametrize(
    ("recipient", "raw", "why"),
    [
        ("bounces+999999@desk.example", dsn(), "which does not exist"),
        ("bounces+abc@desk.example", dsn(), "names no outgoing message"),
        ("bounces@desk.example", dsn(), "names no outgoing message"),
        ("bounces+{mid}@desk.example", out_of_office(), "is no delivery report"),
    ],
)
def test_unknown_bounce_ids_and_non_bounces_are_quarantined(
    mailfx: Fx, recipient: str, raw: bytes, why: str
) -> None:
    fx = mailfx
    tid = _opened(fx)
    mid = mailed_reply(fx.as_("amir", 10), tid)
    mark(fx.desk, mid, state="sent", sent_at=T0 + timedelta(minutes=11))
    r = mail_bounce.ingest_for(fx.as_("lena", 30), raw, recipient=recipient.format(mid=mid))
    assert r.action == "quarantined" and why in (r.reason or "")
    assert row(fx.desk, mid).state == "sent" and fx.row(tid, "flagged_at")[0] is None


def test_mail_to_other_addresses_is_filed_as_before(mailfx: Fx) -> None:
    fx = mailfx
    r = mail_bounce.ingest_for(
        fx.as_("lena", 30), dsn(), envelope_sender="<>", recipient=f"support@{DOMAIN}"
    )
    assert r.action == "quarantined" and "automatic mail" in (r.reason or "")


def test_retry_puts_a_failed_message_back_in_the_queue(mailfx: Fx) -> None:
    fx = mailfx
    tid = _opened(fx)
    mid = mailed_reply(fx.as_("amir", 10), tid)
    with pytest.raises(NothingToDo):
        outbox_views.retry(fx.as_("lena", 20), mid)
    fail(fx.as_("lena", 30), mid)
    with pytest.raises(NotAllowed):
        outbox_views.retry(fx.as_("amir", 31), mid)
    d = outbox_views.retry(fx.as_("lena", 32), mid)
    assert (d.state, d.last_error, d.queued_at) == ("queued", None, T0 + timedelta(minutes=32))
    mark(fx.desk, mid, state="sent", sent_at=T0 + timedelta(minutes=33))
    with pytest.raises(UsageError):
        outbox_views.retry(fx.as_("lena", 34), mid)
    assert [d.id for d in outbox_views.outbox(fx.desk, state="sent")] == [mid]
    assert outbox_views.outbox(fx.desk, ticket_id=tid + 1) == []
    assert fx.desk.store.query("SELECT count(*) FROM audit WHERE action = 'mail.retry'") == [(1,)]


def test_the_thread_carries_every_message_with_its_state(mailfx: Fx) -> None:
    fx = mailfx
    tid = _opened(fx)
    ack = queued(fx.as_("amir", 1), tid)
    mid = mailed_reply(fx.as_("amir", 10), tid)
    mark(
        fx.desk,
        mid,
        state="deferred",
        attempts=2,
        last_error="451 4.7.1 greylisted",
        send_after=T0 + timedelta(minutes=20),
    )
    t = tickets.show(fx.desk, tid)
    got = {d.id: d for d in t.deliveries}
    assert isinstance(got[ack], DeliveryView) and got[ack].kind == "acknowledgement"
    assert (got[mid].state, got[mid].attempts, got[mid].last_error) == (
        "deferred",
        2,
        "451 4.7.1 greylisted",
    )
    assert t.to_json()["deliveries"][0]["state"] == "queued"
