"""Outgoing mail for the delivery tests (issue 18, item 5), made without the SMTP sender: a
policy with a `[mail]` domain, a reply and the outbox row that carries it, a failure as the
sender records it, and delivery status notifications as a mail server writes them."""

from __future__ import annotations

from sqlalchemy import select

from supportdesk.core.desk import Desk
from supportdesk.models import OutboxMessage, TicketEvent
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import sla, tickets
from supportdesk.services.outbox import failures
from supportdesk.services.outbox.queueing import queue_message
from tests.helpers.policy import POLICY

DOMAIN = "desk.example"
MAIL_POLICY = POLICY + f'\n[mail]\ndomain = "{DOMAIN}"\n'
TO = "priya@bluefin.example"


def use_mail_policy(desk: Desk) -> None:
    sla.load_policy(desk, parse_policy(MAIL_POLICY, "mail.toml"))


def mailed_reply(desk: Desk, ticket_id: int, body: str = "Restarted PHP; try now.") -> int:
    """A reply on the ticket and the id of the outbox row that carries it: the row the reply
    queued itself, or one queued here for it (while replies do not queue mail yet)."""
    tickets.reply(desk, ticket_id, body)
    with desk.write() as (session, _record):
        event = session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "reply")
            .order_by(TicketEvent.id.desc())
        ).first()
        assert event is not None
        have = session.scalars(select(OutboxMessage).where(OutboxMessage.event_id == event.id))
        row = have.first() or queue_message(
            session,
            desk,
            kind="reply",
            to_addr=TO,
            subject=f"Re: Site down [#{ticket_id}]",
            body=body,
            ticket_id=ticket_id,
            event_id=event.id,
        )
        assert row is not None
        return row.id


def queued(desk: Desk, ticket_id: int | None, kind: str = "acknowledgement") -> int:
    """An automatic message, as the acknowledgement of a new ticket is queued."""
    with desk.write() as (session, _record):
        row = queue_message(
            session,
            desk,
            kind=kind,
            to_addr=TO,
            subject=f"We have your request [#{ticket_id}]",
            body="We will answer within 8 business hours.",
            ticket_id=ticket_id,
            automatic="auto-replied",
            dedupe_key=f"test:{kind}:{ticket_id}",
        )
        assert row is not None
        return row.id


def fail(desk: Desk, outbox_id: int, reason: str = "550 5.1.1 no such user") -> None:
    """The sender's record of a permanent failure, in its own short transaction."""
    with desk.write(actor_required=False) as (session, _record):
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        failures.message_failed(session, desk, row, reason)


def mark(desk: Desk, outbox_id: int, **values: object) -> None:
    """Set an outbox row's columns as the sender would (sent, deferred, ...)."""
    with desk.write(actor_required=False) as (session, _record):
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)


def row(desk: Desk, outbox_id: int) -> OutboxMessage:
    with desk.store.read() as s:
        found = s.get(OutboxMessage, outbox_id)
        assert found is not None
        s.expunge(found)
        return found


def dsn(
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str | None = "smtp; 550 5.1.1 <priya@bluefin.example>: Recipient address rejected",
    message_id: str = "<dsn-1@mx.bluefin.example>",
    to_addr: str = TO,
) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one."""
    diag = f"Diagnostic-Code: {diagnostic}\n" if diagnostic else ""
    return (
        "From: MAILER-DAEMON@mx.bluefin.example (Mail Delivery System)\n"
        f"To: bounces@{DOMAIN}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Message-ID: {message_id}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n'
        "\n"
        "--B\n"
        "Content-Type: text/plain\n"
        "\n"
        "I'm sorry to have to inform you that your message could not be delivered.\n"
        "Ticket [#1] says this is a reply for outgoing message 999 - ignore me.\n"
        "\n"
        "--B\n"
        "Content-Type: message/delivery-status\n"
        "\n"
        "Reporting-MTA: dns; mx.bluefin.example\n"
        "\n"
        f"Final-Recipient: rfc822; {to_addr}\n"
        f"Action: {action}\n"
        f"Status: {status}\n"
        f"{diag}"
        "\n"
        "--B--\n"
    ).encode()


def out_of_office(message_id: str = "<ooo-1@bluefin.example>") -> bytes:
    return (
        f"From: Priya Naidoo <{TO}>\n"
        f"To: bounces@{DOMAIN}\n"
        "Subject: Out of office\n"
        f"Message-ID: {message_id}\n"
        "Auto-Submitted: auto-replied\n"
        "\n"
        "I am away until Monday.\n"
    ).encode()
