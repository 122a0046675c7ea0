"""Queue reads on a big demo database: first 500 rows under every filter, and whole CLI runs.

Usage: python benchmarks/bench_queue.py [--db PATH] [--tickets N]
Builds the demo database first when PATH does not exist (1,000,000 tickets by default).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from supportdesk.core import queue
from supportdesk.core.desk import Desk
from supportdesk.enums import View
from supportdesk.store import Store


def build(path: Path, tickets: int) -> None:
    print(f"building a {tickets:,}-ticket demo at {path} ...", flush=True)
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "supportdesk",
            "--db",
            str(path),
            "demo",
            "--tickets",
            str(tickets),
            "--no-open",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"  built in {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 1e6:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/tmp/supportdesk-bench-1m.db")
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    path = Path(args.db)
    if not path.exists():
        build(path, args.tickets)
    desk = Desk(Store(str(path)), "lena")
    store = desk.store
    with store.read() as s:
        from sqlalchemy import func, select

        from supportdesk.models import Ticket

        total = s.scalar(select(func.count()).select_from(Ticket))
        open_ = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.view == "queue"))
    print(f"database: {path} ({total:,} tickets, {open_:,} in the queue)")
    filters = [
        queue.QueueFilter(view=v, tier=t, category=c, mine=m, unclaimed=u)
        for v, t, c, (m, u) in itertools.product(
            [View.QUEUE, View.HELD, View.WAITING, View.SCHEDULED],
            [None, 2],
            [None, "security"],
            [(False, False), (True, False), (False, True)],
        )
    ]
    worst = 0.0
    worst_cpu = 0.0
    print(f"first 500 rows, median of {args.runs} runs: wall ms / CPU ms (CPU is steadier")
    print("when other work shares the machine)")
    for f in filters:
        times, cpu = [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            page = queue.page(desk, f, limit=500)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        med, med_cpu = statistics.median(times), statistics.median(cpu)
        worst, worst_cpu = max(worst, med), max(worst_cpu, med_cpu)
        print(f"  {f.describe():<40} {med:7.2f} / {med_cpu:6.2f}  ({len(page.rows)} rows)")
    print(f"worst filter: {worst:.2f} ms wall, {worst_cpu:.2f} ms CPU (target <= 10 ms)")
    t0 = time.perf_counter()
    first = queue.page(desk, queue.QueueFilter(), limit=500)
    queue.page(desk, queue.QueueFilter(), after=first.rows[-1].key, limit=500)
    print(f"next page after a key: {(time.perf_counter() - t0) * 1000 / 2:.2f} ms")

    env = dict(os.environ, SUPPORTDESK_DB=str(path), SUPPORTDESK_AGENT="lena")
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "supportdesk", "queue", "--limit", "50"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        runs.append(time.perf_counter() - t0)
    print(
        f"`supportdesk queue --limit 50` whole process: median {statistics.median(runs):.3f} s "
        f"(target <= 0.5 s)"
    )


if __name__ == "__main__":
    main()
