"""The plans of the hot reads on a big demo: every queue filter's first page, account lookup
per keystroke, claim --next, the 30-day report and the lead's boards, on PostgreSQL and SQLite.

The statements are the product's own: each service is called once while `Store.query` records
what it runs, then every recorded statement is explained with the same parameters:

- PostgreSQL: `EXPLAIN (ANALYZE, BUFFERS)` as the driver sends it (a custom plan), and again
  as a prepared statement under `SET plan_cache_mode = force_generic_plan` (psycopg prepares a
  statement after its fifth run, and a generic plan cannot use, e.g., a partial index whose
  WHERE depends on a bound parameter). Prepared by psycopg itself, so the parameter types
  are the driver's.
- SQLite: `EXPLAIN QUERY PLAN`, and the statement's own time (median of 5).

PostgreSQL lines read `run CUSTOM / GENERIC ms` (medians of 5 plain runs, the figure held to
the target) and `analyze CUSTOM (cold: its first run) / GENERIC ms` (EXPLAIN ANALYZE's own
figures, with its instrumentation). Each line flags a sequential scan of tickets
(PostgreSQL `Seq Scan on tickets`; SQLite `SCAN t` without an index), a first page over the
10 ms target, and a sort in such a page.

Usage: python benchmarks/explain_plans.py [--pg URL] [--sqlite PATH] [--as LOGIN]
       [--engineer LOGIN] [--only SUBSTRING] [--plans] [--target-ms 10]

`--plans` prints every plan in full (default: one line per statement, full plans of flagged
ones only).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from supportdesk.core import queue as q
from supportdesk.core.desk import Desk
from supportdesk.enums import Category, View
from supportdesk.store import Store

VIEWS = (View.QUEUE, View.HELD, View.WAITING, View.SCHEDULED)
LOOKUP_TEXTS = ("b", "bl", "blu", "bluef", "+27 2", "+27 21 5", "info@", "cape", "#12", "www.c")


@dataclass
class Statement:
    label: str
    sql: str
    params: tuple[Any, ...]
    first_page: bool = False  # held to the 10 ms target


@dataclass
class Recorder:
    statements: list[Statement] = field(default_factory=list)
    label: str = ""
    first_page: bool = False


@contextmanager
def recording(rec: Recorder) -> Iterator[None]:
    """Record every `Store.query` (the hot reads all go through it)."""
    original = Store.query

    def query(
        self: Store, sql: str, params: Any = (), *, prepare: bool | None = None
    ) -> list[tuple[Any, ...]]:
        if not sql.lstrip().upper().startswith("EXPLAIN"):  # a search's own estimate
            rec.statements.append(Statement(rec.label, sql, tuple(params), rec.first_page))
        return original(self, sql, params, prepare=prepare)

    Store.query = query  # type: ignore[method-assign]
    try:
        yield
    finally:
        Store.query = original  # type: ignore[method-assign]


def queue_filters() -> Iterator[tuple[str, q.QueueFilter]]:
    """Every filter the console's queue and `supportdesk queue` offer."""
    for view in VIEWS:
        for sort in q.SORTS:
            for tier in (None, 2):
                for category in (None, Category.BILLING.value):
                    for holder in ("", "mine", "unclaimed"):
                        filt = q.QueueFilter(
                            view,
                            tier,
                            category,
                            holder == "mine",
                            holder == "unclaimed",
                            None,
                            sort,
                        )
                        yield filt.describe(), filt
    for text in ("cape", "#4428"):
        yield f"search {text}", q.QueueFilter(search=text)


def scenarios(lead: Desk, engineer: Desk) -> Iterator[tuple[str, bool, Callable[[], Any]]]:
    """(label, held to the first-page target, call)."""
    from supportdesk.services.callers import lookup
    from supportdesk.services.escalation import boards, claiming
    from supportdesk.services.reports import report, sla_board

    for label, filt in queue_filters():
        yield f"queue {label}", not filt.search, functools.partial(q.page, lead, filt, limit=500)
    top = q.page(lead, q.QueueFilter(), limit=300).rows
    if len(top) > 250:
        yield (
            "queue window from a row (console scroll)",
            True,
            lambda: q.page(lead, q.QueueFilter(), start_at=top[250].key, limit=240),
        )
        yield (
            "queue window before a row (console scroll up)",
            True,
            lambda: q.page(lead, q.QueueFilter(), before=top[250].key, limit=100),
        )
    for text in LOOKUP_TEXTS:
        yield f"lookup {text!r}", True, functools.partial(lookup.find_accounts, lead, text)
    yield "tier 2 board", False, lambda: boards.tier_board(engineer, 2)
    yield "claims", False, lambda: claiming.claims(lead)
    yield "sla board snapshot", False, lambda: sla_board.snapshot(lead)
    yield "sla board figures", False, lambda: sla_board.figures(lead)
    now = lead.now()
    yield (
        "report sla 30 days",
        False,
        lambda: report.sla_report(lead, now - timedelta(days=30), now),
    )


