"""The ticket write core: load (and lock) a ticket, the role, tier and holder guard, history
events (each tells the ticket's watchers), the status transition table applied with its
resolution fields, SLA clocks and audit row, and the first response.

Every domain that changes a ticket does it through these, inside its own `desk.write()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.audit import new_nonce
from supportdesk.core.clocks import on_status_change
from supportdesk.core.desk import Desk, Recorder
from supportdesk.core.notices import tell_watchers, tell_watchers_on
from supportdesk.core.staff_lookup import login_of
from supportdesk.enums import TRANSITIONS, EventKind, ResolutionCode, Status
from supportdesk.errors import InvalidTransition, NotAllowed, NotFound, NothingToDo, UsageError
from supportdesk.rules import limits

if TYPE_CHECKING:  # the ORM is imported when a session uses it: the plain-driver claim
    # writes its history event through `add_event_on` without it
    from sqlalchemy.orm import Session

    from supportdesk.models import Ticket, TicketEvent
    from supportdesk.store import Transaction

DONE = (Status.RESOLVED.value, Status.CLOSED.value)


def parse_enum(enum: Any, value: str, what: str) -> Any:
    try:
        return enum(value.strip().lower())
    except ValueError:
        choices = ", ".join(e.value for e in enum)
        raise UsageError(f"unknown {what} {value!r} (one of: {choices})") from None


def load_ticket(session: Session, ticket_id: int, *, lock: bool = False) -> Ticket:
    from sqlalchemy import select

    from supportdesk.models import Ticket

    if not limits.fits_id(ticket_id):  # beyond every id column: nothing to find
        raise NotFound(f"no ticket #{ticket_id}")
    stmt = select(Ticket).where(Ticket.id == ticket_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    ticket = session.scalars(stmt).first()
    if ticket is None:
        raise NotFound(f"no ticket #{ticket_id}")
    return ticket


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def guard(desk: Desk, session: Session, ticket: Ticket, action: str) -> None:
    """Role, tier and holder checks (`permissions.refusal`): only the holder or a lead
    changes a held ticket, except that anyone logs a customer's call on any ticket."""
    actor = desk.actor
    other = ticket.holder_id is not None and ticket.holder_id != actor.staff_id
    holder = (login_of(session, ticket.holder_id) or "?") if other else None
    why = permissions.refusal(actor, action, ticket.id, ticket.tier, holder)
    if why is not None:
        raise NotAllowed(why)


def event_values(
    desk: Desk,
    ticket_id: int,
    kind: EventKind,
    *,
    body: str | None = None,
    visible: bool = False,
    from_customer: bool = False,
    call_outcome: str | None = None,
    old: str | None = None,
    new: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The columns of one history event (the ORM's `add_event` and the plain driver's
    `add_event_on` write the same row)."""
    return {
        "ticket_id": ticket_id,
        "kind": kind.value,
        "staff_id": None if from_customer else desk.actor.staff_id,
        "from_customer": from_customer,
        "visible": visible,
        "body": body,
        "nonce": new_nonce() if body is not None else None,  # salts the audit's digest of it
        "call_outcome": call_outcome,
        "old_value": old,
        "new_value": new,
        "created_at": at or desk.now(),
    }


def add_event(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    kind: EventKind,
    *,
    body: str | None = None,
    visible: bool = False,
    from_customer: bool = False,
    call_outcome: str | None = None,
    old: str | None = None,
    new: str | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    from supportdesk.models import TicketEvent

    event = TicketEvent(
        **event_values(
            desk,
            ticket.id,
            kind,
            body=body,
            visible=visible,
            from_customer=from_customer,
            call_outcome=call_outcome,
            old=old,
            new=new,
            at=at,
        )
    )
    session.add(event)
    if kind is not EventKind.CREATED:
        if not from_customer and ticket.holder_id == desk.actor.staff_id:
            ticket.touched_at = desk.now()  # the holder is working it: not a stale claim
        what = _summary(desk, kind, from_customer, old, new)
        tell_watchers(session, desk, ticket, what)
    return event


EVENT_COLUMNS = (
    "ticket_id",
    "kind",
    "staff_id",
    "from_customer",
    "visible",
    "body",
    "nonce",
    "call_outcome",
    "old_value",
    "new_value",
    "created_at",
)
EVENT_INSERT = (
    f"INSERT INTO ticket_events ({', '.join(EVENT_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
)


def add_event_on(
    tx: Transaction,
    desk: Desk,
    ticket_id: int,
    holder_id: int | None,
    kind: EventKind,
    *,
    old: str | None = None,
    new: str | None = None,
) -> None:
    """`add_event` on a plain-driver transaction, for a ticket held by `holder_id` (after
    the change): the same row, the holder's touch, the same word to its watchers."""
    values = event_values(desk, ticket_id, kind, old=old, new=new)
    values["created_at"] = tx.timestamp(values["created_at"])
    tx.run(EVENT_INSERT, [values[c] for c in EVENT_COLUMNS])
    if kind is not EventKind.CREATED:
        if holder_id == desk.actor.staff_id:
            tx.run(
                "UPDATE tickets SET touched_at = ? WHERE id = ?",
                (tx.timestamp(desk.now()), ticket_id),
            )
        what = _summary(desk, kind, False, old, new)
        tell_watchers_on(tx, desk, ticket_id, holder_id, what)


def _summary(
    desk: Desk, kind: EventKind, from_customer: bool, old: str | None, new: str | None
) -> str:
    """One line for a watcher's console: what changed, by whom."""
    who = "the customer" if from_customer else desk.actor.login
    if kind is EventKind.HOLDER:
        if new is None:
            return f"released by {who}" if old == who else f"{old} no longer holds it ({who})"
        return f"claimed by {new}" if new == who else f"given to {new} by {who}"
    if old is not None or new is not None:
        return f"{kind.value} {old or '-'} → {new or '-'} by {who}"
    return f"{kind.value} by {who}"


def check_transition(ticket: Ticket, new: Status) -> None:
    old = Status(ticket.status)
    if new is old:
        raise NothingToDo(f"ticket #{ticket.id} is already {old.value}")
    if new not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[old])) or "nothing (final)"
        raise InvalidTransition(
            f"ticket #{ticket.id} cannot go from {old.value} to {new.value} "
            f"(from {old.value}: {allowed})"
        )


