"""Dropping the suite's PostgreSQL databases without a test process waiting for it.

Every `DROP DATABASE` makes the server checkpoint (PostgreSQL 15 asks for an immediate one
and waits for it), and on a server other people write to a checkpoint can take seconds to
tens of seconds. A test process used to drop its last few dozen copies one after another
at the end of its session (2.5 minutes per worker in a full run). Now:

- drops are sent on several connections at once (`drop_databases`): requests that arrive
  while a checkpoint is pending are served by that one checkpoint, so a batch costs about
  what one drop costs;
- what is left when a test process ends is dropped by a detached process (`spawn`, this
  file run as a script) that outlives it; the session does not wait.

Ownership, so that nothing is dropped under a live run and nothing is left behind: every
database the suite makes is named `OWNER` or `OWNER_<10 hex>`, where `OWNER` is
`sdt_run_<12 hex>`, unique per test process. The process holds a session advisory lock
keyed on its owner (`owner_key`, on the admin database) from before it makes its first
database until it exits. A dropper takes that lock (waiting for the process to end) before
it drops the owner's databases; and every new test process hands the databases of owners
whose lock nobody holds (a run killed, a dropper killed) to a dropper of its own
(`orphans`). Databases named otherwise (`bench1m`, `pgdemo_*`, older runs' `sdt_gw0_...`) are
never touched.

This module imports nothing of the desk or the tests: it runs as `python pgdrop.py
ADMIN_URL OWNER...` (a libpq URL).
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

PREFIX = "sdt_run_"
OWNER_RE = re.compile(r"^sdt_run_[0-9a-f]{12}$")
NAME_RE = re.compile(r"^(sdt_run_[0-9a-f]{12})(?:_[0-9a-f]{10})?$")
NAME_SQL = r"^sdt_run_[0-9a-f]{12}(_[0-9a-f]{10})?$"
LOCK_CLASS = 0x5D7  # the high bits of every owner's lock key
PARALLEL = 8  # drops sent at once
WAIT_FOR_OWNER = "15min"  # a dropper gives up after this; the next run's check picks it up


def new_owner() -> str:
    return PREFIX + uuid.uuid4().hex[:12]


def owner_key(owner: str) -> int:
    """The advisory lock key (a positive bigint) of an owner name."""
    if not OWNER_RE.match(owner):
        raise ValueError(f"not a test-suite owner: {owner!r}")
    return (LOCK_CLASS << 48) | int(owner[len(PREFIX) :], 16)


def owner_of(name: str) -> str | None:
    m = NAME_RE.match(name)
    return m.group(1) if m else None


def databases_of(conn: Any, owner: str) -> list[str]:
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE datname ~ %s ORDER BY datname", (NAME_SQL,)
    ).fetchall()
    return [r[0] for r in rows if owner_of(r[0]) == owner]


def drop_databases(conns: Sequence[Any], names: Iterable[str]) -> list[str]:
    """Drop `names`, len(conns) at a time, each on its own connection (autocommit psycopg
    connections to the admin database); the errors, as text (a name gone already is none)."""
    errors: list[str] = []
    todo = list(names)
    while todo:
        batch, todo = todo[: len(conns)], todo[len(conns) :]
        sent = []
        for conn, name in zip(conns, batch, strict=False):
            if not NAME_RE.match(name):
                raise ValueError(f"not a test-suite database: {name!r}")
            conn.pgconn.send_query(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
            sent.append((conn, name))
        for conn, name in sent:
            while (res := conn.pgconn.get_result()) is not None:
                if res.error_message:
                    errors.append(f"{name}: {res.error_message.decode(errors='replace')}")
    return errors


def orphans(conn: Any, mine: str) -> list[str]:
    """The owners (other than `mine`) with databases on the server whose lock nobody holds:
    their test process has ended and no dropper is at work on them."""
    rows = conn.execute("SELECT datname FROM pg_database WHERE datname ~ %s", (NAME_SQL,))
    owners = sorted({o for (name,) in rows.fetchall() if (o := owner_of(name)) and o != mine})
    gone = []
    for owner in owners:
        key = owner_key(owner)
        if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            gone.append(owner)
    return gone


def spawn(admin_url: str, owners: Sequence[str]) -> None:
    """Start a dropper for `owners` that outlives this process (its own session, no
    terminal, no pipe to us)."""
    for owner in owners:
        owner_key(owner)  # refuse anything else before a process starts
    subprocess.Popen(
        [sys.executable, __file__, admin_url, *owners],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def main(admin_url: str, owners: Sequence[str]) -> int:
    import psycopg

    lock = psycopg.connect(admin_url, autocommit=True)
    conns = [psycopg.connect(admin_url, autocommit=True) for _ in range(PARALLEL)]
    lock.execute(f"SET lock_timeout = '{WAIT_FOR_OWNER}'")
    failed = 0
    for owner in owners:
        key = owner_key(owner)
        lock.execute("SELECT pg_advisory_lock(%s)", (key,))  # its test process has ended
        try:
            failed += len(drop_databases(conns, databases_of(lock, owner)))
        finally:
            lock.execute("SELECT pg_advisory_unlock(%s)", (key,))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
