"""`supportdesk mail ingest` on both databases: threading, reopen, confirm, unlisted senders
closed (seed 001) or held (seed 000), malformed input (issue 4)."""

from __future__ import annotations

import json

import pytest

from supportdesk.services import mail, sla, tickets
from supportdesk.services.desk import Desk
from supportdesk.services.errors import UsageError
from supportdesk.services.policy import load_preset, parse_policy

from .conftest import new_ticket
from .test_cli import one_line_error, run


def message(sender: str, subject: str, body: str = "Hello,\n\nthe site is down.\n") -> bytes:
    return (
        f"From: Someone <{sender}>\r\nTo: support@desk.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <1@example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


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
    # the primary contact confirms by replying from a listed address
    c = mail.ingest(desk, message("priya@bluefin.example", f"Re: [#{r.ticket_id}] ok", "Yes."))
    assert c.action == "confirmed" and tickets.show(desk, r.ticket_id).status == "open"


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
def test_malformed_messages_are_refused_and_change_nothing(desk: Desk, raw: bytes) -> None:
    before = desk.store.query("SELECT count(*) FROM tickets")
    with pytest.raises(UsageError, match=r"malformed|empty"):
        mail.ingest(desk, raw)
    assert desk.store.query("SELECT count(*) FROM tickets") == before


def test_mail_cli(cli_env: dict[str, str]) -> None:
    p = run(
        cli_env, "mail", "ingest", "--json", stdin=message("priya@bluefin.example", "Hi").decode()
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["action"] == "opened"
    p = run(cli_env, "mail", "ingest", stdin="garbage")
    assert p.returncode == 2 and "malformed" in one_line_error(p)
    p = run(cli_env, "ticket", "new", "--account", "bluefin", "--subject", "Invoice query",
            "--priority", "low", "--category", "billing", "--channel", "email",
            "--from", "nobody@nowhere.example", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["action"] == "closed_unlisted"
    p = run(cli_env, "mail", "unlisted")
    assert p.returncode == 0 and "nobody@nowhere.example" in p.stdout