CLOSED_FOR_WORK = {Status.RESOLVED.value, Status.CLOSED.value}


def change_status(
    session: Session,
    desk: Desk,
    record: Recorder,
    ticket: Ticket,
    new: Status,
    code: ResolutionCode | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    check_transition(ticket, new)
    now = desk.now()
    changes: dict[str, Any] = {"status": [ticket.status, new.value]}
    if new in (Status.RESOLVED, Status.CLOSED) and ticket.status not in CLOSED_FOR_WORK:
        if code is None:
            raise UsageError(f"{new.value} needs a resolution code")
        changes["resolution_code"] = [ticket.resolution_code, code.value]
        ticket.resolution_code = code.value
        if ticket.resolved_at is None:
            changes["resolved_at"] = [None, now.isoformat()]
            ticket.resolved_at = now
    elif new is Status.CLOSED and code is not None:
        changes["resolution_code"] = [ticket.resolution_code, code.value]
        ticket.resolution_code = code.value
    if new is Status.OPEN and ticket.status in CLOSED_FOR_WORK:  # reopen
        changes["resolved_at"] = [
            ticket.resolved_at.isoformat() if ticket.resolved_at else None,
            None,
        ]
        changes["resolution_code"] = [ticket.resolution_code, None]
        ticket.resolved_at = None
        ticket.resolution_code = None
        if ticket.tier_since is None:  # solved before the tier boards: back on one now
            ticket.tier_since = now
    if new is not Status.SCHEDULED and ticket.window_id is not None:
        changes["window"] = [ticket.window_id, None]  # no longer waiting for a window
        ticket.window_id = None
    add_event(session, desk, ticket, EventKind.STATUS, old=ticket.status, new=new.value)
    on_status_change(session, desk, ticket, ticket.status, new.value)
    ticket.status = new.value
    ticket.updated_at = now
    if extra:
        changes.update(extra)
    record("ticket.status", "ticket", ticket.id, changes)


def first_response(ticket: Ticket, now: datetime, changes: dict[str, Any]) -> None:
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        changes["first_response_at"] = [None, now.isoformat()]
    if ticket.status == Status.NEW.value:
        ticket.status = Status.OPEN.value
        changes["status"] = [Status.NEW.value, Status.OPEN.value]


def require_writable(ticket: Ticket, verb: str) -> None:
    if ticket.status in DONE:
        raise InvalidTransition(f"ticket #{ticket.id} is {ticket.status}; it cannot be {verb}")
    if ticket.status == Status.AWAITING_AUTHORIZATION.value:
        raise InvalidTransition(
            f"ticket #{ticket.id} is awaiting authorization: an authorized contact must "
            f"confirm it before it can be {verb}"
        )
