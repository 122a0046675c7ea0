"""Whole `supportdesk` processes on a big demo: `queue --limit 50` (a lead) and `claim --next`
(a tier-2 engineer), timed from exec to exit, beside baseline processes.

Usage: python benchmarks/bench_cli.py [--db PATH] [--tickets N] [--runs 10]
       [--pg URL [--pg-tickets N]]

Builds the SQLite demo first when PATH does not exist (1,000,000 tickets by default: several
minutes; the file is kept and reused, as bench_queue.py does). Each round runs, in turn,
`python -c pass`, `python -c "import click"`, `python -c "import supportdesk.cli"` (what the
command line's import costs before any command runs), the queue and the claim; the claimed
ticket is released in this process between rounds, so the board never drains and every
claim takes the same top. Prints median, min and max wall time per figure, the processes'
CPU time (steadier when other work shares the machine), the machine and its load.
Targets (issue 14): queue <= 0.3 s, claim <= 0.5 s, whole process.

`--pg URL` runs the same against a demo built in a fresh PostgreSQL schema (dropped
afterwards); `--pg-tickets` sets its size (building a million tickets there takes a while).
With `--pg-skip-build` the URL is a demo built before (`supportdesk --db URL demo --tickets
1000000 --no-open`), used as it is, with its default audit key; `--skip-sqlite` leaves SQLite
out.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg_schema import drop_schema, pg_schema

QUEUE_TARGET_S = 0.3
CLAIM_TARGET_S = 0.5
EXE = str(Path(sys.executable).with_name("supportdesk"))


@dataclass
class Figure:
    name: str
    command: list[str]
    env: dict[str, str]
    target: float | None = None
    after: Callable[[str], None] | None = None  # gets stdout (the claim: release it)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self) -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(self.command, env=self.env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: exit {done.returncode}: {done.stderr.strip()}")
        self.wall.append(wall)
        self.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if self.after is not None:
            self.after(done.stdout)

    def line(self) -> str:
        med = statistics.median(self.wall)
        verdict = ""
        if self.target is not None:
            verdict = (
                f"  target <= {self.target:.1f} s: {'met' if med <= self.target else 'MISSED'}"
            )
        return (
            f"  {self.name:<28} median {med:.3f} s  min {min(self.wall):.3f}  "
            f"max {max(self.wall):.3f}  (CPU median {statistics.median(self.cpu):.3f} s)" + verdict
        )


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return f"{model}, {cores} cores ({usable} usable), Python {sys.version.split()[0]}"


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def build(db: str, tickets: int, env: dict[str, str]) -> None:
    print(f"building a {tickets:,}-ticket demo at {db} ...", flush=True)
    t0 = time.perf_counter()
    subprocess.run(
        [EXE, "--db", db, "demo", "--tickets", str(tickets), "--no-open"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"  built in {time.perf_counter() - t0:.0f} s", flush=True)


def measure(db: str, env: dict[str, str], args: argparse.Namespace) -> list[Figure]:
    """Alternate the baselines, the queue and the claim for `args.runs` rounds."""
    from supportdesk.core.desk import Desk
    from supportdesk.services import escalation
    from supportdesk.store import Store

    store = Store(db)
    engineer = Desk(store, args.engineer, audit_key_path=env.get("SUPPORTDESK_AUDIT_KEY"))

    def release(stdout: str) -> None:
        ticket = int(json.loads(stdout)["ticket_id"])
        escalation.release(engineer, ticket, reason="benchmarks/bench_cli.py: put it back")

    py = sys.executable
    figures = [
        Figure("python -c pass", [py, "-c", "pass"], env),
        Figure('python -c "import click"', [py, "-c", "import click"], env),
        Figure("import supportdesk.cli", [py, "-c", "import supportdesk.cli"], env),
        Figure(
            f"queue --limit 50 ({args.lead})",
            [EXE, "--db", db, "--as", args.lead, "queue", "--limit", "50"],
            env,
            QUEUE_TARGET_S,
        ),
        Figure(
            f"claim --next ({args.engineer})",
            [EXE, "--db", db, "--as", args.engineer, "claim", "--next", "--json"],
            env,
            CLAIM_TARGET_S,
            release,
        ),
    ]
    try:
        for f in figures:  # one warm-up round: the page cache, the .pyc files
            f.run()
            f.wall.clear()
            f.cpu.clear()
        for _ in range(args.runs):
            for f in figures:
                f.run()
    finally:
        store.dispose()
    return figures


def report(title: str, figures: list[Figure], runs: int) -> None:
    print(f"{title}: {runs} runs each, alternating; {load()}")
    for f in figures:
        print(f.line())
    cli = statistics.median(figures[2].wall) - statistics.median(figures[0].wall)
    print(f"  importing supportdesk.cli costs {cli:.3f} s over a bare interpreter")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default="/tmp/supportdesk-bench-1m.db")
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--lead", default="lena")
    ap.add_argument("--engineer", default="tomas", help="a tier-2 engineer of the demo")
    ap.add_argument("--pg", metavar="URL", help="also run on PostgreSQL (a fresh schema)")
    ap.add_argument("--pg-tickets", type=int, default=1_000_000)
    ap.add_argument("--pg-skip-build", action="store_true", help="--pg URL is a demo already built")
    ap.add_argument("--skip-sqlite", action="store_true")
    args = ap.parse_args()
    # the processes may write their bytecode caches, as on any installed machine (with
    # PYTHONDONTWRITEBYTECODE=1, set in some shells, every run would compile supportdesk)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SUPPORTDESK_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    print(f"machine: {machine()}")
    db = str(Path(args.db).expanduser().resolve())
    if not args.skip_sqlite:
        if not Path(db).exists():
            build(db, args.tickets, env)
        report(f"SQLite {db}", measure(db, env, args), args.runs)
    if args.pg and args.pg_skip_build:
        report(f"PostgreSQL {args.pg} (as built)", measure(args.pg, env, args), args.runs)
    elif args.pg:
        url, schema = pg_schema(args.pg)
        if url is None:
            print(f"PostgreSQL skipped: {schema}")
            return
        try:
            with tempfile.TemporaryDirectory() as folder:
                pg_env = dict(env, SUPPORTDESK_AUDIT_KEY=str(Path(folder) / "audit.key"))
                build(url, args.pg_tickets, pg_env)
                report(
                    f"PostgreSQL {args.pg} (schema {schema})", measure(url, pg_env, args), args.runs
                )
        finally:
            drop_schema(args.pg, schema)


if __name__ == "__main__":
    main()
