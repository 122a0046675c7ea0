"""Where the PostgreSQL tests find their server, and what they do when it is not there.

They skip with a visible reason when no server answers, unless
SUPPORTDESK_REQUIRE_POSTGRES=1 (CI sets it), in which case they fail.

Each test process has a database of its own on that server (`PG_URL`), made the first time
a test needs PostgreSQL and dropped when the process ends: under pytest-xdist two workers
never share one (their tests make schemas in it, and desks copied from templates in databases
beside it: tests/helpers/templates.py). SUPPORTDESK_TEST_PG names the server and the
database to connect to for that (default: the `test` database of 127.0.0.1:5432).
"""

from __future__ import annotations

import os
import re

import pytest

ADMIN_URL = os.environ.get(
    "SUPPORTDESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("SUPPORTDESK_REQUIRE_POSTGRES") == "1"


def _run_tag() -> str:
    """This test process's part of a database name: the xdist run and worker, else the pid
    (two runs on one server, or two workers of one run, never meet)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:8] or f"p{os.getpid()}"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return re.sub(r"[^a-z0-9_]", "_", f"{run}_{worker}".lower())


RUN_TAG = _run_tag()
WORKER_DB = f"sdt_{RUN_TAG}"


def url_of(database: str) -> str:
    """The SQLAlchemy URL of another database on the test server."""
    base, _sep, rest = ADMIN_URL.partition("?")
    return base.rsplit("/", 1)[0] + "/" + database + (f"?{rest}" if rest else "")


def plain(url: str) -> str:
    """The libpq form of a SQLAlchemy URL (for psycopg.connect)."""
    return url.replace("+psycopg", "")


PG_URL = url_of(WORKER_DB)

_STATE: dict[str, str | None] = {}


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(plain(ADMIN_URL), connect_timeout=3, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{WORKER_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{WORKER_DB}"')
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
    """At the end of the process: drop its database if it made one."""
    if _STATE.get("reason", "unused") is None:
        import psycopg

        with psycopg.connect(plain(ADMIN_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{WORKER_DB}" WITH (FORCE)')


def with_setting(url: str, name: str, value: str) -> str:
    """A PostgreSQL URL whose sessions start with `SET name = value` (libpq's options),
    whether the URL has options already (a schema's search_path) or not (a database's own)."""
    option = f"-c{name}%3D{value}"
    if "options=" in url:
        return url.replace("options=", f"options={option}%20", 1)
    return url + ("&" if "?" in url else "?") + f"options={option}"
