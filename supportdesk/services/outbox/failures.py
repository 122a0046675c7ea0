"""What a delivery's outcome does to the desk (issue 18, item 5), called by the sender inside
its own short write transaction, after the SMTP conversation (never during it), and by
`mail ingest` for a bounce tied to its message by the VERP address.

- `message_failed`: a message failed for good (a 5xx to RCPT or DATA, a bounce, deferred
  past `max_defer`). The row is marked failed with the reason (the caller does not mark it
  itself: this function does, and a second call for a failed row does nothing more). A
  failed reply flags its ticket for the holder and the leads (each gets a notice), and when
  it was the first response it stops counting as one: the respond clock runs again from
  where it stopped (or the next response counts instead), and the history says why. A
  failed automatic message (acknowledgement, incident update, notice) is only recorded.
- `transport_fault`: the transport itself failed (AUTH refused, TLS failure, relay refused):
  an open alarm is raised (the leads get one notice) or its count bumped, for the lead's
  board.
- `transport_ok`: a delivery succeeded: an open alarm is cleared (the leads are told).

Each state change writes its audit row in the caller's transaction. The actor may be a
login that is not on the staff list (a sender run from cron): events and notices then name
nobody.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from supportdesk.core.audit import new_nonce
from supportdesk.core.clocks import on_response_failed
from supportdesk.core.desk import Recorder
from supportdesk.core.notices import NOTICE_INSERT, WATCHERS_SQL
from supportdesk.core.tickets import DONE, load_ticket
from supportdesk.enums import CallOutcome, EventKind, Role
from supportdesk.errors import NotFound
from supportdesk.rules.one_time_codes import mask_codes
from supportdesk.store import on_transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk
    from supportdesk.models import OutboxMessage, Ticket, TicketEvent

REASON_LIMIT = 2000
MAIL_FLAG = "mail failed"  # the flag event's new value (a complaint's is "supervisor")


def storable(text: str, limit: int = REASON_LIMIT) -> str:
    """A server's words as one storable line (no NUL, which PostgreSQL text refuses)."""
    return " ".join(text.replace("\x00", " ").split())[:limit] or "failed"


def actor_id(desk: Desk) -> int | None:
    """The acting staff member's id, or None for a login not on the staff list."""
    try:
        return desk.actor.staff_id
    except NotFound:
        return None


def message_failed(session: Session, desk: Desk, message: OutboxMessage, reason: str) -> None:
    """Mark `message` failed for good, with what follows from it (see the module's text).
    Idempotent: a message already failed is left as it is."""
    if message.state == "failed" and message.failed_at is not None:
        return
    now = desk.now()
    why = storable(reason)
    before = message.state
    message.state = "failed"
    message.failed_at = now
    if message.kind == "confirmation":  # its one-time code is kept no longer
        message.body = mask_codes(message.body)
    message.last_error = why
    message.lease_owner = None
    message.lease_until = None
    session.flush()
    record = Recorder(session, desk, desk.who)
    record(
        "mail.failed",
        "outbox",
        message.id,
        {
            "state": [before, "failed"],
            "reason": [None, why],
            "kind": [None, message.kind],
            "ticket": [None, message.ticket_id],
        },
    )
    if message.kind == "reply" and message.ticket_id is not None:
        _reply_failed(session, desk, record, message, why, now)


def _reply_failed(
    session: Session,
    desk: Desk,
    record: Recorder,
    message: OutboxMessage,
    reason: str,
    now: datetime,
) -> None:
    from supportdesk.models import TicketEvent

    assert message.ticket_id is not None
    t = load_ticket(session, message.ticket_id, lock=True)
    why = storable(f"reply to {message.to_addr} failed: {reason}", 400)
    changes: dict[str, Any] = {"outbox": [None, message.id], "reason": [None, why]}
    event = session.get(TicketEvent, message.event_id) if message.event_id else None
    first = t.first_response_at
    if event is not None and first is not None and event.created_at <= first:
        later = _next_response(session, t, event)
        changes["first_response_at"] = [first.isoformat(), later.isoformat() if later else None]
        t.first_response_at = later
        if later is None and t.status not in DONE:
            on_response_failed(session, desk, t, why)
    body = why
    if "first_response_at" in changes:
        if t.first_response_at is not None and event is not None:
            body += f"; the next response, {_later(t.first_response_at - event.created_at)}"
            body += ", counts as the first"
        else:
            body += "; it no longer counts as the first response"
    me = actor_id(desk)
    session.add(
        TicketEvent(
            ticket_id=t.id,
            kind=EventKind.FLAG.value,
            staff_id=me,
            body=body,
            nonce=new_nonce(),
            new_value=MAIL_FLAG,
            created_at=now,
        )
    )
    if t.flagged_at is None:
        changes["flagged"] = [None, now.isoformat()]
        t.flagged_at = now
    t.updated_at = now
    session.flush()
    _tell(session, desk, t, f"#{t.id} {why}; flagged for the holder and the leads")
    record("ticket.mail_failed", "ticket", t.id, changes)


