"""Console start-up on a million-ticket demo against a bare Textual app, then memory and idle
CPU (issue 14: paint first, load the rest after).

Both run in tmux at 160x48, as a user would see them, in ALTERNATING runs (bare, console,
bare, console, ...) so that whatever else the machine is doing weighs on both alike. Each
run is timed from the launch until its screen shows the ready pattern (capture-pane, polled):
for the bare app its rows, for the console its queue's first rows (`supportdesk` itself, the
real command), and then, in the same run, until the queue's SLA countdown cells are filled
(the plans load just after the first paint). After the last console run the console is left
open: its RSS, then its CPU use over an idle stretch, from /proc.

The demo database is built once (minutes) with the real command and kept:
    supportdesk --db /tmp/start-1m.db demo --tickets 1000000 --no-open
`--db` also takes a PostgreSQL URL (postgresql+psycopg://user@host/dbname) of a demo built
the same way; a URL is never built here (nor is anything with --skip-build).

Usage: python benchmarks/bench_console.py [--db PATH|URL] [--tickets N] [--runs 12]
       [--idle 10] [--skip-build]
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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

# What `supportdesk` with no command does, without the CLI module (--direct: the console's own
# start, apart from what the CLI costs until its commands load lazily)
DIRECT = """
import sys
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.store import Store
store = Store(sys.argv[1])
store.check_schema()
desk = Desk(store, sys.argv[2], Clock())
desk.actor
from supportdesk.console.app import run_console
run_console(desk)
"""

SIZE = ["160", "48"]
SOCKET = f"bench-console-{os.getpid()}"  # a tmux server of our own: nobody else's sessions
SESSION = "bench"
POLL_S = 0.01
TARGET_S, TARGET_RATIO = 0.8, 2.2
PG_TARGET_S, PG_TARGET_RATIO = 1.0, 2.5  # issue 15: PostgreSQL at a million tickets
CLOCK_HEADERS = ("Respond in", "Resolve in", "Next due")


def tmux(*args: str, env: dict[str, str] | None = None) -> str:
    cmd = ["tmux", "-L", SOCKET, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env).stdout


def start_server() -> None:
    """Our server, kept up by an idle session (so no run pays for starting a server), with
    dead panes kept on screen (a console that fails shows why). Its programs may write their
    bytecode caches, as on any installed machine: with PYTHONDONTWRITEBYTECODE=1 (set in
    some shells) every run would compile supportdesk from source while Textual's caches came
    with its wheel."""
    tmux("kill-server")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    tmux("new-session", "-d", "-s", "keep", "-x", "80", "-y", "24", "sleep 86400", env=env)
    tmux("set-option", "-g", "remain-on-exit", "on")
    SOCKET_PATH[:] = [tmux("display", "-p", "#{socket_path}").strip()]
    atexit.register(stop_server)  # also when a run fails or is interrupted


SOCKET_PATH: list[str] = []


def stop_server() -> None:
    """Our server and its socket file (tmux leaves it behind)."""
    tmux("kill-server")
    for path in SOCKET_PATH:
        if path:  # empty when the server had not answered (Path("") is the folder)
            Path(path).unlink(missing_ok=True)


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def clocks_filled(text: str) -> bool:
    """Does the queue's first row show its SLA countdowns? (The columns under the clock
    headers are blank until the plans have loaded, a moment after the first paint.)"""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        spans = [(line.index(h) - 1, line.index(h) + len(h)) for h in CLOCK_HEADERS if h in line]
        if spans and i + 1 < len(lines):
            row = lines[i + 1]
            return all(row[a:b].strip() for a, b in spans)
    return False


def timed_run(
    command: str, ready: re.Pattern[str], settled: bool, timeout: float = 60.0
) -> tuple[float, float | None, int]:
    """Launch `command` in a fresh tmux session; seconds until `ready` shows on the screen,
    then (if `settled`) until the clocks are filled; and the pane's process id."""
    tmux("kill-session", "-t", SESSION)
    t0 = time.perf_counter()
    tmux("new-session", "-d", "-s", SESSION, "-x", SIZE[0], "-y", SIZE[1], command)
    painted: float | None = None
    polls = 0
    while time.perf_counter() - t0 < timeout:
        polls += 1
        text = screen()
        if painted is None and ready.search(text):
            painted = time.perf_counter() - t0
        if painted is not None and (not settled or clocks_filled(text)):
            filled = time.perf_counter() - t0 if settled else None
            pid = int(tmux("display", "-p", "-t", SESSION, "#{pane_pid}").strip() or 0)
            return painted, filled, pid
        dead = polls % 25 == 0 and tmux("display", "-p", "-t", SESSION, "#{pane_dead}")
        if dead and dead.strip() == "1":
            break  # it ended (its last screen says why)
        time.sleep(POLL_S)
    text = screen()
    stop_server()
    raise SystemExit(f"screen never showed {ready.pattern!r} (or its clocks):\n{text}")


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


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0))
    return f"{model}, {usable} cores usable ({os.cpu_count()} online)"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def spread(name: str, times: list[float]) -> str:
    return (
        f"{name}: median {statistics.median(times):.3f} s, min {min(times):.3f}, "
        f"max {max(times):.3f} (n={len(times)}: {' '.join(f'{t:.2f}' for t in times)})"
    )


