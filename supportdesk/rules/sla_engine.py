"""SLA clocks as pure values: start, pause, resume, stop, retarget, read, tick.

A ticket has two clocks, `respond` and `resolve`. Each keeps the business time it has used
up to the moment its current state began (`used_s` at `since`), so a running clock's due
time is `calendar.add(since, target - used)` and a paused one's remaining time is frozen.
Paused business time is kept too, for the ticket screen and the reports. Nothing here reads
the database or the wall clock: callers pass `now`, which keeps every rule testable.

Rules (issue 3):
- respond stops at the first customer-visible reply, a call where we spoke, or at creation
  for a ticket opened during a verified call; notes, status changes and voicemail do not.
- resolve stops when the ticket is resolved or closed, and resumes when it is reopened.
- both pause while the ticket waits on the customer or is scheduled for a later window;
  resolve also pauses while awaiting authorization. They resume with the time that was left.
- a priority or plan change keeps the business time used and applies the new target; an
  upgrade may breach at once.
- a stopped clock's outcome (met or breached, business time taken) never changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from supportdesk.enums import NO_DUE_KEY
from supportdesk.rules.calendar import Calendar

RESPOND = "respond"
RESOLVE = "resolve"
CLOCKS = (RESPOND, RESOLVE)


class ClockState(StrEnum):
    """What is stored. Warning and "breached while running" are readings, not states."""

    NONE = "none"  # the plan has no target for this clock
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"  # stopped within target (or best effort: stopped)
    BREACHED = "breached"  # stopped after the target had passed


STOPPED = (ClockState.MET, ClockState.BREACHED)

# Which statuses pause which clock, and how a person reads the reason.
PAUSE_REASONS: dict[str, str] = {
    "pending_customer": "waiting on customer",
    "scheduled": "scheduled",
    "awaiting_authorization": "awaiting authorization",
}
PAUSING_STATUSES: dict[str, frozenset[str]] = {
    RESPOND: frozenset({"pending_customer", "scheduled"}),
    RESOLVE: frozenset({"pending_customer", "scheduled", "awaiting_authorization"}),
}
DONE_STATUSES = frozenset({"resolved", "closed"})


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One clock as stored on the ticket row."""

    state: ClockState = ClockState.NONE
    target_s: int | None = None  # None with a state other than NONE: best effort
    used_s: int = 0  # business seconds used before `since`
    paused_s: int = 0  # business seconds spent paused before `since`
    since: datetime | None = None  # when the current state began (the stop, once stopped)
    due: datetime | None = None  # when the target is (or was) reached while running
    paused: str | None = None  # the status that pauses it

    @property
    def stopped(self) -> bool:
        return self.state in STOPPED

    @property
    def best_effort(self) -> bool:
        return self.state is not ClockState.NONE and self.target_s is None

    def used_at(self, calendar: Calendar, now: datetime) -> int:
        """Business seconds used by `now`."""
        if self.state is ClockState.RUNNING and self.since is not None and now > self.since:
            return self.used_s + _seconds(calendar.elapsed(self.since, now))
        return self.used_s

    def paused_at(self, calendar: Calendar, now: datetime) -> int:
        """Business seconds spent paused by `now`."""
        if self.state is ClockState.PAUSED and self.since is not None and now > self.since:
            return self.paused_s + _seconds(calendar.elapsed(self.since, now))
        return self.paused_s


# A frozen dataclass's __init__ sets each field through object.__setattr__ (its frozen
# __setattr__ refuses): about 2 us for a SlaClock under load, and a queue page of 500 rows
# builds 1,000 of them. Their slots' own setters do the same work in under half the time.
_new = object.__new__
_SET_CLOCK = tuple(getattr(SlaClock, f.name).__set__ for f in fields(SlaClock))


def stored_clock(
    state: ClockState,
    target_s: int | None,
    used_s: int,
    paused_s: int,
    since: datetime | None,
    due: datetime | None,
    paused: str | None,
) -> SlaClock:
    """SlaClock(state, target_s, ...) as read off a row (the fields in their order), built
    without the frozen __init__'s detour."""
    s0, s1, s2, s3, s4, s5, s6 = _SET_CLOCK  # a field added or removed fails here
    clock = _new(SlaClock)
    s0(clock, state)
    s1(clock, target_s)
    s2(clock, used_s)
    s3(clock, paused_s)
    s4(clock, since)
    s5(clock, due)
    s6(clock, paused)
    return clock


