"""The suite's PostgreSQL databases are dropped after a run without the run waiting, and
never under a live run (tests/helpers/pgdrop.py)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.helpers import pgdrop
from tests.helpers.postgres import ADMIN_URL, OWNER, need_postgres, plain


def _names(conn: object) -> set[str]:
    rows = conn.execute("SELECT datname FROM pg_database").fetchall()  # type: ignore[attr-defined]
    return {r[0] for r in rows}


def test_only_an_ended_owners_databases_are_dropped() -> None:
    need_postgres()
    import psycopg

    other = pgdrop.new_owner()
    names = [other, f"{other}_0123456789", f"{other}_abcdef0123"]
    admin = psycopg.connect(plain(ADMIN_URL), autocommit=True)
    holder = psycopg.connect(plain(ADMIN_URL), autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (pgdrop.owner_key(other),))
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
        assert other not in pgdrop.orphans(admin, OWNER)  # its process runs: not touched
        assert OWNER not in pgdrop.orphans(admin, OWNER)
        assert pgdrop.databases_of(admin, other) == sorted(names)
        holder.close()  # the process ends
        # Another test worker ending now sweeps the server too, and its dropper may take this
        # owner first (it then holds the lock while it drops). Either way they must all go:
        # if `orphans` missed an ended owner, no sweeper would drop them and the wait fails.
        # The server ends the holder's session (and frees its lock) a moment after close()
        # returns: until then the owner still looks alive.
        deadline = time.monotonic() + 60
        while set(names) & _names(admin) and time.monotonic() < deadline:
            if other in pgdrop.orphans(admin, OWNER):
                done = subprocess.run(
                    [sys.executable, pgdrop.__file__, plain(ADMIN_URL), other], timeout=120
                )
                assert done.returncode == 0
                break
            time.sleep(0.1)
        while set(names) & _names(admin) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not set(names) & _names(admin)
    finally:
        holder.close()
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.parametrize(
    "name", ["bench1m", "pgdemo_a", "sdt_gw0_5b9e99_6f5377e1b1", "sdt_p1_main"]
)
def test_other_databases_are_never_the_suites(name: str) -> None:
    assert pgdrop.owner_of(name) is None
    with pytest.raises(ValueError):
        pgdrop.drop_databases([object()], [name])
    with pytest.raises(ValueError):
        pgdrop.owner_key(name)
