"""The PostgreSQL bulk load: COPY into tables stripped for the load, all in the build's one
transaction (PostgreSQL's DDL is transactional), so a build that fails or is killed leaves
the desk as it was, triggers and indexes included.

For the load, inside the transaction:

- the change feed's NOTIFY triggers (migrations 0001/0006/0011) are disabled, and one
  NOTIFY on the desk's channel is sent at the end instead (delivered at the commit, so
  open consoles refresh once);
- so are the triggers that keep the company and contact names on the ticket rows
  (migration 0021): the COPY of the tickets writes the names itself (`copytext`), from the
  directory this load inserted, instead of two lookups per row in a trigger;
- the foreign keys of the loaded tables are dropped and added again at the end (adding one
  checks every row in one join, where a kept one fires a check per row);
- the secondary indexes of the loaded tables are dropped and built again from the loaded
  rows, except KEPT_DURING_LOAD, with a larger `maintenance_work_mem` (SET LOCAL);
- TimeZone is UTC (SET LOCAL), because the COPY text of the ticket rows gives UTC times
  without an offset (see `copytext`);
- ANALYZE of the loaded tables runs last, still inside the transaction (it sees the
  transaction's own rows), so the first query after the commit is planned with statistics.

Everything is read from the catalog of the desk's schema (`pg_get_indexdef`,
`pg_get_constraintdef`) rather than from the models, so an index or a key a later migration
adds is dropped and restored like the others.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Index

from supportdesk.models import Base

from . import copytext
from .load import BUILT_AFTER_LOAD, Loader
from .rows import BULK_TABLES, EVENT_COLUMNS, Row

# every table the build fills in bulk (escalations by escalation.backfill's INSERT ... SELECT,
# the outbox by outbox.add_demo_mail's: 280,000 rows at a million tickets, whose three
# foreign keys checked row by row and three indexes kept up to date cost 10 s of the
# server's CPU, against about 2 s to add the keys and build the indexes afterwards)
LOADED_TABLES = (*BULK_TABLES, "escalations", "outbox")
VACUUM_RETRY_S = (0.2, 1.0)  # the pauses before vacuuming a table again
# Kept and updated during the load: the events-by-ticket index (rows arrive in its order,
# so every entry is an append; the handovers and the escalation backfill look events up by
# ticket). Unlike on SQLite (load.bulk_indexes), the partial indexes over the live tickets are
# built afterwards too: measured at 200,000 tickets (server CPU, load average 7-8), keeping
# them cost 3.9 s more in the COPY of the tickets and 1.3 s more in the handovers' UPDATE,
# while building the fourteen of them afterwards cost about 2.5 s.
KEPT_DURING_LOAD = frozenset({"ix_ticket_events_ticket"})
KEEP_PARTIAL = False  # True: keep the partial indexes as SQLite does (for measuring)
MAINTENANCE_WORK_MEM = "256MB"  # for the index builds and key checks (the default is 64MB)
WORK_MEM = "64MB"  # for the hashes and sorts of the handovers and the escalation backfill
COPY_BLOCK = 1 << 20  # bytes sent per write while copying a worker's file
NOTIFY_FUNCTION = "supportdesk_notify"
# the trigger functions disabled during the load: the change feed's, and those that keep the
# names on the ticket rows (migration 0021), which the COPY writes itself
LOAD_OFF_FUNCTIONS = (
    NOTIFY_FUNCTION,
    "supportdesk_ticket_names",
    "supportdesk_account_names",
    "supportdesk_contact_names",
)
# the channel the desk's NOTIFY triggers use (migration 0011), named after the schema that
# holds the tickets table: exactly what the trigger on `tickets` would send on
CHANNEL_OF_TICKETS_SQL = (
    "SELECT 'supportdesk_' || left(md5(current_database() || '/' || n.nspname), 16)"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.oid = 'tickets'::regclass"
)


def _kept_during_load(name: str, definition: str) -> bool:
    if name in KEPT_DURING_LOAD:
        return True
    return KEEP_PARTIAL and " WHERE " in definition and name not in BUILT_AFTER_LOAD


def _create_index(conn: Connection, name: str, definition: str, model: Index | None) -> None:
    """Create a dropped index again, as its model's DDL when that gives the same index:
    PostgreSQL's own text of an index (`pg_get_indexdef`) reads back as an equivalent but
    differently spelled predicate (`x IN ('a', 'b')` becomes a cast array), and the desk
    must be left exactly as migrated. A queue index that INCLUDEs columns the models do not
    know (migration 0022, PostgreSQL's alone) is the catalog's at once: built from the model
    first, it was built twice (about 0.5 s each at a million tickets)."""
    run = conn.exec_driver_sql
    if model is not None and " INCLUDE (" not in definition:
        model.create(conn)
        made = run("SELECT pg_get_indexdef(to_regclass(%s))", (name,)).scalar_one()
        if made == definition:
            return
        run(f"DROP INDEX {quote(name)}")  # a migration changed it: the catalog's text wins
    run(definition)


def quote(name: str) -> str:
    """An identifier from the catalog, quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class _Stripped:
    """What the load took off the desk's tables, to put back before the commit."""

    triggers: list[tuple[str, str]] = field(default_factory=list)  # (table, trigger)
    keys: list[tuple[str, str, str]] = field(default_factory=list)  # (table, name, definition)
    indexes: list[tuple[str, str, str]] = field(default_factory=list)  # (table, name, CREATE)


class PostgresLoader(Loader):
    """COPY through psycopg on the build's connection: the directory with `write_row`, the
    tickets and events as COPY text made by the worker processes (or by this process for
    small demos)."""

    SEQUENCED = ("services", "contacts", "contact_points", "tickets")

    def __init__(self, dbapi: Any) -> None:
        super().__init__(dbapi)
        self.stripped = _Stripped()
        self.directory: dict[str, list[Row]] = {}  # accounts, contacts: for `names`
        self.line: Callable[[Row], str] | None = None  # ticket COPY lines with the names

    @property
    def names(self) -> copytext.Names:
        """The names the ticket rows carry, from the directory this load inserted."""
        return copytext.names_of(self.directory["accounts"], self.directory["contacts"])

    def backend_pid(self) -> int:
        """The process id of this connection's server process (for the stage timings)."""
        return int(self.db.info.backend_pid)

    # -- the load's transaction ------------------------------------------------------------
    def begin(self, conn: Connection) -> None:
        run = conn.exec_driver_sql
        run(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        run(f"SET LOCAL work_mem = '{WORK_MEM}'")
        run("SET LOCAL TimeZone = 'UTC'")
        # no JIT: at a million tickets the planner compiles the handovers', the backfill's
        # and the key checks' statements with inlining and optimization (0.65 s for one
        # backfill statement that then ran in 1.5 s instead of 3.1 s)
        run("SET LOCAL jit = off")
        stripped = self.stripped
        tables = list(LOADED_TABLES)
        stripped.triggers = [
            (str(table), str(name))
            for table, name in run(
                "SELECT c.relname, t.tgname FROM pg_trigger t"
                " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid"
                " WHERE c.relnamespace = (SELECT relnamespace FROM pg_class"
                " WHERE oid = 'tickets'::regclass)"
                " AND p.proname = ANY(%s) AND NOT t.tgisinternal AND t.tgenabled <> 'D'"
                " ORDER BY c.relname, t.tgname",
                (list(LOAD_OFF_FUNCTIONS),),
            )
        ]
        stripped.keys = [
            (str(table), str(name), str(definition))
            for table, name, definition in run(
                "SELECT t.name, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
                " JOIN unnest(%s::text[]) AS t(name) ON c.conrelid = to_regclass(t.name)"
                " WHERE c.contype = 'f' ORDER BY t.name, c.conname",
                (tables,),
            )
        ]
        stripped.indexes = [
            (str(table), str(name), str(definition))
            for table, name, definition in run(
                "SELECT t.name, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN unnest(%s::text[]) AS t(name) ON i.indrelid = to_regclass(t.name)"
                " WHERE NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion"
                " ORDER BY t.name, c.relname",
                (tables,),
            )
            if not _kept_during_load(str(name), str(definition))
        ]
        for table, trigger in stripped.triggers:
            run(f"ALTER TABLE {quote(table)} DISABLE TRIGGER {quote(trigger)}")
        for table, name, _definition in stripped.keys:
            run(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for _table, name, _definition in stripped.indexes:
            run(f"DROP INDEX {quote(name)}")

    def build_indexes(
        self, conn: Connection, tables: Sequence[str], stage: Callable[[str], None]
    ) -> None:
        """Build the dropped indexes of these tables again."""
        left = []
        metadata = Base.metadata.tables
        models = {str(index.name): index for name in tables for index in metadata[name].indexes}
        for table, name, definition in self.stripped.indexes:
            if table in tables:
                _create_index(conn, name, definition, models.get(name))
                stage(f"index {name}")
            else:
                left.append((table, name, definition))
        self.stripped.indexes = left

    def complete(self, conn: Connection, stage: Callable[[str], None]) -> None:
        """Put back what `begin` took off, send the one NOTIFY, ANALYZE."""
        run = conn.exec_driver_sql
        self.build_indexes(conn, LOADED_TABLES, stage)
        for table, name, definition in self.stripped.keys:
            run(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        self.stripped.keys = []
        stage("foreign keys")
        for table, trigger in self.stripped.triggers:
            run(f"ALTER TABLE {quote(table)} ENABLE TRIGGER {quote(trigger)}")
        self.stripped.triggers = []
        channel = run(CHANNEL_OF_TICKETS_SQL).scalar_one()
        run("SELECT pg_notify(%s, 'tickets')", (channel,))
        run(f"ANALYZE {', '.join(quote(t) for t in (*LOADED_TABLES, 'staff'))}")
        stage("analyze")

    def finish(self, conn: Connection) -> None:
        """After the commit, VACUUM the loaded tables: a page's rows are visible to every
        transaction only once a vacuum has said so in the visibility map, and until then
        an index-only scan (a count of the queue, the boards' counts) reads the table too.
        The statistics come from the ANALYZE inside the transaction (a build stopped here
        leaves a complete desk; autovacuum would get to it later). Two connections, two
        server processes: the tickets on this one, the rest (about as large) on another."""
        rest = [t for t in LOADED_TABLES if t != "tickets"]
        failed: list[BaseException] = []

        def vacuum_the_rest() -> None:
            try:
                with conn.engine.connect() as other:
                    other.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                        f"VACUUM {', '.join(quote(t) for t in rest)}"
                    )
            except BaseException as exc:  # raised again by this thread, below
                failed.append(exc)

        helper = threading.Thread(target=vacuum_the_rest, name="demo-vacuum")
        helper.start()
        db = self.db
        autocommit = db.autocommit
        try:
            db.autocommit = True  # VACUUM cannot run in a transaction
            with db.cursor() as cur:
                cur.execute("VACUUM tickets")
        finally:
            db.autocommit = autocommit
            helper.join()
        if failed:
            raise failed[0]
        self._vacuum_again(db)

    def _vacuum_again(self, db: Any) -> None:
        """A VACUUM marks a page all-visible only if no transaction anywhere on the server
        that may still see the rows as new is open (a session still connecting, another
        desk's long read): the suite's busy server left a demo with none of its ticket
        pages marked. Such a table is vacuumed again, twice at most, a moment apart."""
        autocommit = db.autocommit
        db.autocommit = True
        try:
            for pause in VACUUM_RETRY_S:
                with db.cursor() as cur:
                    cur.execute(
                        "SELECT relname FROM pg_class WHERE oid = ANY(%s::regclass[])"
                        " AND relallvisible < relpages ORDER BY relname",
                        ([quote(t) for t in LOADED_TABLES],),
                    )
                    behind = [str(r[0]) for r in cur.fetchall()]
                    if not behind:
                        return
                    time.sleep(pause)
                    cur.execute(f"VACUUM {', '.join(quote(t) for t in behind)}")
        finally:
            db.autocommit = autocommit

    # -- rows --------------------------------------------------------------------------------
    def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        if table in ("accounts", "contacts"):
            self.directory[table] = rows
        with (
            self.db.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def copy_text(self, table: str, columns: Sequence[str], data: bytes) -> None:
        """COPY rows already in COPY's text format."""
        with (
            self.db.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for start in range(0, len(data), COPY_BLOCK):
                copy.write(data[start : start + COPY_BLOCK])

    def insert_chunk(self, tickets: list[Row], events: list[Row]) -> None:
        if self.line is None:
            self.line = copytext.ticket_line(self.names)
        self.copy_text(
            "tickets", copytext.NAMED_TICKET_COLUMNS, copytext.ticket_text(tickets, self.line)
        )
        self.copy_text("ticket_events", EVENT_COLUMNS, copytext.event_text(events))

    def copy_part(self, path: str, on_chunk: Callable[[int], None], count: int) -> None:
        """COPY a worker's files (`path`.tickets and `path`.events), then remove them."""
        for table, columns in (
            ("tickets", copytext.NAMED_TICKET_COLUMNS),
            ("ticket_events", EVENT_COLUMNS),
        ):
            name = f"{path}.{table}"
            with open(name, "rb") as f:
                data = f.read()
            os.unlink(name)
            self.copy_text(table, columns, data)
        on_chunk(count)

    def reset_sequences(self, conn: Connection) -> None:
        for table in self.SEQUENCED:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )
