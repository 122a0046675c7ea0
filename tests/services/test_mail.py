"""`supportdesk mail ingest` on both databases: threading, reopen, unlisted senders closed
(seed 001) or held (seed 000), mail never confirming a held ticket, malformed input
quarantined (issues 4 and 12)."""

from __future__ import annotations

import json

import pytest

from supportdesk.core.desk import Desk
from supportdesk.core.policy import load_preset
from supportdesk.errors import UsageError
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import sla, tickets
from supportdesk.services.callers import verification
from supportdesk.services.intake import mail
from tests.helpers.cli import run, run_bytes
from tests.helpers.desk import new_ticket
from tests.helpers.samples import message


def test_listed_sender_opens_a_ticket_on_their_account(desk: Desk) -> None:
    r = mail.ingest(desk, message("Priya@Bluefin.example", "Mail bouncing since this morning"))
    assert r.action == "opened" and r.account == "bluefin"
    t = tickets.show(desk, r.ticket_id)
    assert t.channel == "email" and t.contact == "Priya Naidoo" and t.status == "new"
    assert "site is down" in t.description


def test_reply_threads_and_reopens_a_ticket_waiting_on_the_customer(desk: Desk) -> None:
    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    tickets.update_fields(desk, tid, status="pending_customer")
    assert sla.show(desk, tid).clocks[1].state == "paused"
    r = mail.ingest(desk, message("priya@bluefin.example", f"Re: [#{tid}] Site down", "Done."))
    assert (r.action, r.ticket_id) == ("reply_reopened", tid)
    t = tickets.show(desk, tid)
    assert t.status == "open" and t.last_speaker == "customer"
    assert any(e.from_customer and e.body == "Done." for e in t.events)
    assert sla.show(desk, tid).clocks[1].state in ("running", "warning")


def test_unlisted_sender_is_closed_unanswered_by_default(desk: Desk) -> None:
    r = mail.ingest(desk, message("stranger@elsewhere.example", "Reset my password"))
    assert r.action == "closed_unlisted" and r.account == mail.UNLISTED_ACCOUNT
    t = tickets.show(desk, r.ticket_id)
    assert t.status == "closed" and t.resolution_code == "unlisted_sender"
    assert not any(e.kind == "reply" and not e.from_customer for e in t.events)  # unanswered
    listed = mail.unlisted(desk)
    assert [m.ticket_id for m in listed] == [r.ticket_id]


def test_unlisted_sender_naming_the_account_is_held_when_the_policy_says_hold(
    desk: Desk,
) -> None:
    text = load_preset("demo").text.replace('unlisted_sender = "close"', 'unlisted_sender = "hold"')
    sla.load_policy(desk, parse_policy(text, "hold.toml"))
    r = mail.ingest(desk, message("cfo@gmail.example", "bluefin: please change our invoices"))
    assert r.action == "held_unlisted" and r.account == "bluefin"
    t = tickets.show(desk, r.ticket_id)
    assert t.status == "awaiting_authorization"
    assert [c.state for c in sla.show(desk, r.ticket_id).clocks][1] == "paused"
    # a reply from the primary contact's address is their words, not a confirmation: a From:
    # header proves nobody's identity (issue 12), so the ticket stays held
    c = mail.ingest(desk, message("priya@bluefin.example", f"Re: [#{r.ticket_id}] ok", "Yes."))
    assert c.action == "reply_held" and c.ticket_id == r.ticket_id
    t = tickets.show(desk, r.ticket_id)
    assert t.status == "awaiting_authorization"
    assert any(e.kind == "reply" and e.from_customer and e.body == "Yes." for e in t.events)
    assert any(e.kind == "note" and mail.NOT_CONFIRMED in (e.body or "") for e in t.events)


