"""Engine and session factory, SQLite pragmas, schema version check and the change feed.

Both databases behave the same to the services: `Store.read()` gives a session for a short
read, `Store.write()` one for a short write transaction (BEGIN IMMEDIATE on SQLite, so a
writer never fails half-way with SQLITE_BUSY_SNAPSHOT).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode

from supportdesk import file_modes
from supportdesk.errors import SchemaOutdated, StoreError

try:  # POSIX: writers of one SQLite file take turns through an OS lock (Store._writer_turn)
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:  # SQLAlchemy is imported only when a session is needed (it costs ~0.4 s)
    from sqlalchemy.engine import URL, Engine
    from sqlalchemy.orm import Session

HEAD_REVISION = "0022"
BUSY_TIMEOUT_MS = 5000
WRITER_WAIT_S = 30.0  # how long a write waits for its turn (Store._writer_turn)
# The change feed's channel: one per desk (database and schema), as the NOTIFY trigger names
# it (migration 0011); asked of the listener's own connection, whose schema is the desk's.
CHANNEL_SQL = (
    "SELECT 'supportdesk_' || left(md5(current_database() || '/' || current_schema()), 16)"
)
FEED_INTERVAL_S = 0.25
RAW_POOL_SIZE = 4
_turns = threading.local()  # the writer locks this thread holds (Store._writer_turn)
SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA mmap_size=0",
    "PRAGMA cache_size=-16000",
)


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("supportdesk", appauthor=False)) / "desk.db"


@dataclass(frozen=True)
class Target:
    """Where the database is, in the forms each client needs."""

    kind: str  # "sqlite" | "postgresql"
    sa_url: str  # for SQLAlchemy
    sqlite_path: str | None = None  # for sqlite3.connect
    sqlite_uri: bool = False
    conninfo: str | None = None  # for psycopg


def resolve_target(value: str | None) -> Target:
    """Read `--db`: a URL or a file path; None means SUPPORTDESK_DB or the default file."""
    if not value:
        value = os.environ.get("SUPPORTDESK_DB")
    if not value:  # its folder is made by `init` (a read never creates a file or a folder)
        value = str(default_db_path())
    if "://" not in value:
        path = str(Path(value).expanduser().resolve())
        return Target("sqlite", f"sqlite+pysqlite:///{path}", sqlite_path=path)
    scheme, _, rest = value.partition("://")
    driver = scheme.split("+")[0].lower()
    if driver in ("postgresql", "postgres"):
        return Target("postgresql", f"postgresql+psycopg://{rest}", conninfo=f"postgresql://{rest}")
    if driver == "sqlite":
        database, _, query = rest.partition("?")
        if not database.startswith("/") or database == "/":
            raise StoreError(f"--db: an SQLite URL needs a file: sqlite:///PATH, not {value}")
        database = database[1:]
        params = dict(parse_qsl(query))
        uri = params.pop("uri", "").lower() in ("true", "1")
        target = database + ("?" + urlencode(params) if uri and params else "")
        return Target("sqlite", value, sqlite_path=target, sqlite_uri=uri)
    raise StoreError(f"--db: unsupported database {scheme!r} (sqlite or postgresql)")


# SQLAlchemy's URL grammar (sqlalchemy.engine.url._parse_url), for `shown_url`
_SA_URL = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
    """,
    re.X,
)


def shown_url(sa_url: str) -> str | None:
    """`make_url(sa_url).render_as_string(hide_password=True)` without importing SQLAlchemy
    (it names the database, and picks its default audit key file: the text must not change),
    or None for a URL this does not read the same way (an odd port): then ask SQLAlchemy."""
    m = _SA_URL.match(sa_url)
    if m is None:
        return None
    name, username, password, ipv6, ipv4, port, database, query = m.group(
        "name", "username", "password", "ipv6host", "ipv4host", "port", "database", "query"
    )
    if port is not None and not (port.isascii() and port.isdigit()):
        return None
    out = name + "://"
    if username is not None:
        out += quote(unquote(username), safe=" +")
        if password is not None:
            out += ":***"
        out += "@"
    host = ipv4 or ipv6
    if host is not None:
        out += f"[{host}]" if ":" in host else host
    if port is not None:
        out += ":" + str(int(port))
    if database is not None:
        out += "/" + quote(unquote(database), safe=" +/")
    if query is not None:
        values: dict[str, list[str]] = {}
        for key, value in parse_qsl(query):
            values.setdefault(key, []).append(value)
        if values:
            out += "?" + "&".join(
                f"{quote_plus(k)}={quote_plus(v)}" for k in sorted(values) for v in values[k]
            )
    return out