def due_time(
    calendar: Calendar, since: datetime, used_s: int, target_s: int | None
) -> datetime | None:
    """When a clock running from `since` with `used_s` used reaches its target. For a clock
    already past its target, the instant it got there counting back over open time (exact
    unless the clock was paused in between, then the latest such instant)."""
    if target_s is None:
        return None
    left = target_s - used_s
    if left > 0:
        return calendar.add(since, timedelta(seconds=left))
    return calendar.subtract(since, timedelta(seconds=-left))


# -- transitions -------------------------------------------------------------------------
def start(
    calendar: Calendar,
    now: datetime,
    target_s: int | None,
    *,
    has_target: bool = True,
    paused_by: str | None = None,
) -> SlaClock:
    """A new clock at ticket creation (`has_target` False: the plan says "none")."""
    if not has_target:
        return SlaClock()
    if paused_by is not None:
        return SlaClock(ClockState.PAUSED, target_s, 0, 0, now, None, paused_by)
    return SlaClock(ClockState.RUNNING, target_s, 0, 0, now, due_time(calendar, now, 0, target_s))


def pause(clock: SlaClock, calendar: Calendar, now: datetime, reason: str) -> SlaClock:
    if clock.state is ClockState.PAUSED:
        return replace(clock, paused=reason)
    if clock.state is not ClockState.RUNNING:
        return clock
    used = clock.used_at(calendar, now)
    return replace(clock, state=ClockState.PAUSED, used_s=used, since=now, due=None, paused=reason)


def resume(clock: SlaClock, calendar: Calendar, now: datetime) -> SlaClock:
    """Paused -> running with the business time that was left."""
    if clock.state is not ClockState.PAUSED:
        return clock
    paused = clock.paused_at(calendar, now)
    due = due_time(calendar, now, clock.used_s, clock.target_s)
    return replace(
        clock, state=ClockState.RUNNING, paused_s=paused, since=now, due=due, paused=None
    )


def stop(clock: SlaClock, calendar: Calendar, now: datetime) -> SlaClock:
    """Running or paused -> met or breached, with the business time taken."""
    if clock.state not in (ClockState.RUNNING, ClockState.PAUSED):
        return clock
    used = clock.used_at(calendar, now)
    paused = clock.paused_at(calendar, now)
    breached = clock.target_s is not None and used > clock.target_s
    due = clock.due if clock.state is ClockState.RUNNING else None
    if due is None and clock.target_s is not None:
        due = due_time(calendar, now, used, clock.target_s) if breached else None
    return SlaClock(
        ClockState.BREACHED if breached else ClockState.MET,
        clock.target_s,
        used,
        paused,
        now,
        due,
        None,
    )


def restart(clock: SlaClock, calendar: Calendar, now: datetime) -> SlaClock:
    """A stopped clock that runs again (the resolve clock when a ticket is reopened)."""
    if not clock.stopped:
        return clock
    due = due_time(calendar, now, clock.used_s, clock.target_s)
    return replace(clock, state=ClockState.RUNNING, since=now, due=due, paused=None)


def retarget(
    clock: SlaClock,
    calendar: Calendar,
    now: datetime,
    target_s: int | None,
    *,
    has_target: bool = True,
    paused_by: str | None = None,
) -> SlaClock:
    """Apply a new target (priority, plan or policy change) keeping the time used. A
    stopped clock keeps its outcome; a clock the new plan does not track is dropped; one
    the old plan did not track starts now, as if the ticket had been created under it."""
    if clock.stopped:
        return clock
    if not has_target:
        return SlaClock()
    if clock.state is ClockState.NONE:
        return start(calendar, now, target_s, paused_by=paused_by)
    if clock.state is ClockState.PAUSED:
        return replace(clock, target_s=target_s)
    used = clock.used_at(calendar, now)
    return replace(
        clock,
        target_s=target_s,
        used_s=used,
        since=now,
        due=due_time(calendar, now, used, target_s),
    )


# -- a ticket's pair of clocks -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TicketClocks:
    respond: SlaClock
    resolve: SlaClock

    def get(self, name: str) -> SlaClock:
        return self.respond if name == RESPOND else self.resolve

    def with_(self, name: str, clock: SlaClock) -> TicketClocks:
        return replace(self, **{name: clock})

    @property
    def sort_key(self) -> int:
        """Epoch seconds of the earliest due time of a running, breachable clock."""
        dues = [
            c.due
            for c in (self.respond, self.resolve)
            if c.state is ClockState.RUNNING and c.due is not None and c.target_s is not None
        ]
        return int(min(dues).timestamp()) if dues else NO_DUE_KEY


_SET_PAIR = tuple(getattr(TicketClocks, f.name).__set__ for f in fields(TicketClocks))


def stored_clocks(respond: SlaClock, resolve: SlaClock) -> TicketClocks:
    """TicketClocks(respond, resolve) without the frozen __init__'s detour (stored_clock)."""
    set_respond, set_resolve = _SET_PAIR
    pair = _new(TicketClocks)
    set_respond(pair, respond)
    set_resolve(pair, resolve)
    return pair


def on_status(
    clocks: TicketClocks, calendar: Calendar, now: datetime, old: str, new: str
) -> TicketClocks:
    """The clocks after a status change from `old` to `new`."""
    out = clocks
    for name in CLOCKS:
        clock = clocks.get(name)
        if new in DONE_STATUSES:
            clock = stop(clock, calendar, now)
        elif old in DONE_STATUSES and name == RESOLVE:
            clock = restart(clock, calendar, now)
            if new in PAUSING_STATUSES[name]:
                clock = pause(clock, calendar, now, new)
        elif new in PAUSING_STATUSES[name]:
            clock = pause(clock, calendar, now, new)
        else:
            clock = resume(clock, calendar, now)
        out = out.with_(name, clock)
    return out


def on_response(clocks: TicketClocks, calendar: Calendar, now: datetime) -> TicketClocks:
    """A customer-visible reply or a call where we spoke: the respond clock stops."""
    return clocks.with_(RESPOND, stop(clocks.respond, calendar, now))


def on_response_undone(
    clocks: TicketClocks, calendar: Calendar, now: datetime, status: str
) -> TicketClocks:
    """The reverse of `on_response`: the first response did not count after all (a reply
    that never reached the customer). A stopped respond clock runs again from where it
    stopped, with the business time it had used (the time between the reply and the news of
    its failure is not counted: nobody could act on it), paused when the ticket's status
    pauses it."""
    clock = clocks.respond
    if not clock.stopped:
        return clocks
    clock = restart(clock, calendar, now)
    if status in PAUSING_STATUSES[RESPOND]:
        clock = pause(clock, calendar, now, status)
    return clocks.with_(RESPOND, clock)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000


