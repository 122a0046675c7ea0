"""Incoming mail threads by In-Reply-To / References as well as by `[#N]` (issue 18, item 3),
and automatic mail (RFC 3834) never opens, reopens or confirms anything and is never
acknowledged (item 4), on both databases."""

from __future__ import annotations

import pytest

from supportdesk.core.desk import Desk
from supportdesk.services import tickets
from supportdesk.services.intake import mail, mail_parse
from tests.helpers.desk import new_ticket


def raw_mail(sender: str, subject: str, msg_id: str, *headers: str, body: str = "Thanks") -> bytes:
    extra = "".join(h + "\r\n" for h in headers)
    return (
        f"From: Someone <{sender}>\r\nTo: support@desk.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{msg_id}@customer.example>\r\n{extra}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def outbox_count(desk: Desk) -> int:
    return int(desk.store.query("SELECT count(*) FROM outbox")[0][0])


def our_reply(desk: Desk) -> tuple[int, str]:
    tid = new_ticket(desk, "Site down", contact_email="priya@bluefin.example")
    mailed = tickets.reply(desk, tid, "Please try again now.")
    assert mailed.message_id is not None
    return tid, mailed.message_id


def test_an_answer_to_our_reply_threads_by_in_reply_to(desk: Desk) -> None:
    tid, mid = our_reply(desk)
    tickets.update_fields(desk, tid, status="pending_customer")
    raw = raw_mail("priya@bluefin.example", "Re: your message", "a1", f"In-Reply-To: {mid}")
    r = mail.ingest(desk, raw)
    assert (r.action, r.ticket_id) == ("reply_reopened", tid)
    t = tickets.show(desk, tid)
    assert t.status == "open" and any(
        e.from_customer and (e.body or "").strip() == "Thanks" for e in t.events
    )


def test_references_thread_too_and_reach_mail_the_desk_filed(desk: Desk) -> None:
    opened = mail.ingest(desk, raw_mail("priya@bluefin.example", "Disk full", "first"))
    assert opened.action == "opened"
    # the customer answers their own first mail (no [#N], no In-Reply-To of ours)
    refs = "References: <unknown@x.example>\r\n <first@customer.example>"
    r = mail.ingest(desk, raw_mail("priya@bluefin.example", "more details", "second", refs))
    assert (r.action, r.ticket_id) == ("reply", opened.ticket_id)


def test_headers_do_not_let_an_unlisted_sender_in(desk: Desk) -> None:
    tid, mid = our_reply(desk)
    raw = raw_mail("mallory@evil.example", "Re: close it", "m1", f"In-Reply-To: {mid}")
    r = mail.ingest(desk, raw)
    assert r.ticket_id != tid and r.action == "closed_unlisted"


def test_subject_tag_still_threads_without_headers(desk: Desk) -> None:
    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    r = mail.ingest(desk, raw_mail("priya@bluefin.example", f"Re: [#{tid}] ok", "s1"))
    assert (r.action, r.ticket_id) == ("reply", tid)


def test_an_out_of_office_reply_changes_nothing(desk: Desk) -> None:
    tid, mid = our_reply(desk)
    tickets.update_fields(desk, tid, status="pending_customer")
    queued = outbox_count(desk)
    ooo = raw_mail(
        "priya@bluefin.example",
        f"Out of office: Re: Site down [#{tid}]",
        "ooo1",
        f"In-Reply-To: {mid}",
        "Auto-Submitted: auto-replied",
        body="I am away until Monday.",
    )
    r = mail.ingest(desk, ooo)
    assert (r.action, r.ticket_id) == ("auto_note", tid)
    t = tickets.show(desk, tid)
    assert t.status == "pending_customer" and t.last_speaker == "staff"
    assert outbox_count(desk) == queued  # nothing queued: no acknowledgement, no answer


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-generated",
        "Auto-Submitted: auto-replied; owner-email=x@y.example",
        "Precedence: bulk",
        "Precedence: list",
        "Precedence: junk",
        "List-Id: Customers <customers.lists.example>",
        "X-Autoreply: yes",
        "Return-Path: <>",
    ],
)
def test_automatic_mail_never_opens_a_ticket_nor_is_acknowledged(desk: Desk, header: str) -> None:
    r = mail.ingest(desk, raw_mail("priya@bluefin.example", "Weekly newsletter", "n1", header))
    assert r.action == "quarantined" and r.ticket_id is None
    assert outbox_count(desk) == 0


def test_auto_submitted_no_is_a_person(desk: Desk) -> None:
    r = mail.ingest(desk, raw_mail("priya@bluefin.example", "Help", "p1", "Auto-Submitted: no"))
    assert r.action == "opened" and outbox_count(desk) == 1  # the acknowledgement


def test_answered_ids_read_in_reply_to_then_references_newest_first() -> None:
    items = [
        ("In-Reply-To", "<c@x>"),
        ("References", "<a@x> <b@x>\r\n <c@x>"),
    ]
    assert mail_parse.answered_ids(items) == ("<c@x>", "<b@x>", "<a@x>")
    assert mail_parse.answered_ids([("References", "garbage without ids")]) == ()