def resolve_url(value: str | None) -> URL:
    """A SQLAlchemy URL for `--db` (kept for callers that want SQLAlchemy's form)."""
    from sqlalchemy.engine import make_url

    return make_url(resolve_target(value).sa_url)


def describe_error(exc: BaseException) -> str:
    """One line for a database error, without SQL or a traceback."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    msg = text.splitlines()[0] if text else type(orig).__name__
    low = msg.lower()
    if "database is locked" in low or "database is busy" in low:
        return "the database is locked by another writer (gave up after the busy timeout)"
    if "readonly" in low or "read-only" in low:
        return "the database is read-only: it cannot be written (read-only file or directory)"
    if "file is not a database" in low:
        return "--db is not a supportdesk database (not an SQLite file)"
    if "unable to open database" in low:
        return "the database file cannot be opened (missing directory or no permission)"
    missing = MISSING_PG_DATABASE.search(msg)
    if missing:
        return (
            f'PostgreSQL has no database "{missing.group(1)}": run `supportdesk init` to create it'
        )
    return msg


MISSING_PG_DATABASE = re.compile(r'database "((?:[^"]|"")*)" does not exist')


def sqlite_cannot_write(path: str) -> str | None:
    """Why a writer could not work on the SQLite file `path` (it, or its folder where its
    WAL and shared-memory files go, is read-only: permission bits, or a read-only mount,
    which binds root too), or None. A missing file is not read-only."""
    file = Path(path)
    if not file.exists():
        return None
    if not os.access(file, os.W_OK):
        return f"{file} is read-only"
    sides = [Path(path + s) for s in ("-wal", "-shm")]
    if not os.access(file.parent, os.W_OK) and not all(
        p.exists() and os.access(p, os.W_OK) for p in sides
    ):
        return f"its folder {file.parent} is read-only"
    return None


class Store:
    """One database: how to read it quickly (plain DBAPI), work on it (SQLAlchemy sessions,
    created on first use) and watch it (the change feed).

    A SQLite file opened `read_only` (asked for, or found read-only: a copy in a read-only
    folder) is read through a `mode=ro` URI, or `immutable=1` when SQLite cannot make its
    shared-memory file there; every write fails with "the database is read-only: ..."."""

    def __init__(self, url: URL | str | None, *, read_only: bool = False) -> None:
        if url is not None and not isinstance(url, str):
            url = url.render_as_string(hide_password=False)
        self.target = resolve_target(url)
        self.is_sqlite = self.target.kind == "sqlite"
        path = self.target.sqlite_path
        self.read_only_reason: str | None = "opened with --read-only" if read_only else None
        if self.is_sqlite and path and not self.target.sqlite_uri:
            parent = Path(path).parent
            try:
                if not parent.exists():
                    if Path(path) == default_db_path():  # made by `init`, never by a read
                        raise StoreError(
                            f"no database at {path}: run `supportdesk init` to create one"
                        )
                    raise StoreError(f"--db: directory {parent} does not exist")
                if self.read_only_reason is None:
                    self.read_only_reason = sqlite_cannot_write(path)
            except OSError as exc:  # a name longer than the system allows, and the like
                raise StoreError(f"--db {path}: {exc.strerror or exc}") from None
        elif self.is_sqlite and read_only:
            raise StoreError("--read-only needs a file path for --db, not an SQLite URI")
        self._ro_uri: str | None = None
        self._raw_idle: list[Any] = []
        self._read_idle: list[Any] = []  # PostgreSQL's plain readers (pgread.Connection)
        self.plain_statements = 0
        self._raw_lock = threading.Lock()

    @cached_property
    def url(self) -> URL:
        from sqlalchemy.engine import make_url

        return make_url(self.target.sa_url)

    # -- files -----------------------------------------------------------------------
    def create_file(self, sharing: file_modes.Sharing | None = None) -> bool:
        """Create a new SQLite file with its final mode before SQLite opens it: SQLite makes
        the -wal and -shm with the main file's mode, and would make the main file 0644 under
        the usual umask. Shared with the folder's group in a shared desk's folder (2770),
        else 0600. False when there is nothing to create."""
        path = self.target.sqlite_path
        if not self.is_sqlite or not path or self.target.sqlite_uri or os.path.exists(path):
            return False
        file = Path(path)
        if sharing is None:
            sharing = file_modes.sharing_of_folder(file.parent)
        try:
            return file_modes.create_file(file, sharing.file_mode, sharing)
        except FileNotFoundError:
            return False  # no folder: SQLite says so in its own words
        except OSError as exc:
            raise StoreError(f"cannot create {path}: {exc.strerror}") from None

    @property
    def read_only(self) -> bool:
        return self.read_only_reason is not None

    def _refuse_write(self) -> None:
        if self.read_only_reason is not None:
            raise StoreError(
                f"the database is read-only: {self.read_only_reason}; nothing was changed"
            )

    def _read_only_uri(self) -> str:
        """`mode=ro`, or `immutable=1` when SQLite cannot read the file that way (its WAL
        index cannot be made in a read-only folder): then the file is taken as it is."""
        if self._ro_uri is None:
            base = Path(str(self.target.sqlite_path)).as_uri()
            for uri in (base + "?mode=ro", base + "?immutable=1"):
                try:
                    probe = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
                    try:
                        probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
                    finally:
                        probe.close()
                except sqlite3.OperationalError:
                    continue
                self._ro_uri = uri
                break
            else:
                raise StoreError(
                    f"the database is read-only and cannot be read: {self.display_name()}"
                )
        return self._ro_uri

    def _sqlite_connect(self) -> sqlite3.Connection:
        if self.read_only:
            return sqlite3.connect(
                self._read_only_uri(),
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
                uri=True,
            )
        self.create_file()
        return sqlite3.connect(
            str(self.target.sqlite_path),
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            uri=self.target.sqlite_uri,
        )

    # -- plain DBAPI reads ------------------------------------------------------------
    def _connect_raw(self) -> Any:
        if self.is_sqlite:
            conn = self._sqlite_connect()
            for pragma in SQLITE_PRAGMAS:
                if "journal_mode" not in pragma:  # a reader must not try to change it
                    conn.execute(pragma)
            return conn
        import psycopg

        return psycopg.connect(str(self.target.conninfo), autocommit=True, connect_timeout=10)

    def query(
        self, sql: str, params: Sequence[Any] = (), *, prepare: bool | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one read-only statement written with `?` placeholders; rows as tuples.

        Used by the hot read paths (queue pages, the CLI's start) so that they need neither
        SQLAlchemy's import time nor its per-row work. Connections are pooled (console
        workers run on fresh threads, so a per-thread connection would leak).

        `prepare=False` (PostgreSQL): never a prepared statement, so every run is planned
        with its values (psycopg prepares a statement on its sixth run on a connection, and
        a generic plan cannot tell a pattern that matches nothing from a common one).
        """
        self.plain_statements += 1  # read by tests: an idle console must not query
        reader = not self.is_sqlite  # PostgreSQL reads on libpq alone (pgread)
        conn = self._take_raw(reader=reader)
        healthy = True
        try:
            if self.is_sqlite:
                return conn.execute(sql, tuple(params)).fetchall()
            return conn.query(sql.replace("?", "%s"), tuple(params), prepare=prepare)
        except Exception as exc:
            if not _is_db_error(exc):
                raise
            healthy = self.is_sqlite or not conn.closed
            raise StoreError(describe_error(exc)) from exc
        finally:
            self._give_back(conn, healthy, reader=reader)

    def _take_raw(self, *, reader: bool = False) -> Any:
        """A pooled plain connection: a `reader` (PostgreSQL's plain reads, on libpq without
        psycopg: see `pgread`), else sqlite3's or psycopg's."""
        with self._raw_lock:
            pool = self._read_idle if reader else self._raw_idle
            if pool:
                return pool.pop()
        try:
            if reader:
                from supportdesk import pgread

                return pgread.Connection(str(self.target.conninfo))
            return self._connect_raw()
        except Exception as exc:
            if not _is_db_error(exc):
                raise
            raise StoreError(describe_error(exc)) from exc

    def _give_back(self, conn: Any, healthy: bool, *, reader: bool = False) -> None:
        with self._raw_lock:
            pool = self._read_idle if reader else self._raw_idle
            if healthy and len(pool) < RAW_POOL_SIZE:
                pool.append(conn)
                return
        with suppress(Exception):
            conn.close()

    def timestamp_param(self, value: Any) -> Any:
        """A datetime as a bound parameter the way the ORM stores it."""
        if self.is_sqlite:
            from supportdesk.models.timefmt import sqlite_timestamp

            return sqlite_timestamp(value)
        return value

    # -- SQLAlchemy sessions ----------------------------------------------------------
    @cached_property
    def engine(self) -> Engine:
        from sqlalchemy import create_engine, event

        if not self.is_sqlite:
            return create_engine(
                self.target.sa_url, pool_pre_ping=True, pool_size=3, max_overflow=2
            )
        if self.read_only:
            from sqlalchemy.pool import QueuePool

            engine = create_engine(
                "sqlite+pysqlite://", creator=self._sqlite_connect, poolclass=QueuePool
            )
        else:
            self.create_file()
            engine = create_engine(
                self.target.sa_url,
                connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (SQLAlchemy recipe)
            cur = dbapi_conn.cursor()
            for pragma in SQLITE_PRAGMAS:
                if "journal_mode" not in pragma or not self.read_only:
                    cur.execute(pragma)
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            if conn.get_execution_options().get("sqlite_immediate"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine

    @cached_property
    def _write_engine(self) -> Engine:
        return self.engine.execution_options(sqlite_immediate=True)

    @property
    def dialect(self) -> str:
        return self.target.kind

    def display_name(self) -> str:
        if self.is_sqlite:
            return str(self.target.sqlite_path)
        shown = shown_url(self.target.sa_url)  # the plain-driver paths import no SQLAlchemy
        return shown if shown is not None else self.url.render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for a short read; nothing it does is committed."""
        from sqlalchemy.exc import DBAPIError
        from sqlalchemy.orm import Session

        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except DBAPIError as exc:
            raise StoreError(describe_error(exc)) from exc

    @cached_property
    def _writer_lock_path(self) -> str | None:
        path = self.target.sqlite_path
        if not self.is_sqlite or not path or self.target.sqlite_uri or fcntl is None:
            return None
        return path + "-writer.lock"

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """Writers of one SQLite file take turns through an OS lock on a file beside it,
        before BEGIN IMMEDIATE. A blocked `flock` wakes as soon as the lock is free, while
        SQLite's busy handler polls with sleeps of up to 100 ms: under a steady stream of
        writers (eight engineers claiming at once) a poller could miss every gap for the
        whole busy timeout and fail with "database is locked" (measured: one run in three
        of tests/services/test_claim_race.py). Re-entrant per thread; without the lock file (a
        read-only folder) writers fall back to the busy timeout alone."""
        path = self._writer_lock_path
        held = getattr(_turns, "held", None)
        if held is None:
            held = _turns.held = set()
        if path is None or path in held or fcntl is None:
            yield
            return
        try:
            fd = self._open_writer_lock(path)
        except OSError:
            yield
            return
        try:
            self._take_turn(fd)
            held.add(path)
            try:
                yield
            finally:
                held.discard(path)
        finally:
            os.close(fd)  # releases the lock

    @staticmethod
    def _open_writer_lock(path: str) -> int:
        """The lock file is created with the database's own access (0600, or 0660 for a
        shared desk), never wider."""
        if not os.path.exists(path):
            try:
                mode = os.stat(path.removesuffix("-writer.lock")).st_mode & 0o660 or 0o600
            except OSError:
                mode = 0o600
            file_modes.create_file(Path(path), mode | 0o600)
        return os.open(path, os.O_RDWR)

    @staticmethod
    def _take_turn(fd: int) -> None:
        """Wait for the writer lock, checking every few milliseconds (a blocked waiter sees
        a free lock at once, where SQLite's busy handler may sleep 100 ms), but not for
        ever: a writer stopped while holding it (a suspended process) must not hang every
        other one, so after WRITER_WAIT_S the write fails with a one-line error."""
        assert fcntl is not None
        deadline = time.monotonic() + WRITER_WAIT_S
        pause = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"the database is busy: another writer has held it for "
                        f"{WRITER_WAIT_S:.0f} s"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.005)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A short write transaction: committed on success, rolled back on any error."""
        from sqlalchemy.exc import DBAPIError
        from sqlalchemy.orm import Session

        self._refuse_write()
        try:
            with (
                self._writer_turn(),
                Session(self._write_engine, expire_on_commit=False) as session,
            ):
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        except DBAPIError as exc:
            raise StoreError(describe_error(exc)) from exc

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A short write transaction on a plain DBAPI connection, as strong as `write()`:
        the writer's turn and BEGIN IMMEDIATE on SQLite, a plain BEGIN on PostgreSQL (row
        and advisory locks are the statements' own). Committed on success, rolled back on
        any error; no SQLAlchemy import (the claim path starts in a fraction of the time)."""
        self._refuse_write()
        with self._writer_turn():
            conn = self._take_raw()
            healthy = False
            try:
                try:
                    conn.execute("BEGIN IMMEDIATE" if self.is_sqlite else "BEGIN")
                    try:
                        yield PlainTransaction(conn, self.is_sqlite)
                        conn.execute("COMMIT")
                    except BaseException:
                        with suppress(Exception):
                            conn.execute("ROLLBACK")
                        raise
                except Exception as exc:
                    if not _is_db_error(exc):
                        raise
                    raise StoreError(describe_error(exc)) from exc
                healthy = True
            finally:
                # an error leaves the connection usable only when it is back out of any
                # transaction (a statement error on SQLite; not a broken PostgreSQL link)
                healthy = healthy or _idle(conn, self.is_sqlite)
                self._give_back(conn, healthy)

    # -- schema ------------------------------------------------------------------------
    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at, or None when it has no schema."""
        try:
            rows = self.query("SELECT version_num FROM alembic_version")
        except StoreError as exc:
            msg = str(exc)
            # the table is missing; not the database ("database "x" does not exist", which
            # `init` cannot fix either)
            if "no such table" in msg or ("alembic_version" in msg and "does not exist" in msg):
                return None
            raise
        return rows[0][0] if rows else None

    def check_schema(self) -> None:
        """Refuse to work on a database that `supportdesk init` has not brought up to date."""
        path = self.target.sqlite_path
        if self.is_sqlite and path and not self.target.sqlite_uri and not os.path.lexists(path):
            # before anything connects: SQLite would leave an empty file behind (a typo'd
            # --db on a read made a stray database there)
            raise SchemaOutdated(f"no database at {path}: run `supportdesk init` to create one")
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
        with self._raw_lock:
            idle = self._raw_idle + self._read_idle
            self._raw_idle, self._read_idle = [], []
        for conn in idle:
            with suppress(Exception):
                conn.close()
        if "engine" in self.__dict__:
            self.engine.dispose()

    # -- change feed -------------------------------------------------------------------
    def change_feed(self, on_change: Callable[[], None]) -> ChangeFeed:
        if self.is_sqlite:
            if self.read_only:
                return SqliteChangeFeed(self._read_only_uri(), on_change, True)
            return SqliteChangeFeed(str(self.target.sqlite_path), on_change, self.target.sqlite_uri)
        return PostgresChangeFeed(str(self.target.conninfo), on_change)


def _is_db_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return True
    module = type(exc).__module__
    return module.startswith("psycopg")


def _idle(conn: Any, is_sqlite: bool) -> bool:
    """Whether a plain connection is open and outside any transaction."""
    try:
        if is_sqlite:
            return not conn.in_transaction
        from psycopg.pq import TransactionStatus

        return not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE
    except Exception:
        return False


class Transaction(ABC):
    """Statements inside one write transaction, written with `?` placeholders (as
    `Store.query`), rows as tuples; times are bound with `timestamp`, as the ORM stores them.

    `PlainTransaction` runs on a plain DBAPI connection (`Store.transaction()`);
    `SessionTransaction` runs the same statements inside an ORM session's transaction, so
    that one writer (the claim, a watcher's notice) serves both kinds of caller."""

    is_sqlite: bool

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @abstractmethod
    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; its rows (none for a statement without a result)."""

    @abstractmethod
    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""

    def first(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.run(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.first(sql, params)
        return None if row is None else row[0]

    def timestamp(self, value: Any) -> Any:
        """A datetime (or None) as a bound parameter, in the exact form the ORM stores:
        sortable UTC text on SQLite, the aware datetime for a timestamptz on PostgreSQL."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        if self.is_sqlite:
            from supportdesk.models.timefmt import sqlite_timestamp

            return sqlite_timestamp(value)
        from datetime import UTC

        return value.astimezone(UTC)

    def _driver_sql(self, sql: str) -> str:
        return sql if self.is_sqlite else sql.replace("?", "%s")


class PlainTransaction(Transaction):
    """A transaction on a plain DBAPI connection (sqlite3 or psycopg); see
    `Store.transaction()`."""

    def __init__(self, conn: Any, is_sqlite: bool) -> None:
        self._conn = conn
        self.is_sqlite = is_sqlite

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.is_sqlite:
            return self._conn.execute(sql, tuple(params)).fetchall()
        with self._conn.cursor() as cur:
            cur.execute(self._driver_sql(sql), tuple(params))
            return cur.fetchall() if cur.description is not None else []

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.is_sqlite:
            self._conn.executemany(sql, [tuple(r) for r in rows])
            return
        with self._conn.cursor() as cur:
            cur.executemany(self._driver_sql(sql), [tuple(r) for r in rows])


class SessionTransaction(Transaction):
    """The same statements inside an ORM session's write transaction, on its connection.
    The session's pending changes are flushed first, as one of its own queries would."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.is_sqlite = session.get_bind().dialect.name == "sqlite"

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._session.flush()
        result = self._session.connection().exec_driver_sql(self._driver_sql(sql), tuple(params))
        return [tuple(r) for r in result.fetchall()] if result.returns_rows else []

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        self._session.flush()
        self._session.connection().exec_driver_sql(self._driver_sql(sql), [tuple(r) for r in rows])


def on_transaction(where: Session | Transaction) -> Transaction:
    """A Transaction for statements: itself, or one inside an ORM session."""
    return where if isinstance(where, Transaction) else SessionTransaction(where)


class ChangeFeed(ABC):
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

    @abstractmethod
    def _run(self) -> None:
        """Watch the database until stopped, calling `on_change` after others' commits."""


class SqliteChangeFeed(ChangeFeed):
    """Polls `PRAGMA data_version` on its own autocommit connection every 250 ms."""

    def __init__(self, path: str, on_change: Callable[[], None], uri: bool = False) -> None:
        super().__init__(on_change)
        self.path = path
        self.uri = uri

    def _run(self) -> None:
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            uri=self.uri,
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
    """LISTENs on this desk's channel (its database and schema); triggers NOTIFY on every
    write by anyone to this desk, and never for another desk in the same database."""

    RECONNECT_S = 2.0

    def __init__(self, conninfo: str, on_change: Callable[[], None]) -> None:
        super().__init__(on_change)
        self.conninfo = conninfo
        self.channel = ""  # known once the listener has connected

    def _run(self) -> None:
        from supportdesk import pgread

        if pgread.libpq() is not None:
            self._run_on_libpq(pgread)
            return
        import psycopg

        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    row = conn.execute(CHANNEL_SQL).fetchone()
                    self.channel = str(row[0]) if row and row[0] else "supportdesk"
                    conn.execute(f"LISTEN {self.channel}")  # supportdesk_ and hex digits
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

    def _run_on_libpq(self, pgread: Any) -> None:
        """`_run` on libpq alone (supportdesk/pgread.py): psycopg's import (0.2 s, GIL held)
        would hold up the console's first paint."""
        first = True
        while not self._stop.is_set():
            conn = None
            try:
                conn = pgread.Listener(self.conninfo)
                self.channel = str(conn.scalar(CHANNEL_SQL) or "supportdesk")
                conn.scalar(f"LISTEN {self.channel}")  # supportdesk_ and hex digits
                if not first:
                    self.on_change()  # we may have missed notifications while away
                first = False
                while not self._stop.is_set():
                    self.polls += 1
                    if conn.notifies(FEED_INTERVAL_S * 4, 1):
                        # collapse a burst (one statement per table) into one message
                        conn.notifies(0.05, 256)
                        self.on_change()
            except (pgread.LinkLost, OSError, ValueError):
                self._stop.wait(self.RECONNECT_S)
            finally:
                if conn is not None:
                    conn.close()
