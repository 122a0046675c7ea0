"""SLA clocks applied inside ticket writes: started when a ticket is created, paused,
resumed and stopped with its status, met by the first response, retargeted when its
priority or plan changes. Each change of a clock's state or due time adds an `sla` event
to the ticket's history in the same transaction (the arithmetic is rules/sla_engine.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from supportdesk.core.policy import current_policy
from supportdesk.enums import EventKind, Priority
from supportdesk.errors import NotFound
from supportdesk.rules.calendar import Calendar
from supportdesk.rules.policy import Plan, Policy
from supportdesk.rules.sla_engine import (
    CLOCKS,
    PAUSING_STATUSES,
    ClockState,
    SlaClock,
    TicketClocks,
    format_span,
    on_response,
    on_response_undone,
    on_status,
    retarget,
    start,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk
    from supportdesk.models import Ticket


STOPPED_BY = {"respond": "responded_by", "resolve": "resolved_by"}


def clocks_of(ticket: Ticket) -> TicketClocks:
    def one(name: str) -> SlaClock:
        return SlaClock(
            ClockState(getattr(ticket, f"{name}_state")),
            getattr(ticket, f"{name}_target_s"),
            getattr(ticket, f"{name}_used_s") or 0,
            getattr(ticket, f"{name}_paused_s") or 0,
            getattr(ticket, f"{name}_since"),
            getattr(ticket, f"{name}_due"),
            getattr(ticket, f"{name}_paused"),
        )

    return TicketClocks(one("respond"), one("resolve"))


def clock_values(clock: SlaClock) -> dict[str, Any]:
    return {
        "state": clock.state.value,
        "target_s": clock.target_s,
        "used_s": clock.used_s,
        "paused_s": clock.paused_s,
        "since": clock.since,
        "due": clock.due,
        "paused": clock.paused,
    }


def describe_clock(name: str, clock: SlaClock) -> str:
    due = clock.due.isoformat(timespec="seconds") if clock.due else "-"
    return f"{name} {clock.state.value} {due}"


def _store(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    old: TicketClocks,
    new: TicketClocks,
    why: str,
) -> None:
    """Write changed clocks onto the ticket and add one history event per changed clock."""
    from supportdesk.models import TicketEvent

    for name in CLOCKS:
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        for field, value in clock_values(after).items():
            setattr(ticket, f"{name}_{field}", value)
        if after.stopped != before.stopped:  # who stopped it; nobody once it runs again
            by = desk.actor.staff_id if after.stopped and has_actor(desk) else None
            setattr(ticket, STOPPED_BY[name], by)
        if (before.state, before.due, before.target_s) != (after.state, after.due, after.target_s):
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    kind=EventKind.SLA.value,
                    staff_id=desk.actor.staff_id if has_actor(desk) else None,
                    body=event_body(name, before, after, why),
                    old_value=describe_clock(name, before),
                    new_value=describe_clock(name, after),
                    created_at=desk.now(),
                )
            )
    ticket.sla_key = new.sort_key


def has_actor(desk: Desk) -> bool:
    try:
        desk.actor  # noqa: B018
    except NotFound:
        return False
    return True


def event_body(name: str, before: SlaClock, after: SlaClock, why: str) -> str:
    if after.stopped and not before.stopped:
        verdict = "met" if after.state is ClockState.MET else "breached"
        return f"{name} clock stopped ({why}): {verdict}, {format_span(after.used_s)} business time"
    if before.stopped and after.state is ClockState.PAUSED:
        return f"{name} clock restarted, paused by the status ({why})"
    if after.state is ClockState.PAUSED and before.state is not ClockState.PAUSED:
        return f"{name} clock paused ({why})"
    if before.state is ClockState.PAUSED and after.state is ClockState.RUNNING:
        return f"{name} clock resumed ({why})"
    if before.stopped and after.state is ClockState.RUNNING:
        return f"{name} clock restarted ({why})"
    if before.state is ClockState.NONE:
        return f"{name} clock started ({why})"
    return f"{name} target changed ({why})"


def _plan_and_calendar(policy: Policy, plan_name: str | None) -> tuple[Plan, Calendar]:
    plan = policy.plan_for(plan_name)
    return plan, plan.calendar


def _targets(plan: Plan, priority: Priority) -> dict[str, tuple[int | None, bool]]:
    out = {}
    for name in CLOCKS:
        target = plan.target(name, priority)
        out[name] = (target.seconds, target.kind != "none")
    return out


def _account_plan(session: Session, account_id: str) -> str | None:
    from supportdesk.models import Account

    account = session.get(Account, account_id)
    return account.plan if account else None


def on_create(session: Session, desk: Desk, ticket: Ticket, *, responded: bool = False) -> None:
    """Start both clocks; `responded`: opened during a verified call (respond is met)."""
    policy = current_policy(desk)
    plan, calendar = _plan_and_calendar(policy, _account_plan(session, ticket.account_id))
    now = ticket.created_at
    targets = _targets(plan, Priority.from_rank(ticket.priority_rank))
    clocks = TicketClocks(
        *(start(calendar, now, t, has_target=has) for t, has in (targets[n] for n in CLOCKS))
    )
    if responded:
        clocks = on_response(clocks, calendar, now)
    ticket.sla_plan = plan.name
    _store(session, desk, ticket, clocks_of(ticket), clocks, "ticket created")


def on_status_change(session: Session, desk: Desk, ticket: Ticket, old: str, new: str) -> None:
    if old == new:
        return
    calendar = _calendar_of(desk, ticket)
    before = clocks_of(ticket)
    after = on_status(before, calendar, desk.now(), old, new)
    _store(session, desk, ticket, before, after, f"{old} → {new}")


def on_first_response(session: Session, desk: Desk, ticket: Ticket, why: str) -> None:
    calendar = _calendar_of(desk, ticket)
    before = clocks_of(ticket)
    _store(session, desk, ticket, before, on_response(before, calendar, desk.now()), why)


def on_response_failed(session: Session, desk: Desk, ticket: Ticket, why: str) -> None:
    """The reverse of `on_first_response`: the response never reached the customer, so the
    respond clock runs again from where it stopped; its history event says `why`."""
    calendar = _calendar_of(desk, ticket)
    before = clocks_of(ticket)
    after = on_response_undone(before, calendar, desk.now(), ticket.status)
    _store(session, desk, ticket, before, after, why)


def _retargeted(
    before: TicketClocks, plan: Plan, priority: Priority, status: str, now: datetime
) -> TicketClocks:
    """The clocks under `plan`'s targets for `priority` (a clock the old plan did not track
    starts now, paused when the ticket's status pauses it)."""
    after = before
    for name in CLOCKS:
        target = plan.target(name, priority)
        clock = before.get(name)
        paused_by = status if status in PAUSING_STATUSES[name] else None
        after = after.with_(
            name,
            retarget(
                clock,
                plan.calendar,
                now,
                target.seconds,
                has_target=target.kind != "none",
                paused_by=paused_by,
            ),
        )
    return after


def retarget_ticket(
    session: Session, desk: Desk, ticket: Ticket, why: str, policy: Policy | None = None
) -> bool:
    """Apply the current plan and priority to the running and paused clocks."""
    policy = policy or current_policy(desk)
    plan = policy.plan_for(_account_plan(session, ticket.account_id))
    before = clocks_of(ticket)
    after = _retargeted(
        before, plan, Priority.from_rank(ticket.priority_rank), ticket.status, desk.now()
    )
    ticket.sla_plan = plan.name
    _store(session, desk, ticket, before, after, why)
    return after != before


def _calendar_of(desk: Desk, ticket: Ticket) -> Calendar:
    return current_policy(desk).plan_for(ticket.sla_plan).calendar
