"""Changing a ticket: priority, request type and status, take (the claim), resolve, merge a
duplicate. Resolving waits while the ticket's request type is blocked (core/request_block.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from supportdesk.core import claims
from supportdesk.core.clocks import (
    on_status_change,
    retarget_ticket,
)
from supportdesk.core.desk import Desk
from supportdesk.core.request_block import require_unblocked
from supportdesk.core.tickets import (
    add_event,
    change_status,
    check_transition,
    guard,
    iso,
    load_ticket,
    parse_enum,
)
from supportdesk.enums import (
    Category,
    EventKind,
    Priority,
    ResolutionCode,
    Status,
)
from supportdesk.errors import (
    InvalidTransition,
    NotAllowed,
    NothingToDo,
    UsageError,
)
from supportdesk.models import (
    Attachment,
    Ticket,
    TicketEvent,
)
from supportdesk.rules.request_types import check_request_type
from supportdesk.services.tickets.request_type import apply_request_type


def update_fields(
    desk: Desk,
    ticket_id: int,
    *,
    priority: str | None = None,
    status: str | None = None,
    code: str | None = None,
    request_type: str | None = None,
    category: str | None = None,
) -> None:
    """Change priority, category, request type and/or status (following the transition
    table), in that order: a new type is checked (held or released) before a status change."""
    if priority is None and status is None and request_type is None and category is None:
        raise UsageError(
            "nothing to change: give --priority, --category, --request-type and/or --status"
        )
    if request_type is not None:
        check_request_type(request_type)
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.update")
        changed = apply_fields(
            session,
            desk,
            record,
            t,
            priority=priority,
            status=status,
            code=code,
            request_type=request_type,
            category=category,
        )
        if not changed:
            raise NothingToDo(f"ticket #{t.id} already has those values")


def apply_fields(
    session: Any,
    desk: Desk,
    record: Any,
    t: Ticket,
    *,
    priority: str | None = None,
    status: str | None = None,
    code: str | None = None,
    request_type: str | None = None,
    category: str | None = None,
) -> bool:
    """`update_fields` on ticket `t`, loaded, locked and guarded ("ticket.update") by the
    caller in its write; whether anything changed."""
    prio = parse_enum(Priority, priority, "priority") if priority else None
    cat = parse_enum(Category, category, "category") if category else None
    new_status = parse_enum(Status, status, "status") if status else None
    res = parse_enum(ResolutionCode, code, "resolution code") if code else None
    changed = False
    if prio is not None and prio.rank != t.priority_rank:
        old = Priority.from_rank(t.priority_rank).value
        add_event(session, desk, t, EventKind.PRIORITY, old=old, new=prio.value)
        t.priority_rank = prio.rank
        t.updated_at = desk.now()
        dues = (iso(t.respond_due), iso(t.resolve_due))
        retarget_ticket(session, desk, t, f"priority {old} → {prio.value}")
        record(
            "ticket.priority",
            "ticket",
            t.id,
            {
                "priority": [old, prio.value],
                "respond_due": [dues[0], iso(t.respond_due)],
                "resolve_due": [dues[1], iso(t.resolve_due)],
            },
        )
        changed = True
    if cat is not None and cat.value != t.category:
        add_event(session, desk, t, EventKind.CATEGORY, old=t.category, new=cat.value)
        record("ticket.category", "ticket", t.id, {"category": [t.category, cat.value]})
        t.category = cat.value
        t.updated_at = desk.now()
        changed = True
    if request_type is not None:
        changed = apply_request_type(session, desk, record, t, request_type) or changed
    if new_status is not None and new_status.value != t.status:
        if new_status is Status.NEW:
            raise InvalidTransition(f"ticket #{t.id} cannot go back to new")
        if t.status == Status.AWAITING_AUTHORIZATION.value:
            _held_change(desk, t, new_status, res)
        if new_status is Status.RESOLVED or res is ResolutionCode.FIXED:
            require_unblocked(session, desk, t, new_status.value)
        took = _take_to_resolve(session, desk, t) if new_status is Status.RESOLVED else None
        change_status(session, desk, record, t, new_status, res, took)
        changed = True
    return changed


def _held_change(desk: Desk, t: Ticket, new: Status, code: ResolutionCode | None) -> None:
    """A held ticket opens only by confirmation; only a lead closes it, as not_authorized."""
    if new is Status.OPEN:
        raise NotAllowed(
            f"ticket #{t.id} is awaiting authorization: an authorized contact must confirm it "
            "(`supportdesk ticket confirm`)"
        )
    if new is Status.CLOSED:
        if not desk.actor.is_lead:
            raise NotAllowed(f"only a lead closes ticket #{t.id} while it awaits authorization")
        if code is not ResolutionCode.NOT_AUTHORIZED:
            raise UsageError("a held ticket is closed with --code not_authorized")


def claim(desk: Desk, ticket_id: int) -> None:
    """Claim a ticket: one conditional update, so of N racing people exactly one wins
    (core's claim, on the plain driver)."""
    claims.claim_chosen(desk, ticket_id)


def resolve(desk: Desk, ticket_id: int, code: str) -> None:
    res = parse_enum(ResolutionCode, code, "resolution code")
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.resolve")
        require_unblocked(session, desk, t, "resolved")
        took = _take_to_resolve(session, desk, t)
        change_status(session, desk, record, t, Status.RESOLVED, res, took)


def _take_to_resolve(session: Any, desk: Desk, t: Ticket) -> dict[str, Any] | None:
    """Whoever resolves a ticket nobody holds takes it, in the same transaction (issue 16:
    the resolution is theirs, on the ticket and in `report sla --by agent`). Returns the
    audit's change of holder, or None when the ticket was held."""
    if t.holder_id is not None:
        return None
    check_transition(t, Status.RESOLVED)  # nothing is taken for a refused change
    me = desk.actor
    add_event(session, desk, t, EventKind.HOLDER, old=None, new=me.login, body="took it to resolve")
    t.holder_id = me.staff_id
    t.touched_at = desk.now()
    claims.mark_claimed(session, desk, t, me.staff_id)
    return {"holder": [None, me.login]}


def merge(desk: Desk, ticket_id: int, into: int) -> int:
    """Fold a duplicate into another ticket: its thread moves with the files that came or
    went with it (the attachments follow their events: `attachment list` of the target
    shows them, bytes untouched), and it is closed as duplicate."""
    if ticket_id == into:
        raise UsageError("a ticket cannot be merged into itself")
    with desk.write() as (session, record):
        dup = load_ticket(session, ticket_id, lock=True)
        target = load_ticket(session, into, lock=True)
        guard(desk, session, dup, "ticket.merge")
        guard(desk, session, target, "ticket.merge")
        if dup.account_id != target.account_id:
            raise UsageError(
                f"ticket #{dup.id} is on {dup.account_id} and #{target.id} on "
                f"{target.account_id}: only tickets of one account can be merged"
            )
        if target.status == Status.CLOSED.value:
            raise InvalidTransition(f"ticket #{target.id} is closed; merge into an open ticket")
        if dup.status == Status.CLOSED.value:
            raise InvalidTransition(f"ticket #{dup.id} is already closed")
        result: Any = session.execute(
            update(TicketEvent).where(TicketEvent.ticket_id == dup.id).values(ticket_id=target.id)
        )
        moved = int(result.rowcount)
        files: Any = session.execute(
            update(Attachment).where(Attachment.ticket_id == dup.id).values(ticket_id=target.id)
        )
        files_moved = int(files.rowcount)
        add_event(
            session,
            desk,
            target,
            EventKind.MERGE,
            old=str(dup.id),
            new=str(target.id),
            body=f"Merged #{dup.id}: {dup.subject}",
        )
        dup.merged_into_id = target.id
        check_transition(dup, Status.CLOSED)
        add_event(session, desk, dup, EventKind.STATUS, old=dup.status, new=Status.CLOSED.value)
        on_status_change(session, desk, dup, dup.status, Status.CLOSED.value)
        old_status = dup.status
        dup.status = Status.CLOSED.value
        dup.resolution_code = ResolutionCode.DUPLICATE.value
        now = desk.now()
        dup.resolved_at = dup.resolved_at or now
        dup.updated_at = target.updated_at = now
        record(
            "ticket.merge",
            "ticket",
            dup.id,
            {
                "merged_into": [None, target.id],
                "status": [old_status, Status.CLOSED.value],
                "resolution_code": [None, ResolutionCode.DUPLICATE.value],
                "events_moved": [None, moved],
                **({"attachments_moved": [None, files_moved]} if files_moved else {}),
            },
        )
        return moved
