"""The SLA columns of a demo ticket from the outline of its history.

`rules.sla_engine.from_history` is the rule; it builds datetimes and `SlaClock`s, which cost
about half of making a ticket. Three demo tickets in four are done, and a done ticket's
clocks are both stopped: their columns are a few business-time differences
(`Calendar.elapsed_us`) and no due time, which `stopped_columns` computes on integers the
same way `from_history` does (tests/services/test_demo_clocks.py compares the two over
every ticket of generated demos). Live tickets, whose clocks need due times, go through
`from_history` itself (`reference_columns`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from supportdesk.enums import NO_DUE_KEY
from supportdesk.rules.calendar import Calendar
from supportdesk.rules.sla_engine import ClockState, from_history, to_us

US = 1_000_000
Targets = tuple[tuple[int | None, bool], tuple[int | None, bool]]  # (seconds, tracked) x 2
# an untracked clock (SlaClock()): state, target_s, used_s, paused_s, since, due, paused
_UNTRACKED = (ClockState.NONE.value, 0, 0, 0, "", "", "")
_MET, _BREACHED = ClockState.MET.value, ClockState.BREACHED.value


def to_ms(us: int | None) -> int | None:
    """A time as the demo stores it (to the millisecond), which is what `from_history`
    gets when the time is read back from the stored text."""
    return None if us is None else us - us % 1000


def parse_time(value: Any) -> int | None:
    """A stored demo time (SQLite text or a datetime) as microseconds."""
    if not value:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value + "+00:00")
    return to_us(value)


def reference_columns(
    plan_name: str,
    calendar: Calendar,
    targets: Targets,
    ts: Callable[[int], Any],
    *,
    status: str,
    held: str | None,
    created: int,
    first_response: int | None,
    resolved: int | None,
    last_activity: int,
) -> tuple[Any, ...]:
    """The columns from `from_history` (sla_plan, sla_key, then each clock's state,
    target, used, paused, since, due and pausing status)."""
    clocks = from_history(
        calendar,
        targets[0],
        targets[1],
        status=status,
        created=created,
        first_response=first_response,
        resolved=resolved,
        held=held,
        last_activity=last_activity,
    )
    out: list[Any] = [plan_name, clocks.sort_key]
    for clock in (clocks.respond, clocks.resolve):
        out += (
            clock.state.value,
            clock.target_s or 0,
            clock.used_s,
            clock.paused_s,
            ts(to_us(clock.since)) if clock.since else "",
            ts(to_us(clock.due)) if clock.due else "",
            clock.paused or "",
        )
    return tuple(out)


def stopped_columns(
    plan_name: str,
    calendar: Calendar,
    targets: Targets,
    ts: Callable[[int], Any],
    *,
    status: str,
    held: str | None,
    created: int,
    first_response: int | None,
    resolved: int,
    last_activity: int,
) -> tuple[Any, ...]:
    """`reference_columns` of a resolved ticket (both clocks stopped), on integers: the
    same steps as `from_history` with `pauses=()` and `_stopped`."""
    elapsed = calendar.elapsed_us
    (respond_s, respond_tracked), (resolve_s, resolve_tracked) = targets
    out: list[Any] = [plan_name, NO_DUE_KEY]  # no clock running: no due time
    if respond_tracked:
        end = first_response if first_response is not None else resolved
        used = elapsed(created, end) // US
        state = _BREACHED if respond_s is not None and used > respond_s else _MET
        out += (state, respond_s or 0, used, 0, ts(end), "", "")
    else:
        out += _UNTRACKED
    if resolve_tracked:
        pause_at = None
        if held is not None:
            pause_at = first_response if first_response is not None else created
        elif status == "scheduled":
            pause_at = last_activity
        if pause_at is not None and pause_at < resolved:
            used_us, paused_us = elapsed(created, pause_at), elapsed(pause_at, resolved)
        else:
            used_us, paused_us = elapsed(created, resolved), 0
        used = used_us // US
        state = _BREACHED if resolve_s is not None and used > resolve_s else _MET
        out += (state, resolve_s or 0, used, paused_us // US, ts(resolved), "", "")
    else:
        out += _UNTRACKED
    return tuple(out)


def ticket_columns(
    plan_name: str,
    calendar: Calendar,
    targets: Targets,
    ts: Callable[[int], Any],
    *,
    status: str,
    held: str | None,
    created: int,
    first_response: int | None,
    resolved: int | None,
    last_activity: int,
) -> tuple[Any, ...]:
    """The SLA columns of a ticket: `stopped_columns` when it is resolved, else
    `reference_columns`. Times in microseconds, the response and resolution as stored
    (`to_ms`)."""
    if resolved is not None:
        return stopped_columns(
            plan_name, calendar, targets, ts, status=status, held=held, created=created,
            first_response=first_response, resolved=resolved, last_activity=last_activity,
        )  # fmt: skip
    return reference_columns(
        plan_name, calendar, targets, ts, status=status, held=held, created=created,
        first_response=first_response, resolved=None, last_activity=last_activity,
    )  # fmt: skip
