"""Escalate a ticket up a tier (or to a supervisor, as a complaint) and hand it back down.

The holder is cleared on the way up, so it lands unclaimed on the new tier's board; whoever
escalated watches it. SLA clocks keep running.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.audit import body_digest
from supportdesk.core.claims import open_escalation
from supportdesk.core.desk import Desk
from supportdesk.core.notices import notify, watch
from supportdesk.core.staff_lookup import login_of
from supportdesk.core.tickets import DONE, require_writable
from supportdesk.core.views import JsonMixin
from supportdesk.enums import EventKind, Role
from supportdesk.errors import (
    InvalidTransition,
    NothingToDo,
    UsageError,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import Escalation, Ticket


TOP_TIER = 3


def reason_given(text: str | None, what: str = "a reason", option: str = "--reason") -> str:
    from supportdesk.rules import limits

    value = (text or "").strip()
    if not value:
        raise UsageError(f"give {what} ({option})")
    return limits.check(value, limits.REASON, what=what.removeprefix("a ").removeprefix("an "))


@dataclass(frozen=True)
class EscalationResult(JsonMixin):
    ticket_id: int
    escalation_id: int
    from_tier: int
    to_tier: int
    previous_holder: str | None
    holder: str | None


def escalate(
    desk: Desk,
    ticket_id: int,
    *,
    to_tier: int | None = None,
    reason: str,
    tried: str = "",
) -> EscalationResult:
    """Move a ticket up to `to_tier` (default: one up) with why and what was tried.

    The holder is cleared, so it lands unclaimed on the new tier's board; whoever escalated
    watches it. SLA clocks keep running."""
    from supportdesk.core.tickets import add_event, guard, load_ticket
    from supportdesk.models import Escalation
    from supportdesk.rules import limits

    why = reason_given(reason)
    tried = limits.check((tried or "").strip(), limits.TRIED, what="--tried")
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        # a solved ticket says so first: whoever resolved it holds it (issue 16)
        require_writable(t, "escalated")
        guard(desk, session, t, "ticket.escalate")
        target = t.tier + 1 if to_tier is None else to_tier
        if target > TOP_TIER or target < 1:
            raise UsageError(
                f"ticket #{t.id} is at tier {t.tier}; there is no tier {target} "
                f"(tiers 1 to {TOP_TIER})"
            )
        if target <= t.tier:
            raise UsageError(
                f"ticket #{t.id} is already at tier {t.tier}; escalating goes up "
                "(`supportdesk deescalate` hands it back)"
            )
        now = desk.now()
        actor = desk.actor
        previous = open_escalation(session, t)
        if previous is not None and previous.ended_at is None:
            previous.ended_at, previous.ended_how = now, "escalated"
        esc = Escalation(
            ticket_id=t.id,
            kind="tier",
            from_tier=t.tier,
            to_tier=target,
            reason=why,
            tried=tried,
            by_id=actor.staff_id,
            at=now,
        )
        session.add(esc)
        session.flush()
        old_holder = t.holder_id
        old_login = login_of(session, old_holder)
        body = why + (f"\nTried: {tried}" if tried else "")
        add_event(session, desk, t, EventKind.TIER, old=str(t.tier), new=str(target), body=body)
        if old_holder is not None:
            add_event(session, desk, t, EventKind.HOLDER, old=old_login, new=None)
        changes: dict[str, Any] = {
            "tier": [t.tier, target],
            "holder": [old_login, None],
            "reason": [None, body_digest(why)],
            "tried": [None, body_digest(tried) if tried else None],
            "escalation": [None, esc.id],
        }
        from_tier = t.tier
        t.tier = target
        t.tier_since = now
        t.escalation_id = esc.id
        t.escalations = (t.escalations or 0) + 1
        t.holder_id = None
        t.touched_at = None
        t.updated_at = now
        watch(session, desk, t.id, actor.staff_id)
        if old_holder is not None and old_holder != actor.staff_id:
            notify(
                session,
                desk,
                old_holder,
                t.id,
                "escalated",
                f"{actor.login} escalated #{t.id} to tier {target}; you no longer hold it",
            )
        record("ticket.escalate", "ticket", t.id, changes)
        return EscalationResult(t.id, esc.id, from_tier, target, old_login, None)


def deescalate(desk: Desk, ticket_id: int, *, reason: str) -> EscalationResult:
    """Hand a ticket back down to the tier it came from, to whoever escalated it."""
    from sqlalchemy import select

    from supportdesk.core.tickets import add_event, guard, load_ticket
    from supportdesk.models import Escalation, Staff

    why = reason_given(reason)
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.escalate")
        if t.status in DONE:
            raise InvalidTransition(f"ticket #{t.id} is {t.status}; it cannot be handed back")
        esc = open_escalation(session, t)
        if esc is None or t.tier <= 1 or esc.kind != "tier":
            raise UsageError(f"ticket #{t.id} was not escalated: there is nothing to hand back")
        now = desk.now()
        actor = desk.actor
        back_to = esc.from_tier
        escalator = session.get(Staff, esc.by_id) if esc.by_id is not None else None
        new_holder = None
        if escalator is not None and escalator.active:
            who = permissions.Actor(
                escalator.id, escalator.login, escalator.name, escalator.tier,
                Role(escalator.role), "", "",
            )  # fmt: skip
            if permissions.may_work_tier(who, back_to):
                new_holder = escalator
        esc.ended_at, esc.ended_how = now, "handed back"
        # the escalation that brought it to the lower tier (if any) is open again
        earlier = session.scalars(
            select(Escalation)
            .where(
                Escalation.ticket_id == t.id,
                Escalation.kind == "tier",
                Escalation.to_tier == back_to,
                Escalation.id < esc.id,
            )
            .order_by(Escalation.id.desc())
        ).first()
        if earlier is not None:
            earlier.ended_at, earlier.ended_how = None, None
        old_login = login_of(session, t.holder_id)
        new_login = new_holder.login if new_holder is not None else None
        add_event(session, desk, t, EventKind.TIER, old=str(t.tier), new=str(back_to), body=why)
        if t.holder_id != (new_holder.id if new_holder else None):
            add_event(session, desk, t, EventKind.HOLDER, old=old_login, new=new_login)
        changes: dict[str, Any] = {
            "tier": [t.tier, back_to],
            "holder": [old_login, new_login],
            "reason": [None, body_digest(why)],
            "escalation": [esc.id, earlier.id if earlier is not None else None],
        }
        from_tier = t.tier
        t.tier = back_to
        t.tier_since = now
        t.escalation_id = earlier.id if earlier is not None else None
        t.holder_id = new_holder.id if new_holder is not None else None
        t.touched_at = now if new_holder is not None else None
        t.updated_at = now
        if new_holder is not None and new_holder.id != actor.staff_id:
            notify(
                session,
                desk,
                new_holder.id,
                t.id,
                "handed back",
                f"{actor.login} handed #{t.id} back to you at tier {back_to}: {why}",
            )
        record("ticket.deescalate", "ticket", t.id, changes)
        return EscalationResult(t.id, esc.id, from_tier, back_to, old_login, new_login)


def to_supervisor(desk: Desk, ticket_id: int, *, reason: str) -> EscalationResult:
    """A complaint goes to a supervisor: the ticket is flagged for the leads, who are told."""
    from supportdesk.core.tickets import guard, load_ticket

    why = reason_given(reason)
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.escalate")
        require_writable(t, "escalated")
        if t.flagged_at is not None:
            raise NothingToDo(f"ticket #{t.id} is already flagged for the leads")
        actor = desk.actor
        esc = flag_to_supervisor(
            session,
            desk,
            record,
            t,
            why,
            notice=f"{actor.login} escalated a complaint on #{t.id} to a supervisor: {why}",
        )
        return EscalationResult(t.id, esc.id, t.tier, t.tier, None, login_of(session, t.holder_id))


def flag_to_supervisor(
    session: Session,
    desk: Desk,
    record: Any,
    t: Ticket,
    why: str,
    *,
    notice: str,
    by_staff: bool = True,
) -> Escalation:
    """Inside a write: ticket `t` goes to a supervisor, with an escalation of kind supervisor,
    a flag event, the leads told (`notice`) and the audit. By a staff member (`ticket
    complaint`) they watch it and are not told of their own act; by mail (the complaint
    mailbox, services/intake/routing.py) every lead is told and nobody starts watching."""
    from sqlalchemy import select

    from supportdesk.core.tickets import add_event
    from supportdesk.models import Escalation, Staff

    now = desk.now()
    actor = desk.actor
    esc = Escalation(
        ticket_id=t.id,
        kind="supervisor",
        from_tier=t.tier,
        to_tier=t.tier,
        reason=why,
        tried="",
        by_id=actor.staff_id,
        at=now,
    )
    session.add(esc)
    session.flush()
    add_event(session, desk, t, EventKind.FLAG, old=None, new="supervisor", body=why)
    t.flagged_at = now
    t.updated_at = now
    if by_staff:
        watch(session, desk, t.id, actor.staff_id)
    leads = session.scalars(
        select(Staff.id).where(Staff.role == Role.LEAD.value, Staff.active.is_(True))
    )
    for lead in leads:
        if not by_staff or lead != actor.staff_id:
            notify(session, desk, lead, t.id, "complaint", notice)
    record(
        "ticket.complaint",
        "ticket",
        t.id,
        {"flagged": [None, now.isoformat()], "reason": [None, body_digest(why)]},
    )
    return esc


def acknowledge_complaint(desk: Desk, ticket_id: int, *, note: str) -> None:
    """A lead takes note of a flagged complaint; the flag is cleared, the note kept."""
    from sqlalchemy import select

    from supportdesk.core.tickets import add_event, load_ticket
    from supportdesk.models import Escalation

    permissions.require(desk.actor, "complaint.ack")
    text = reason_given(note, "a note", "--note")
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        if t.flagged_at is None:
            raise NothingToDo(f"ticket #{t.id} is not flagged for the leads")
        now = desk.now()
        for esc in session.scalars(
            select(Escalation).where(
                Escalation.ticket_id == t.id,
                Escalation.kind == "supervisor",
                Escalation.ended_at.is_(None),
            )
        ):
            esc.ended_at, esc.ended_how = now, "acknowledged"
            esc.claimed_by_id, esc.claimed_at = desk.actor.staff_id, now
        add_event(session, desk, t, EventKind.FLAG, old="supervisor", new=None, body=text)
        record(
            "ticket.complaint_ack",
            "ticket",
            t.id,
            {"flagged": [t.flagged_at.isoformat(), None], "note": [None, body_digest(text)]},
        )
        t.flagged_at = None
        t.updated_at = now
