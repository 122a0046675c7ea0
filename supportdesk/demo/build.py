"""Building a demo: `build_demo` on an initialised desk, `build_demo_file` for an SQLite
file built beside the one it replaces and renamed into place (a build stopped at any moment
leaves the old demo or none), and the demo callers' PINs."""

from __future__ import annotations

import gc
import os
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

try:  # POSIX: builds of one demo file take turns (build_demo_file)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from supportdesk.core.desk import Desk, Recorder
from supportdesk.core.policy import POLICY_KEY
from supportdesk.demo.outbox import add_demo_mail
from supportdesk.errors import UsageError
from supportdesk.models import Account, Setting, Staff, Ticket
from supportdesk.services import escalation
from supportdesk.store import Store

from . import copytext
from .generate import Generator
from .handover import hand_over_excess_claims
from .load import Loader, SqliteLoader
from .pgload import PostgresLoader
from .rows import (
    ACCOUNT_COLUMNS,
    BUSY_WAIT_S,
    CONTACT_COLUMNS,
    DIRECTORY_TABLES,
    PARALLEL_MIN,
    POINT_COLUMNS,
    SERVICE_COLUMNS,
    StaffRow,
)
from .staff import DEMO_STAFF, DemoResult, DemoStaff
from .timing import StageClock
from .workers import Workers


def _add_staff(conn: Connection, now: datetime, seed: int) -> list[StaffRow]:
    """Insert the demo staff that is missing; return every demo login as the database has
    it (an existing login keeps its role and tier)."""
    rng = random.Random(f"{seed}:staff")
    have = set(conn.execute(select(Staff.login)).scalars())
    missing = [
        {
            "login": m.login,
            "name": m.name,
            "tier": m.tier,
            "role": m.role,
            "active": True,
            "created_at": now
            - timedelta(days=30 + rng.randrange(1500), minutes=rng.randrange(1440)),
        }
        for m in DEMO_STAFF
        if m.login not in have
    ]
    if missing:
        conn.execute(insert(Staff), missing)
    logins = [m.login for m in DEMO_STAFF]
    found = conn.execute(
        select(Staff.id, Staff.login, Staff.tier, Staff.role, Staff.name).where(
            Staff.login.in_(logins), Staff.active.is_(True)
        )
    ).all()
    rows = [
        (int(i), str(login), int(tier), str(role), str(name).split()[0], str(name))
        for i, login, tier, role, name in found
    ]
    return sorted(rows, key=lambda s: logins.index(s[1]))


def _refuse_unless_empty(conn: Connection) -> None:
    for model, what in ((Ticket, "tickets"), (Account, "accounts")):
        if conn.execute(select(func.count()).select_from(model)).scalar_one():
            raise UsageError(
                f"the database already has {what}: build the demo on a new database "
                "(`supportdesk init` on a fresh file or schema)"
            )
    if conn.execute(select(Setting.key).where(Setting.key == "demo")).first():
        raise UsageError("the database is already a demo database")


def demo_account_count(tickets: int) -> int:
    """How many accounts a demo with this many tickets gets (about one per ten tickets)."""
    return min(100_000, max(20, tickets // 10))


def _scratch_folder(store: Store) -> str | None:
    """Where the part files go: beside the database (it will hold as much again anyway),
    or the system's temporary folder for a database given as a URI."""
    path = store.target.sqlite_path
    if path and not store.target.sqlite_uri:
        return os.path.dirname(os.path.abspath(path))
    return None


def _worker_count(tickets: int) -> int:
    """Worker processes for the ticket chunks: none for small demos (starting them costs
    more than it saves). Making the rows costs more than loading them on both databases."""
    if tickets < PARALLEL_MIN or not sys.executable:
        return 0
    return max(1, min(2, os.cpu_count() or 1))


def build_demo(
    desk: Desk,
    *,
    tickets: int = 5000,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Fill a freshly initialised database with a realistic desk, in one transaction.

    Deterministic for a given `seed` and `desk.now()`; writes one `demo.build` audit row and
    the `demo` setting. `progress(done, total)` is called after each chunk of tickets.
    """
    if tickets < 1:
        raise UsageError("--tickets must be at least 1")
    started = time.perf_counter()
    stage = StageClock()  # with SUPPORTDESK_DEMO_STAGES=1, each stage's time on stderr
    store = desk.store
    now = desk.now()
    desk.audit_key  # noqa: B018 - fail before any work when the key is missing
    who = desk.who
    sqlite = store.is_sqlite
    if sqlite:
        store.dispose()  # close this process's idle connections: the load may leave WAL mode
    gen = Generator(seed, now, tickets, sqlite, policy_text=_policy_text(store))
    n_workers = _worker_count(tickets)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of new tuples would trigger full collections for nothing
    try:
        with store.engine.connect() as conn:
            _refuse_unless_empty(conn)  # before touching any connection setting
            conn.rollback()
            conn.execution_options(sqlite_immediate=True)
            dbapi = conn.connection.dbapi_connection
            loader: Loader = SqliteLoader(dbapi) if sqlite else PostgresLoader(dbapi)
            if isinstance(loader, PostgresLoader):
                stage.watch("server", [loader.backend_pid()])
            loader.before()
            workers = None
            try:
                with conn.begin():
                    _refuse_unless_empty(conn)
                    loader.begin(conn)
                    staff = _add_staff(conn, now, seed)
                    if n_workers:
                        workers = Workers(
                            gen, staff, _scratch_folder(store), n_workers, copy_text=not sqlite
                        )
                        stage.watch("workers", [proc.pid for proc in workers.procs])
                    _load(conn, loader, gen, staff, workers, progress, stage)
                    hand_over_excess_claims(conn, gen, staff)  # room to claim
                    stage("handovers")
                    escalation.backfill(conn)  # escalations from the tier events
                    stage("escalation backfill")
                    add_demo_mail(conn, store, gen.policy_text, now)
                    stage("outbox")
                    with Session(bind=conn) as session:
                        session.add(Setting(key="demo", value="1"))
                        changes = {"tickets": [None, tickets], "seed": [None, seed]}
                        Recorder(session, desk, who)("demo.build", "desk", "1", changes)
                    loader.complete(conn, stage)
            finally:
                loader.after()
                if workers is not None:
                    workers.close()
            loader.finish(conn)
            stage("analyze" if sqlite else "vacuum")
    finally:
        if gc_was_enabled:
            gc.enable()
    desk.__dict__.pop("is_demo", None)
    members = tuple(DemoStaff(s[1], s[5], s[3], s[2]) for s in staff)
    return DemoResult(
        tickets=tickets,
        accounts=len(gen.accts),
        staff=members,
        seconds=time.perf_counter() - started,
    )


def _policy_text(store: Any) -> str | None:
    """The SLA policy stored by `init` (the demo's clocks follow it), if any."""
    rows = store.query("SELECT value FROM settings WHERE key = ?", (POLICY_KEY,))
    return str(rows[0][0]) if rows else None


def _load(
    conn: Connection,
    loader: Loader,
    gen: Generator,
    staff: list[StaffRow],
    workers: Workers | None,
    progress: Callable[[int, int], None] | None,
    stage: Callable[[str], None] = lambda _name: None,
) -> None:
    """Insert everything with most secondary indexes dropped (by `loader.begin`), building
    them again once their table is full (the directory's while the first tickets are still
    being made)."""
    total = gen.n_tickets
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    directory = gen.directory(demo_account_count(total))
    if workers is not None:
        names = (
            copytext.names_of(directory.accounts, directory.contacts) if workers.copy_text else None
        )
        workers.send_accounts(gen.accts, names)
    loader.insert("accounts", ACCOUNT_COLUMNS, directory.accounts)
    loader.insert("services", SERVICE_COLUMNS, directory.services)
    loader.insert("contacts", CONTACT_COLUMNS, directory.contacts)
    loader.insert("contact_points", POINT_COLUMNS, directory.points)
    del directory
    stage("directory")
    loader.build_indexes(conn, DIRECTORY_TABLES, stage)
    advance(0)
    if workers is not None:
        for part in range(workers.n_parts):
            loader.copy_part(workers.wait(part), advance, workers.part_tickets(part))
    else:
        gen.prepare(staff)
        for number in range(gen.n_chunks):
            ticket_rows, event_rows = gen.chunk(number)
            loader.insert_chunk(ticket_rows, event_rows)
            advance(len(ticket_rows))
    stage("load")
    loader.after_rows(conn, stage)
    loader.reset_sequences(conn)


def issue_demo_pins(desk: Desk, count: int = 3) -> list[tuple[str, str, str, str]]:
    """Give `count` primary contacts of active demo accounts a support PIN, to be printed
    for trying the call flow; every other demo contact has none (they can be verified only
    by a callback). Returns (account, contact, e-mail, PIN) for each."""
    from supportdesk.services.callers.verification import set_pin

    # one row per contact: a primary contact with two addresses is one caller, one PIN
    rows = desk.store.query(
        "SELECT c.account_id, c.name, min(p.value) FROM contacts c"
        " JOIN accounts a ON a.id = c.account_id"
        " JOIN contact_points p ON p.contact_id = c.id AND p.kind = 'email'"
        " WHERE c.role = 'primary' AND a.status = 'active' AND a.reseller_id IS NULL"
        " AND c.pin_hash IS NULL GROUP BY c.id, c.account_id, c.name ORDER BY c.id LIMIT ?",
        (count,),
    )
    out = []
    for account, name, address in rows:
        out.append((account, name, address, set_pin(desk, account, address).pin))
    return out


# ------------------------------------------------------------------ building a demo file
DEMO_ADMIN = ("lena", "Lena Mokoena")
TEMP_SUFFIX = ".demo-tmp"  # the file a demo is built in, beside the one it replaces
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal", "-writer.lock")


@dataclass(frozen=True)
class DemoFile:
    """A demo built by `build_demo_file`: what was made and the callers given a PIN."""

    result: DemoResult
    pins: list[tuple[str, str, str, str]]


def build_demo_file(
    path: Path,
    key: Path,
    clock: Any,
    *,
    tickets: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> DemoFile:
    """Build a demo SQLite database at `path`, replacing the demo there, all or nothing.

    It is built in `path` + TEMP_SUFFIX and renamed into place at the end (one atomic
    rename), so a build killed at any moment leaves the old demo (or nothing) and a stale
    temporary file, which the next build removes. Builds of one path take turns through a
    lock file beside it. The audit key at `key` is kept (created when missing): the old
    demo stays verifiable until the rename, the new one from then on."""
    from supportdesk.services.admin.setup import init_database

    if fcntl is None:  # pragma: no cover - Windows
        lock_fd = None
    else:
        lock_fd = os.open(str(path) + ".demo-lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise UsageError(f"another `supportdesk demo` is building {path}") from None
    try:
        check_replaceable(path)
        temp = Path(str(path) + TEMP_SUFFIX)
        _remove_sqlite(temp)  # what a killed build left behind
        store = Store(str(temp))
        try:
            desk = Desk(store, DEMO_ADMIN[0], clock, key)
            init_database(desk, admin=DEMO_ADMIN[0], admin_name=DEMO_ADMIN[1])
            stage_mark("init")
            result = build_demo(desk, tickets=tickets, seed=seed, progress=progress)
            pins = issue_demo_pins(Desk(store, DEMO_ADMIN[0], clock, key))
        finally:
            store.dispose()
        stage_mark("built")
        _settle(temp)
        if path.exists():
            _settle(path)  # its WAL must not be replayed onto the new file
        os.replace(temp, path)
        _sync_folder(path.parent)
        _remove_sqlite(temp)
        return DemoFile(result, pins)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def is_leftover_init(store: Store) -> bool:
    """A database `supportdesk demo` of an older version left when killed after `init`:
    a schema, the demo lead alone, no account, no ticket, and no `demo` setting."""
    q = store.query
    return (
        not q("SELECT 1 FROM settings WHERE key = 'demo'")
        and not q("SELECT 1 FROM accounts LIMIT 1")
        and not q("SELECT 1 FROM tickets LIMIT 1")
        and [r[0] for r in q("SELECT login FROM staff")] == [DEMO_ADMIN[0]]
    )


def check_replaceable(path: Path) -> None:
    """UsageError unless `path` is missing, empty, a demo or a leftover of one."""
    if not path.exists() or path.stat().st_size == 0:
        return
    store = Store(str(path))
    try:
        if store.schema_revision() is None:
            return
        if store.query("SELECT 1 FROM settings WHERE key = 'demo'") or is_leftover_init(store):
            return
    finally:
        store.dispose()
    raise UsageError(f"{path} holds a real desk, not a demo: choose another --db")


def stage_mark(name: str) -> None:
    """With SUPPORTDESK_DEMO_STAGES=1, say a stage was reached (benchmarks, kill tests)."""
    if os.environ.get("SUPPORTDESK_DEMO_STAGES") == "1":
        print(f"  stage {name}", file=sys.stderr, flush=True)


def _settle(path: Path) -> None:
    """Checkpoint `path`'s WAL into it and drop its side files, so that the file alone is
    the database; UsageError when another process has it open and the WAL cannot go."""
    conn = sqlite3.connect(str(path), timeout=BUSY_WAIT_S, isolation_level=None)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # rolls back a hot journal
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path}: cannot replace it: {exc}") from None
    finally:
        conn.close()
    wal = Path(str(path) + "-wal")
    if busy or (wal.exists() and wal.stat().st_size):
        raise UsageError(f"{path} is open in another process: close it and try again")
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", *SQLITE_SIDE_FILES):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (a folder's entries are flushed by fsync on the folder)."""
    with suppress(OSError):
        fd = os.open(str(folder), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