BARE_READY = re.compile("bare row ready")
DEFAULT_READY = r"#?\d{3,}\s.*(critical|crit|C)\b"
LAST_PANE = [0]  # the pane process of the last run, left open (memory and idle CPU)


@dataclass(frozen=True)
class Launch:
    """One program to time: its shell command and the screen that says it is ready (with
    `settled`, also until the queue's SLA clocks are filled)."""

    name: str
    command: str
    ready: re.Pattern[str]
    settled: bool = True


def bare_command() -> str:
    """The bare Textual app (Header, DataTable, Footer) as a shell command."""
    bare_py = Path(tempfile.mkdtemp()) / "bare.py"
    bare_py.write_text(BARE_APP)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(bare_py))}"


def alternating(
    launches: list[Launch], runs: int, warmup: int = 1, log: bool = True
) -> list[list[tuple[float, float | None]]]:
    """`runs` rounds of every launch in turn (after `warmup` untimed rounds), in the tmux
    server of start_server(): per launch, (seconds to ready, seconds to settled or None) per
    run. Alternating, so that whatever else the machine does weighs on all alike."""
    for _ in range(warmup):
        for launch in launches:
            timed_run(launch.command, launch.ready, settled=launch.settled)
    times: list[list[tuple[float, float | None]]] = [[] for _ in launches]
    for i in range(runs):
        for launch, got in zip(launches, times, strict=True):
            painted, filled, LAST_PANE[0] = timed_run(
                launch.command, launch.ready, settled=launch.settled
            )
            got.append((painted, filled))
        if log:
            shown = ", ".join(
                f"{ln.name} {t[-1][0]:.3f} s" for ln, t in zip(launches, times, strict=True)
            )
            print(f"  run {i + 1:2}: {shown}", flush=True)
    return times


