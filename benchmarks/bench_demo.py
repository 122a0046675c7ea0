"""Benchmark: build a demo database and print the build time (median of --runs), on SQLite
and, with --pg, on PostgreSQL in the same run, with each build's stages.

The targets, on two cores: 1,000,000 tickets in under 60 s on SQLite and under 120 s on
PostgreSQL. Run it from the checkout:

    .venv/bin/python benchmarks/bench_demo.py                  # SQLite, 1,000,000 tickets
    .venv/bin/python benchmarks/bench_demo.py --pg postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python benchmarks/bench_demo.py --tickets 200000 --runs 1 --db /tmp/demo.db --keep

Each PostgreSQL run builds in a fresh schema of the given database (benchmarks/pg_schema.py),
dropped afterwards; each SQLite run in a new file. CPU seconds are printed beside wall
seconds because the machine may be shared: this process, its worker processes, and (when the
server runs on this machine) the server process of the build's connection. A wall time far
above the CPU time of the busiest process means other work was competing for the cores.

`measure_build(url, tickets, seed)` is the figure other benchmarks import (bench_databases).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pg_schema import drop_schema, pg_schema

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.demo import build_demo
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TARGETS = {"sqlite": 60.0, "postgresql": 120.0}  # seconds for 1,000,000 tickets, two cores


@dataclass(frozen=True)
class Build:
    """One measured build."""

    seconds: float  # build_demo alone (init excluded)
    init_seconds: float
    cpu_self: float
    cpu_workers: float
    cpu_server: float | None  # the build connection's server process, when it is local
    load_before: float
    load_after: float


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


class _ServerCpu:
    """Samples the CPU time of this process's PostgreSQL server processes (backends whose
    client port is one of ours), when the server runs on this machine and /proc is
    readable; None otherwise."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.readable = Path("/proc/self/stat").exists()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.pids: set[int] = set()

    def __enter__(self) -> _ServerCpu:
        if self.readable:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self._stop.is_set():
            for pid in list(self.pids):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    self.seen[str(pid)] = (int(fields[11]) + int(fields[12])) / tick
            self._stop.wait(0.2)

    @property
    def seconds(self) -> float | None:
        return sum(self.seen.values()) if self.seen else None


@contextlib.contextmanager
def _fresh(url: str) -> Iterator[str]:
    """A fresh place for one build: a schema of the PostgreSQL database at `url` (dropped
    afterwards), or the SQLite file `url` (which must not exist; removed afterwards)."""
    if url.startswith("postgresql"):
        schema_url, schema = pg_schema(url)
        if schema_url is None:
            raise SystemExit(schema)
        try:
            yield schema_url
        finally:
            drop_schema(url, schema)
        return
    path = Path(url)
    if path.exists():
        raise SystemExit(f"{path} exists: the demo needs a new database")
    try:
        yield str(path)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal", "-writer.lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _build(url: str, tickets: int, seed: int, key: Path) -> Build:
    store = Store(url)
    desk = Desk(store, "lena", clock=Clock(NOW), audit_key_path=key)
    try:
        started = time.perf_counter()
        init_database(desk, admin="lena")
        init_seconds = time.perf_counter() - started
        with _ServerCpu() as server:
            if not store.is_sqlite:
                from sqlalchemy import event

                def note_backend(dbapi_conn: object, _record: object, _proxy: object) -> None:
                    server.pids.add(int(dbapi_conn.info.backend_pid))  # type: ignore[attr-defined]

                event.listen(store.engine, "checkout", note_backend)
                store.engine.dispose()  # every later connection passes through checkout
            load_before = os.getloadavg()[0]
            cpu_before = _cpu()
            result = build_demo(desk, tickets=tickets, seed=seed)
            cpu_after = _cpu()
        return Build(
            seconds=result.seconds,
            init_seconds=init_seconds,
            cpu_self=cpu_after[0] - cpu_before[0],
            cpu_workers=cpu_after[1] - cpu_before[1],
            cpu_server=None if store.is_sqlite else server.seconds,
            load_before=load_before,
            load_after=os.getloadavg()[0],
        )
    finally:
        store.dispose()
        key.unlink(missing_ok=True)


def measure_build(url: str, tickets: int, seed: int) -> float:
    """Seconds to build a demo of `tickets` tickets (init excluded) on a fresh desk: in a
    new schema of the PostgreSQL database at `url`, or in the new SQLite file `url`;
    either is removed afterwards."""
    with _fresh(url) as place, tempfile.TemporaryDirectory(prefix="bench-demo-key-") as keys:
        return _build(place, tickets, seed, Path(keys) / "audit.key").seconds


def _show(name: str, build: Build) -> None:
    server = f", server {build.cpu_server:.1f} s" if build.cpu_server is not None else ""
    print(
        f"  {name:<10} {build.seconds:7.1f} s  (init {build.init_seconds:.1f} s before it;"
        f" cpu: this process {build.cpu_self:.1f} s, workers {build.cpu_workers:.1f} s{server};"
        f" load average {build.load_before:.2f} -> {build.load_after:.2f})",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="builds per database (median)")
    parser.add_argument("--db", type=Path, help="SQLite file to create (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file of the last run")
    parser.add_argument("--pg", metavar="URL", help="also build on this PostgreSQL database")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--quiet", action="store_true", help="no stages")
    args = parser.parse_args(argv)
    if not args.quiet:
        os.environ["SUPPORTDESK_DEMO_STAGES"] = "1"  # build_demo prints its stages

    folder = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    sqlite_path = args.db or folder / "demo.db"
    if sqlite_path.exists():
        parser.error(f"{sqlite_path} exists: the demo needs a new database")
    targets = [] if args.no_sqlite else [("sqlite", str(sqlite_path))]
    if args.pg:
        targets.append(("postgresql", args.pg))
    builds: dict[str, list[Build]] = {name: [] for name, _url in targets}
    print(
        f"{args.tickets:,} tickets, seed {args.seed}, {args.runs} run(s) per database;"
        f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    try:
        for run in range(1, args.runs + 1):
            for name, url in targets:  # alternate, so both see the same machine
                print(f"run {run}, {name}:", file=sys.stderr, flush=True)
                keep = args.keep and name == "sqlite" and run == args.runs
                if keep:
                    build = _build(url, args.tickets, args.seed, sqlite_path.with_suffix(".key"))
                else:
                    with _fresh(url) as place:
                        key = folder / f"{name}-{run}.key"
                        build = _build(place, args.tickets, args.seed, key)
                builds[name].append(build)
                _show(f"{name} #{run}", build)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("median build seconds:")
    for name, runs in builds.items():
        median = statistics.median(b.seconds for b in runs)
        line = f"  {name:<10} {median:7.1f} s  ({args.tickets / median:,.0f} tickets/s"
        line += f"; runs {', '.join(f'{b.seconds:.1f}' for b in runs)})"
        if args.tickets >= 1_000_000:
            verdict = "met" if median <= TARGETS[name] else "MISSED"
            line += f"  target <= {TARGETS[name]:.0f} s: {verdict}"
        print(line)
    if len(builds) == 2:
        sqlite, pg = (statistics.median(b.seconds for b in builds[n]) for n in builds)
        print(f"  postgresql / sqlite: {pg / sqlite:.2f}x")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
