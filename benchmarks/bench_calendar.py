"""Business-time `add` against the businesstimedelta package on the same 10,000 inputs.

Usage: pip install businesstimedelta && python benchmarks/bench_calendar.py
Adds a 24 h target on a Mon-Fri 08:00-18:00 calendar in Africa/Johannesburg and prints the
time per call of each and how many answers differ once businesstimedelta's closing-time
results are mapped to the next opening (our convention). Target: at least 5x faster.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock

from supportdesk.rules.calendar import Calendar

ZONE = "Africa/Johannesburg"
N = 10_000


def main() -> None:
    try:
        import businesstimedelta
        import pytz
    except ImportError:
        sys.exit("needs the businesstimedelta package: pip install businesstimedelta")
    cal = Calendar.from_spec(
        "office", ZONE, {d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    rule = businesstimedelta.WorkDayRule(
        start_time=clock(8),
        end_time=clock(18),
        working_days=[0, 1, 2, 3, 4],
        tz=pytz.timezone(ZONE),
    )
    delta = businesstimedelta.BusinessTimeDelta(rule, hours=24)
    rnd = random.Random(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    inputs = [base + timedelta(minutes=rnd.randrange(365 * 1440)) for _ in range(N)]
    target = timedelta(hours=24)

    t0 = time.perf_counter()
    ours = [cal.add(t, target) for t in inputs]
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = [t + delta for t in inputs]
    theirs_s = time.perf_counter() - t0

    differ = 0
    for mine, other in zip(ours, theirs, strict=True):
        other_utc = other.astimezone(UTC)
        if not cal.is_open(other_utc):  # a closing instant: our convention is the next opening
            other_utc = cal.next_open(other_utc)
        differ += mine != other_utc
    print(f"supportdesk.calendar add(24h): {ours_s / N * 1e6:8.1f} us per call")
    print(f"businesstimedelta + 24h:       {theirs_s / N * 1e6:8.1f} us per call")
    print(f"speed-up: {theirs_s / ours_s:.1f}x (target >= 5x); answers that differ: {differ}")


if __name__ == "__main__":
    main()