def test_reply_from_an_unlisted_address_does_not_thread(desk: Desk) -> None:
    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    r = mail.ingest(desk, message("mallory@evil.example", f"Re: [#{tid}] close it"))
    assert r.ticket_id != tid and r.action == "closed_unlisted"
    assert all(not e.from_customer or e.kind == "created" for e in tickets.show(desk, tid).events)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"this is not a message",
        b"Subject: no sender\r\n\r\nbody",
        b"From: not-an-address\r\nSubject: x\r\n\r\nbody",
    ],
)
def test_malformed_messages_are_quarantined_and_open_nothing(desk: Desk, raw: bytes) -> None:
    # issue 12: refusing mail made the mail server bounce it; it is kept for a lead instead
    before = desk.store.query("SELECT count(*) FROM tickets")
    r = mail.ingest(desk, raw)
    assert r.action == "quarantined" and r.ticket_id is None and "malformed" in (r.reason or "")
    assert desk.store.query("SELECT count(*) FROM tickets") == before
    assert desk.store.query(
        "SELECT raw, reason FROM mail_messages WHERE id = ?", (r.quarantine_id,)
    ) == [(raw, r.reason)]


def test_ticket_new_from_a_bad_address_is_a_usage_error(desk: Desk) -> None:
    before = desk.store.query("SELECT count(*) FROM tickets")
    with pytest.raises(UsageError, match="not an e-mail address"):
        mail.ingest_message(desk, mail.Message("not-an-address", "x", "", None))
    assert desk.store.query("SELECT count(*) FROM tickets") == before


