"""Business-time arithmetic: worked examples, DST, and the laws checked by hypothesis against
a brute-force minute-by-minute reference."""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import accumulate
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportdesk.rules.calendar import Calendar, CalendarError, first_instant_at

JNB = "Africa/Johannesburg"
OFFICE = Calendar.from_spec(
    "office",
    JNB,
    {d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    ["2026-12-25"],
)


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def test_worked_examples_office_hours():
    fri_1730 = local(JNB, 2026, 11, 20, 17, 30)  # a Friday
    assert OFFICE.add(fri_1730, timedelta(hours=1)) == local(JNB, 2026, 11, 23, 8, 30)
    # landing exactly on the closing time rolls to the next opening
    fri_1700 = local(JNB, 2026, 11, 20, 17, 0)
    assert OFFICE.add(fri_1700, timedelta(hours=1)) == local(JNB, 2026, 11, 23, 8, 0)
    # a ticket arriving at night starts counting at the opening
    assert OFFICE.add(local(JNB, 2026, 11, 18, 22, 0), timedelta(hours=4)) == local(
        JNB, 2026, 11, 19, 12, 0
    )
    # 24 business hours from Monday 09:00 = Wednesday 13:00 (10 h a day)
    assert OFFICE.add(local(JNB, 2026, 11, 16, 9, 0), timedelta(hours=24)) == local(
        JNB, 2026, 11, 18, 13, 0
    )
    # a holiday is skipped: Thu 24 Dec 17:00 + 2 h -> Mon 28 Dec 09:00 (Fri 25 is closed)
    assert OFFICE.add(local(JNB, 2026, 12, 24, 17, 0), timedelta(hours=2)) == local(
        JNB, 2026, 12, 28, 9, 0
    )
    assert OFFICE.elapsed(fri_1730, local(JNB, 2026, 11, 23, 8, 30)) == timedelta(hours=1)
    assert OFFICE.next_open(local(JNB, 2026, 11, 21, 12, 0)) == local(JNB, 2026, 11, 23, 8, 0)
    assert OFFICE.is_open(local(JNB, 2026, 11, 23, 8, 0))
    assert not OFFICE.is_open(local(JNB, 2026, 11, 23, 18, 0))  # [start, end)


def test_split_days_and_all_day():
    cal = Calendar.from_spec("split", JNB, {"tue": ["13:00-18:00", "08:00-12:00"]})
    tue_1130 = local(JNB, 2026, 11, 17, 11, 30)
    assert cal.add(tue_1130, timedelta(hours=1)) == local(JNB, 2026, 11, 17, 13, 30)
    assert cal.add(tue_1130, timedelta(minutes=30)) == local(JNB, 2026, 11, 17, 13, 0)
    always = Calendar.from_spec(
        "247", JNB, {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    t = local(JNB, 2026, 11, 20, 23, 0)
    assert always.add(t, timedelta(hours=1)) == t + timedelta(hours=1)  # midnight is no closing
    assert always.add(t, timedelta(days=10)) == t + timedelta(days=10)


def test_daylight_saving_changes():
    ny = "America/New_York"
    always = Calendar.from_spec(
        "ny", ny, {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    before = local(ny, 2026, 3, 7, 12, 0)  # spring forward on Sun 8 March 2026
    # 24 real hours (aware datetime + timedelta would add wall-clock hours)
    assert always.add(before, timedelta(hours=24)) == before.astimezone(UTC) + timedelta(hours=24)
    assert always.add(before, timedelta(hours=24)).astimezone(ZoneInfo(ny)).hour == 13
    office = Calendar.from_spec("nyo", ny, {"sun": ["01:00-04:00"]})
    # 02:00-03:00 does not exist that night: the interval holds two real hours
    assert office.elapsed(local(ny, 2026, 3, 8, 0, 0), local(ny, 2026, 3, 8, 5, 0)) == timedelta(
        hours=2
    )
    # an opening inside the gap opens at the jump
    gap = Calendar.from_spec("gap", ny, {"sun": ["02:30-05:00"]})
    assert gap.next_open(local(ny, 2026, 3, 8, 0, 0)) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    # fall back (1 Nov 2026): 01:00-03:00 holds three real hours
    # the same Sunday interval on the fall-back night: 01:00 EDT to 04:00 EST, four hours
    assert office.elapsed(local(ny, 2026, 10, 31, 0, 0), local(ny, 2026, 11, 2, 0, 0)) == (
        timedelta(hours=4)
    )
    autumn = Calendar.from_spec("aut", ny, {"sun": ["01:00-03:00"]})
    assert autumn.elapsed(local(ny, 2026, 11, 1, 0, 0), local(ny, 2026, 11, 1, 6, 0)) == timedelta(
        hours=3
    )


def test_bad_calendars_are_refused_and_a_closed_calendar_does_not_loop():
    with pytest.raises(CalendarError):
        Calendar.from_spec("x", JNB, {})
    with pytest.raises(CalendarError):
        Calendar.from_spec("x", JNB, {"mon": ["09:00-08:00"]})
    with pytest.raises(CalendarError):
        Calendar.from_spec("x", JNB, {"mon": ["08:00-12:00", "11:00-13:00"]})
    with pytest.raises(CalendarError):
        Calendar.from_spec("x", "Mars/Olympus", {"mon": ["08:00-12:00"]})
    with pytest.raises(CalendarError):
        Calendar.from_spec("x", JNB, {"mon": ["08:00-12:00"]}, ["not-a-date"])
    with pytest.raises(CalendarError):
        Calendar.from_spec("x", JNB, {"mon": ["8-12"]})
    start = date(2026, 1, 1)
    closed = Calendar.from_spec(
        "closed",
        JNB,
        {"mon": ["08:00-09:00"]},
        [(start + timedelta(days=i)).isoformat() for i in range(1200)],
    )
    with pytest.raises(CalendarError):
        closed.add(local(JNB, 2026, 1, 1, 0, 0), timedelta(hours=1))


# -- laws against a brute-force reference ---------------------------------------------------

ZONES = ["Africa/Johannesburg", "America/New_York", "Europe/London", "Australia/Sydney"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    zone = draw(st.sampled_from(ZONES))
    spec: dict[str, list[str]] = {}
    for day in DAYS:
        cuts = sorted(draw(st.sets(st.integers(0, 48), max_size=4)))
        if len(cuts) % 2:
            cuts = cuts[:-1]
        spec[day] = [
            f"{a * 30 // 60:02d}:{a * 30 % 60:02d}-{b * 30 // 60:02d}:{b * 30 % 60:02d}"
            for a, b in zip(cuts[::2], cuts[1::2], strict=True)
        ]
    if not any(spec.values()):
        spec["wed"] = ["09:00-17:00"]
    return Calendar.from_spec("gen", zone, spec)


# moments around the 2026 DST changes of the zones above, at minute resolution
MOMENTS = st.sampled_from(
    [
        datetime(2026, 3, 6, tzinfo=UTC),
        datetime(2026, 3, 27, tzinfo=UTC),
        datetime(2026, 4, 3, tzinfo=UTC),
        datetime(2026, 10, 2, tzinfo=UTC),
        datetime(2026, 10, 23, tzinfo=UTC),
        datetime(2026, 10, 30, tzinfo=UTC),
    ]
).flatmap(lambda base: st.integers(0, 4 * 1440).map(lambda m: base + timedelta(minutes=m)))
DURATIONS = st.integers(0, 3 * 1440).map(lambda m: timedelta(minutes=m))


@functools.cache
def wall_minutes(zone: tzinfo, start: datetime, days: int) -> tuple[list[datetime], list[datetime]]:
    """Each minute's local wall time from two days before `start` to two after `days`, and
    the latest wall time so far at each minute. The same for every calendar in a zone (kept:
    the examples share a few zones and moments, and each scan is 70,000 conversions)."""
    first = start - timedelta(days=2)
    count = (days + 4) * 1440
    walls = [
        (first + timedelta(minutes=i)).astimezone(zone).replace(tzinfo=None) for i in range(count)
    ]
    # the first minute whose wall time is at least `lo` is the first whose latest wall time
    # so far is (wall times step back an hour when the clocks go back): a bisect of those
    return walls, list(accumulate(walls, max))


def open_minutes(cal: Calendar, start: datetime, days: int) -> list[bool]:
    """Minute by minute from `start`: is the calendar open? Found by scanning each minute's
    local wall time, without the module's zone arithmetic."""
    walls, peaks = wall_minutes(cal.zone, start, days)
    count = len(walls)
    is_open = [False] * count
    day = walls[0].date()
    while day <= walls[-1].date():
        if day not in cal.holidays:
            for a, b in cal.week[day.weekday()]:
                lo = datetime.combine(day, datetime.min.time()) + timedelta(minutes=a)
                hi = datetime.combine(day, datetime.min.time()) + timedelta(minutes=b)
                i = bisect_left(peaks, lo)
                j = bisect_left(peaks, hi)
                is_open[i:j] = [True] * max(j - i, 0)
        day += timedelta(days=1)
    offset = 2 * 1440
    return is_open[offset:]


def brute_add(is_open: list[bool], start: datetime, minutes: int) -> datetime:
    used = 0
    for k, flag in enumerate(is_open):
        if flag:
            if used == minutes:
                return start + timedelta(minutes=k)
            used += 1
    raise AssertionError("window too short")


@pytest.fixture(scope="module", autouse=True)
def forget_wall_minutes() -> Iterator[None]:
    """The kept scans (up to 24 of about 4 MB) go with this module's tests."""
    yield
    wall_minutes.cache_clear()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars(), MOMENTS, DURATIONS, DURATIONS)
def test_laws_and_agreement_with_brute_force(cal, t, a, b):
    result = cal.add(t, a)
    # elapsed(t, add(t, d)) == d
    assert cal.elapsed(t, result) == a
    # add(add(t, a), b) == add(t, a + b)
    assert cal.add(result, b) == cal.add(t, a + b)
    # a result is never a closing instant: it is open at that very instant
    assert cal.is_open(result)
    # agreement with the minute-by-minute reference (needs up to ~17 days of window when
    # the generated calendar is open only a little each week)
    is_open = open_minutes(cal, t, 45)
    if sum(is_open) > a // timedelta(minutes=1):
        assert result == brute_add(is_open, t, a // timedelta(minutes=1))


def test_first_instant_at_matches_a_minute_scan():
    zone = ZoneInfo("America/New_York")
    for day in (date(2026, 3, 8), date(2026, 11, 1)):
        for minute in range(0, 24 * 60, 30):
            got = first_instant_at(zone, day, minute)
            wall = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute)
            scan = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            while scan.astimezone(zone).replace(tzinfo=None) < wall:
                scan += timedelta(minutes=1)
            assert got == scan, (day, minute)


# The year index (one bisect per year spanned) against the interval walk, including
# moments with seconds, spans across New Year and subtraction.
YEAR_MOMENTS = st.sampled_from(
    [
        datetime(2026, 3, 20, tzinfo=UTC),
        datetime(2026, 10, 20, tzinfo=UTC),
        datetime(2026, 12, 28, tzinfo=UTC),
    ]
).flatmap(lambda base: st.integers(0, 20 * 86400).map(lambda s: base + timedelta(seconds=s)))
LONG = st.integers(0, 40 * 86400).map(lambda s: timedelta(seconds=s))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars(), YEAR_MOMENTS, LONG, YEAR_MOMENTS)
def test_year_index_agrees_with_the_interval_walk(cal, t, d, u):
    assert cal.add(t, d) == cal.walk_add(t, d)
    assert cal.elapsed(t, u) == cal.walk_elapsed(t, u)
    assert cal.subtract(t, d) == cal.walk_subtract(t, d)
    # subtract undoes add
    assert cal.subtract(cal.add(t, d), d) == cal.add(t, timedelta(0)) or d == timedelta(0)
