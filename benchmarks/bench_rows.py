"""Client CPU of one 500-row queue page (core.queue.page), on SQLite and on PostgreSQL
through pgread's libpq reader and through psycopg.

Usage: python benchmarks/bench_rows.py --sqlite PATH --pg URL [--runs 20] [--profile]

The client's CPU does not depend on the table's size: a 30,000-ticket demo (every view with
more than 500 live rows) gives the same figures as a million. For each database and a few
filters: the median of --runs of this thread's CPU (time.thread_time) and of wall time for
the whole page, and the CPU of its two parts: the statement (Store.query, reading and
loading the rows) and the conversion into QueueRows (queue.rows_from). --profile prints a
cProfile of 20 pages of the first filter on each reader.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supportdesk import pgread
from supportdesk.core import queue
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.core.queue import QueueFilter
from supportdesk.enums import View
from supportdesk.store import Store

LEAD = "lena"
ROWS = 500
FILTERS = (
    QueueFilter(),
    QueueFilter(sort="due"),
    QueueFilter(View.HELD),
    QueueFilter(View.WAITING, unclaimed=True),
    QueueFilter(tier=2, sort="due"),
)


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def measure(desk: Desk, filt: QueueFilter, runs: int) -> tuple[float, float, float, float, int]:
    """Median page CPU, page wall, statement CPU, conversion CPU (ms), and the rows."""
    where, params = queue.where_clause(
        filt, desk.actor.staff_id, ilike=not desk.store.is_sqlite, ids=None
    )
    sql = queue.select_sql(pg=not desk.store.is_sqlite) + where + queue.order_by(filt)
    sql += " LIMIT ?"
    queue.page(desk, filt, limit=ROWS)  # warm
    cpu, wall, read, conv = [], [], [], []
    rows = 0
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.thread_time()
        rows = len(queue.page(desk, filt, limit=ROWS).rows)
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - t0)
        c0 = time.thread_time()
        raw = desk.store.query(sql, [*params, ROWS + 1])
        c1 = time.thread_time()
        queue.rows_from(desk, raw[:ROWS], desk.actor.staff_id)
        c2 = time.thread_time()
        read.append(c1 - c0)
        conv.append(c2 - c1)
    return median_ms(cpu), median_ms(wall), median_ms(read), median_ms(conv), rows


def run(name: str, desk: Desk, args: argparse.Namespace) -> None:
    desk.store.dispose()
    print(f"\n{name}")
    print(f"  {'filter':38} {'cpu ms':>7} {'wall ms':>8} {'read':>6} {'convert':>8} {'rows':>5}")
    for filt in FILTERS:
        cpu, wall, read, conv, rows = measure(desk, filt, args.runs)
        print(f"  {filt.describe():38} {cpu:7.2f} {wall:8.2f} {read:6.2f} {conv:8.2f} {rows:5}")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(20):
            queue.page(desk, FILTERS[0], limit=ROWS)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(14)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", help="a demo's SQLite file")
    parser.add_argument("--pg", help="a demo's PostgreSQL URL")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.sqlite:
        run("SQLite", Desk(Store(args.sqlite), LEAD, Clock()), args)
    if args.pg:
        desk = Desk(Store(args.pg), LEAD, Clock())
        once_loaded = pgread.PSYCOPG_ONCE_LOADED
        try:
            pgread.PSYCOPG_ONCE_LOADED = False  # stays on libpq once psycopg is imported
            run("PostgreSQL through pgread (libpq)", desk, args)
            import psycopg  # noqa: F401  (every read moves to psycopg)

            pgread.PSYCOPG_ONCE_LOADED = True
            run("PostgreSQL through psycopg", desk, args)
        finally:
            pgread.PSYCOPG_ONCE_LOADED = once_loaded
            desk.store.dispose()


if __name__ == "__main__":
    main()
