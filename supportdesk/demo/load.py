"""Bulk loaders: the interface, and rows into SQLite (executemany, or INSERT ... SELECT from
a worker's part file) with secondary indexes dropped during the load. PostgreSQL's (COPY)
is in `pgload`."""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from sqlalchemy import Connection, Index

from supportdesk.models import Base

from .rows import (
    BULK_TABLES,
    EVENT_COLUMNS,
    NULL_AS,
    TICKET_COLUMNS,
    TICKET_TABLES,
    Row,
    event_row,
    shape_case,
    ticket_row,
)


def insert_many(db: Any, table: str, columns: Sequence[str], rows: list[Row]) -> None:
    marks = ", ".join("?" * len(columns))
    db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _as_null(value: None) -> None:
    return None


class Loader(ABC):
    """Bulk inserts on the raw DBAPI connection of an open SQLAlchemy transaction.

    The build calls, in its one transaction: `begin`, `insert` (the directory),
    `build_indexes` (the directory's), `insert_chunk` or `copy_part` (the tickets),
    `after_rows`, `reset_sequences`, then writes its own rows (handovers, escalations, the
    audit row) and calls `complete`; `finish` after the commit."""

    def __init__(self, dbapi: Any) -> None:
        self.db = dbapi

    def before(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Connection settings for the load (outside any transaction)."""

    def after(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Put the connection settings back before it returns to the pool."""

    @abstractmethod
    def begin(self, conn: Connection) -> None:
        """Inside the transaction, before any row: take off what slows the load."""

    @abstractmethod
    def build_indexes(
        self, conn: Connection, tables: Sequence[str], stage: Callable[[str], None]
    ) -> None:
        """Build the indexes `begin` dropped on these tables."""

    @abstractmethod
    def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        """Insert rows into a table (each dialect has its fastest way)."""

    @abstractmethod
    def insert_chunk(self, tickets: list[Row], events: list[Row]) -> None:
        """Insert a chunk of the generator's compact ticket and event rows."""

    @abstractmethod
    def copy_part(self, path: str, on_chunk: Callable[[int], None], count: int) -> None:
        """Insert the chunks of a worker's part file; `on_chunk(tickets)` after each
        (`count` tickets in all)."""

    def after_rows(self, conn: Connection, stage: Callable[[str], None]) -> None:  # noqa: B027 - optional hook, empty by default
        """Every ticket is in; the handovers and the escalation backfill come next."""

    def reset_sequences(self, conn: Connection) -> None:  # noqa: B027 - optional hook, empty by default
        """Let later inserts continue after the explicit ids the load used."""

    def complete(self, conn: Connection, stage: Callable[[str], None]) -> None:  # noqa: B027 - optional hook, empty by default
        """The last step inside the transaction: put back what `begin` took off."""

    def finish(self, conn: Connection) -> None:  # noqa: B027 - optional hook, empty by default
        """Refresh the planner's statistics after the commit."""


class SqliteLoader(Loader):
    """executemany with foreign-key checks and fsync off (the generator only makes rows
    that point at rows made before them, and an interrupted load is never committed).

    The load runs in rollback-journal mode when this is the only connection to the file: in
    WAL mode every page would be written twice (to the WAL, then by the checkpoint), which
    measured 3 s per 100,000 tickets here, while on a fresh database the rollback journal
    only holds the few pages that existed before. WAL is switched back on at the end.

    While loading, None gets a registered adapter: without one Python's sqlite3 module takes
    its slow adaptation path for every NULL, which measured 0.8 us per value here.
    """

    PRAGMAS = {"foreign_keys": "OFF", "synchronous": "OFF", "cache_size": "-262144"}
    NONE_KEY = (type(None), sqlite3.PrepareProtocol)

    def __init__(self, dbapi: Any) -> None:
        super().__init__(dbapi)
        self.word_triggers: list[tuple[str, str]] = []
        self.attached: list[str] = []
        self.saved: dict[str, Any] = {}
        self.left_wal = False
        self.had_adapter = True

    def before(self) -> None:
        timeout = self.db.execute("PRAGMA busy_timeout").fetchone()[0]
        self.db.execute("PRAGMA busy_timeout=0")  # another connection: just stay in WAL
        try:
            mode = self.db.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            self.left_wal = str(mode).lower() == "delete"
        except sqlite3.OperationalError:
            pass
        finally:
            self.db.execute(f"PRAGMA busy_timeout={int(timeout)}")
        for name, value in self.PRAGMAS.items():
            self.saved[name] = self.db.execute(f"PRAGMA {name}").fetchone()[0]
            self.db.execute(f"PRAGMA {name}={value}")
        self.had_adapter = self.NONE_KEY in sqlite3.adapters
        if not self.had_adapter:
            sqlite3.register_adapter(type(None), _as_null)

    def after(self) -> None:
        if not self.had_adapter:
            sqlite3.adapters.pop(self.NONE_KEY, None)
        for alias in self.attached:  # only possible once the transaction is over
            with suppress(sqlite3.Error):
                self.db.execute(f"DETACH DATABASE {alias}")
        if self.left_wal:
            self.db.execute("PRAGMA journal_mode=WAL")
        for name, value in self.saved.items():  # as the Store's connect listener left them
            self.db.execute(f"PRAGMA {name}={int(value)}")

    def begin(self, conn: Connection) -> None:
        self.indexes = bulk_indexes()
        for index in self.indexes:
            index.drop(conn)
        # the search's word table (migration 0013) is filled once after the load, not by its
        # triggers row by row: they are dropped here and made again from their own SQL
        self.word_triggers = [
            (str(name), str(sql))
            for name, sql in self.db.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                " AND tbl_name = 'tickets' AND name LIKE 'ticket\\_words\\_%' ESCAPE '\\'"
                " ORDER BY name"
            )
        ]
        for name, _sql in self.word_triggers:
            self.db.execute(f'DROP TRIGGER "{name}"')

    def build_indexes(
        self, conn: Connection, tables: Sequence[str], stage: Callable[[str], None]
    ) -> None:
        left = []
        for index in self.indexes:
            if index.table is not None and index.table.name in tables:
                index.create(conn)
                if index.table.name in TICKET_TABLES:
                    stage(f"index {index.name}")
            else:
                left.append(index)
        self.indexes = left

    def after_rows(self, conn: Connection, stage: Callable[[str], None]) -> None:
        self.build_indexes(conn, TICKET_TABLES, stage)
        if self.word_triggers:
            self.db.execute(WORDS_FILL)
            for _name, sql in self.word_triggers:
                self.db.execute(sql)
            self.word_triggers = []
            stage("search words")

    def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        if table == "accounts":
            rows = sorted(rows)  # the primary key is text: append to its index in order
        insert_many(self.db, table, columns, rows)

    def insert_chunk(self, tickets: list[Row], events: list[Row]) -> None:
        insert_many(self.db, "tickets", TICKET_COLUMNS, [ticket_row(r) for r in tickets])
        insert_many(self.db, "ticket_events", EVENT_COLUMNS, [event_row(r) for r in events])

    def copy_part(self, path: str, on_chunk: Callable[[int], None], count: int = 0) -> None:
        """Copy a worker's part file chunk by chunk, expanding its compact rows (events in
        their order, so that they are numbered as if inserted here)."""
        alias = f"part{len(self.attached)}"
        self.db.execute(f"ATTACH DATABASE ? AS {alias}", (path,))
        self.attached.append(alias)
        tickets = ", ".join(
            "last_activity_at"
            if name == "updated_at"
            else f"NULLIF({name}, {NULL_AS[name]!r})"
            if name in NULL_AS
            else name
            for name in TICKET_COLUMNS
        )
        events = (
            f"ticket_id, {shape_case(0)}, NULLIF(staff_id, 0), {shape_case(1)}, {shape_case(2)}, "
            f"NULLIF(body, ''), {shape_case(3)}, NULLIF(old_value, ''), NULLIF(new_value, ''), "
            "created_at"
        )
        bounds = self.db.execute(f"SELECT t0, t1, e0, e1 FROM {alias}.chunks ORDER BY chunk")
        for t0, t1, e0, e1 in bounds.fetchall():
            self.db.execute(
                f"INSERT INTO main.tickets ({', '.join(TICKET_COLUMNS)}) "
                f"SELECT {tickets} FROM {alias}.tickets WHERE id BETWEEN ? AND ? ORDER BY id",
                (t0, t1),
            )
            self.db.execute(
                f"INSERT INTO main.ticket_events ({', '.join(EVENT_COLUMNS)}) "
                f"SELECT {events} FROM {alias}.ticket_events "
                "WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
                (e0, e1),
            )
            on_chunk(t1 - t0 + 1)

    def finish(self, conn: Connection) -> None:
        self.db.execute("PRAGMA analysis_limit=1000")
        self.db.execute("ANALYZE")


