"""Where the PostgreSQL tests find their server, and what they do when it is not there.

They skip with a visible reason when no server answers, unless
SUPPORTDESK_REQUIRE_POSTGRES=1 (CI sets it), in which case they fail.

Each test process has a database of its own on that server (`PG_URL`), made the first time
a test needs PostgreSQL and dropped after the process ends: under pytest-xdist two workers
never share one (their tests make schemas in it, and desks copied from templates in databases
beside it: tests/helpers/templates.py). Every database a process makes is named after its
`OWNER`, whose advisory lock it holds until it exits; a detached process drops them then,
and each new process hands the databases of a run that ended without that to a dropper too
(tests/helpers/pgdrop.py). SUPPORTDESK_TEST_PG names the server and the database to connect
to for that (default: the `test` database of 127.0.0.1:5432).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.helpers import pgdrop

ADMIN_URL = os.environ.get(
    "SUPPORTDESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("SUPPORTDESK_REQUIRE_POSTGRES") == "1"


# this test process's part of every database name (two runs on one server, or two workers
# of one run, never meet)
OWNER = pgdrop.new_owner()
WORKER_DB = OWNER


def url_of(database: str) -> str:
    """The SQLAlchemy URL of another database on the test server."""
    base, _sep, rest = ADMIN_URL.partition("?")
    return base.rsplit("/", 1)[0] + "/" + database + (f"?{rest}" if rest else "")


def plain(url: str) -> str:
    """The libpq form of a SQLAlchemy URL (for psycopg.connect)."""
    return url.replace("+psycopg", "")


PG_URL = url_of(WORKER_DB)

_STATE: dict[str, str | None] = {}
_LOCK: list[Any] = []  # the connection that holds OWNER's advisory lock


def _pg_available() -> str | None:
    try:
        import psycopg

        lock = psycopg.connect(plain(ADMIN_URL), connect_timeout=3, autocommit=True)
        _LOCK.append(lock)
        # ours before any database of ours exists, held until this process ends
        lock.execute("SELECT pg_advisory_lock(%s)", (pgdrop.owner_key(OWNER),))
        left = pgdrop.orphans(lock, OWNER)
        if left:
            pgdrop.spawn(plain(ADMIN_URL), left)
        lock.execute(f'CREATE DATABASE "{WORKER_DB}"')
        return None
    except Exception as exc:  # any failure means "not here"
        return f"PostgreSQL not reachable at {ADMIN_URL}: {str(exc).splitlines()[0]}"


def pg_reason() -> str | None:
    """Why PostgreSQL cannot be used (None: it can, and this process's database exists)."""
    if "reason" not in _STATE:
        _STATE["reason"] = _pg_available()
    return _STATE["reason"]


def need_postgres() -> None:
    reason = pg_reason()
    if reason:
        if REQUIRE_PG:
            pytest.fail(f"{reason} (SUPPORTDESK_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)


def drop_worker_database() -> None:
    """At the end of the process: hand its databases (its own and the desk copies the
    templates left) to a dropper that outlives it, and let it start (release the lock).
    Nothing here waits for a drop."""
    if _STATE.get("reason", "unused") is None:
        pgdrop.spawn(plain(ADMIN_URL), [OWNER])
    while _LOCK:
        _LOCK.pop().close()


def with_setting(url: str, name: str, value: str) -> str:
    """A PostgreSQL URL whose sessions start with `SET name = value` (libpq's options),
    whether the URL has options already (a schema's search_path) or not (a database's own)."""
    option = f"-c{name}%3D{value}"
    if "options=" in url:
        return url.replace("options=", f"options={option}%20", 1)
    return url + ("&" if "?" in url else "?") + f"options={option}"
