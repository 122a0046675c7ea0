"""Desks built once per test process and copied for every test that asks for one.

Building a desk runs every Alembic migration and a few dozen service calls (0.5 to 2 s); a
copy takes milliseconds. The copy is the desk itself, not a stand-in: on SQLite the database
file (checkpointed first, so the file alone holds every row) and its audit key, byte for byte,
with their modes; on PostgreSQL a database made with `CREATE DATABASE ... TEMPLATE`, which
copies the template's files inside the server.

What a template may hold: only what its builder writes under frozen clocks, or at "now" where
a few minutes' age cannot change a test (staff and accounts made at init). Anything that
depends on the real time or on the test's own process at the moment it runs (presence rows,
for instance) is added to the copy by the fixture, after the copy.

Each pytest-xdist worker builds its own templates in its own temporary folder and its own
PostgreSQL databases (named after the process's owner: tests/helpers/pgdrop.py), so workers
never share a file or a database.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, TypeVar

from tests.helpers import pgdrop

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk

T = TypeVar("T")


@dataclass(frozen=True)
class DeskTemplate:
    """A desk to copy: its name (one build per name and database kind per test process) and
    how to build it on an empty database, given a lead's desk on it."""

    name: str
    build: Callable[[Desk], None]


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _checkpoint(folder: Path) -> None:
    """Fold every SQLite file's WAL into the file itself, so that the file alone is the
    database (a copy without its WAL would miss the last commits)."""
    for path in folder.iterdir():
        if path.name.endswith(SQLITE_SIDE_FILES) or not path.is_file():
            continue
        with path.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                continue
        conn = sqlite3.connect(path)
        try:
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()
        if busy:
            raise RuntimeError(f"template {path}: a connection still reads it; dispose its stores")
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size:
            raise RuntimeError(f"template {path}: its WAL is not empty after a checkpoint")


class SqliteTemplates:
    """Folders of desk files, each built once, copied into a test's folder on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: dict[str, Any] = {}

    def copy(self, name: str, build: Callable[[Path], T], into: Path) -> T:
        """Copy the files of template `name` into `into`; the first call builds it with
        `build(folder)`, which makes its files in `folder`, closes every connection it opened
        and returns what the tests need to know about it (no open handle: it is shared by
        every copy)."""
        folder = self.root / name
        if name not in self.made:
            folder.mkdir(parents=True)
            made = build(folder)
            _checkpoint(folder)
            self.made[name] = made
        into.mkdir(parents=True, exist_ok=True)
        for path in folder.iterdir():
            if path.is_file() and not path.name.endswith(SQLITE_SIDE_FILES):
                shutil.copy2(path, into / path.name)  # with its mode (0600 files stay 0600)
        return self.made[name]  # type: ignore[no-any-return]


class PostgresTemplates:
    """Template databases on one server, each built once per test process, and the databases
    the tests get as copies of them, with the audit key each template was built with.
    Copies are dropped in the background, several at once (one checkpoint serves them:
    tests/helpers/pgdrop.py); whatever is left when the session ends (the templates, the
    spares, the copies not yet dropped) is left to the dropper that runs after the process
    (tests/postgres.py's `drop_worker_database`): every name starts with `owner`.

    `CREATE DATABASE ... TEMPLATE` refuses while anyone is connected to the template: a
    builder disposes every store it opened (and starts no change feed).

    A copy takes the server a few tenths of a second (more on a busy one): the next copy of
    a template is made in the background while a test runs on the one before (a spare),
    so the next test that asks for it finds it made. A template never changes once built,
    so a copy made early is the same as one made when asked."""

    def __init__(
        self, admin_url: str, url_of: Callable[[str], str], keys: Path, owner: str
    ) -> None:
        import psycopg

        self.admin = psycopg.connect(admin_url, autocommit=True)
        self.admin_url = admin_url
        self.url_of = url_of
        self.keys = keys
        self.prefix = owner
        self.made: dict[str, str] = {}
        self.doomed: SimpleQueue[str | None] = SimpleQueue()
        self.dropper = threading.Thread(target=self._drop_loop, args=(admin_url,), daemon=True)
        self.dropper.start()
        self.spares: dict[str, Future[str]] = {}
        self.maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sdt-spares")
        self.maker_conn: Any = None  # the maker thread's own connection

    def _make_spare(self, template: str) -> str:
        import psycopg

        if self.maker_conn is None:
            self.maker_conn = psycopg.connect(self.admin_url, autocommit=True)
        spare = self._new_name()
        self.maker_conn.execute(f'CREATE DATABASE "{spare}" TEMPLATE "{template}"')
        return spare

    def _drop_loop(self, admin_url: str) -> None:
        # dropping a database costs the server a checkpoint: done here, while tests run,
        # what has queued up meanwhile at once (one checkpoint for the lot)
        import psycopg

        conns: list[Any] = []
        try:
            while True:
                names = [self.doomed.get()]
                while len(names) < pgdrop.PARALLEL and not self.doomed.empty():
                    names.append(self.doomed.get())
                doomed = [n for n in names if n is not None]
                while len(conns) < len(doomed):
                    conns.append(psycopg.connect(admin_url, autocommit=True))
                pgdrop.drop_databases(conns, doomed)  # a failure: the final dropper's
                if None in names:
                    return
        finally:
            for conn in conns:
                conn.close()

    def _new_name(self) -> str:
        return f"{self.prefix}_{uuid.uuid4().hex[:10]}"

    def copy(self, name: str, build: Callable[[str, Path], None]) -> tuple[str, Path]:
        """A new database copied from template `name`: its URL and the template's audit key.
        The first call builds the template with `build(url, key_path)`."""
        key = self.keys / f"{name}.key"
        if name not in self.made:
            template = self._new_name()
            self.admin.execute(f'CREATE DATABASE "{template}"')
            self.made[name] = template
            build(self.url_of(template), key)
        copy = None
        spare = self.spares.pop(name, None)
        if spare is not None:
            try:
                copy = spare.result()
            except Exception:  # made when asked instead (the error, if any, shows there)
                copy = None
        if copy is None:
            copy = self._new_name()
            self.admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{self.made[name]}"')
        self.spares[name] = self.maker.submit(self._make_spare, self.made[name])
        return self.url_of(copy), key

    def drop(self, url: str) -> None:
        """Drop a copy (later, in the background)."""
        self.doomed.put(url.rsplit("/", 1)[1].split("?", 1)[0])

    def close(self) -> None:
        """Make no more copies and close this process's connections; wait for no drop (the
        templates, the spares and the copies still queued are the final dropper's)."""
        self.maker.shutdown(wait=True, cancel_futures=True)  # a CREATE under way ends first
        if self.maker_conn is not None:
            self.maker_conn.close()
        self.doomed.put(None)  # the drop under way, if any, is not waited for
        self.admin.close()
