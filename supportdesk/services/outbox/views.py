"""Delivery you can see (issue 18, item 5): outgoing messages and the mail alarm as plain
data for the thread, `ticket show`, `mail outbox` and the lead's board; and `mail retry`,
which puts a failed or deferred message back in the queue (leads, audited)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.views import DeliveryView, MailAlarmView
from supportdesk.errors import NotFound, NothingToDo, UsageError
from supportdesk.rules import limits
from supportdesk.rules.one_time_codes import mask_codes

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import OutboxMessage

STATES = ("queued", "sending", "sent", "deferred", "failed", "withdrawn")
WAITING = ("queued", "deferred", "sending")
RETRYABLE = ("failed", "deferred")


def delivery_view(m: OutboxMessage) -> DeliveryView:
    redacted = m.redacted_at is not None
    return DeliveryView(
        id=m.id,
        kind=m.kind,
        state=m.state,
        ticket_id=m.ticket_id,
        event_id=m.event_id,
        to_addr=m.to_addr,
        subject=m.subject,
        queued_at=m.queued_at,
        send_after=m.send_after,
        attempts=m.attempts or 0,
        sent_at=m.sent_at,
        failed_at=m.failed_at,
        last_error=m.last_error,
        server_reply=m.server_reply,
        redacted=redacted,
        # a confirmation request's code is never shown, even while it waits to be sent
        body=None if redacted else mask_codes(m.body) if m.kind == "confirmation" else m.body,
    )


def ticket_deliveries(session: Session, ticket_id: int) -> tuple[DeliveryView, ...]:
    """A ticket's outgoing mail, oldest first (read off ix_outbox_ticket)."""
    from supportdesk.models import OutboxMessage

    return tuple(
        delivery_view(m)
        for m in session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.ticket_id == ticket_id)
            .order_by(OutboxMessage.id)
        )
    )


def mail_alarm(desk: Desk) -> MailAlarmView | None:
    """The open mail alarm, with how many messages wait behind it; None when mail flows.
    Plain-driver reads (the lead's board reads it at every refresh): the newest open alarm,
    and a count off ix_outbox_due."""
    from supportdesk.core.views import parse_utc

    rows = desk.store.query(
        "SELECT id, raised_at, last_seen_at, reason, count FROM mail_alarms"
        " WHERE cleared_at IS NULL ORDER BY id DESC LIMIT 1"
    )
    if not rows:
        return None
    aid, raised, seen, reason, count = rows[0]
    waiting = desk.store.query(
        "SELECT count(*) FROM outbox WHERE state IN ('queued', 'deferred', 'sending')"
    )[0][0]
    return MailAlarmView(
        aid, parse_utc(raised), parse_utc(seen), reason, int(count), int(waiting or 0)
    )


def outbox(
    desk: Desk, *, state: str | None = None, ticket_id: int | None = None, limit: int = 50
) -> list[DeliveryView]:
    """Outgoing messages, newest first, by state and/or ticket (leads)."""
    from supportdesk.models import OutboxMessage

    permissions.require(desk.actor, "mail.outbox")
    if state is not None and state not in STATES:
        raise UsageError(f"unknown state {state!r} (one of: {', '.join(STATES)})")
    stmt = select(OutboxMessage)
    if state is not None:
        stmt = stmt.where(OutboxMessage.state == state)
    if ticket_id is not None:
        if not limits.fits_id(ticket_id):
            return []
        stmt = stmt.where(OutboxMessage.ticket_id == ticket_id)
    with desk.store.read() as s:
        rows = s.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(limit))
        return [delivery_view(m) for m in rows]


def retry(desk: Desk, message_id: int) -> DeliveryView:
    """Put a failed or deferred message back in the queue, due now (leads). Its queue time
    starts again, so `max_defer` counts from the retry; its Message-ID stays."""
    from supportdesk.models import OutboxMessage

    permissions.require(desk.actor, "mail.outbox")
    with desk.write() as (session, record):
        m = session.get(OutboxMessage, message_id) if limits.fits_id(message_id) else None
        if m is None:
            raise NotFound(f"no outgoing message {message_id}")
        if m.state not in RETRYABLE:
            if m.state in WAITING:
                raise NothingToDo(f"message {m.id} is {m.state}: it is still to be sent")
            raise UsageError(
                f"message {m.id} is {m.state}: only a failed or deferred one is retried"
            )
        if m.redacted_at is not None:
            raise UsageError(f"message {m.id} was redacted: it is not sent")
        now = desk.now()
        record(
            "mail.retry",
            "outbox",
            m.id,
            {
                "state": [m.state, "queued"],
                "queued_at": [m.queued_at.isoformat(), now.isoformat()],
                "last_error": [m.last_error, None],
            },
        )
        m.state = "queued"
        m.queued_at = now
        m.send_after = now
        m.due_at = now
        m.failed_at = None
        m.last_error = None
        m.lease_owner = None
        m.lease_until = None
        session.flush()
        return delivery_view(m)
