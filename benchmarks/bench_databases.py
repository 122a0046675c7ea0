"""PostgreSQL beside SQLite in one run, every figure of issue 15 on the same demo size.

Usage: python benchmarks/bench_databases.py [--tickets 1000000] [--runs 10]
       [--pg URL] [--sqlite PATH] [--keep | --skip-build] [--only NAME[,NAME]]

Figures (names for --only), in the order they run:

  build        the demo build (init and data), seconds; the database each later figure reads
  start        `supportdesk` in tmux at 160x48 until its queue is painted, against a bare
               Textual app, alternating (bare, SQLite, PostgreSQL) for --runs rounds
               (benchmarks/bench_console.py)
  propagation  a console left open in tmux, searched to one ticket; another process (this
               one, as the lead sipho) claims and releases that ticket --changes times; each
               change is timed from its commit until the console's screen shows the holder
               (capture-pane, polled every 10 ms)
  cli          `supportdesk queue --limit 50` as a whole process against `python -c pass`,
               alternating (benchmarks/bench_cli.py)
  filters      the first 500 rows (core.queue.page, what the console and `supportdesk queue`
               call) under every filter both offer: 4 views x 4 tiers x 5 categories x
               (anyone, mine, unclaimed) x 2 orders, and searches (a word, a #number, a
               miss) on each view; median ms of --filter-runs (wall, and this process's
               CPU: on a loaded machine the wall time is mostly waiting for a core; on
               PostgreSQL the server's share is not in it); PostgreSQL through pgread's
               libpq reader (`supportdesk queue`, the console's first page), then again
               through psycopg (the console after its first paint); whether the plan scans
               the tickets table (SQLite: EXPLAIN QUERY PLAN "SCAN t" with no index;
               PostgreSQL: EXPLAIN (FORMAT JSON) "Seq Scan" on tickets, with the values
               bound, and again as a prepared statement under
               plan_cache_mode = force_generic_plan)
  lookup       the call screen's account lookup typed one key at a time
               (benchmarks/bench_lookup.py): median and p95 ms per keystroke
  report       `supportdesk report sla` and `report escalations` over the 30 days before the
               demo's last ticket (the services they call), median seconds
  claims       8 processes drain a tier-2 board with claim_next, resolving each claim
               (tests/helpers/claim_race.py, as benchmarks/bench_claims.py): claims per
               second. The board is a desk of its own (--claim-tickets, 2,000 by default)
               beside the demo (PostgreSQL: a fresh schema in the benchmark's database), not
               the demo itself: the race drains its board, which would leave a kept demo
               without one for the next run, and the demo has 5 tier-2 engineers, not 8

Databases: by default the SQLite demo is built in a temporary folder and the PostgreSQL demo
in a fresh database created on the --pg server (named bench_<random>), both removed at the
end unless --keep. --skip-build reuses existing demos: --sqlite PATH and --pg URL as given
(their audit keys where `supportdesk demo` leaves them, or SUPPORTDESK_AUDIT_KEY).
Propagation writes (claims and releases, each audited) to the demo and leaves the ticket as
it found it.

Prints the machine (CPU, cores, load average at the start and at the end), the versions,
each figure's details as it goes, and one table at the end: figure | SQLite | PostgreSQL |
target | baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.helpers.claim_race

import bench_cli
import bench_console
import bench_demo
import bench_lookup
from pg_schema import drop_schema, pg_schema

from supportdesk.core import queue
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.core.queue import QueueFilter
from supportdesk.core.views import parse_utc
from supportdesk.enums import Category, View
from supportdesk.store import Store

HERE = Path(__file__).resolve().parent
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FIGURES = ("build", "start", "propagation", "cli", "filters", "lookup", "report", "claims")
SQLITE, PG = "SQLite", "PostgreSQL"
LEAD = "lena"  # the console's and the queue's user (a demo lead)
WRITER = "sipho"  # the other lead, who claims and releases in the propagation figure
FIRST_ROWS = 500
FILTER_TARGET_MS = 10.0
PROPAGATION_TARGET_S = 0.5
PROPAGATION_TIMEOUT_S = 10.0
BUILD_TARGET_S = 120.0
START_TARGET_S, START_TARGET_RATIO = 1.0, 2.5
CLI_TARGET_S = 0.4


# -- the databases ---------------------------------------------------------------------------
@dataclass
class Database:
    name: str  # SQLITE or PG
    url: str  # what --db takes
    built_seconds: float | None = None
    created_database: str | None = None  # a PostgreSQL database this run made (dropped)
    tickets: int = 0  # counted before the figures
    new_key: bool = False  # its audit key was made by this run's build (removed with it)

    @property
    def is_pg(self) -> bool:
        return self.name == PG

    def desk(self, login: str = LEAD) -> Desk:
        return Desk(Store(self.url), login, Clock())


def own_build(url: str, tickets: int, seed: int) -> float:
    """The demo build as benchmarks/bench_demo.py runs it (init, then build_demo with its
    fixed clock, the audit key where the CLI looks for it): wall seconds of both."""
    from supportdesk.demo import build_demo
    from supportdesk.services.admin.setup import init_database

    store = Store(url)
    desk = Desk(store, LEAD, clock=Clock(bench_demo.NOW))
    try:
        started = time.perf_counter()
        init_database(desk, admin=LEAD)
        build_demo(desk, tickets=tickets, seed=seed)
        return time.perf_counter() - started
    finally:
        store.dispose()


def measure_build(url: str, tickets: int, seed: int) -> float:
    """Seconds to build a demo of `tickets` at `url`, kept there for the other figures
    (bench_demo.measure_build builds in a place of its own and removes it: it times builds
    only)."""
    return own_build(url, tickets, seed)


def pg_conninfo(url: str) -> str:
    return str(Store(url).target.conninfo)


def create_pg_database(server_url: str) -> tuple[str, str]:
    """A fresh database on the server of `server_url`: (its URL, its name)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_conninfo(server_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return url, name


def drop_pg_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(pg_conninfo(server_url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# -- the table -------------------------------------------------------------------------------
@dataclass
class Row:
    figure: str  # the --only name it belongs to
    label: str
    target: str = ""
    baseline: str = ""
    cells: dict[str, str] = field(default_factory=dict)


class Table:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def row(self, figure: str, label: str, target: str = "", baseline: str = "") -> Row:
        for r in self.rows:
            if r.label == label:
                r.target = r.target or target
                r.baseline = r.baseline or baseline
                return r
        r = Row(figure, label, target, baseline)
        self.rows.append(r)
        return r

    def print(self) -> None:
        head = ("figure", SQLITE, PG, "target", "baseline")
        lines = [
            (r.label, r.cells.get(SQLITE, "-"), r.cells.get(PG, "-"), r.target, r.baseline)
            for r in self.rows
        ]
        widths = [max(len(x[i]) for x in [head, *lines]) for i in range(5)]
        rule = "-+-".join("-" * w for w in widths)
        print(" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
        print(rule)
        for line in lines:
            print(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def pct(values: list[float], p: float) -> float:
    return bench_lookup.pct(values, p)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# -- figures ---------------------------------------------------------------------------------
def figure_build(dbs: list[Database], table: Table, args: argparse.Namespace) -> None:
    label = f"demo build, {args.tickets:,} tickets (s)"
    row = table.row("build", label, f"PG <= {BUILD_TARGET_S:.0f} s at 1M")
    for db in dbs:
        if db.built_seconds is not None:
            ok = db.built_seconds <= BUILD_TARGET_S
            tail = f" ({verdict(ok)})" if db.is_pg and args.tickets >= 1_000_000 else ""
            row.cells[db.name] = f"{db.built_seconds:.1f}{tail}"


def figure_start(dbs: list[Database], table: Table, args: argparse.Namespace) -> None:
    sd = bench_console.supportdesk_command()
    ready = re.compile(bench_console.DEFAULT_READY)
    bare_ready = bench_console.BARE_READY
    launches = [bench_console.Launch("bare", bench_console.bare_command(), bare_ready, False)]
    launches += [
        bench_console.Launch(db.name, console_command(sd, db), ready, settled=True) for db in dbs
    ]
    row = table.row(
        "start",
        f"console start to painted queue (median of {args.runs}, s)",
        f"PG <= {START_TARGET_S:.0f} s and <= {START_TARGET_RATIO}x bare",
    )
    clocks = table.row("start", "  ... until its SLA clocks are filled (median s)")
    names = ", ".join(launch.name for launch in launches)
    print(f"start: {args.runs} alternating rounds in tmux at 160x48 ({names})")
    times = bench_console.alternating(launches, args.runs, warmup=1)
    bare = statistics.median(t for t, _ in times[0])
    row.baseline = f"bare Textual {bare:.3f} s"
    for db, got in zip(dbs, times[1:], strict=True):
        painted = statistics.median(t for t, _ in got)
        filled = statistics.median(f or t for t, f in got)
        ratio = painted / bare
        ok = painted <= START_TARGET_S and ratio <= START_TARGET_RATIO
        row.cells[db.name] = f"{painted:.3f} ({ratio:.2f}x, {verdict(ok)})"
        clocks.cells[db.name] = f"{filled:.3f}"
        print(bench_console.spread(f"  {db.name} console", [t for t, _ in got]))
    print(bench_console.spread("  bare Textual app", [t for t, _ in times[0]]))


def console_command(sd: str, db: Database) -> str:
    return f"{shlex.quote(sd)} --db {shlex.quote(db.url)} --as {LEAD}"


def figure_propagation(dbs: list[Database], table: Table, args: argparse.Namespace) -> None:
    row = table.row(
        "propagation",
        f"propagation to a 2nd console, p50 / p99 of {args.changes} (s)",
        f"PG p99 <= {PROPAGATION_TARGET_S} s",
    )
    sd = bench_console.supportdesk_command()
    for db in dbs:
        delays = propagation(db, sd, args.changes)
        p50, p99 = statistics.median(delays), pct(delays, 99)
        ok = p99 <= PROPAGATION_TARGET_S
        row.cells[db.name] = f"{p50:.3f} / {p99:.3f} ({verdict(ok)})"
        print(
            f"  {db.name}: {len(delays)} changes, p50 {p50:.3f} s, p99 {p99:.3f} s, "
            f"max {max(delays):.3f} s (from the write's commit to the row on screen)"
        )


def propagation(db: Database, sd: str, changes: int) -> list[float]:
    """Seconds from each commit to the console's screen showing it (see the module doc)."""
    from supportdesk.services import escalation, tickets

    writer = db.desk(WRITER)
    reader = db.desk(LEAD)
    ticket = 0
    try:
        top = queue.page(reader, QueueFilter(unclaimed=True), limit=1).rows
        if not top:
            raise RuntimeError("no unclaimed ticket in the queue")
        ticket = top[0].id
        ready = re.compile(bench_console.DEFAULT_READY)
        bench_console.timed_run(console_command(sd, db), ready, settled=True)
        line = re.compile(rf"^\s*{ticket}\s")

        def shown(holder: bool) -> bool:
            rows = [x for x in bench_console.screen().splitlines() if QUEUE_ROW.match(x)]
            return len(rows) == 1 and bool(line.match(rows[0])) and (WRITER in rows[0]) == holder

        search(f"#{ticket}", lambda: shown(False))
        delays: list[float] = []
        for i in range(changes):
            time.sleep(0.05 + (i * 0.037) % 0.25)  # not in step with the 250 ms SQLite poll
            claim = i % 2 == 0
            if claim:
                tickets.claim(writer, ticket)
            else:
                escalation.release(writer, ticket, reason="bench_databases: propagation")
            committed = time.perf_counter()
            wait_for(lambda c=claim: shown(c), f"change {i + 1} never showed")  # type: ignore[misc]
            delays.append(time.perf_counter() - committed)
        if changes % 2:
            escalation.release(writer, ticket, reason="bench_databases: propagation")
        return delays
    finally:
        bench_console.tmux("kill-session", "-t", bench_console.SESSION)
        with contextlib.suppress(Exception):  # a change that never showed: put it back
            if ticket and holder_of(reader, ticket) == WRITER:
                escalation.release(writer, ticket, reason="bench_databases: propagation")
        writer.store.dispose()
        reader.store.dispose()


QUEUE_ROW = re.compile(r"^\s*\d+\s+[CHML]\s")  # a queue row: its number and priority letter


def holder_of(desk: Desk, ticket: int) -> str | None:
    rows = desk.store.query(
        "SELECT s.login FROM tickets t JOIN staff s ON s.id = t.holder_id WHERE t.id = ?", [ticket]
    )
    return str(rows[0][0]) if rows else None


def search(text: str, found: Callable[[], bool]) -> None:
    """Type `text` into the console's search (/) until the screen shows what it should (keys
    sent while the console still starts its watchers can be lost: then again)."""
    session = bench_console.SESSION
    time.sleep(1.0)  # the watchers start after the first page
    for _attempt in range(5):
        # back to the list and to the Queue view (a digit typed while the search was not
        # focused switches views), then the search
        for key in ("Escape", "1", "/"):
            bench_console.tmux("send-keys", "-t", session, key)
            time.sleep(0.3)
        bench_console.tmux("send-keys", "-t", session, "-l", text)
        if wait_for(found, "", timeout=3.0, fail=False):
            return
    raise RuntimeError(f"the console never showed the search {text!r}:\n{bench_console.screen()}")


def wait_for(
    check: Callable[[], bool], why: str, timeout: float = PROPAGATION_TIMEOUT_S, fail: bool = True
) -> bool:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if check():
            return True
        time.sleep(bench_console.POLL_S)
    if fail:
        raise RuntimeError(f"{why} within {timeout:.0f} s:\n{bench_console.screen()}")
    return False


def figure_cli(dbs: list[Database], table: Table, args: argparse.Namespace) -> None:
    # as bench_cli: no desk settings from this shell, and bytecode caches written as on any
    # installed machine (PYTHONDONTWRITEBYTECODE=1 would compile supportdesk every run)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SUPPORTDESK_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    if "SUPPORTDESK_AUDIT_KEY" in os.environ:
        env["SUPPORTDESK_AUDIT_KEY"] = os.environ["SUPPORTDESK_AUDIT_KEY"]
    base = bench_cli.Figure("python -c pass", [sys.executable, "-c", "pass"], env)
    figures = [base] + [
        bench_cli.Figure(
            f"{db.name}: queue --limit 50",
            [bench_cli.EXE, "--db", db.url, "--as", LEAD, "queue", "--limit", "50"],
            env,
            CLI_TARGET_S,
        )
        for db in dbs
    ]
    for f in figures:  # one warm-up round: the page cache, the .pyc files
        f.run()
        f.wall.clear()
        f.cpu.clear()
    for _ in range(args.runs):
        for f in figures:
            f.run()
    print(f"cli: {args.runs} alternating rounds")
    for f in figures:
        print(f.line())
    b = statistics.median(base.wall)
    row = table.row(
        "cli",
        f"queue --limit 50, whole process (median of {args.runs}, s)",
        f"PG <= {CLI_TARGET_S} s",
        f"python -c pass {b:.3f} s",
    )
    for db, f in zip(dbs, figures[1:], strict=True):
        med = statistics.median(f.wall)
        row.cells[db.name] = f"{med:.3f} ({verdict(med <= CLI_TARGET_S)})"


def queue_filters(ticket: int) -> list[QueueFilter]:
    """Every filter the queue screen and `supportdesk queue` offer, combined."""
    views = (View.QUEUE, View.HELD, View.WAITING, View.SCHEDULED)
    out = [
        QueueFilter(view, tier, category, mine, unclaimed, None, sort)
        for view in views
        for tier in (None, 1, 2, 3)
        for category in (None, *(c.value for c in Category))
        for mine, unclaimed in ((False, False), (True, False), (False, True))
        for sort in ("priority", "due")
    ]
    for view in views:
        for search in ("mail", f"#{ticket}", "qzxqv"):  # a word, a number, a miss
            out.append(QueueFilter(view, search=search))
            out.append(QueueFilter(view, tier=2, search=search, sort="due"))
    return out


def first_rows_sql(db: Database, desk: Desk, filt: QueueFilter) -> list[tuple[str, list[Any]]]:
    """The statements core.queue.page runs for the first rows of `filt` (limit + 1): a
    search's candidates off the word index first, when it has some (migration 0013)."""
    out = []
    ids = queue.search_ids(desk, filt)
    text = queue.search_text(filt)
    if text is not None and len(text) >= 3:
        out.append(queue.candidates_sql(text, pg=db.is_pg))
    where, params = queue.where_clause(filt, desk.actor.staff_id, ilike=db.is_pg, ids=ids)
    sql = queue.page_sql(filt, where, pg=db.is_pg, ids=ids)
    out.append((sql, [*params, FIRST_ROWS + 1]))
    return out


def sqlite_scans(desk: Desk, sql: str, params: list[Any]) -> bool:
    plan = desk.store.query("EXPLAIN QUERY PLAN " + sql, params)
    return any(
        re.match(r"SCAN (t|tickets)\b", str(r[-1])) and "USING" not in str(r[-1]) for r in plan
    )


def seq_scans(plan: Any) -> bool:
    """Does a PostgreSQL JSON plan read the tickets table sequentially anywhere?"""
    if isinstance(plan, dict):
        if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") == "tickets":
            return True
        return any(seq_scans(v) for v in plan.values())
    if isinstance(plan, list):
        return any(seq_scans(v) for v in plan)
    return False


def plan_of(row: Any) -> Any:
    """The plan in a row of EXPLAIN (FORMAT JSON): psycopg parses json, or leaves text."""
    if row is None:
        raise RuntimeError("EXPLAIN returned no row")
    plan = row[0]
    return json.loads(plan) if isinstance(plan, str) else plan


class PgPlans:
    """EXPLAIN (FORMAT JSON) of the queue's statements, bound (custom plan) and prepared
    under plan_cache_mode = force_generic_plan, on a connection of its own."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(pg_conninfo(url), autocommit=True)
        self.n = 0

    def scans(self, sql: str, params: list[Any]) -> tuple[bool, bool]:
        from psycopg import sql as pgsql

        row = self.conn.execute("EXPLAIN (FORMAT JSON) " + sql.replace("?", "%s"), params)
        custom = seq_scans(plan_of(row.fetchone()))
        return custom, self.generic(sql, params, pgsql)

    def generic(self, sql: str, params: list[Any], pgsql: Any) -> bool:
        self.n += 1
        name = f"bench_q{self.n}"
        numbered = iter(range(1, len(params) + 1))
        text = re.sub(r"\?", lambda _m: f"${next(numbered)}", sql)
        self.conn.execute(f"PREPARE {name} AS {text}")
        try:
            self.conn.execute("SET plan_cache_mode = force_generic_plan")
            args = pgsql.SQL(", ").join(pgsql.Literal(p) for p in params)
            query = pgsql.SQL("EXPLAIN (FORMAT JSON) EXECUTE {} ({})").format(
                pgsql.Identifier(name), args
            )
            return seq_scans(plan_of(self.conn.execute(query).fetchone()))
        finally:
            self.conn.execute("RESET plan_cache_mode")
            self.conn.execute(f"DEALLOCATE {name}")

    def close(self) -> None:
        self.conn.close()


@dataclass
class FilterTimes:
    filt: QueueFilter
    ms: float  # median wall
    cpu_ms: float  # median CPU of this process (the client's share; SQLite's all of it)
    rows: int


def time_filters(desk: Desk, filters: list[QueueFilter], runs: int) -> list[FilterTimes]:
    out = []
    for filt in filters:
        queue.page(desk, filt, limit=FIRST_ROWS)  # warm: the page cache, the plan
        wall, cpu = [], []
        rows = 0
        for _ in range(runs):
            t0, c0 = time.perf_counter(), time.thread_time()
            rows = len(queue.page(desk, filt, limit=FIRST_ROWS).rows)
            cpu.append((time.thread_time() - c0) * 1000)
            wall.append((time.perf_counter() - t0) * 1000)
        out.append(FilterTimes(filt, statistics.median(wall), statistics.median(cpu), rows))
    return out


def figure_filters(dbs: list[Database], table: Table, args: argparse.Namespace) -> None:
    """PostgreSQL twice: through pgread's libpq reader (`supportdesk queue`, the console's
    first page) and through psycopg (the console once it has imported psycopg after its
    first paint): this process imports psycopg for its EXPLAINs, which would otherwise
    move every read to psycopg (pgread.PSYCOPG_ONCE_LOADED)."""
    from supportdesk import pgread

    row = table.row(
        "filters",
        f"first {FIRST_ROWS} rows, worst filter (median ms)",
        f"<= {FILTER_TARGET_MS:.0f} ms every filter",
    )
    cpu = table.row("filters", "  ... its CPU in this process (median ms)")
    over = table.row("filters", f"  filters over {FILTER_TARGET_MS:.0f} ms")
    other = table.row("filters", "  PG through psycopg: worst, over 10 ms")
    scans = table.row("filters", "  filters whose plan scans tickets", "none")
    generic = table.row("filters", "  ... under force_generic_plan (PG)", "none")
    once_loaded = pgread.PSYCOPG_ONCE_LOADED
    for db in dbs:
        desk = db.desk(LEAD)
        plans = PgPlans(db.url) if db.is_pg else None
        try:
            top = queue.page(desk, QueueFilter(), limit=1).rows
            filters = queue_filters(top[0].id if top else 1)
            marks: dict[QueueFilter, tuple[bool, bool]] = {}
            for filt in filters:
                custom = gen = False
                for sql, params in first_rows_sql(db, desk, filt):
                    if plans is not None:
                        c, g = plans.scans(sql, params)
                    elif "ticket_words" in sql:
                        c, g = False, False  # the FTS5 table, not tickets
                    else:
                        c, g = sqlite_scans(desk, sql, params), False
                    custom, gen = custom or c, gen or g
                marks[filt] = (custom, gen)
            readers = [("", False)] if not db.is_pg else [(" (libpq)", False), (" (psycopg)", True)]
            for label, on_psycopg in readers:
                pgread.PSYCOPG_ONCE_LOADED = on_psycopg
                desk.store.dispose()  # fresh readers: the libpq ones moved to psycopg stay so
                results = time_filters(desk, filters, args.filter_runs)
                worst, n, slow = report_filters(f"{db.name}{label}", results, marks, args)
                if on_psycopg:
                    other.cells[db.name] = f"{worst.ms:.1f}, {len(slow)} of {n}"
                    continue
                row.cells[db.name] = f"{worst.ms:.1f} ({verdict(not slow)})"
                cpu.cells[db.name] = f"{max(r.cpu_ms for r in results):.1f} (worst)"
                over.cells[db.name] = f"{len(slow)} of {n}"
        finally:
            pgread.PSYCOPG_ONCE_LOADED = once_loaded
            if plans is not None:
                plans.close()
            desk.store.dispose()
        scans.cells[db.name] = f"{sum(c for c, _ in marks.values())} of {len(filters)}"
        generic.cells[db.name] = (
            f"{sum(g for _, g in marks.values())} of {len(filters)}" if db.is_pg else "n/a"
        )
    other.cells[SQLITE] = "n/a"


def report_filters(
    name: str,
    results: list[FilterTimes],
    marks: dict[QueueFilter, tuple[bool, bool]],
    args: argparse.Namespace,
) -> tuple[FilterTimes, int, list[FilterTimes]]:
    """Print the slowest filters (and every one whose plan scans tickets); the worst, how
    many, and those over the target."""
    results = sorted(results, key=lambda r: -r.ms)
    worst, n = results[0], len(results)
    slow = [r for r in results if r.ms > FILTER_TARGET_MS]
    print(
        f"filters, {name}: {n} filters, median of {args.filter_runs} runs each (wall ms /"
        f" this process's CPU ms); slowest {worst.ms:.1f} ms ({worst.filt.describe()},"
        f" {worst.rows} rows); load average {bench_console.load()}"
    )
    for rank, r in enumerate(results):
        custom, gen = marks[r.filt]
        if rank < args.show_filters or custom or gen:  # the slowest, and every scan
            flags = ("  SEQ SCAN" if custom else "") + ("  SEQ SCAN (generic)" if gen else "")
            print(
                f"  {r.ms:8.2f} / {r.cpu_ms:6.2f} ms  {r.rows:4} rows  {r.filt.describe()}{flags}"
            )
    if len(slow) > args.show_filters:
        print(f"  ... {len(slow) - args.show_filters} more over {FILTER_TARGET_MS:.0f} ms")
    return worst, n, slow


def figure_lookup(dbs: list[Database], table: Table, args: argparse.Namespace) -> None:
    row = table.row(
        "lookup",
        "account lookup per keystroke, median / p95 (ms)",
        f"p95 <= {bench_lookup.BUDGET_MS:.0f} ms (budget)",
    )
    for db in dbs:
        desk = db.desk(LEAD)
        try:
            store = desk.store
            accounts = int(store.query("SELECT count(*) FROM accounts")[0][0])
            kinds = bench_lookup.queries(store, args.lookup_per_kind, seed=4)
            for items in kinds.values():  # warm the caches and the imports (a console has them)
                bench_lookup.lookup.find_accounts(desk, items[0][0])
            times: list[float] = []
            found = total = 0
            for items in kinds.values():
                got, hit = bench_lookup.type_queries(desk, items)
                times += got
                found += hit
                total += len(items)
        finally:
            desk.store.dispose()
        med, p95 = statistics.median(times), pct(times, 95)
        print(
            f"lookup, {db.name}: {accounts:,} accounts, {len(times):,} keystrokes, median "
            f"{med:.1f} ms, p95 {p95:.1f}, p99 {pct(times, 99):.1f}, max {max(times):.1f}; "
            f"{found} of {total} queries found what they should"
        )
        row.label = f"account lookup per keystroke, {accounts:,} accounts, median / p95 (ms)"
        row.cells[db.name] = f"{med:.1f} / {p95:.1f}"


def figure_report(dbs: list[Database], table: Table, args: argparse.Namespace) -> None:
    from supportdesk.services import escalation
    from supportdesk.services.reports import report

    sla = table.row("report", f"30-day SLA report (median of {args.runs}, s)")
    esc = table.row("report", f"30-day escalation report (median of {args.runs}, s)")
    for db in dbs:
        desk = db.desk(LEAD)
        try:
            last = desk.store.query("SELECT max(created_at) FROM tickets")[0][0]
            end = parse_utc(last) + timedelta(seconds=1)
            start = end - timedelta(days=30)
            for cell, run in ((sla, report.sla_report), (esc, escalation.figures)):
                run(desk, start, end)  # warm
                times = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    run(desk, start, end)
                    times.append(time.perf_counter() - t0)
                cell.cells[db.name] = f"{statistics.median(times):.3f}"
            r = report.sla_report(desk, start, end)
            print(
                f"report, {db.name}: {start:%Y-%m-%d} to {end:%Y-%m-%d}, "
                f"{r.total.resolved:,} resolved in the window"
            )
        finally:
            desk.store.dispose()


def figure_claims(dbs: list[Database], table: Table, args: argparse.Namespace) -> None:
    from tests.helpers.claim_race import ENGINEERS, build_board, race

    row = table.row(
        "claims",
        f"claims/s, {len(ENGINEERS)} processes, board of {args.claim_tickets:,} (+ resolve)",
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-db-claims-"))
    try:
        for db in dbs:
            schema = None
            if db.is_pg:
                url, schema = pg_schema(db.url)
                if url is None:
                    raise RuntimeError(schema)
            else:
                url = str(folder / "claims.db")
            try:
                key = folder / f"{db.name}.key"
                build_board(url, key, args.claim_tickets, max_claims=5)
                r = race(url, key, resolve=True)
            finally:
                if schema is not None:
                    drop_schema(db.url, schema)
            errors = [e for w in r.results for e in w.errors]
            rate = len(r.claimed) / r.seconds
            print(
                f"claims, {db.name}: {len(r.claimed):,} claims (each resolved) by "
                f"{len(ENGINEERS)} processes in {r.seconds:.2f} s: {rate:,.0f} claims/s; "
                f"errors {len(errors)}"
            )
            for e in errors[:5]:
                print(f"    {e}")
            row.cells[db.name] = f"{rate:,.0f}" + (f" ({len(errors)} errors)" if errors else "")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


RUNNERS: dict[str, Callable[[list[Database], Table, argparse.Namespace], None]] = {
    "build": figure_build,
    "start": figure_start,
    "propagation": figure_propagation,
    "cli": figure_cli,
    "filters": figure_filters,
    "lookup": figure_lookup,
    "report": figure_report,
    "claims": figure_claims,
}


# -- the machine -----------------------------------------------------------------------------
def versions(dbs: list[Database]) -> str:
    def dist(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    server = "?"
    for db in dbs:
        if db.is_pg:
            with contextlib.suppress(Exception):
                server = str(Store(db.url).query("SHOW server_version")[0][0])
    commit = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, PostgreSQL "
        f"{server}, psycopg {dist('psycopg')}, SQLAlchemy {dist('sqlalchemy')}, Textual "
        f"{dist('textual')}; supportdesk at {commit or '?'}"
    )


def machine() -> str:
    return f"{bench_console.machine()}; nproc {os.cpu_count()}"


@contextlib.contextmanager
def databases(args: argparse.Namespace) -> Iterator[list[Database]]:
    """The two demos: built here (and removed afterwards unless --keep), or as given."""
    folder: Path | None = None
    dbs: list[Database] = []
    try:
        if args.skip_build:
            if not args.sqlite:
                raise SystemExit("--skip-build needs --sqlite PATH (and --pg URL of a demo)")
            dbs = [Database(SQLITE, str(Path(args.sqlite).resolve())), Database(PG, args.pg)]
            for db in dbs:
                store = Store(db.url)
                try:
                    if store.schema_revision() is None:
                        raise SystemExit(f"--skip-build: {db.url} holds no desk")
                finally:
                    store.dispose()
            yield dbs
            return
        if args.sqlite:
            path = Path(args.sqlite).resolve()
            if path.exists():
                raise SystemExit(f"--sqlite {path} exists (use --skip-build to reuse it)")
        else:
            folder = Path(tempfile.mkdtemp(prefix="bench-db-"))
            path = folder / "demo.db"
        sqlite_db = Database(SQLITE, str(path))
        url, name = create_pg_database(args.pg)
        pg_db = Database(PG, url, created_database=name)
        dbs = [sqlite_db, pg_db]
        for db in dbs:
            db.new_key = not db.desk().key_path.exists()
            print(f"building the {db.name} demo ({args.tickets:,} tickets) ...", flush=True)
            db.built_seconds = measure_build(db.url, args.tickets, args.seed)
            print(f"  {db.built_seconds:.1f} s", flush=True)
        yield dbs
    finally:
        if not args.keep and not args.skip_build:
            for db in dbs:
                key = db.desk().key_path
                if db.created_database:
                    drop_pg_database(args.pg, db.created_database)
                else:
                    for tail in ("", "-wal", "-shm", "-writer.lock"):
                        Path(db.url + tail).unlink(missing_ok=True)
                if db.new_key:  # never a key this run found (SUPPORTDESK_AUDIT_KEY)
                    key.unlink(missing_ok=True)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        elif args.keep:
            for db in dbs:
                print(f"kept: {db.name} {db.url}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=10, help="runs per timed figure (median)")
    ap.add_argument("--filter-runs", type=int, default=5, help="runs per queue filter")
    ap.add_argument("--show-filters", type=int, default=15, help="filters: the slowest shown")
    ap.add_argument("--changes", type=int, default=100, help="propagation: changes timed")
    ap.add_argument("--lookup-per-kind", type=int, default=25, help="lookup: queries per kind")
    ap.add_argument("--claim-tickets", type=int, default=2000, help="claims: the board's size")
    ap.add_argument(
        "--pg",
        default=PG_DEFAULT,
        help="the server (a fresh database on it), or with --skip-build the demo's URL",
    )
    ap.add_argument("--sqlite", help="the SQLite demo's path (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the demos built here")
    ap.add_argument("--skip-build", action="store_true", help="use the demos at --sqlite/--pg")
    ap.add_argument("--only", help=f"some figures, comma-separated: {', '.join(FIGURES)}")
    args = ap.parse_args(argv)
    only = FIGURES if not args.only else tuple(x.strip() for x in args.only.split(","))
    unknown = [x for x in only if x not in FIGURES]
    if unknown:
        ap.error(f"--only: unknown {', '.join(unknown)} (one of: {', '.join(FIGURES)})")
    if args.keep and args.skip_build:
        ap.error("--keep and --skip-build exclude each other (a reused demo is always kept)")
    tmux_needed = {"start", "propagation"} & set(only)
    if tmux_needed and not shutil.which("tmux"):
        raise SystemExit(f"tmux is needed for {', '.join(sorted(tmux_needed))}")

    print(f"machine: {machine()}")
    print(f"load average at the start: {bench_console.load()}", flush=True)
    table = Table()
    failed: list[str] = []
    with databases(args) as dbs:
        print(f"versions: {versions(dbs)}")
        for db in dbs:
            tickets = Store(db.url)
            try:
                n = int(tickets.query("SELECT count(*) FROM tickets")[0][0])
            finally:
                tickets.dispose()
            db.tickets = n
            print(f"{db.name}: {db.url} ({n:,} tickets)", flush=True)
        if tmux_needed:
            bench_console.start_server()
        try:
            for name in FIGURES:
                if name not in only and not (name == "build" and not args.skip_build):
                    continue
                t0 = time.perf_counter()
                try:
                    RUNNERS[name](dbs, table, args)
                except (Exception, SystemExit) as exc:
                    failed.append(name)
                    traceback.print_exc()
                    if not any(r.figure == name for r in table.rows):
                        table.row(name, f"{name} (failed)")
                    for r in table.rows:
                        if r.figure == name:
                            for db in dbs:
                                r.cells.setdefault(db.name, "error")
                    print(f"{name}: FAILED ({type(exc).__name__}: {exc})", flush=True)
                    if name in tmux_needed:
                        bench_console.start_server()  # a failed run stops the server
                took = time.perf_counter() - t0
                print(f"  ({name}: {took:.1f} s; load average {bench_console.load()})", flush=True)
        finally:
            if tmux_needed:
                bench_console.stop_server()
    print()
    print(f"machine: {machine()}")
    print(f"load average at the end: {bench_console.load()}")
    sizes = ", ".join(f"{db.name} {db.tickets:,}" for db in dbs)
    print(f"demo tickets: {sizes}" + (" (reused, --skip-build)" if args.skip_build else ""))
    table.print()
    if failed:
        print(f"FAILED figures: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
