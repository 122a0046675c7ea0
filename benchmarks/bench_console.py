"""Console start-up, memory and idle CPU on a big database, against a bare Textual app.

Runs both in tmux (as a user would), polls the screen until the queue is painted, then reads
the console's RSS and its CPU use over an idle stretch from /proc.

Usage: python benchmarks/bench_console.py [--db PATH] [--tickets N] [--idle 10]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_APP = """
from textual.app import App
from textual.widgets import DataTable, Footer, Header

class Bare(App):
    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()

    def on_mount(self):
        t = self.query_one(DataTable)
        t.add_columns("id", "subject")
        t.add_rows([(str(i), "bare row ready") for i in range(40)])

Bare().run()
"""


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


SIZE = ["160", "48"]


def time_to_paint(command: str, ready: re.Pattern[str], timeout: float = 20.0) -> tuple[float, int]:
    """Seconds from launch until `ready` appears on the screen, and the process id."""
    tmux("kill-session", "-t", "bench")
    t0 = time.perf_counter()
    tmux("new-session", "-d", "-s", "bench", "-x", SIZE[0], "-y", SIZE[1], command)
    while time.perf_counter() - t0 < timeout:
        if ready.search(tmux("capture-pane", "-p", "-t", "bench")):
            elapsed = time.perf_counter() - t0
            pid = int(tmux("display", "-p", "-t", "bench", "#{pane_pid}").strip() or 0)
            return elapsed, pid
        time.sleep(0.005)
    raise SystemExit(
        f"screen never showed {ready.pattern!r}:\n" + tmux("capture-pane", "-p", "-t", "bench")
    )


def leaf_pid(pid: int) -> int:
    """The python process under the pane's shell."""
    for _ in range(5):
        kids = Path(f"/proc/{pid}/task/{pid}/children")
        if not kids.exists():
            break
        children = kids.read_text().split()
        if not children:
            break
        pid = int(children[0])
    return pid


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/tmp/supportdesk-bench-1m.db")
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--idle", type=float, default=10.0)
    ap.add_argument(
        "--ready",
        default=r"#?\d{3,}\s.*(critical|crit|C)\b",
        help="regex that shows the queue is painted",
    )
    ap.add_argument("--size", default="160x48", help="terminal COLSxROWS")
    args = ap.parse_args()
    SIZE[:] = args.size.split("x")
    if not shutil.which("tmux"):
        raise SystemExit("tmux is needed (apt-get install tmux)")
    db = Path(args.db)
    if not db.exists():
        print(f"building a {args.tickets:,}-ticket demo at {db} ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "supportdesk",
                "--db",
                str(db),
                "demo",
                "--tickets",
                str(args.tickets),
                "--no-open",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    bare = Path(tempfile.mkdtemp()) / "bare.py"
    bare.write_text(BARE_APP)
    py = sys.executable
    bare_times = [
        time_to_paint(f"{py} {bare}", re.compile("bare row ready"))[0] for _ in range(args.runs)
    ]
    tmux("kill-session", "-t", "bench")
    cmd = f"{py} -m supportdesk --db {db} --as lena"
    times = []
    for i in range(args.runs):
        elapsed, pane = time_to_paint(cmd, re.compile(args.ready))
        times.append(elapsed)
        if i < args.runs - 1:
            tmux("kill-session", "-t", "bench")
    pid = leaf_pid(pane)
    time.sleep(2.0)
    rss = rss_mb(pid)
    c0, w0 = cpu_seconds(pid), time.perf_counter()
    time.sleep(args.idle)
    idle = (cpu_seconds(pid) - c0) / (time.perf_counter() - w0) * 100
    tmux("kill-session", "-t", "bench")
    b, c = statistics.median(bare_times), statistics.median(times)
    print(f"bare Textual app (Header, DataTable, Footer) to paint: {b:.3f} s")
    print(
        f"supportdesk console to painted queue: {c:.3f} s ({c / b:.1f}x bare; "
        "target <= 1 s and <= 3x)"
    )
    print(f"console RSS after start: {rss:.0f} MB (target <= 150 MB)")
    print(f"console idle CPU over {args.idle:.0f} s: {idle:.1f} % of one core (target <= 3 %)")


if __name__ == "__main__":
    main()