def _later(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min later" if minutes < 120 else f"{minutes // 60} h later"


def _next_response(session: Session, ticket: Ticket, failed: TicketEvent) -> datetime | None:
    """When the first response after `failed` was made that still counts: a staff reply
    whose mail did not fail (or that was never mailed), or a call where we spoke."""
    from sqlalchemy import and_, or_

    from supportdesk.models import OutboxMessage, TicketEvent

    failed_mail = select(OutboxMessage.event_id).where(
        OutboxMessage.ticket_id == ticket.id,
        OutboxMessage.state == "failed",
        OutboxMessage.event_id.is_not(None),
    )
    return session.scalar(
        select(TicketEvent.created_at)
        .where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.id != failed.id,
            TicketEvent.created_at >= failed.created_at,
            or_(
                and_(
                    TicketEvent.kind == EventKind.REPLY.value,
                    TicketEvent.from_customer.is_(False),
                    TicketEvent.visible.is_(True),
                    TicketEvent.id.not_in(failed_mail),
                ),
                and_(
                    TicketEvent.kind == EventKind.CALL.value,
                    TicketEvent.call_outcome == CallOutcome.SPOKE.value,
                ),
            ),
        )
        .order_by(TicketEvent.created_at, TicketEvent.id)
        .limit(1)
    )


def _leads(session: Session) -> list[int]:
    from supportdesk.models import Staff

    return list(
        session.scalars(
            select(Staff.id).where(Staff.role == Role.LEAD.value, Staff.active.is_(True))
        )
    )


def _notify(session: Session, desk: Desk, who: list[int], ticket_id: int | None, body: str) -> None:
    """One notice for each of `who` (once each), from the actor or from nobody."""
    tx = on_transaction(session)
    by = actor_id(desk)
    at = tx.timestamp(desk.clock.real_now())
    for staff_id in dict.fromkeys(who):
        tx.run(NOTICE_INSERT, (staff_id, ticket_id, "mail", body, by, at))


def _tell(session: Session, desk: Desk, ticket: Ticket, body: str) -> None:
    """The holder, the leads and the ticket's watchers hear of a failed reply."""
    tx = on_transaction(session)
    watchers = [sid for (sid,) in tx.run(WATCHERS_SQL, (ticket.id,))]
    holder = [ticket.holder_id] if ticket.holder_id is not None else []
    _notify(session, desk, [*holder, *_leads(session), *watchers], ticket.id, body)


def transport_fault(session: Session, desk: Desk, reason: str) -> None:
    """Raise the mail alarm (the leads are told once) or bump the open one."""
    from supportdesk.models import MailAlarm

    now = desk.now()
    why = storable(reason)
    open_alarm = session.scalars(
        select(MailAlarm).where(MailAlarm.cleared_at.is_(None)).order_by(MailAlarm.id).limit(1)
    ).first()
    if open_alarm is not None:
        open_alarm.last_seen_at = now
        open_alarm.reason = why
        open_alarm.count += 1
        session.flush()
        return
    alarm = MailAlarm(raised_at=now, last_seen_at=now, reason=why, count=1)
    session.add(alarm)
    session.flush()
    Recorder(session, desk, desk.who)(
        "mail.alarm",
        "mail_alarm",
        alarm.id,
        {"raised_at": [None, now.isoformat()], "reason": [None, why]},
    )
    _notify(
        session,
        desk,
        _leads(session),
        None,
        f"Mail is not going out: {storable(why, 200)}; every message waits until it is fixed",
    )


def transport_ok(session: Session, desk: Desk) -> None:
    """Clear the open mail alarm (if any); the leads are told mail goes out again."""
    from supportdesk.models import MailAlarm

    now = desk.now()
    alarms = list(session.scalars(select(MailAlarm).where(MailAlarm.cleared_at.is_(None))))
    if not alarms:
        return
    record = Recorder(session, desk, desk.who)
    for alarm in alarms:
        alarm.cleared_at = now
        record("mail.alarm_clear", "mail_alarm", alarm.id, {"cleared_at": [None, now.isoformat()]})
    session.flush()
    _notify(session, desk, _leads(session), None, "Mail is going out again")