def claim_next_statement(store: Store) -> Statement:
    from supportdesk.services.escalation.claiming import NEXT_SQL

    sql = NEXT_SQL
    if not store.is_sqlite:
        sql = sql.replace("LIMIT 1", "LIMIT 1 FOR UPDATE SKIP LOCKED")
    return Statement("claim --next (tier 2)", sql, (2,), True)


def record(store: Store, lead_login: str, engineer_login: str, only: str | None) -> Recorder:
    lead = Desk(store, lead_login)
    engineer = Desk(store, engineer_login)
    lead.actor, engineer.actor  # noqa: B018 - their own reads are not recorded
    rec = Recorder()
    with recording(rec):
        for label, first, call in scenarios(lead, engineer):
            if only and only not in label:
                continue
            rec.label, rec.first_page = label, first
            call()
    if not only or only in "claim --next":
        rec.statements.append(claim_next_statement(store))
    return rec


def pg_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


# -- PostgreSQL ---------------------------------------------------------------------------------
SEQ_TICKETS = re.compile(r"Seq Scan on tickets\b")
EXEC_TIME = re.compile(r"Execution Time: ([\d.]+) ms")
PG_SORT = re.compile(r"^\s*(->\s*)?(Incremental )?Sort\b", re.M)


def pg_explain(conn: Any, st: Statement) -> tuple[str, str]:
    """(custom plan, generic plan) with ANALYZE and BUFFERS, inside a rolled-back
    transaction (claim --next locks a row)."""
    sql = st.sql.replace("?", "%s")
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        cur.execute("SET LOCAL plan_cache_mode = auto")
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, st.params)
        custom = "\n".join(r[0] for r in cur.fetchall())
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        cur.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cur.execute("DEALLOCATE ALL")
        conn._prepared.clear()  # psycopg's own bookkeeping of what it prepared
        cur.execute(sql, st.params, prepare=True)
        cur.fetchall() if cur.description else None
        name, types = cur.execute(
            "SELECT name, parameter_types::text[] FROM pg_prepared_statements"
            " WHERE NOT from_sql ORDER BY prepare_time DESC LIMIT 1"
        ).fetchone()
        from psycopg import sql as psql

        args = psql.SQL(", ").join(
            psql.SQL("{}::{}").format(psql.Literal(v), psql.SQL(t))
            for v, t in zip(st.params, types, strict=True)
        )
        query = psql.SQL("EXPLAIN (ANALYZE, BUFFERS) EXECUTE {}").format(psql.Identifier(name))
        if st.params:
            query = psql.SQL("{}({})").format(query, args)
        cur.execute(query)
        generic = "\n".join(r[0] for r in cur.fetchall())
        cur.execute("DEALLOCATE ALL")
        conn._prepared.clear()
    return custom, generic


def pg_times(conn: Any, st: Statement) -> tuple[float, float]:
    """Medians of 5 plain runs (no EXPLAIN instrumentation), in ms: as the driver sends the
    statement at first (custom plan), and prepared under force_generic_plan."""
    sql = st.sql.replace("?", "%s")
    out = []
    for generic in (False, True):
        times = []
        with conn.transaction(force_rollback=True), conn.cursor() as cur:
            mode = "force_generic_plan" if generic else "force_custom_plan"
            cur.execute(f"SET LOCAL plan_cache_mode = {mode}")
            for _ in range(5):
                t0 = time.perf_counter()
                cur.execute(sql, st.params, prepare=generic)
                if cur.description:
                    cur.fetchall()
                times.append((time.perf_counter() - t0) * 1000)
            cur.execute("DEALLOCATE ALL")
            conn._prepared.clear()
        out.append(statistics.median(times))
    return out[0], out[1]


