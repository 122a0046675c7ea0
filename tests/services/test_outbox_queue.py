"""Mail the desk queues (issue 18, items 1 and 4) on both databases: a reply to the address on
file, threaded; nothing when there is no address or no [mail] domain; a rollback queues
nothing; acknowledgements once per ticket and once per sender per interval, never to unlisted
senders; hostile subjects and bodies queue as data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from supportdesk.core.desk import Desk
from supportdesk.core.policy import load_preset
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import directory, sla, tickets
from supportdesk.services.intake import mail
from supportdesk.services.outbox import customer
from supportdesk.services.outbox.queueing import queue_message
from supportdesk.services.outbox.threads import thread_subject
from tests.helpers.desk import new_ticket
from tests.helpers.hostile import HOSTILE_STRINGS
from tests.helpers.samples import message

COLUMNS = "id, kind, state, ticket_id, event_id, contact_id, to_addr, from_addr, subject, body, "
COLUMNS += "headers, message_id, dedupe_key"


def outbox(desk: Desk, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    names = [c.strip() for c in COLUMNS.split(",")]
    rows = desk.store.query(f"SELECT {COLUMNS} FROM outbox {where} ORDER BY id", params)
    out = [dict(zip(names, r, strict=True)) for r in rows]
    for row in out:
        row["headers"] = json.loads(row["headers"])
    return out


def without_mail(desk: Desk) -> None:
    text = load_preset("demo").text
    text = text[: text.index("\n[mail]")]
    sla.load_policy(desk, parse_policy(text, "no-mail.toml"))


def test_a_reply_is_queued_to_the_address_on_file(desk: Desk) -> None:
    tid = new_ticket(desk, "Site down", contact_email="priya@bluefin.example")
    mailed = tickets.reply(desk, tid, "We restarted PHP; it is back.")
    assert mailed.queued and mailed.to == "p***@bluefin.example"
    assert mailed.words(f"reply on #{tid}") == f"reply on #{tid} queued to p***@bluefin.example"
    (row,) = outbox(desk)
    assert row["kind"] == "reply" and row["state"] == "queued"
    assert row["to_addr"] == "priya@bluefin.example"
    assert row["from_addr"] == "support@desk.example"
    assert row["subject"] == f"Re: Site down [#{tid}]"
    assert row["body"].startswith("We restarted PHP; it is back.\n\n-- \n")
    assert row["message_id"] == mailed.message_id and row["message_id"].endswith("@desk.example>")
    reply_event = [e for e in tickets.show(desk, tid).events if e.kind == "reply"][-1]
    assert row["event_id"] == reply_event.id and row["ticket_id"] == tid
    assert row["dedupe_key"] is None and "Auto-Submitted" not in row["headers"]
    # the next reply threads on the first: In-Reply-To and References name it
    tickets.reply(desk, tid, "And the cache is cleared.")
    second = outbox(desk)[1]
    assert second["headers"]["In-Reply-To"] == row["message_id"]
    assert second["headers"]["References"] == row["message_id"]


def test_a_reply_on_a_ticket_opened_by_mail_answers_the_customers_mail(desk: Desk) -> None:
    directory.add_contact(
        desk,
        "bluefin",
        "Sam Dube",
        ["sam@bluefin.example", "sam.dube@bluefin.example"],
        [],
        "authorized",
    )
    raw = message("sam.dube@bluefin.example", "Re: RE: Mail bouncing [#999999]")
    r = mail.ingest(desk, raw)
    assert r.action == "opened"
    incoming = raw.decode().split("Message-ID: ")[1].split("\r\n")[0]
    tickets.reply(desk, r.ticket_id, "Looking at it.")
    row = outbox(desk, "WHERE kind = 'reply'")[0]
    # the address that opened it (one of the contact's), never another
    assert row["to_addr"] == "sam.dube@bluefin.example"
    assert row["subject"] == f"Re: Mail bouncing [#{r.ticket_id}]"  # one tag, one Re:
    assert row["headers"]["In-Reply-To"] == incoming
    assert row["headers"]["References"].split()[-1] == incoming


def test_reply_to_and_cc_of_incoming_mail_are_never_used(desk: Desk) -> None:
    raw = (
        b"From: Priya <priya@bluefin.example>\r\nReply-To: attacker@evil.example\r\n"
        b"Cc: other@evil.example\r\nTo: support@desk.example\r\nSubject: reset my password\r\n"
        b"Message-ID: <forged-1@evil.example>\r\n\r\nplease\r\n"
    )
    r = mail.ingest(desk, raw)
    tickets.reply(desk, r.ticket_id, "Here is how to reset it.")
    assert {row["to_addr"] for row in outbox(desk)} == {"priya@bluefin.example"}


def test_a_ticket_with_no_address_on_file_is_recorded_not_mailed(desk: Desk) -> None:
    tid = new_ticket(desk, caller_name="Walk-in caller", caller_phone="+27 21 555 0199")
    before = len(outbox(desk))
    mailed = tickets.reply(desk, tid, "We called you back.")
    assert not mailed.queued and "no contact with an e-mail address" in (mailed.why or "")
    assert "recorded; not e-mailed" in mailed.words("reply")
    assert len(outbox(desk)) == before
    assert [e.body for e in tickets.show(desk, tid).events if e.kind == "reply"] == [
        "We called you back."
    ]
    assert tickets.show(desk, tid).first_response_at is not None


def test_a_policy_without_a_mail_domain_records_only(desk: Desk) -> None:
    without_mail(desk)
    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    mailed = tickets.reply(desk, tid, "Done.")
    assert not mailed.queued and mailed.why == customer.NO_DOMAIN
    assert outbox(desk) == []
    r = mail.ingest(desk, message("priya@bluefin.example", "New problem"))
    assert r.action == "opened" and outbox(desk) == []  # no acknowledgement either


def test_a_reply_that_fails_after_queueing_leaves_no_outbox_row(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from supportdesk.services.tickets import messages

    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    real = messages.queue_reply

    def queue_then_fail(*args: Any, **kw: Any) -> Any:
        real(*args, **kw)  # the row is in the transaction...
        raise RuntimeError("the write fails after the message was queued")

    monkeypatch.setattr(messages, "queue_reply", queue_then_fail)
    with pytest.raises(RuntimeError):
        tickets.reply(desk, tid, "This never reaches anyone.")
    assert outbox(desk) == []  # ...and went with the rollback
    assert not [e for e in tickets.show(desk, tid).events if e.kind == "reply"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Site down", "Re: Site down [#7]"),
        ("Re: Site down", "Re: Site down [#7]"),
        ("RE: re: Aw: Site down [#7]", "Re: Site down [#7]"),
        ("[#3] Site down [#7]", "Re: Site down [#7]"),
        ("Site\r\nBcc: x@evil.example", "Re: Site Bcc: x@evil.example [#7]"),
        ("   ", "Re: (no subject) [#7]"),
    ],
)
def test_thread_subject(subject: str, expected: str) -> None:
    assert thread_subject(subject, 7) == expected


def test_hostile_subjects_and_bodies_queue_as_data(desk: Desk) -> None:
    from tests.helpers.hostile import storable

    for i, text in enumerate(HOSTILE_STRINGS):
        subject = storable(text, 300, postgres=True).strip() or f"blank {i}"
        tid = new_ticket(desk, subject, contact_email="priya@bluefin.example")
        body = storable(text, 200_000, postgres=True) or "-"
        assert tickets.reply(desk, tid, body).queued
        row = outbox(desk, "WHERE ticket_id = ?", (tid,))[0]
        assert row["body"].startswith(body.rstrip("\n"))
        assert row["subject"].endswith(f"[#{tid}]") and "\n" not in row["subject"]
        assert "\x1b" not in row["subject"] and "\r" not in row["subject"]


# -- acknowledgements ---------------------------------------------------------------------
def test_mail_from_a_listed_sender_is_acknowledged_once(desk: Desk) -> None:
    raw = message("priya@bluefin.example", "Mail bouncing")
    r = mail.ingest(desk, raw)
    (ack,) = outbox(desk)
    assert ack["kind"] == "acknowledgement" and ack["to_addr"] == "priya@bluefin.example"
    assert ack["headers"]["Auto-Submitted"] == "auto-replied"
    assert ack["dedupe_key"] == f"ack:ticket:{r.ticket_id}"
    assert ack["subject"] == f"Re: Mail bouncing [#{r.ticket_id}]"
    assert f"ticket #{r.ticket_id}" in ack["body"]
    # bluefin is on gold: 4 h in office hours
    assert "We will answer within 4 business hours." in ack["body"]
    # a second new ticket from the same sender within the hour: no second acknowledgement
    r2 = mail.ingest(desk, message("priya@bluefin.example", "Another thing"))
    assert r2.action == "opened"
    assert len(outbox(desk, "WHERE kind = 'acknowledgement'")) == 1
    # the acknowledgement of one ticket is queued once, whoever asks again
    with desk.write() as (session, _record):
        from supportdesk.models import Ticket

        t = session.get(Ticket, r.ticket_id)
        assert customer.acknowledge(session, desk, t) is None
    assert len(outbox(desk, "WHERE kind = 'acknowledgement'")) == 1


def test_the_interval_is_per_sender_and_passes(desk: Desk, make_desk: Any) -> None:
    from datetime import timedelta

    mail.ingest(desk, message("priya@bluefin.example", "One"))
    later = make_desk("lena", desk.now() + timedelta(minutes=61))
    mail.ingest(later, message("priya@bluefin.example", "Two"))
    assert len(outbox(desk, "WHERE kind = 'acknowledgement'")) == 2


def test_unlisted_senders_get_no_acknowledgement(desk: Desk) -> None:
    r = mail.ingest(desk, message("stranger@elsewhere.example", "Reset my password"))
    assert r.action == "closed_unlisted"
    text = load_preset("demo").text.replace('unlisted_sender = "close"', 'unlisted_sender = "hold"')
    sla.load_policy(desk, parse_policy(text, "hold.toml"))
    r = mail.ingest(desk, message("cfo@gmail.example", "bluefin: change our invoices"))
    assert r.action == "held_unlisted"
    assert outbox(desk) == []


def test_a_ticket_opened_for_the_customer_by_email_is_acknowledged(desk: Desk) -> None:
    tid = new_ticket(desk, "Portal form", channel="portal", contact_email="priya@bluefin.example")
    assert [r["kind"] for r in outbox(desk, "WHERE ticket_id = ?", (tid,))] == ["acknowledgement"]
    phone = new_ticket(desk, "By phone", contact_email="priya@bluefin.example")
    assert outbox(desk, "WHERE ticket_id = ?", (phone,)) == []


def test_acknowledgement_words_for_best_effort_and_round_the_clock(desk: Desk) -> None:
    directory.add_account(desk, "percy", "Percy Ltd", "per-incident")
    directory.add_contact(desk, "percy", "Percy", ["percy@percy.example"], [], "primary")
    directory.add_account(desk, "hexa", "Hexa", "hosting-24x7")
    directory.add_contact(desk, "hexa", "Hex", ["hex@hexa.example"], [], "primary")
    mail.ingest(desk, message("percy@percy.example", "Help"))
    mail.ingest(desk, message("hex@hexa.example", "Help"))
    bodies = {r["to_addr"]: r["body"] for r in outbox(desk)}
    assert "We will answer as soon as we can." in bodies["percy@percy.example"]
    assert "We will answer within 3 hours." in bodies["hex@hexa.example"]


# -- incident updates ---------------------------------------------------------------------
def test_an_incident_update_mails_each_contact_once_not_each_ticket(desk: Desk) -> None:
    from supportdesk.services import incidents

    directory.add_contact(desk, "bluefin", "Sam Dube", ["sam@bluefin.example"], [], "secondary")
    a = new_ticket(desk, "Site down", contact_email="priya@bluefin.example")
    b = new_ticket(desk, "Shop down too", contact_email="priya@bluefin.example")
    c = new_ticket(desk, "Mail down", contact_email="sam@bluefin.example")
    walk_in = new_ticket(desk, "Down", caller_name="Walk-in", caller_phone="+27 21 555 0199")
    inc = incidents.open_incident(desk, ["web-cpt-14"], "web-cpt-14 down", cadence="30m")
    for tid in (a, b, c, walk_in):
        incidents.link_ticket(desk, inc.id, tid)
    r = incidents.post_update(desk, inc.id, "A disk failed; we are replacing it.")
    assert sorted(r.tickets_posted) == sorted([a, b, c, walk_in])  # the thread of each
    rows = outbox(desk, "WHERE kind = 'incident_update'")
    assert sorted((row["to_addr"], row["ticket_id"]) for row in rows) == [
        ("priya@bluefin.example", a),  # her first linked ticket, once
        ("sam@bluefin.example", c),
    ]
    for row in rows:
        assert row["headers"]["Auto-Submitted"] == "auto-generated"
        assert row["subject"] == f"Incident update: web-cpt-14 down [#{row['ticket_id']}]"
        assert "A disk failed; we are replacing it." in row["body"]
        assert row["dedupe_key"].startswith(f"incident:{inc.id}:update:{r.update_id}:contact:")
    # the next update is a new message for each; the resolution too
    incidents.post_update(desk, inc.id, "The disk is replaced; rebuilding.")
    incidents.resolve(desk, inc.id, "All sites are back.")
    assert len(outbox(desk, "WHERE kind = 'incident_update'")) == 6
    last = outbox(desk, "WHERE kind = 'incident_update'")[-1]
    assert "All sites are back." in last["body"]


def test_incident_updates_off_in_the_policy_mail_nothing(desk: Desk) -> None:
    from supportdesk.services import incidents

    text = load_preset("demo").text.replace("incident_updates = true", "incident_updates = false")
    sla.load_policy(desk, parse_policy(text, "quiet.toml"))
    a = new_ticket(desk, "Site down", contact_email="priya@bluefin.example")
    inc = incidents.open_incident(desk, ["web-cpt-14"], "web-cpt-14 down", cadence="30m")
    incidents.link_ticket(desk, inc.id, a)
    incidents.post_update(desk, inc.id, "Working on it.")
    assert outbox(desk, "WHERE kind = 'incident_update'") == []


# -- maintenance notices ------------------------------------------------------------------
def test_a_window_notifies_each_contact_of_the_accounts_on_its_servers(desk: Desk) -> None:
    from datetime import timedelta

    from supportdesk.services.incidents import maintenance

    directory.add_contact(desk, "bluefin", "Sam Dube", ["sam@bluefin.example"], [], "secondary")
    directory.add_contact(desk, "bluefin", "No Mail", [], ["+27 21 555 0177"], "authorized")
    directory.add_account(desk, "other", "Other Co", "gold")
    directory.add_contact(desk, "other", "Olga", ["olga@other.example"], [], "primary")
    directory.add_service(desk, "other", "shared_hosting", "Web", ["other.example"], "web-jnb-9")
    start = desk.now() + timedelta(days=5)
    w = maintenance.add_window(
        desk, ["web-cpt-14"], start, start + timedelta(hours=2), "Kernel update"
    )
    rows = outbox(desk, "WHERE kind = 'maintenance_notice'")
    assert sorted(r["to_addr"] for r in rows) == ["priya@bluefin.example", "sam@bluefin.example"]
    due = desk.store.query("SELECT DISTINCT send_after FROM outbox")
    assert len(due) == 1  # two days (the demo's maintenance_notice) before the start
    for r in rows:
        assert r["headers"]["Auto-Submitted"] == "auto-generated" and r["ticket_id"] is None
        assert "Kernel update" in r["body"] and "web-cpt-14" in r["body"]
        assert r["dedupe_key"] == f"maintenance:{w.id}:contact:{r['contact_id']}"
    # moved: the queued notices move with it (no second message to anyone)
    later = start + timedelta(days=1)
    maintenance.move_window(desk, w.id, later, later + timedelta(hours=3))
    moved = outbox(desk, "WHERE kind = 'maintenance_notice'")
    assert len(moved) == 2 and all("has moved" in r["body"] for r in moved)
    assert all(later.strftime("%Y-%m-%d %H:%M") in r["subject"] for r in moved)
    # one already sent: that contact is told the new times in a new notice
    with desk.write() as (session, _record):
        from sqlalchemy import text

        session.execute(
            text("UPDATE outbox SET state = 'sent' WHERE to_addr = 'sam@bluefin.example'")
        )
    again = later + timedelta(days=1)
    maintenance.move_window(desk, w.id, again, again + timedelta(hours=1))
    rows = outbox(desk, "WHERE kind = 'maintenance_notice'")
    assert sorted(r["to_addr"] for r in rows) == [
        "priya@bluefin.example",
        "sam@bluefin.example",
        "sam@bluefin.example",
    ]


def test_no_notice_without_maintenance_notice_in_the_policy(desk: Desk) -> None:
    from datetime import timedelta

    from supportdesk.services.incidents import maintenance

    text = load_preset("demo").text.replace('maintenance_notice = "2d"\n', "")
    sla.load_policy(desk, parse_policy(text, "no-notice.toml"))
    start = desk.now() + timedelta(days=5)
    maintenance.add_window(desk, ["web-cpt-14"], start, start + timedelta(hours=2), "Kernel")
    assert outbox(desk) == []


# -- redaction ----------------------------------------------------------------------------
def test_redacting_a_reply_redacts_its_mail_and_withdraws_it_unsent(desk: Desk) -> None:
    tid = new_ticket(desk, "Login", contact_email="priya@bluefin.example")
    tickets.reply(desk, tid, "Your new password is hunter2")
    tickets.reply(desk, tid, "Also: the FTP password is swordfish")
    first, second = outbox(desk)
    with desk.write() as (session, _record):  # the sender delivered the first already
        from sqlalchemy import text

        session.execute(text("UPDATE outbox SET state = 'sent' WHERE id = :i"), {"i": first["id"]})
    for row in (first, second):
        tickets.redact(desk, row["event_id"], "a password")
    after = {r["id"]: r for r in outbox(desk)}
    assert all("hunter2" not in r["body"] and "swordfish" not in r["body"] for r in after.values())
    assert after[first["id"]]["state"] == "sent"  # gone already: only its copy is redacted
    assert after[second["id"]]["state"] == "withdrawn"  # never sent
    states = desk.store.query(
        "SELECT redacted_at IS NOT NULL, last_error FROM outbox WHERE id = ?", (second["id"],)
    )
    assert states[0][0] and "withdrawn: its text was redacted" in states[0][1]
    notes = [e.body or "" for e in tickets.show(desk, tid).events if e.kind == "note"]
    assert any("withdrawn and will not be sent" in n for n in notes)


def test_redacting_a_subject_takes_it_out_of_the_mail(desk: Desk) -> None:
    r = mail.ingest(desk, message("priya@bluefin.example", "root password is hunter2"))
    tickets.reply(desk, r.ticket_id, "We changed it for you.")
    tickets.redact_ticket_text(desk, r.ticket_id, "subject", "a password")
    for row in outbox(desk):
        assert "hunter2" not in row["subject"] and "hunter2" not in row["body"]
        assert row["subject"].endswith(f"[#{r.ticket_id}]")
    assert {row["state"] for row in outbox(desk)} == {"queued"}  # the words around it go out


# -- exactly once under racing writers -------------------------------------------------------
def test_racing_writers_queue_an_automatic_message_once(
    desk: Desk, make_desk: Any, db_url: str
) -> None:
    """Two writers queue the same automatic message at once: it is queued once, and the
    second writer's transaction still commits the rest of its work. PostgreSQL: the second
    waits on the first's uncommitted key (the unique index); SQLite: writers take turns
    (the writer's lock, then BEGIN IMMEDIATE), so the second starts once the first commits."""
    import threading

    first, second = make_desk("lena"), make_desk("lena")
    inserted, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def writer_a() -> None:
        with first.write() as (session, _record):
            results["a"] = customer.queue_once(
                session, first, "race:1", kind="reply", to_addr="a@x.example", subject="a", body="a"
            )
            inserted.set()
            release.wait(60)

    def writer_b() -> None:
        with second.write() as (session, _record):
            results["b"] = customer.queue_once(
                session,
                second,
                "race:1",
                kind="reply",
                to_addr="b@x.example",
                subject="b",
                body="b",
            )
            # the rest of this transaction still commits
            queue_message(
                session, second, kind="reply", to_addr="c@x.example", subject="c", body="c"
            )

    a = threading.Thread(target=writer_a)
    a.start()
    assert inserted.wait(60)
    b = threading.Thread(target=writer_b)
    b.start()
    if db_url.startswith("postgresql"):
        # b waits on a's uncommitted key (the unique index): then a commits
        for _ in range(6000):
            waiting = desk.store.query(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )[0][0]
            if waiting or not b.is_alive():
                break
            threading.Event().wait(0.01)
    else:
        b.join(0.3)
        assert b.is_alive() and "b" not in results  # its turn comes when a's write ends
    release.set()
    a.join(60)
    b.join(60)
    assert results["a"] is not None and results["b"] is None
    rows = outbox(desk)
    assert sorted(r["to_addr"] for r in rows) == ["a@x.example", "c@x.example"]