def supportdesk_command() -> str:
    """The installed `supportdesk` script beside this interpreter (what a user runs)."""
    beside = Path(sys.executable).parent / "supportdesk"
    found = str(beside) if beside.exists() else shutil.which("supportdesk")
    if not found:
        raise SystemExit("the `supportdesk` command is not installed (pip install -e .)")
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/tmp/start-1m.db", help="SQLite file or PostgreSQL URL")
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=12, help="runs of each (at least 10)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed pairs first (page cache)")
    ap.add_argument("--idle", type=float, default=10.0)
    ap.add_argument("--as", dest="login", default="lena")
    ap.add_argument(
        "--ready",
        default=DEFAULT_READY,
        help="regex that shows the queue is painted",
    )
    ap.add_argument("--size", default="160x48", help="terminal COLSxROWS")
    ap.add_argument(
        "--skip-build",
        action="store_true",
        help="never build the demo (a missing SQLite file is an error)",
    )
    ap.add_argument(
        "--command",
        help="the console command to time instead of `supportdesk --db DB --as LOGIN` "
        "(e.g. another checkout's, to compare)",
    )
    ap.add_argument(
        "--direct",
        action="store_true",
        help="open the console as the CLI does but without importing the CLI module",
    )
    args = ap.parse_args()
    if args.runs < 10:
        raise SystemExit("--runs: at least 10 (a median of fewer says little here)")
    SIZE[:] = args.size.split("x")
    if not shutil.which("tmux"):
        raise SystemExit("tmux is needed (apt-get install tmux)")
    sd = supportdesk_command()
    is_url = "://" in args.db
    db = args.db if is_url else Path(args.db)
    if not is_url and not Path(db).exists():
        if args.skip_build:
            raise SystemExit(f"no demo at {db} (--skip-build)")
        print(f"building a {args.tickets:,}-ticket demo at {db} (minutes) ...", flush=True)
        subprocess.run(
            [sd, "--db", str(db), "demo", "--tickets", str(args.tickets), "--no-open"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    bare_cmd = bare_command()
    bare_py = Path(shlex.split(bare_cmd)[-1])
    console_cmd = args.command or (
        f"{shlex.quote(sd)} --db {shlex.quote(str(db))} --as {shlex.quote(args.login)}"
    )
    if args.direct:
        direct_py = bare_py.with_name("direct.py")
        direct_py.write_text(DIRECT)
        console_cmd = " ".join(
            shlex.quote(a) for a in (sys.executable, str(direct_py), str(db), args.login)
        )
    console_ready = re.compile(args.ready)

    print(f"machine: {machine()}; load average {load()} at start", flush=True)
    start_server()
    runs = alternating(
        [
            Launch("bare", bare_cmd, BARE_READY, settled=False),
            Launch("console", console_cmd, console_ready),
        ],
        args.runs,
        args.warmup,
    )
    bare = [painted for painted, _filled in runs[0]]
    console = [painted for painted, _filled in runs[1]]
    filled = [clocks or painted for painted, clocks in runs[1]]
    pane = LAST_PANE[0]
    pid = leaf_pid(pane)  # the last console stays open: memory and idle CPU
    time.sleep(2.0)
    rss = rss_mb(pid)
    c0, w0 = cpu_seconds(pid), time.perf_counter()
    time.sleep(args.idle)
    idle = (cpu_seconds(pid) - c0) / (time.perf_counter() - w0) * 100
    stop_server()

    b, c = statistics.median(bare), statistics.median(console)
    after = statistics.median(f - p for f, p in zip(filled, console, strict=True))
    print(f"\nmachine: {machine()}; load average {load()} at the end")
    print(f"{args.runs} alternating runs each in tmux at {args.size}, console: `{console_cmd}`")
    print(spread("bare Textual app (Header, DataTable, Footer) to paint", bare))
    print(spread("supportdesk console to its painted queue", console))
    limit, ratio = (PG_TARGET_S, PG_TARGET_RATIO) if is_url else (TARGET_S, TARGET_RATIO)
    ok = c <= limit and c / b <= ratio
    print(
        f"ratio of the medians: {c / b:.2f}x bare "
        f"(target <= {limit} s and <= {ratio}x: {'met' if ok else 'NOT met'})"
    )
    print(spread("  ... until its SLA clocks are filled in", filled))
    print(f"  (the clocks fill in a median {after * 1000:.0f} ms after the first paint)")
    print(f"console RSS after start: {rss:.0f} MB (target <= 150 MB)")
    print(f"console idle CPU over {args.idle:.0f} s: {idle:.1f} % of one core (target <= 3 %)")


if __name__ == "__main__":
    main()
