"""Business-time arithmetic: a calendar's opening hours, in its own zone, as pure functions.

A calendar is a weekly pattern of local opening intervals ([start, end), several a day) plus
holidays. `add` walks the open intervals from a moment until a duration of open time is used
up, `elapsed` sums the open time between two moments, `next_open` finds the next opening.
Everything works on whole intervals, so the cost grows with the days spanned, never with
the minutes. A deadline that lands exactly on a closing time rolls to the next opening.

Wall times are turned into instants as "the first instant at which the local clock reads at
least this time": an opening inside a spring-forward gap opens at the jump, and an interval
that ends in the repeated hour of a fall-back night ends the first time the clock gets there.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from supportdesk.errors import DeskError

MINUTES_PER_DAY = 24 * 60
MAX_SCAN_DAYS = 3 * 366  # a calendar closed this long never opens: stop, do not loop
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Interval = tuple[datetime, datetime]  # [start, end) in UTC


class CalendarError(DeskError, ValueError):
    """A calendar that cannot be used (no opening hours, bad intervals, never opens): a
    DeskError, so a policy whose calendar stops opening fails a write with one clear line
    instead of looping or escaping as a traceback."""


def parse_interval(text: str) -> tuple[int, int]:
    """ "HH:MM-HH:MM" as minutes from midnight; "24:00" is allowed as an end."""
    try:
        left, right = text.strip().split("-")
        start, end = _minutes(left), _minutes(right)
    except ValueError:
        raise CalendarError(f"not an interval HH:MM-HH:MM: {text!r}") from None
    if not start < end:
        raise CalendarError(f"interval {text!r} ends before it starts")
    return start, end


def _minutes(text: str) -> int:
    hours, minutes = text.strip().split(":")
    value = int(hours) * 60 + int(minutes)
    if not (0 <= int(minutes) < 60 and 0 <= value <= MINUTES_PER_DAY):
        raise ValueError(text)
    return value


@dataclass(frozen=True)
class Calendar:
    """Opening hours in a time zone: `week[0]` is Monday's intervals in minutes."""

    name: str
    zone: ZoneInfo
    week: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise CalendarError(f"calendar {self.name}: needs 7 days, got {len(self.week)}")
        for day, intervals in zip(WEEKDAYS, self.week, strict=True):
            previous_end = -1
            for start, end in intervals:
                if not 0 <= start < end <= MINUTES_PER_DAY:
                    raise CalendarError(f"calendar {self.name}: {day}: bad interval")
                if start < previous_end:
                    raise CalendarError(f"calendar {self.name}: {day}: intervals overlap")
                previous_end = end
        if not any(self.week):
            raise CalendarError(f"calendar {self.name}: no opening hours at all")

    @classmethod
    def from_spec(
        cls,
        name: str,
        timezone: str,
        days: dict[str, list[str]],
        holidays: list[str] | tuple[str, ...] = (),
    ) -> Calendar:
        """Build from the policy form: {"mon": ["08:00-18:00"], ...} and ISO dates."""
        try:
            zone = ZoneInfo(timezone)
        except Exception:
            raise CalendarError(f"calendar {name}: unknown time zone {timezone!r}") from None
        week = tuple(
            tuple(sorted(parse_interval(text) for text in days.get(day, ()))) for day in WEEKDAYS
        )
        try:
            dates = frozenset(date.fromisoformat(h) for h in holidays)
        except ValueError as exc:
            raise CalendarError(f"calendar {name}: holiday is not a date: {exc}") from None
        return cls(name, zone, week, dates)

    # -- intervals ---------------------------------------------------------------------
    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The day's open intervals as UTC instants (empty on holidays and closed days)."""
        return _intervals_on(self, day)

    def intervals_from(self, moment: datetime) -> Iterator[Interval]:
        """Open intervals that end after `moment`, in order. Touching intervals (24/7, or
        a day ending at 24:00 before one opening at 00:00) stay separate: `add` then lands
        on the later one's start, which is the same instant, so midnight is no closing."""
        day = moment.astimezone(self.zone).date() - timedelta(days=1)
        empty_days = 0
        while True:
            intervals = self.intervals_on(day)
            empty_days = 0 if intervals else empty_days + 1
            if empty_days > MAX_SCAN_DAYS:
                raise CalendarError(f"calendar {self.name} does not open again")
            for interval in intervals:
                if interval[1] > moment:
                    yield interval
            day += timedelta(days=1)

    def intervals_before(self, moment: datetime) -> Iterator[Interval]:
        """Open intervals that start before `moment`, latest first."""
        day = moment.astimezone(self.zone).date() + timedelta(days=1)
        empty_days = 0
        while True:
            intervals = self.intervals_on(day)
            empty_days = 0 if intervals else empty_days + 1
            if empty_days > MAX_SCAN_DAYS:
                raise CalendarError(f"calendar {self.name} was never open before")
            for interval in reversed(intervals):
                if interval[0] < moment:
                    yield interval
            day -= timedelta(days=1)

    # -- arithmetic ----------------------------------------------------------------------
    def add(self, moment: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of open time after `moment` has passed; never a
        closing instant (a deadline landing on one moves to the next opening)."""
        if duration < timedelta(0):
            raise CalendarError("cannot add a negative business duration")
        return self._index.add(moment, duration)

    def walk_add(self, moment: datetime, duration: timedelta) -> datetime:
        """`add` by walking intervals one by one (the reference the index is tested against)."""
        if duration < timedelta(0):
            raise CalendarError("cannot add a negative business duration")
        moment = moment.astimezone(UTC)
        remaining = duration
        for start, end in self.intervals_from(moment):
            begin = max(start, moment)
            available = end - begin
            if remaining < available:
                return begin + remaining
            remaining -= available  # landing exactly on a closing rolls to the next opening
        raise AssertionError("unreachable: intervals_from never ends")  # pragma: no cover

    def subtract(self, moment: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of open time before `moment` (the inverse of `add` for a
        moment that is open): used to date a breach that happened before the last resume."""
        if duration < timedelta(0):
            raise CalendarError("cannot subtract a negative business duration")
        return self._index.subtract(moment, duration)

    def walk_subtract(self, moment: datetime, duration: timedelta) -> datetime:
        """`subtract` by walking intervals back one by one (the reference)."""
        if duration < timedelta(0):
            raise CalendarError("cannot subtract a negative business duration")
        moment = moment.astimezone(UTC)
        remaining = duration
        for start, end in self.intervals_before(moment):
            finish = min(end, moment)
            available = finish - start
            if remaining <= available:
                return finish - remaining
            remaining -= available
        raise AssertionError("unreachable: intervals_before never ends")  # pragma: no cover

    def current_interval(self, moment: datetime) -> Interval:
        """The open interval holding `moment`, or (next opening, its end) when closed."""
        moment = moment.astimezone(UTC)
        for interval in self.intervals_from(moment):
            return interval
        raise AssertionError("unreachable")  # pragma: no cover

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Open time in [start, end); negative when end is before start."""
        if end < start:
            return -self.elapsed(end, start)
        return self._index.elapsed(start, end)

    def elapsed_us(self, start: int, end: int) -> int:
        """`elapsed` on microseconds since the epoch (bulk work: no datetimes at all)."""
        if end < start:
            return -self.elapsed_us(end, start)
        return self._index.elapsed_us(start, end)

    @cached_property
    def _index(self) -> _YearIndex:
        return _YearIndex(self)

    def walk_elapsed(self, start: datetime, end: datetime) -> timedelta:
        """`elapsed` by walking intervals one by one (the reference)."""
        if end < start:
            return -self.walk_elapsed(end, start)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta(0)
        for open_start, open_end in self.intervals_from(start):
            if open_start >= end:
                break
            total += min(open_end, end) - max(open_start, start)
        return total

    def next_open(self, moment: datetime) -> datetime:
        """`moment` itself when open, else the next opening."""
        moment = moment.astimezone(UTC)
        for start, _end in self.intervals_from(moment):
            return max(start, moment)
        raise AssertionError("unreachable")  # pragma: no cover

    def is_open(self, moment: datetime) -> bool:
        return self.next_open(moment) == moment.astimezone(UTC)


ONE_US = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_US = 86_400_000_000
MAX_GAP_US = (MAX_SCAN_DAYS + 2) * DAY_US


class _Year:
    """One local calendar year's open intervals as microseconds since the epoch, with the
    open time before each: a position in the year is one bisect, not a walk."""

    __slots__ = ("cum", "ends", "starts", "total")

    def __init__(self, calendar: Calendar, year: int) -> None:
        starts: list[int] = []
        ends: list[int] = []
        cum: list[int] = []
        total = 0
        day = date(year, 1, 1)
        while day.year == year:
            for a, b in calendar.intervals_on(day):
                start, end = (a - EPOCH) // ONE_US, (b - EPOCH) // ONE_US
                starts.append(start)
                ends.append(end)
                cum.append(total)
                total += end - start
            day += timedelta(days=1)
        self.starts, self.ends, self.cum, self.total = starts, ends, cum, total

    def within(self, us: int) -> int:
        """Open microseconds of the year before `us`."""
        i = bisect_right(self.starts, us) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(us, self.ends[i]) - self.starts[i]

    def at(self, offset: int) -> int:
        """The instant at which `offset` open microseconds of the year have passed
        (0 <= offset < total); at an interval's end, the next interval's start."""
        i = bisect_right(self.cum, offset) - 1
        return self.starts[i] + offset - self.cum[i]


class _YearIndex:
    """Business-time arithmetic over per-year interval tables, built lazily (a year takes
    about a millisecond): cost is a bisect per year spanned, whatever the duration."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.zone = calendar.zone
        self.years: dict[int, _Year] = {}
        self.starts: dict[int, int] = {}  # local year -> its first microsecond
        self.last_span = (0, 0, 0)  # (first, end, year) of the last year looked up

    def year(self, year: int) -> _Year:
        found = self.years.get(year)
        if found is None:
            found = self.years[year] = _Year(self.calendar, year)
        return found

    def year_start(self, year: int) -> int:
        """Microseconds since the epoch of local midnight starting `year`."""
        found = self.starts.get(year)
        if found is None:
            moment = first_instant_at(self.zone, date(year, 1, 1), 0)
            found = self.starts[year] = (moment - EPOCH) // ONE_US
        return found

    def local_year(self, us: int) -> int:
        lo, hi, year = self.last_span
        if lo <= us < hi:
            return year
        year = (EPOCH + timedelta(microseconds=us)).year
        if us < self.year_start(year):
            year -= 1
        elif us >= self.year_start(year + 1):
            year += 1
        self.last_span = (self.year_start(year), self.year_start(year + 1), year)
        return year

    def elapsed_us(self, a: int, b: int) -> int:
        ya, yb = self.local_year(a), self.local_year(b)
        if ya == yb:
            year = self.years.get(ya) or self.year(ya)
            return year.within(b) - year.within(a)
        total = self.year(ya).total - self.year(ya).within(a) + self.year(yb).within(b)
        for y in range(ya + 1, yb):
            total += self.year(y).total
        return total

    def locate(self, moment: datetime) -> tuple[int, int]:
        moment = moment.astimezone(UTC)
        return moment.astimezone(self.zone).year, (moment - EPOCH) // ONE_US

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        ya, a = self.locate(start)
        yb, b = self.locate(end)
        if ya == yb:
            year = self.year(ya)
            return timedelta(microseconds=year.within(b) - year.within(a))
        total = self.year(ya).total - self.year(ya).within(a) + self.year(yb).within(b)
        for y in range(ya + 1, yb):
            total += self.year(y).total
        return timedelta(microseconds=total)

    def add(self, moment: datetime, duration: timedelta) -> datetime:
        y, us = self.locate(moment)
        year = self.year(y)
        offset = year.within(us) + duration // ONE_US
        last_open = us  # a closed stretch longer than MAX_SCAN_DAYS means "never opens"
        while offset >= year.total:
            offset -= year.total
            if year.total:
                last_open = max(last_open, year.ends[-1])
            y += 1
            if (date(y, 1, 1) - date(1970, 1, 1)).days * DAY_US - last_open > MAX_GAP_US:
                raise CalendarError(f"calendar {self.calendar.name} does not open again")
            year = self.year(y)
        result = year.at(offset)
        if result - last_open > MAX_GAP_US:
            raise CalendarError(f"calendar {self.calendar.name} does not open again")
        return EPOCH + timedelta(microseconds=result)

    def subtract(self, moment: datetime, duration: timedelta) -> datetime:
        """The latest position in open time `duration` before `moment`: inside or at the
        edge of an interval that starts before `moment` (as the backward walk finds it)."""
        y, us = self.locate(moment)
        year = self.year(y)
        offset = year.within(us) - duration // ONE_US
        last = bisect_left(year.starts, us) - 1  # the last interval starting before `moment`
        empty = 0
        while offset < 0 or last < 0:
            empty = 0 if year.total else empty + 1
            if empty * 365 > MAX_SCAN_DAYS:
                raise CalendarError(f"calendar {self.calendar.name} was never open before")
            y -= 1
            year = self.year(y)
            offset += year.total
            last = len(year.starts) - 1
        i = min(bisect_right(year.cum, offset) - 1, last)
        return EPOCH + timedelta(microseconds=year.starts[i] + offset - year.cum[i])


@lru_cache(maxsize=4096)
def _intervals_on(calendar: Calendar, day: date) -> tuple[Interval, ...]:
    if day in calendar.holidays:
        return ()
    out = []
    for start, end in calendar.week[day.weekday()]:
        a = first_instant_at(calendar.zone, day, start)
        b = first_instant_at(calendar.zone, day, end)
        if a < b:
            out.append((a, b))
    return tuple(out)


def first_instant_at(zone: ZoneInfo, day: date, minute: int) -> datetime:
    """The first UTC instant at which the local clock on `day` reads `minute` or later."""
    if minute >= MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # exists (the first of two, on a fall-back night)
    # In a spring-forward gap: the clock jumps over `wall`; the answer is the jump.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # before the jump
    high = first  # after the jump
    while high - low > timedelta(minutes=1):
        mid = low + (high - low) / 2
        mid = mid.replace(second=0, microsecond=0)
        if mid <= low:
            break
        if mid.astimezone(zone).replace(tzinfo=None) >= wall:
            high = mid
        else:
            low = mid
    return high
