"""Tickets of every view in bulk, for the tests that read query plans (test_query_plans on
SQLite, test_pg_plans on PostgreSQL): no service calls, a few thousand rows in a second."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk
    from supportdesk.store import Store

STATUSES = [
    "new",
    "open",
    "open",
    "resolved",
    "closed",
    "closed",
    "pending_customer",
    "awaiting_authorization",
    "scheduled",
]
ACCOUNTS = 200
# the columns of each row `ticket_rows` makes, in order
TICKET_COLUMNS = (
    "id, account_id, subject, description, category, priority_rank, channel, status, tier, "
    "created_at, updated_at, holder_id, last_speaker, last_activity_at, request_type"
)


def account_ids() -> list[str]:
    return [f"acct{i}" for i in range(ACCOUNTS)]


def ticket_rows(
    rnd: random.Random, count: int, base: datetime, stamp: Callable[[datetime], Any]
) -> Iterator[tuple[Any, ...]]:
    """`count` tickets of random views, tiers, categories and holders (one in ten held by
    staff #1), created in the 70 days after `base`; times as `stamp` writes them."""
    for i in range(1, count + 1):
        ts = stamp(base + timedelta(minutes=rnd.randrange(100000)))
        holder = 1 if rnd.random() < 0.1 else None
        yield (
            i,
            f"acct{rnd.randrange(ACCOUNTS)}",
            f"subject {i}",
            "",
            rnd.choice(["technical", "billing", "infrastructure", "security"]),
            rnd.randrange(4),
            rnd.choice(["phone", "email", "chat", "portal"]),
            rnd.choice(STATUSES),
            rnd.choice([1, 1, 1, 2, 3]),
            ts,
            ts,
            holder,
            "customer",
            ts,
            "technical",
        )


def explain_pg(
    desk: Desk, sql: str, params: tuple[Any, ...], *, sort: bool = False
) -> tuple[str, str]:
    """(custom plan, generic plan) of a statement as the store sends it, with sequential
    scans and (unless `sort`) sorts disabled (kept only where nothing else can serve)."""
    import psycopg
    from psycopg import sql as psql

    driver_sql = sql.replace("?", "%s")
    with psycopg.connect(str(desk.store.target.conninfo)) as conn:
        conn.execute("SET enable_seqscan = off")
        if not sort:
            conn.execute("SET enable_sort = off")
        custom = "\n".join(r[0] for r in conn.execute("EXPLAIN " + driver_sql, params).fetchall())
        conn.execute("SET plan_cache_mode = force_generic_plan")
        cur = conn.execute(driver_sql, params, prepare=True)  # psycopg's own parameter types
        name, types = conn.execute(
            "SELECT name, parameter_types::text[] FROM pg_prepared_statements"
            " WHERE NOT from_sql ORDER BY prepare_time DESC LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        del cur
        query = psql.SQL("EXPLAIN EXECUTE {}").format(psql.Identifier(name))
        if params:
            args = psql.SQL(", ").join(
                psql.SQL("{}::{}").format(psql.Literal(v), psql.SQL(t))
                for v, t in zip(params, types, strict=True)
            )
            query = psql.SQL("{}({})").format(query, args)
        generic = "\n".join(r[0] for r in conn.execute(query).fetchall())
        conn.rollback()
    return custom, generic


@contextmanager
def pg_schema_desk(
    tmp: Path, prefix: str, rows: Iterable[tuple[Any, ...]], count: int, *, vacuum: bool = False
) -> Iterator[Desk]:
    """A desk in a fresh PostgreSQL schema (dropped afterwards) holding `ticket_rows`-shaped
    `rows` (each followed by tier_since, touched_at and sla_key) and ACCOUNTS accounts,
    analyzed; `vacuum`: the tickets vacuumed too (an Index Only Scan needs the visibility
    map). `count`: how many rows, where the id sequence goes on."""
    import psycopg

    from supportdesk.core.clock import Clock
    from supportdesk.core.desk import Desk
    from supportdesk.services.admin.setup import init_database
    from supportdesk.store import Store
    from tests.helpers.postgres import PG_URL, need_postgres

    need_postgres()
    schema = prefix + uuid.uuid4().hex[:10]
    plain = PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    store = Store(f"{PG_URL}?options=-csearch_path%3D{schema}")
    desk = Desk(store, "lena", Clock(), tmp / "k.key")
    try:
        init_database(desk, admin="lena")
        _copy_tickets(store, rows, count, vacuum=vacuum)
        yield desk
    finally:
        store.dispose()
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _copy_tickets(
    store: Store, rows: Iterable[tuple[Any, ...]], count: int, *, vacuum: bool
) -> None:
    import psycopg

    base = datetime(2026, 9, 1, tzinfo=UTC)
    with (
        psycopg.connect(str(store.target.conninfo), autocommit=True) as conn,
        conn.cursor() as cur,
    ):
        cur.executemany(
            "INSERT INTO accounts (id, company, plan, status, notes, created_at)"
            " VALUES (%s, %s, 'gold', 'active', '', %s)",
            [(acct, f"Company {acct[4:]}", base) for acct in account_ids()],
        )
        with cur.copy(
            f"COPY tickets ({TICKET_COLUMNS}, tier_since, touched_at, sla_key) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute("SELECT setval(pg_get_serial_sequence('tickets', 'id'), %s)", (count,))
        if vacuum:
            cur.execute("VACUUM (ANALYZE) tickets")
        cur.execute("ANALYZE")
