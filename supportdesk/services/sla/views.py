"""A ticket's clocks as the CLI and the screens show them, and `sla due`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.clocks import (
    clocks_of,
)
from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.enums import EventKind
from supportdesk.errors import NotFound, UsageError
from supportdesk.rules.calendar import CalendarError
from supportdesk.rules.policy import Plan, Policy
from supportdesk.rules.sla_engine import (
    CLOCKS,
    ClockReading,
    ClockState,
    SlaClock,
    TicketClocks,
    format_left,
    read,
)

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class ClockView:
    name: str
    target: str  # "4h", "best effort", "none"
    target_s: int | None
    state: str  # a Reading value
    due: datetime | None
    remaining_s: int | None
    used_s: int
    paused_s: int
    warn_level: int
    paused: str | None
    closed_until: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "target_seconds": self.target_s,
            "state": self.state,
            "due": self.due.isoformat() if self.due else None,
            "remaining_seconds": self.remaining_s,
            "elapsed_seconds": self.used_s,
            "paused_seconds": self.paused_s,
            "warning_level": self.warn_level,
            "paused_reason": self.paused,
            "closed_until": self.closed_until.isoformat() if self.closed_until else None,
        }


@dataclass(frozen=True)
class SlaView:
    ticket_id: int
    plan: str
    calendar: str
    zone: str
    warn: tuple[int, ...]
    clocks: tuple[ClockView, ...]
    history: tuple[tuple[datetime, str | None, str], ...]  # (when, who, what)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ticket": self.ticket_id,
            "plan": self.plan,
            "calendar": self.calendar,
            "timezone": self.zone,
        }
        for clock in self.clocks:
            out[clock.name] = clock.to_json()
        out["history"] = [
            {"at": at.isoformat(), "by": who, "what": what} for at, who, what in self.history
        ]
        return out


def target_text(clock: SlaClock) -> str:
    if clock.state is ClockState.NONE:
        return "none"
    if clock.target_s is None:
        return "best effort"
    from supportdesk.rules.policy import format_duration

    return format_duration(clock.target_s)


def clock_view(name: str, clock: SlaClock, plan: Plan, now: datetime) -> ClockView:
    reading: ClockReading = read(clock, plan.calendar, plan.warn, now)
    return ClockView(
        name,
        target_text(clock),
        clock.target_s,
        reading.reading.value,
        clock.due,
        reading.remaining_s,
        reading.used_s,
        reading.paused_s,
        reading.warn_level,
        clock.paused,
        reading.closed_until,
    )


MARKS = {"warning": "!", "breached": "✖", "paused": "⏸"}


SHORT_PAUSE = {"pending_customer": "cust", "scheduled": "sched", "awaiting_authorization": "auth"}


def next_due_text(clocks: TicketClocks | None, plan: Plan, now: datetime) -> str:
    """The nearer running clock as plain text for the CLI ("3h 10m", "! 0:42:10",
    "✖ -1h 05m", "⏸ cust"), or "-"."""
    if clocks is None:
        return "-"
    best: ClockReading | None = None
    for name in CLOCKS:
        r = read(clocks.get(name), plan.calendar, plan.warn, now)
        if r.remaining_s is None or r.reading.value not in ("running", "warning", "breached"):
            continue
        if best is None or (best.remaining_s or 0) > r.remaining_s:
            best = r
    if best is None:
        for name in CLOCKS:
            r = read(clocks.get(name), plan.calendar, plan.warn, now)
            if r.reading.value == "paused" and r.paused:
                return "⏸ " + SHORT_PAUSE.get(r.paused, r.paused[:5])
        return "-"
    mark = MARKS.get(best.reading.value, "")
    text = format_left(best.remaining_s or 0)
    return f"{mark} {text}" if mark else text


def show(desk: Desk, ticket_id: int) -> SlaView:
    from sqlalchemy import select

    from supportdesk.models import Staff, Ticket, TicketEvent
    from supportdesk.rules.limits import fits_id

    permissions.require(desk.actor, "ticket.read")
    policy = current_policy(desk)
    with desk.store.read() as session:
        ticket = session.get(Ticket, ticket_id) if fits_id(ticket_id) else None
        if ticket is None:
            raise NotFound(f"no ticket #{ticket_id}")
        plan = policy.plan_for(ticket.sla_plan)
        clocks = clocks_of(ticket)
        now = desk.now()
        views = tuple(clock_view(name, clocks.get(name), plan, now) for name in CLOCKS)
        rows = session.execute(
            select(TicketEvent.created_at, Staff.login, TicketEvent.body)
            .outerjoin(Staff, Staff.id == TicketEvent.staff_id)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == EventKind.SLA.value)
            .order_by(TicketEvent.id)
        ).all()
    return SlaView(
        ticket_id,
        plan.name,
        plan.calendar.name,
        plan.calendar.zone.key,
        plan.warn,
        views,
        tuple((at, who, body or "") for at, who, body in rows),
    )


def due(policy: Policy, calendar_name: str, moment: datetime, duration: str) -> datetime:
    """When `duration` of business time after `moment` ends on the named calendar."""
    from supportdesk.rules.policy import parse_duration

    calendar = policy.calendars.get(calendar_name)
    if calendar is None:
        known = ", ".join(sorted(policy.calendars)) or "none"
        raise UsageError(f"no calendar {calendar_name!r} in the policy (known: {known})")
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise UsageError(f"--add: {exc}") from None
    try:
        return calendar.add(moment, timedelta(seconds=seconds))
    except CalendarError as exc:
        raise UsageError(str(exc)) from None
