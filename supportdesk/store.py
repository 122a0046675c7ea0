"""Engine and session factory, SQLite pragmas, schema version check and the change feed.

Both databases behave the same to the services: `Store.read()` gives a session for a short
read, `Store.write()` one for a short write transaction (BEGIN IMMEDIATE on SQLite, so a
writer never fails half-way with SQLITE_BUSY_SNAPSHOT).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from .services.errors import SchemaOutdated, StoreError

HEAD_REVISION = "0001"
BUSY_TIMEOUT_MS = 5000
NOTIFY_CHANNEL = "supportdesk"
FEED_INTERVAL_S = 0.25


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("supportdesk", appauthor=False)) / "desk.db"


def resolve_url(value: str | None) -> URL:
    """A SQLAlchemy URL from `--db`: a URL, a file path, or (None) the default file."""
    if not value:
        value = os.environ.get("SUPPORTDESK_DB") or str(default_db_path())
    if "://" in value:
        try:
            url = make_url(value)
        except Exception as exc:  # sqlalchemy raises ArgumentError with a long text
            raise StoreError(f"--db: not a database URL or path: {value}") from exc
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        if not (url.drivername.startswith("sqlite") or url.drivername.startswith("postgresql")):
            raise StoreError(
                f"--db: unsupported database {url.drivername!r} (sqlite or postgresql)"
            )
        return url
    path = Path(value).expanduser().resolve()
    return URL.create("sqlite+pysqlite", database=str(path))


def describe_error(exc: BaseException) -> str:
    """One line for a database error, without SQL or a traceback."""
    orig = getattr(exc, "orig", None) or exc
    msg = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    low = msg.lower()
    if "database is locked" in low or "database is busy" in low:
        return "the database is locked by another writer (gave up after the busy timeout)"
    if "readonly" in low or "read-only" in low:
        return "the database cannot be written (read-only file or directory)"
    if "file is not a database" in low:
        return "--db is not a supportdesk database (not an SQLite file)"
    if "unable to open database" in low:
        return "the database file cannot be opened (missing directory or no permission)"
    return msg


class Store:
    """One database: its engine, its kind, and how to read, write and watch it."""

    def __init__(self, url: URL | str) -> None:
        self.url = url if isinstance(url, URL) else resolve_url(url)
        self.is_sqlite = self.url.drivername.startswith("sqlite")
        self.engine = self._make_engine()
        self._write_engine = self.engine.execution_options(sqlite_immediate=True)

    # -- engine ------------------------------------------------------------------------
    def _make_engine(self) -> Engine:
        if not self.is_sqlite:
            return create_engine(self.url, pool_pre_ping=True, pool_size=3, max_overflow=2)
        path = self.url.database
        if path and path != ":memory:" and not path.startswith("file:"):
            parent = Path(path).parent
            if not parent.exists():
                raise StoreError(f"--db: directory {parent} does not exist")
        engine = create_engine(
            self.url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (SQLAlchemy recipe)
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA mmap_size=0")
            cur.execute("PRAGMA cache_size=-16000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            if conn.get_execution_options().get("sqlite_immediate"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    def display_name(self) -> str:
        if self.is_sqlite:
            return str(self.url.database)
        return self.url.render_as_string(hide_password=True)

    # -- sessions ----------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for a short read; nothing it does is committed."""
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except (OperationalError, DBAPIError) as exc:
            raise StoreError(describe_error(exc)) from exc

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A short write transaction: committed on success, rolled back on any error."""
        try:
            with Session(self._write_engine, expire_on_commit=False) as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        except (OperationalError, DBAPIError) as exc:
            raise StoreError(describe_error(exc)) from exc

    # -- schema ------------------------------------------------------------------------
    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at, or None when it has no schema."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
                conn.rollback()
        except SQLAlchemyError as exc:
            msg = describe_error(exc)
            if "no such table" in msg or "does not exist" in msg:
                return None
            raise StoreError(msg) from exc
        return row[0] if row else None

    def check_schema(self) -> None:
        """Refuse to work on a database that `supportdesk init` has not brought up to date."""
        rev = self.schema_revision()
        if rev is None:
            raise SchemaOutdated(
                f"{self.display_name()} has no supportdesk schema: run `supportdesk init`"
            )
        if rev != HEAD_REVISION:
            raise SchemaOutdated(
                f"{self.display_name()} is at schema {rev}, this supportdesk needs "
                f"{HEAD_REVISION}: run `supportdesk init` to upgrade it"
            )

    def dispose(self) -> None:
        self.engine.dispose()

    # -- change feed -------------------------------------------------------------------
    def change_feed(self, on_change: Callable[[], None]) -> ChangeFeed:
        if self.is_sqlite:
            return SqliteChangeFeed(str(self.url.database), on_change)
        return PostgresChangeFeed(self.url, on_change)


class ChangeFeed:
    """Calls `on_change` from a background thread whenever another writer commits."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0

    def start(self) -> ChangeFeed:
        self._thread = threading.Thread(target=self._run, name="supportdesk-feed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class SqliteChangeFeed(ChangeFeed):
    """Polls `PRAGMA data_version` on its own autocommit connection every 250 ms."""

    def __init__(self, path: str, on_change: Callable[[], None]) -> None:
        super().__init__(on_change)
        self.path = path

    def _run(self) -> None:
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            uri=self.path.startswith("file:"),
        )
        try:
            last = conn.execute("PRAGMA data_version").fetchone()[0]
            while not self._stop.wait(FEED_INTERVAL_S):
                self.polls += 1
                try:
                    now = conn.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error:
                    continue
                if now != last:
                    last = now
                    self.on_change()
        finally:
            conn.close()


class PostgresChangeFeed(ChangeFeed):
    """LISTENs on the `supportdesk` channel; triggers NOTIFY on every write by anyone."""

    RECONNECT_S = 2.0

    def __init__(self, url: URL, on_change: Callable[[], None]) -> None:
        super().__init__(on_change)
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _run(self) -> None:
        import psycopg

        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    if not first:
                        self.on_change()  # we may have missed notifications while away
                    first = False
                    while not self._stop.is_set():
                        self.polls += 1
                        got = False
                        for _n in conn.notifies(timeout=FEED_INTERVAL_S * 4, stop_after=1):
                            got = True
                        if got:
                            # collapse a burst (one statement per table) into one message
                            for _n in conn.notifies(timeout=0.05, stop_after=256):
                                pass
                            self.on_change()
            except psycopg.Error:
                self._stop.wait(self.RECONNECT_S)