def _at(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def to_us(value: datetime) -> int:
    """Microseconds since the epoch: the unit `from_history` takes its times in."""
    return (value - EPOCH) // timedelta(microseconds=1)


def _stopped(target_s: int | None, used_us: int, paused_us: int, at_us: int) -> SlaClock:
    used = used_us // US
    breached = target_s is not None and used > target_s
    state = ClockState.BREACHED if breached else ClockState.MET
    return SlaClock(state, target_s, used, paused_us // US, _at(at_us))


def from_history(
    calendar: Calendar,
    respond: tuple[int | None, bool],
    resolve: tuple[int | None, bool],
    *,
    status: str,
    created: int,
    first_response: int | None,
    resolved: int | None,
    held: str | None,
    last_activity: int,
    pauses: Sequence[tuple[int, int]] = (),
) -> TicketClocks:
    """The clocks of a ticket whose whole history is known in outline (a bulk import, the
    demo), with times as microseconds since the epoch: respond stops at the first response
    (or at resolution when nobody answered); resolve pauses from the first response while
    `held` ("pending_customer" or "awaiting_authorization") until resolution, pauses from
    the last activity while scheduled, and stops at resolution. `pauses`, when the history
    knows them (an import of a change log), are the intervals the ticket waited on the
    customer before it was resolved: resolve does not count them. Targets are (seconds or
    None, tracked at all). Stopped clocks get their outcome without a due time, which only
    a live clock needs; live clocks go through `start` and `pause` like any ticket's."""
    elapsed = calendar.elapsed_us
    out: list[SlaClock] = []
    for name, (target_s, tracked) in ((RESPOND, respond), (RESOLVE, resolve)):
        if not tracked:
            out.append(SlaClock())
            continue
        if name == RESPOND:
            end = first_response if first_response is not None else resolved
            if end is not None:
                out.append(_stopped(target_s, elapsed(created, end), 0, end))
            else:
                out.append(start(calendar, _at(created), target_s))
            continue
        pause_at = None
        if held is not None:
            pause_at = first_response if first_response is not None else created
        elif status == "scheduled":
            pause_at = last_activity
        if resolved is not None:
            if pauses:
                waited = sum(
                    elapsed(max(a, created), min(b, resolved))
                    for a, b in pauses
                    if min(b, resolved) > max(a, created)
                )
                clock = _stopped(target_s, elapsed(created, resolved) - waited, waited, resolved)
            elif pause_at is not None and pause_at < resolved:
                clock = _stopped(
                    target_s, elapsed(created, pause_at), elapsed(pause_at, resolved), resolved
                )
            else:
                clock = _stopped(target_s, elapsed(created, resolved), 0, resolved)
            out.append(clock)
            continue
        clock = start(calendar, _at(created), target_s)
        if pause_at is not None:
            reason = held if held is not None else "scheduled"
            clock = pause(clock, calendar, _at(pause_at), reason)
        out.append(clock)
    return TicketClocks(out[0], out[1])


# -- readings ----------------------------------------------------------------------------
class Reading(StrEnum):
    """What a person sees for one clock at one instant."""

    NONE = "none"
    RUNNING = "running"
    WARNING = "warning"
    BREACHED = "breached"  # running past its target
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"  # stopped after the target: the stored outcome "breached"
    TRACKING = "tracking"  # best effort, running or paused


@dataclass(frozen=True, slots=True)
class ClockReading:
    reading: Reading
    remaining_s: int | None  # business seconds left (negative once breached); None untimed
    used_s: int
    paused_s: int
    warn_level: int  # how many warning thresholds are passed
    closed_until: datetime | None  # running on a calendar that is closed now: next opening
    paused: str | None  # the pausing status

    @property
    def json_state(self) -> str:
        return self.reading.value


def read(clock: SlaClock, calendar: Calendar, warn: tuple[int, ...], now: datetime) -> ClockReading:
    used = clock.used_at(calendar, now)
    paused = clock.paused_at(calendar, now)
    target = clock.target_s
    remaining = None if target is None else target - used
    closed_until = None
    if clock.state is ClockState.RUNNING:
        start_, _end = calendar.current_interval(now)
        if start_ > now:
            closed_until = start_
    level = 0
    if target:
        level = sum(1 for pct in warn if used * 100 >= target * pct)
    if clock.state is ClockState.NONE:
        reading = Reading.NONE
    elif clock.state is ClockState.MET:
        reading = Reading.MET
    elif clock.state is ClockState.BREACHED:
        reading = Reading.MISSED
    elif target is None:
        reading = Reading.TRACKING
    elif clock.state is ClockState.PAUSED:
        reading = Reading.BREACHED if used >= target else Reading.PAUSED
    elif used >= target:
        reading = Reading.BREACHED
    elif level:
        reading = Reading.WARNING
    else:
        reading = Reading.RUNNING
    return ClockReading(reading, remaining, used, paused, level, closed_until, clock.paused)


class Countdown:
    """A clock read once per second without redoing calendar arithmetic: between two
    calendar boundaries (an opening or a closing) a running clock's used time grows one
    second per second or not at all, so a reading is a subtraction until the next boundary.
    """

    __slots__ = ("_base", "_boundary", "_calendar", "_clock", "_open", "_t0", "_warn")

    def __init__(self, clock: SlaClock, calendar: Calendar, warn: tuple[int, ...]) -> None:
        self._clock = clock
        self._calendar = calendar
        self._warn = warn
        self._t0: datetime | None = None
        self._boundary: datetime | None = None
        self._open = False
        self._base: ClockReading | None = None

    @property
    def clock(self) -> SlaClock:
        return self._clock

    def at(self, now: datetime) -> ClockReading:
        base = self._base
        if (
            base is None
            or self._t0 is None
            or self._boundary is None
            or not self._t0 <= now < self._boundary
        ):
            return self._rebase(now)
        if not self._open:
            return base
        step = int((now - self._t0).total_seconds())
        if step == 0:
            return base
        if self._clock.state is ClockState.PAUSED:
            return replace(base, paused_s=base.paused_s + step)
        used = base.used_s + step
        target = self._clock.target_s
        if target is None:
            return replace(base, used_s=used)
        level = sum(1 for pct in self._warn if used * 100 >= target * pct)
        if used >= target:
            reading = Reading.BREACHED
        elif level:
            reading = Reading.WARNING
        else:
            reading = Reading.RUNNING
        return ClockReading(reading, target - used, used, base.paused_s, level, None, None)

    def _rebase(self, now: datetime) -> ClockReading:
        reading = read(self._clock, self._calendar, self._warn, now)
        self._t0 = now
        self._base = reading
        if self._clock.state in (ClockState.RUNNING, ClockState.PAUSED):
            start_, end = self._calendar.current_interval(now)
            self._open = start_ <= now
            self._boundary = end if self._open else start_
        else:
            self._open = False
            self._boundary = datetime.max.replace(tzinfo=UTC)
        return reading


# -- formatting --------------------------------------------------------------------------
def format_left(seconds: int) -> str:
    """Business time left: `0:42:10` under an hour, `3h 10m`, `2d 4h`; negative once
    breached (`-0:05:00`). A day is 24 hours of business time."""
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 3600:
        return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    if s < 86400:
        return f"{sign}{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{sign}{s // 86400}d {s % 86400 // 3600}h"


def format_span(seconds: int) -> str:
    """A business duration without a sign, for elapsed and paused time."""
    return format_left(abs(seconds)).replace("-", "")
