"""A lead's console through a working day (issue 17, item 1): memory while every screen is
driven, then CPU while idle.

The console (`supportdesk --as lena`, the real command) runs in tmux at 160x48. For N minutes
(default 10) keys go to it 50 ms apart, touring every screen: the queue's views and breaches
first, a ticket, the SLA board and its drill-down, the call screen, the tier board, the
incident screen, go-to and help; meanwhile another process opens a ticket every 2 s. RSS is
read from /proc/PID/status each minute; then the writer stops, no keys go, and the console's
CPU over 60 s is read from /proc/PID/stat.

Targets: RSS at minute 10 <= 150 MB, growth from minute 2 to the end <= 10 MB, idle <= 3 %
of a core.

The demo database is built once with the real command (20,000 tickets) and kept:
    supportdesk --db /tmp/bench-memory.db demo --tickets 20000 --no-open

Usage: python benchmarks/bench_memory.py [--db PATH] [--minutes 10] [--idle 60]
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SOCKET = f"bench-memory-{os.getpid()}"  # a tmux server of our own
SESSION = "mem"
KEY_GAP_S = 0.05
TARGET_RSS_MB, TARGET_GROWTH_MB, TARGET_IDLE_PCT = 150.0, 10.0, 3.0

# one tour: each item is a key and how long to leave the screen before the next key
TOUR: list[tuple[str, float]] = [
    ("2", 0.5),
    ("3", 0.5),
    ("4", 0.5),
    ("1", 0.5),  # the views
    ("o", 1.0),
    ("o", 1.0),  # breaches first and back
    ("Down", 0.3),
    ("Enter", 1.5),
    ("]", 1.0),
    ("Escape", 0.5),  # a ticket, the next one
    ("C-l", 2.0),
    ("d", 1.5),
    ("Escape", 0.5),
    ("Escape", 0.5),  # SLA board, drill down
    ("C-k", 1.0),
    ("Escape", 0.5),  # the call screen
    ("C-t", 1.5),
    ("Escape", 0.5),  # the tier board
    ("C-n", 1.0),
    ("Escape", 0.5),  # the incident screen
    ("g", 0.5),
    ("Escape", 0.3),  # go to #
    ("?", 0.5),
    ("Escape", 0.3),  # help
]

WRITER = """
import sys, time
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.services import tickets
from supportdesk.store import Store

desk = Desk(Store(sys.argv[1]), "amir", Clock())
n = 0
while True:
    n += 1
    tickets.create(desk, account=sys.argv[2], subject=f"bench ticket {n}", priority="medium",
                   category="technical", channel="phone")
    time.sleep(2.0)
"""


def tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=False
    ).stdout


def stop_server() -> None:
    tmux("kill-server")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def first_account(db: str) -> str:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return str(conn.execute("SELECT id FROM accounts ORDER BY id LIMIT 1").fetchone()[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="/tmp/bench-memory.db")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--idle", type=float, default=60.0)
    ap.add_argument("--tickets", type=int, default=20000)
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed")
    exe = str(Path(sys.executable).with_name("supportdesk"))
    if not Path(args.db).exists():
        print(f"building a {args.tickets:,}-ticket demo in {args.db} ...", flush=True)
        subprocess.run(
            [exe, "--db", args.db, "demo", "--tickets", str(args.tickets), "--no-open"],
            check=True,
            capture_output=True,
        )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.pop("SUPPORTDESK_NOW", None)
    atexit.register(stop_server)
    tmux("kill-server")
    cmd = f"{exe} --db {args.db} --as lena"
    subprocess.run(
        ["tmux", "-L", SOCKET, "new-session", "-d", "-s", SESSION, "-x", "160", "-y", "48", cmd],
        env=env,
        check=True,
    )
    pid = int(tmux("display", "-p", "-t", SESSION, "#{pane_pid}").strip())
    time.sleep(3.0)  # the first paint
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, args.db, first_account(args.db)], env=env
    )
    atexit.register(writer.kill)
    start = time.monotonic()
    end = start + args.minutes * 60
    readings: dict[int, float] = {}
    next_minute = 1
    tours = 0
    while time.monotonic() < end:
        for key, wait in TOUR:
            tmux("send-keys", "-t", SESSION, key)
            time.sleep(max(wait, KEY_GAP_S))
            elapsed = time.monotonic() - start
            if elapsed >= next_minute * 60:
                readings[next_minute] = rss_mb(pid)
                print(f"minute {next_minute:>3}: RSS {readings[next_minute]:6.1f} MB", flush=True)
                next_minute += 1
            if time.monotonic() >= end:
                break
        tours += 1
    last = max(readings) if readings else 0
    readings.setdefault(last, rss_mb(pid))
    writer.kill()
    writer.wait()
    tmux("send-keys", "-t", SESSION, "Escape")
    time.sleep(5.0)  # the last reloads land
    hz = os.sysconf("SC_CLK_TCK")
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    time.sleep(args.idle)
    idle_pct = 100.0 * (cpu_ticks(pid) - c0) / hz / (time.monotonic() - t0)
    at2 = readings.get(2, readings.get(min(readings), 0.0)) if readings else 0.0
    final = readings[last] if readings else rss_mb(pid)
    growth = final - at2
    print(f"tours of every screen: {tours}")
    print(f"RSS minute 2: {at2:.1f} MB; minute {last}: {final:.1f} MB; growth {growth:+.1f} MB")
    print(f"idle CPU over {args.idle:.0f} s: {idle_pct:.2f} % of a core")
    ok = final <= TARGET_RSS_MB and growth <= TARGET_GROWTH_MB and idle_pct <= TARGET_IDLE_PCT
    print(
        f"targets (RSS <= {TARGET_RSS_MB:.0f} MB, growth <= {TARGET_GROWTH_MB:.0f} MB, "
        f"idle <= {TARGET_IDLE_PCT:.0f} %): {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
