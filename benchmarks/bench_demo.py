"""Benchmark: build a demo database and print tickets/s, total seconds and database size.

The target is 1,000,000 tickets in under 60 s on SQLite (two cores). Run it from the
checkout:

    .venv/bin/python benchmarks/bench_demo.py                 # 1,000,000 tickets, temp dir
    .venv/bin/python benchmarks/bench_demo.py --tickets 200000 --db /tmp/demo.db --keep

CPU seconds are printed beside wall seconds because the machine may be shared: a wall time
far above the CPU time of the busiest process means other work was competing for the cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.demo import build_demo
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def _size(path: Path) -> int:
    return sum(
        p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, help="database file to create (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)

    folder: Path | None = None
    if args.db is None:
        folder = Path(tempfile.mkdtemp(prefix="bench-demo-"))
        path = folder / "demo.db"
    else:
        path = args.db
    if path.exists():
        parser.error(f"{path} exists: the demo needs a new database")
    key = path.with_suffix(".key")
    store = Store(str(path))
    desk = Desk(store, "lena", clock=Clock(NOW), audit_key_path=key)
    try:
        started = time.perf_counter()
        init_database(desk, admin="lena")
        init_seconds = time.perf_counter() - started
        step = max(args.tickets // 10, 1)
        shown = [0]

        def progress(done: int, total: int) -> None:
            if done - shown[0] >= step or done == total:
                shown[0] = done
                elapsed = time.perf_counter() - started
                print(f"  {done:>10,} / {total:,} tickets  {elapsed:6.1f} s", file=sys.stderr)

        cpu_before = _cpu()
        result = build_demo(desk, tickets=args.tickets, seed=args.seed, progress=progress)
        cpu_after = _cpu()
        store.dispose()
        with sqlite3.connect(path) as conn:
            events = conn.execute("SELECT count(*) FROM ticket_events").fetchone()[0]
            contacts = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
        size = _size(path)
        own = cpu_after[0] - cpu_before[0]
        workers = cpu_after[1] - cpu_before[1]
        print(f"tickets:        {result.tickets:,}")
        print(f"accounts:       {result.accounts:,}  (contacts {contacts:,})")
        print(f"events:         {events:,}  ({events / result.tickets:.2f} per ticket)")
        print(f"build seconds:  {result.seconds:.1f} s  (init {init_seconds:.1f} s before it)")
        print(f"tickets/s:      {result.tickets / result.seconds:,.0f}")
        print(f"cpu seconds:    {own:.1f} s in this process, {workers:.1f} s in workers")
        print(f"database size:  {size / 1e6:,.0f} MB  ({path})")
        print(f"cores:          {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")
        if result.tickets >= 1_000_000:
            verdict = "met" if result.seconds < 60 else "MISSED"
            print(f"target (1,000,000 tickets in < 60 s): {verdict}")
    finally:
        store.dispose()
        if not args.keep:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            else:
                for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), key):
                    p.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