def test_mail_cli(cli_env: dict[str, str]) -> None:
    p = run(
        cli_env, "mail", "ingest", "--json", stdin=message("priya@bluefin.example", "Hi").decode()
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["action"] == "opened"
    p = run(cli_env, "mail", "ingest", stdin="garbage")  # kept, not bounced (issue 12)
    assert p.returncode == 0 and p.stdout.startswith("quarantined as Q") and not p.stderr
    p = run(cli_env, "ticket", "new", "--account", "bluefin", "--subject", "Invoice query",
            "--priority", "low", "--category", "billing", "--channel", "email",
            "--from", "nobody@nowhere.example", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["action"] == "closed_unlisted"
    p = run(cli_env, "mail", "unlisted")
    assert p.returncode == 0 and "nobody@nowhere.example" in p.stdout


def _verified(desk: Desk, contact: str) -> int:
    pin = verification.set_pin(desk, "bluefin", contact, rotate=True).pin
    v = verification.verify(desk, "bluefin", contact, "phone", pin=pin)
    assert v.verification_id is not None
    return v.verification_id


def test_forged_mail_never_confirms_a_held_cancellation(
    desk: Desk, cli_env: dict[str, str]
) -> None:
    """Issue 12's attack: an unlisted caller asks to cancel; held; mail From: the primary's
    address with [#N] and "Yes" used to confirm and open it."""
    held = verification.verify(desk, "bluefin", None, "phone")
    tid = tickets.create(desk, account="bluefin", subject="Cancel the account", priority="low",
                         category="billing", channel="phone", request_type="cancellation",
                         verification_id=held.verification_id, caller_name="Mallory")  # fmt: skip
    assert tickets.show(desk, tid).status == "awaiting_authorization"
    forged = message("priya@bluefin.example", f"Re: [#{tid}] Cancel the account", "Yes")
    p = run_bytes(cli_env, "mail", "ingest", "--json", stdin=forged)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (r["action"], r["ticket"]) == ("reply_held", tid)
    t = tickets.show(desk, tid)
    assert t.status == "awaiting_authorization" and t.contact_id is None
    assert desk.store.query("SELECT confirmed_at FROM tickets WHERE id = ?", (tid,)) == [(None,)]
    assert [e.body for e in t.events if e.kind == "reply" and e.from_customer] == ["Yes"]
    # the lead sees why, in the ticket's history and in the list of held tickets with mail
    shown = run(cli_env, "ticket", "show", str(tid))
    assert shown.returncode == 0 and mail.NOT_CONFIRMED in shown.stdout
    listed = run(cli_env, "mail", "held")
    assert listed.returncode == 0 and f"#{tid}" in listed.stdout
    assert mail.NOT_CONFIRMED in listed.stdout
    assert [h.ticket_id for h in mail.held(desk)] == [tid]
    # a verified call still confirms it
    tickets.confirm(desk, tid, _verified(desk, "priya@bluefin.example"))
    assert tickets.show(desk, tid).status == "open"
    assert mail.held(desk) == []


def test_ticket_new_from_does_not_confirm_either(desk: Desk) -> None:
    text = load_preset("demo").text.replace('unlisted_sender = "close"', 'unlisted_sender = "hold"')
    sla.load_policy(desk, parse_policy(text, "hold.toml"))
    tid = mail.ingest(desk, message("cfo@gmail.example", "bluefin: change invoices")).ticket_id
    assert tid is not None
    r = mail.ingest_message(
        desk, mail.Message("priya@bluefin.example", f"[#{tid}] yes", "Yes, do it.", None)
    )
    assert r.action == "reply_held" and tickets.show(desk, tid).status == "awaiting_authorization"


def test_a_message_delivered_twice_at_once_is_a_duplicate_not_an_error(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deliveries of one message at once: the second's check for its Message-ID ran
    before the first committed, so its insert meets the unique index. It is a duplicate, as
    a later delivery is (it was a "try again later" with the constraint's text, exit 75;
    PostgreSQL, found by an attacking helper with 8 processes). The race is made here by
    the check missing the first delivery once."""
    raw = message("priya@bluefin.example", "Disk full")
    first = mail.ingest(desk, raw)
    before = desk.store.query("SELECT count(*) FROM tickets")
    real, missed = mail.seen_message, []

    def late(*args: object, **kw: object) -> object:
        if not missed:
            missed.append(True)
            return None  # the first delivery not committed yet, as this one saw it
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(mail, "seen_message", late)
    again = mail.ingest(desk, raw)
    assert missed == [True]
    assert (again.action, again.ticket_id) == ("duplicate", first.ticket_id)
    assert again.reason == f"already filed as #{first.ticket_id}"
    assert desk.store.query("SELECT count(*) FROM tickets") == before
    assert len(desk.store.query("SELECT id FROM mail_messages")) == 1


def test_a_repeated_message_id_is_filed_once(desk: Desk) -> None:
    raw = message("priya@bluefin.example", "Disk full")
    first = mail.ingest(desk, raw)
    count = desk.store.query("SELECT count(*) FROM tickets")
    again = mail.ingest(desk, raw)
    assert again.action == "duplicate" and again.ticket_id == first.ticket_id
    assert again.reason == f"already filed as #{first.ticket_id}"
    assert desk.store.query("SELECT count(*) FROM tickets") == count
    rows = desk.store.query("SELECT state, ticket_id, raw, action FROM mail_messages")
    assert rows == [("filed", first.ticket_id, None, "opened")]  # filed: digest, not bytes
    # a quarantined one, delivered again, is not kept twice
    bad = b"From: nobody\r\nMessage-ID: <q@x>\r\n\r\nhi"
    q = mail.ingest(desk, bad)
    q2 = mail.ingest(desk, bad)
    assert q2.action == "duplicate" and q2.reason == f"already quarantined as Q{q.quarantine_id}"
    assert desk.store.query("SELECT count(*) FROM mail_messages WHERE state = 'quarantined'") == [
        (1,)
    ]


@pytest.mark.parametrize(
    "subject",
    [
        "Order #{tid} failed",  # a bare #N is not a reference
        "Order #3000000001 failed",  # was "integer out of range" on PostgreSQL
        "Re: [#3000000001] overflow",
        "Re: [#9223372036854775808] past BIGINT",
        "Re: [#99999999999999999999999] too many digits",
        "Re: [#0] zero",
        "Re: [#\u0661] Arabic-Indic one",
    ],
)
def test_only_a_bracketed_ticket_number_in_range_refers_to_a_ticket(
    desk: Desk, subject: str
) -> None:
    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    r = mail.ingest(desk, message("priya@bluefin.example", subject.format(tid=tid), f"[#{tid}]"))
    assert r.action == "opened" and r.ticket_id != tid
    assert not any(e.kind == "reply" for e in tickets.show(desk, tid).events)


def test_reply_to_a_closed_ticket_opens_a_new_one_with_a_note(desk: Desk) -> None:
    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    tickets.update_fields(desk, tid, status="closed", code="fixed")
    r = mail.ingest(desk, message("priya@bluefin.example", f"Re: [#{tid}] again"))
    assert r.action == "opened" and r.ticket_id != tid and r.ticket_id is not None
    notes = [e.body for e in tickets.show(desk, r.ticket_id).events if e.kind == "note"]
    assert notes == [f"mail: a reply to closed ticket #{tid}: filed as a new ticket"]