# the live tickets' words for the queue's search (the table of migration 0013)
WORDS_FILL = (
    "INSERT INTO ticket_words(rowid, subject, account_id)"
    " SELECT id, subject, account_id FROM tickets WHERE view <> 'done'"
)


def bulk_indexes() -> list[Index]:
    """The secondary indexes to drop before the load and build once after it (from sorted
    data, which is cheaper than updating them row by row).

    Two kinds are kept and updated during the load instead, because measured at a million
    tickets that is cheaper, and it happens while the workers are still generating rather
    than after: partial indexes (the live-ticket queue indexes hold about a quarter of the
    rows, and building each afterwards would scan the whole table) and the events-by-ticket
    index (rows arrive in its order, so every update is an append).
    """
    tables = Base.metadata.tables
    return [
        index
        for name in BULK_TABLES
        for index in sorted(tables[name].indexes, key=lambda ix: str(ix.name))
        if not _updated_during_load(index)
    ]


# partial indexes over most of the table (every stopped clock, every solved ticket): cheaper
# to build once from the loaded rows than to keep up to date row by row
BUILT_AFTER_LOAD = frozenset(
    {
        "ix_tickets_respond_stopped",
        "ix_tickets_resolve_stopped",
        "ix_tickets_resolved",
    }
)


def _updated_during_load(index: Index) -> bool:
    if index.name in BUILT_AFTER_LOAD:
        return False
    partial = any(
        index.dialect_options[dialect].get("where") is not None
        for dialect in ("sqlite", "postgresql")
    )
    columns = [c.name for c in index.columns]
    return partial or (index.table is not None and index.table.name == "ticket_events"
                       and columns[:1] == ["ticket_id"])  # fmt: skip
