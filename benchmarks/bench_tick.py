"""The console's once-a-second SLA tick: countdown cells of the rows on screen, from memory.

Runs the real console headless on a demo database (breaches first, so the top rows are the
ones whose "0:42:10" texts change every second), then calls the queue table's tick for many
consecutive seconds and times it: the tick alone (readings, texts, compare, update_cell of
the changed cells) and the tick plus the table redrawing the lines on screen. It also times
the whole 240-row window (what ticking every row held would cost) and the SLA watch's check
(the notifications), and counts the statements issued meanwhile, which must be none.

The worst case comes last: every row gets two clocks running with under an hour left on a
calendar open at that moment, so every countdown cell on screen changes every second.

Usage: python benchmarks/bench_tick.py [--db PATH] [--tickets N] [--size 160x48] [--ticks N]
Builds the demo database first when PATH does not exist, and loads an SLA policy when the
demo left every clock empty (so there is something to count down).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from textual.geometry import Region

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.widgets.queue_table import QueueTable
from supportdesk.console.widgets.sla_clock import RowClocks
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.resources import data_path
from supportdesk.rules.policy import Plan
from supportdesk.rules.sla_engine import TicketClocks
from supportdesk.rules.sla_engine import start as start_clock
from supportdesk.store import Store

TARGET_MS = 2.0


def sh(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "supportdesk", *args], check=True, stdout=subprocess.DEVNULL
    )


def prepare(path: Path, tickets: int) -> None:
    if not path.exists():
        print(f"building a {tickets:,}-ticket demo at {path} ...", flush=True)
        sh("--db", str(path), "demo", "--tickets", str(tickets), "--no-open")
    with sqlite3.connect(path) as conn:
        (clocks,) = conn.execute(
            "SELECT count(*) FROM tickets WHERE view <> 'done' AND respond_state <> 'none'"
        ).fetchone()
    if clocks:
        return
    print("the demo has no SLA clocks: loading the demo policy to start them ...", flush=True)
    text = (data_path("policies") / "demo.toml").read_text()
    policy = Path(tempfile.mkdtemp()) / "demo.toml"  # changed, so that it is a new policy
    policy.write_text(text.replace('name = "', 'name = "bench · ', 1))
    sh("--db", str(path), "--as", "lena", "policy", "load", str(policy))


def stats(label: str, samples: list[float], cells: list[int] | None = None) -> None:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    extra = f", {statistics.mean(cells):.2f} cells rewritten per tick" if cells else ""
    print(f"  {label:<44} mean {statistics.mean(ms):6.3f} ms  p99 {p99:6.3f} ms{extra}")


async def bench(path: Path, size: tuple[int, int], ticks: int, start: datetime) -> None:
    desk = Desk(Store(str(path)), "lena", Clock(start))
    app = SupportDeskApp(desk, live=False)
    async with app.run_test(size=size) as pilot:
        q = None
        deadline = time.monotonic() + 20
        while q is None or q.loaded_generation != q.generation or not q.rows_for_test():
            assert time.monotonic() < deadline, "the queue never loaded"
            await pilot.pause(0.05)
            q = app.queue_screen()
        await pilot.press("o")  # breaches first: the rows due soonest, on screen
        while q.filt.sort != "due" or q.loaded_generation != q.generation:
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        while not len(app.sla_watch):  # the watch list is read once the queue has painted
            await pilot.pause(0.1)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        open_plan = _open_plan(current_policy(desk).plans.values(), start)
        q._tick = lambda: None  # type: ignore[method-assign]  # the timers stay out of it
        app.sla_watch.stop()  # its 5 s check and its reads stay out of it too
        app.stale_claims.stop()
        table = q.query_one(QueueTable)
        visible = table.visible_rows()
        clocks = sum(1 for c in table._columns if c.clock)
        print(
            f"{size[0]}x{size[1]}: {len(visible)} rows on screen x {clocks} clock columns, "
            f"{len(table.rows_shown)} rows in the window, {len(app.sla_watch)} clocks watched"
        )

        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        store = desk.store
        plain = store.plain_statements
        event.listen(store.engine, "before_cursor_execute", count)
        region = Region(0, 0, *table.outer_size)
        second = timedelta(seconds=1)
        now = start

        def timed(run: Callable[[datetime], object], n: int) -> tuple[list[float], list[int]]:
            nonlocal now
            out, cells = [], []
            for _ in range(n):
                now += second
                t0 = time.perf_counter()
                changed = run(now)
                out.append(time.perf_counter() - t0)
                cells.append(changed if isinstance(changed, int) else 0)
            return out, cells

        def tick_and_draw(at: datetime) -> int:
            changed = table.tick(at)
            table.render_lines(region)
            return changed

        try:
            timed(table.tick, 50)  # warm up
            on_screen, cells = timed(table.tick, ticks)
            drawn, _ = timed(tick_and_draw, ticks)
            everything = range(len(table.rows_shown))
            window, window_cells = timed(lambda at: table._tick_rows(everything, at), ticks)
            watch, _ = timed(lambda at: len(app.sla_watch.clocks.check(at)), ticks)
            worst: list[float] = []
            worst_tick: list[float] = []
            worst_cells: list[int] = []
            if open_plan is not None:
                for row in table.rows_shown:  # under an hour left, on an open calendar
                    cal = open_plan.calendar
                    running = TicketClocks(
                        start_clock(cal, now - timedelta(minutes=10), 3600),
                        start_clock(cal, now - timedelta(minutes=5), 3600),
                    )
                    table._row_clocks[row.id] = RowClocks.build(running, open_plan)
                n = min(ticks, 600) // 2  # they stay under an hour for 50 minutes
                timed(table.tick, 1)
                worst_tick, worst_cells = timed(table.tick, n)
                worst, _ = timed(tick_and_draw, n)
        finally:
            event.remove(store.engine, "before_cursor_execute", count)
        queries = len(statements) + store.plain_statements - plain
        stats("tick, rows on screen", on_screen, cells)
        stats("tick + redraw of the table's lines", drawn)
        stats(f"tick of all {len(table.rows_shown)} rows held (not done)", window, window_cells)
        stats("SLA watch check (notifications)", watch)
        if worst:
            stats("worst case, every clock on screen: tick", worst_tick, worst_cells)
            stats("worst case, every clock on screen: + redraw", worst)
        mean = statistics.mean(on_screen) * 1000
        verdict = "ok" if mean < TARGET_MS else "OVER"
        print(f"  target: tick under {TARGET_MS} ms: {verdict}")
        total = 4 * ticks + 51 + len(worst) + len(worst_tick)
        print(f"  statements issued during {total} ticks: {queries} (must be 0)")
        if queries:
            raise SystemExit(1)


def _open_plan(plans: Any, at: datetime) -> Plan | None:
    """A plan whose calendar is open at `at` (the 24/7 one, usually)."""
    for plan in plans:
        opens, _closes = plan.calendar.current_interval(at)
        if opens <= at:
            return plan
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/tmp/supportdesk-bench-tick.db")
    ap.add_argument("--tickets", type=int, default=3000)
    ap.add_argument("--size", default="160x48", help="terminal COLSxROWS (several: comma)")
    ap.add_argument("--ticks", type=int, default=2000)
    ap.add_argument("--at", help="ISO time to start at (default: now)")
    args = ap.parse_args()
    path = Path(args.db)
    prepare(path, args.tickets)
    start = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
    for size in args.size.split(","):
        cols, rows = (int(v) for v in size.split("x"))
        asyncio.run(bench(path, (cols, rows), args.ticks, start.astimezone(UTC)))


if __name__ == "__main__":
    main()