def ms(plan: str) -> float:
    m = EXEC_TIME.search(plan)
    return float(m.group(1)) if m else float("nan")


def pg_run(url: str, rec: Recorder, args: argparse.Namespace) -> int:
    import psycopg

    store = Store(url)
    flagged = 0
    with psycopg.connect(pg_conninfo(url), autocommit=True) as conn:
        for st in rec.statements:
            custom, generic = pg_explain(conn, st)
            pc = ms(custom)
            custom = pg_explain(conn, st)[0]  # again: the first run read the pages in
            c, g = ms(custom), ms(generic)
            rc, rg = pg_times(conn, st)
            flags = []
            for kind, plan in (("custom", custom), ("generic", generic)):
                if SEQ_TICKETS.search(plan):
                    flags.append(f"SEQ SCAN tickets ({kind})")
                if st.first_page and PG_SORT.search(plan) and max(rc, rg) > args.target_ms:
                    flags.append(f"sort ({kind})")
            if st.first_page and max(rc, rg) > args.target_ms:
                flags.append(f"over {args.target_ms:g} ms")
            flagged += bool(flags)
            print(
                f"{st.label[:48]:<48} run {rc:7.2f} / {rg:7.2f} ms  analyze {c:7.2f}"
                f" (cold {pc:7.2f}) / {g:7.2f} ms" + ("  !! " + ", ".join(flags) if flags else "")
            )
            if args.plans or flags:
                print("  SQL: " + st.sql[:400])
                print("  params: " + repr(st.params)[:200])
                print("  custom plan:\n    " + custom.replace("\n", "\n    "))
                print("  generic plan:\n    " + generic.replace("\n", "\n    "))
    store.dispose()
    return flagged


# -- SQLite -------------------------------------------------------------------------------------
SCAN_T = re.compile(r"\bSCAN (t|tickets)\b(?! USING)")


def sqlite_run(path: str, rec: Recorder, args: argparse.Namespace) -> int:
    import sqlite3

    conn = sqlite3.connect(path)
    flagged = 0
    for st in rec.statements:
        plan = "\n".join(
            r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + st.sql, st.params).fetchall()
        )
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            conn.execute(st.sql, st.params).fetchall()
            times.append((time.perf_counter() - t0) * 1000)
        t = statistics.median(times)
        flags = []
        if SCAN_T.search(plan):
            flags.append("SCAN tickets")
        if st.first_page and "TEMP B-TREE" in plan and t > args.target_ms:
            flags.append("sort")
        if st.first_page and t > args.target_ms:
            flags.append(f"over {args.target_ms:g} ms")
        flagged += bool(flags)
        print(f"{st.label[:52]:<52} {t:8.2f} ms" + ("  !! " + ", ".join(flags) if flags else ""))
        if args.plans or flags:
            print("  SQL: " + st.sql[:400])
            print("  plan:\n    " + plan.replace("\n", "\n    "))
    conn.close()
    return flagged


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pg", help="PostgreSQL URL of a big demo")
    ap.add_argument("--sqlite", help="SQLite file of a big demo")
    ap.add_argument("--as", dest="lead", default="lena")
    ap.add_argument("--engineer", default="tomas", help="a tier-2 engineer of the demo")
    ap.add_argument("--only", help="only the statements whose label contains this")
    ap.add_argument("--plans", action="store_true", help="print every plan in full")
    ap.add_argument("--target-ms", type=float, default=10.0)
    args = ap.parse_args()
    if not (args.pg or args.sqlite):
        raise SystemExit("--pg URL and/or --sqlite PATH")
    os.environ.pop("SUPPORTDESK_NOW", None)
    print(f"load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    flagged = 0
    if args.pg:
        store = Store(args.pg)
        rec = record(store, args.lead, args.engineer, args.only)
        store.dispose()
        print(f"\nPostgreSQL {args.pg}: {len(rec.statements)} statements")
        flagged += pg_run(args.pg, rec, args)
    if args.sqlite:
        store = Store(args.sqlite)
        rec = record(store, args.lead, args.engineer, args.only)
        store.dispose()
        print(f"\nSQLite {args.sqlite}: {len(rec.statements)} statements")
        flagged += sqlite_run(args.sqlite, rec, args)
    print(f"\n{flagged} statement(s) flagged")
    sys.exit(1 if flagged else 0)


if __name__ == "__main__":
    main()
