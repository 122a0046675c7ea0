"""The SLA clock rules as pure values: no database, explicit instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supportdesk.rules.calendar import Calendar
from supportdesk.rules.sla_engine import (
    ClockState,
    Countdown,
    Reading,
    SlaClock,
    TicketClocks,
    format_left,
    on_response,
    on_status,
    read,
    restart,
    retarget,
    start,
    stop,
    stored_clock,
    stored_clocks,
)

JNB = ZoneInfo("Africa/Johannesburg")
AMS = ZoneInfo("Europe/Amsterdam")
OFFICE = Calendar.from_spec(
    "office",
    "Africa/Johannesburg",
    {d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    ["2026-12-25"],
)
ALWAYS_AMS = Calendar.from_spec(
    "always",
    "Europe/Amsterdam",
    {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
)
H = 3600
WARN = (50, 75)


def jnb(*args: int) -> datetime:
    return datetime(*args, tzinfo=JNB).astimezone(UTC)  # type: ignore[misc]


def local(moment: datetime | None, zone: ZoneInfo = JNB) -> datetime:
    assert moment is not None
    return moment.astimezone(zone).replace(tzinfo=None)


def test_running_clock_due_in_business_time() -> None:
    clock = start(OFFICE, jnb(2026, 11, 20, 17, 30), H)  # Friday 17:30
    assert clock.state is ClockState.RUNNING
    assert local(clock.due) == datetime(2026, 11, 23, 8, 30)  # Monday 08:30


def test_pause_and_resume_keep_the_time_that_was_left() -> None:
    clock = start(OFFICE, jnb(2026, 11, 23, 9, 0), 4 * H)  # Mon 09:00, due 13:00
    paused = on_status(
        TicketClocks(clock, clock), OFFICE, jnb(2026, 11, 23, 10, 0), "open", "pending_customer"
    ).respond
    assert paused.state is ClockState.PAUSED and paused.due is None
    assert paused.used_s == H and paused.paused == "pending_customer"
    reading = read(paused, OFFICE, WARN, jnb(2026, 11, 24, 12, 0))
    assert reading.reading is Reading.PAUSED and reading.remaining_s == 3 * H
    assert reading.paused_s == 12 * H  # Mon 10-18 and Tue 08-12 of business time
    resumed = on_status(
        TicketClocks(paused, paused), OFFICE, jnb(2026, 11, 24, 12, 0), "pending_customer", "open"
    ).respond
    assert resumed.state is ClockState.RUNNING
    assert local(resumed.due) == datetime(2026, 11, 24, 15, 0)  # 3 h left from Tue 12:00
    assert resumed.paused_s == 12 * H


def test_awaiting_authorization_pauses_resolve_only() -> None:
    now = jnb(2026, 11, 23, 9, 0)
    clocks = TicketClocks(start(OFFICE, now, H), start(OFFICE, now, 8 * H))
    after = on_status(clocks, OFFICE, now + timedelta(minutes=30), "open", "awaiting_authorization")
    assert after.respond.state is ClockState.RUNNING
    assert after.resolve.state is ClockState.PAUSED


def test_response_stops_respond_with_outcome() -> None:
    now = jnb(2026, 11, 23, 9, 0)
    clocks = TicketClocks(start(OFFICE, now, H), start(OFFICE, now, 8 * H))
    met = on_response(clocks, OFFICE, now + timedelta(minutes=42))
    assert met.respond.state is ClockState.MET and met.respond.used_s == 42 * 60
    assert met.resolve.state is ClockState.RUNNING
    late = on_response(clocks, OFFICE, now + timedelta(hours=2))
    assert late.respond.state is ClockState.BREACHED and late.respond.used_s == 2 * H
    # a stopped clock's outcome never changes: not by a retarget, not by another response
    assert retarget(late.respond, OFFICE, now + timedelta(hours=3), 8 * H) == late.respond
    assert on_response(late, OFFICE, now + timedelta(hours=4)).respond == late.respond


def test_resolve_stops_and_reopen_resumes() -> None:
    now = jnb(2026, 11, 23, 9, 0)
    clocks = TicketClocks(start(OFFICE, now, H), start(OFFICE, now, 8 * H))
    done = on_status(clocks, OFFICE, jnb(2026, 11, 23, 12, 0), "open", "resolved")
    assert done.resolve.state is ClockState.MET and done.resolve.used_s == 3 * H
    reopened = on_status(done, OFFICE, jnb(2026, 11, 24, 8, 0), "resolved", "open")
    assert reopened.resolve.state is ClockState.RUNNING
    assert local(reopened.resolve.due) == datetime(2026, 11, 24, 13, 0)  # 5 h left
    assert reopened.respond == done.respond  # the respond outcome stays


def test_upgrade_may_breach_at_once_and_downgrade_relaxes() -> None:
    created = jnb(2026, 11, 23, 8, 0)
    clock = start(OFFICE, created, 24 * H)
    now = jnb(2026, 11, 23, 11, 0)  # 3 h used
    upgraded = retarget(clock, OFFICE, now, H)
    assert local(upgraded.due) == datetime(2026, 11, 23, 9, 0)  # breached two hours ago
    assert read(upgraded, OFFICE, WARN, now).reading is Reading.BREACHED
    assert read(upgraded, OFFICE, WARN, now).remaining_s == -2 * H
    downgraded = retarget(upgraded, OFFICE, now, 48 * H)
    assert read(downgraded, OFFICE, WARN, now).remaining_s == 45 * H
    assert read(downgraded, OFFICE, WARN, now).reading is Reading.RUNNING


def test_warning_thresholds() -> None:
    created = jnb(2026, 11, 23, 8, 0)
    clock = start(OFFICE, created, 4 * H)
    assert read(clock, OFFICE, WARN, created + timedelta(hours=1)).reading is Reading.RUNNING
    r = read(clock, OFFICE, WARN, created + timedelta(hours=2))
    assert (r.reading, r.warn_level) == (Reading.WARNING, 1)
    r = read(clock, OFFICE, WARN, created + timedelta(hours=3))
    assert (r.reading, r.warn_level) == (Reading.WARNING, 2)
    r = read(clock, OFFICE, WARN, created + timedelta(hours=5))
    assert r.reading is Reading.BREACHED and r.remaining_s == -H


def test_closed_calendar_is_reported_with_the_next_opening() -> None:
    clock = start(OFFICE, jnb(2026, 11, 20, 17, 0), 4 * H)
    r = read(clock, OFFICE, WARN, jnb(2026, 11, 21, 10, 0))  # Saturday
    assert local(r.closed_until) == datetime(2026, 11, 23, 8, 0)
    assert r.remaining_s == 3 * H


def test_best_effort_is_tracked_never_breached_and_none_is_none() -> None:
    now = jnb(2026, 11, 23, 8, 0)
    effort = start(OFFICE, now, None)
    r = read(effort, OFFICE, WARN, now + timedelta(days=30))
    assert r.reading is Reading.TRACKING and r.remaining_s is None and r.used_s > 0
    assert stop(effort, OFFICE, now + timedelta(days=30)).state is ClockState.MET
    none = start(OFFICE, now, None, has_target=False)
    assert none.state is ClockState.NONE
    assert read(none, OFFICE, WARN, now).reading is Reading.NONE


def test_holiday_is_skipped() -> None:
    clock = start(OFFICE, jnb(2026, 12, 24, 17, 30), H)  # Thursday before Christmas
    assert local(clock.due) == datetime(2026, 12, 28, 8, 30)  # Fri 25th holiday, weekend


def test_dst_weekend_24_hours_on_a_24x7_calendar() -> None:
    # Amsterdam springs forward on 2026-03-29: that Sunday has 23 hours.
    created = datetime(2026, 3, 28, 12, 0, tzinfo=AMS)
    clock = start(ALWAYS_AMS, created, 24 * H)
    assert local(clock.due, AMS) == datetime(2026, 3, 29, 13, 0)
    # and falls back on 2026-10-25: that Sunday has 25 hours.
    created = datetime(2026, 10, 24, 12, 0, tzinfo=AMS)
    clock = start(ALWAYS_AMS, created, 24 * H)
    assert local(clock.due, AMS) == datetime(2026, 10, 25, 11, 0)


def test_sort_key_is_the_earliest_running_due() -> None:
    now = jnb(2026, 11, 23, 8, 0)
    respond, resolve = start(OFFICE, now, H), start(OFFICE, now, 8 * H)
    assert respond.due is not None
    assert TicketClocks(respond, resolve).sort_key == int(respond.due.timestamp())
    stopped = on_response(TicketClocks(respond, resolve), OFFICE, now)
    assert resolve.due is not None
    assert stopped.sort_key == int(resolve.due.timestamp())


def test_restart_only_touches_stopped_clocks() -> None:
    now = jnb(2026, 11, 23, 8, 0)
    clock = start(OFFICE, now, H)
    assert restart(clock, OFFICE, now) == clock


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (2530, "0:42:10"),
        (59, "0:00:59"),
        (3 * H + 600, "3h 10m"),
        (2 * 86400 + 4 * H, "2d 4h"),
        (-300, "-0:05:00"),
        (-(3 * H + 600), "-3h 10m"),
    ],
)
def test_format_left(seconds: int, text: str) -> None:
    assert format_left(seconds) == text


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 60 * 24 * 14),  # created: minutes after a Monday 00:00
    st.sampled_from([30 * 60, H, 4 * H, 24 * H, None]),
    st.lists(st.integers(1, 6 * 3600), min_size=1, max_size=30),
    st.booleans(),
)
def test_countdown_agrees_with_a_full_reading(
    created_min: int, target: int | None, steps: list[int], paused: bool
) -> None:
    """The per-second tick's shortcut gives the same reading as the calendar arithmetic."""
    created = jnb(2026, 10, 19) + timedelta(minutes=created_min)
    clock = start(OFFICE, created, target)
    if paused:
        created += timedelta(hours=1)  # readings start at the pause
        clock = on_status(TicketClocks(clock, clock), OFFICE, created, "open", "scheduled").respond
    countdown = Countdown(clock, OFFICE, WARN)
    now = created
    for step in steps:
        now += timedelta(seconds=step)
        assert countdown.at(now) == read(clock, OFFICE, WARN, now)


@given(
    st.tuples(
        st.sampled_from(list(ClockState)),
        st.none() | st.integers(0, 10**7),
        st.integers(0, 10**7),
        st.integers(0, 10**7),
        st.none() | st.datetimes(timezones=st.just(UTC)),
        st.none() | st.datetimes(timezones=st.just(UTC)),
        st.none() | st.sampled_from(["pending_customer", "scheduled", "[/x]"]),
    )
)
def test_a_stored_clock_is_the_clock_its_init_builds(values: tuple[Any, ...]) -> None:
    """The queue builds its clocks through the slots' setters (stored_clock): the same
    value, field for field, equal and hashed alike, and as frozen."""
    clock = stored_clock(*values)
    built = SlaClock(*values)
    assert type(clock) is SlaClock
    assert clock == built and hash(clock) == hash(built) and repr(clock) == repr(built)
    pair, pair_built = stored_clocks(clock, SlaClock()), TicketClocks(built, SlaClock())
    assert pair == pair_built and hash(pair) == hash(pair_built)
    with pytest.raises(AttributeError):
        clock.state = ClockState.NONE  # type: ignore[misc]
    with pytest.raises(AttributeError):
        pair.respond = built  # type: ignore[misc]
