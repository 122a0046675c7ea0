"""PostgreSQL's plain reads on libpq alone (supportdesk/pgread.py) give what psycopg gives:
the same values of the same types (time zones included), the same exceptions, for every
kind of parameter and column; and the common ones never touch psycopg."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest

from supportdesk import pgread
from supportdesk.enums import Priority
from supportdesk.store import Store
from tests.helpers.hostile import HOSTILE_STRINGS

pytestmark = pytest.mark.postgres

SAST = timezone(timedelta(hours=2))

# (SQL with psycopg's placeholders, parameters): each read by both and compared
FAST = [
    ("SELECT 1", ()),
    ("SELECT %s, %s, %s, %s, %s", (0, -1, 32767, 32768, -(2**15) - 1)),
    ("SELECT %s, %s, %s", (2**31, -(2**31) - 1, 2**62)),
    ("SELECT %s::bigint + 1, %s::smallint", (2**40, 7)),
    ("SELECT %s, %s, %s::boolean", (True, False, None)),
    ("SELECT %s, %s, %s", (1.5, 0.1, -1e300)),
    ("SELECT %s::real, 2.5::float4", (0.25,)),
    ("SELECT %s, %s, length(%s)", ("héllo", "", "x" * 10_000)),
    ("SELECT %s::varchar(20), %s::char(5), 'n'::name", ("v", "c")),
    ("SELECT %s", (datetime(2026, 11, 20, 9, 0, 0, 123456, UTC),)),
    ("SELECT %s::text", (datetime(2026, 1, 1, 8, 30),)),
    ("SELECT %s::timestamptz", (datetime(2026, 3, 1, 23, 59, 59, 5, SAST),)),
    ("SELECT '2026-01-02 03:04:05.5+05:30'::timestamptz, '1999-12-31 23:59:59'::timestamptz", ()),
    ("SELECT now() - now() = interval '0', 'a%%b', %s", (1,)),
    ("SELECT 'a%%b'", ()),
    ("SELECT x FROM generate_series(1, 300) x WHERE x > %s", (3,)),
    ("SELECT 1 WHERE false", ()),
    ("SELECT NULL, NULL::int, NULL::timestamptz, ''::text", ()),
    ("SELECT 42::oid", ()),
    ('SELECT \'{"a": [1, 2.5, null]}\'::json, \'{"b": {"c": "d"}}\'::jsonb', ()),
    ("EXPLAIN (FORMAT JSON) SELECT * FROM generate_series(1, %s)", (3,)),
    *[("SELECT %s", (s.replace("\x00", ""),)) for s in HOSTILE_STRINGS if "\ud800" not in s],
    ("SELECT FROM generate_series(1, 3)", ()),
]
# many rows, with NULLs and empty texts in the first, the last and the rows between, and
# columns that are all NULL: read a column at a time, each row's values in one operation
MANY = (
    "SELECT x, x::smallint, x::bigint * 1000000000, x / 7.0::float8, (x %% 2 = 0),"
    " CASE WHEN x %% 3 = 0 THEN NULL WHEN x %% 3 = 1 THEN '' ELSE 'v' || x END,"
    " CASE WHEN x %% 4 = 1 THEN NULL ELSE x END,"
    " CASE WHEN x %% 5 = 0 THEN NULL ELSE %s::timestamptz + x * interval '37 min 1.5 s' END,"
    " CASE WHEN x %% 2 = 1 THEN NULL ELSE x %% 3 = 0 END,"
    " NULL::text, NULL::int, NULL::timestamptz, ''::text, %s::text, 'x'::varchar(3),"
    " CASE WHEN x = %s THEN NULL ELSE '1999-12-31 23:59:59.5+05:30'::timestamptz END"
    " FROM generate_series(1, %s) AS g(x) ORDER BY g.x DESC"
)
MANY_PARAMS = [
    (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "[/x] \x1b[2J \u202e é", 1, 601),
    (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "", 601, 601),
    (datetime(2026, 1, 1, tzinfo=UTC), "one", 1, 1),
]
# what pgread leaves to psycopg (some of it in part: a column loaded by psycopg's loader)
OTHER = [
    ("SELECT %s", (2**63,)),
    ("SELECT %s", (float("inf"),)),
    ("SELECT %s", (datetime(2026, 1, 1, 8, 30),)),
    ("SELECT %s, %s", (Priority.HIGH, b"bytes")),
    ("SELECT %s::date, %s", (datetime(2026, 1, 1, tzinfo=UTC).date(), timedelta(hours=1))),
    ("SELECT 1.50::numeric, '{1,2}'::int[], '{a,b}'::text[], '\\x00ff'::bytea", ()),
    ("SELECT '1 day 02:00'::interval, '2026-02-03'::date, '12:00'::time", ()),
    ("SELECT 'infinity'::timestamptz", ()),
    ("SELECT '0044-03-15 12:00:00+00 BC'::timestamptz", ()),
    # 1 BC in UTC, 1 AD where the offset is ahead of it: past datetime's range either way
    ("SELECT '0001-12-31 23:50:00+00 BC'::timestamptz", ()),
    (
        "SELECT x FROM (VALUES ('2026-01-01 10:00+00'::timestamptz),"
        " ('0001-12-31 23:50:00+00 BC')) v(x)",
        (),
    ),
    ("SELECT %s", ("nul\x00byte",)),
    ("SELECT 1; SELECT 2", ()),
    ("SELECT 1/0", ()),
    ("SELECT * FROM no_such_table", ()),
    ("SELECT %s::int", ("not a number",)),
    ("SELECT %s, %s", (1,)),
    ("SET statement_timeout = 0", ()),
    ("SELECT '%s'", ()),
]


@pytest.fixture(autouse=True)
def _on_libpq(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest has imported psycopg: keep the reader on libpq all the same."""
    monkeypatch.setattr(pgread, "PSYCOPG_ONCE_LOADED", False)


def _psycopg(conninfo: str, sql: str, params: Sequence[Any]) -> Any:
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cur:
        try:
            cur.execute(sql, tuple(params))
            return _typed(cur.fetchall())
        except Exception as exc:
            return (type(exc), str(exc))


def _pgread(conn: pgread.Connection, sql: str, params: Sequence[Any]) -> Any:
    try:
        return _typed(conn.query(sql, params))
    except Exception as exc:
        return (type(exc), str(exc))


def _typed(rows: list[tuple[Any, ...]]) -> list[list[tuple[type, Any, Any]]]:
    return [[(type(v), v, getattr(v, "tzinfo", None)) for v in row] for row in rows]


def _with_option(pg_url: str, option: str) -> str:
    """The libpq URL of `pg_url` (its options end it: the test schema) with one more."""
    url = str(Store(pg_url).target.conninfo)
    assert url.rsplit("?", 1)[-1].rsplit("&", 1)[-1].startswith("options=")
    return url + "%20-c" + option.replace("=", "%3D")


@pytest.fixture(params=["UTC", "Africa/Johannesburg", "Etc/UTC"])
def conninfo(request: pytest.FixtureRequest, pg_url: str) -> str:
    """The test database in one of three time zones (UTC is psycopg's own case)."""
    return _with_option(pg_url, f"TimeZone={request.param}")


@pytest.mark.parametrize(("sql", "params"), FAST, ids=range(len(FAST)))
def test_common_reads_are_psycopgs_without_psycopg(
    conninfo: str, sql: str, params: Sequence[Any]
) -> None:
    conn = pgread.Connection(conninfo)
    try:
        assert _pgread(conn, sql, params) == _psycopg(conninfo, sql, params)
        assert not conn.used_psycopg
    finally:
        conn.close()


@pytest.mark.parametrize(("sql", "params"), OTHER, ids=range(len(OTHER)))
def test_the_rest_is_psycopgs_too(conninfo: str, sql: str, params: Sequence[Any]) -> None:
    conn = pgread.Connection(conninfo)
    try:
        assert _pgread(conn, sql, params) == _psycopg(conninfo, sql, params)
        assert _pgread(conn, "SELECT %s", (5,)) == [[(int, 5, None)]]  # still usable
    finally:
        conn.close()


def test_a_connection_that_fails_fails_as_psycopgs(pg_url: str) -> None:
    bad = str(Store(pg_url).target.conninfo).rsplit("/", 1)[0] + "/no_such_database_here"
    with pytest.raises(psycopg.OperationalError) as mine:
        pgread.Connection(bad)
    with pytest.raises(psycopg.OperationalError) as theirs:
        psycopg.connect(bad, autocommit=True, connect_timeout=10)
    assert str(mine.value) == str(theirs.value)


def test_a_session_that_psycopg_reads_otherwise_is_left_to_psycopg(pg_url: str) -> None:
    """A DateStyle that is not ISO: psycopg refuses its timestamps; so does the reader."""
    url = _with_option(pg_url, "DateStyle=SQL")
    conn = pgread.Connection(url)
    try:
        sql = "SELECT '2026-01-01 10:00:00+00'::timestamptz, 1"
        assert _pgread(conn, sql, ()) == _psycopg(url, sql, ())
        assert conn.used_psycopg
    finally:
        conn.close()


def test_once_psycopg_is_imported_the_reads_are_psycopgs(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a process that has psycopg already (the console after its first paint), its
    faster loaders read: the libpq connection is closed for the psycopg one."""
    monkeypatch.setattr(pgread, "PSYCOPG_ONCE_LOADED", True)
    conn = pgread.Connection(str(Store(pg_url).target.conninfo))
    try:
        assert conn.query("SELECT %s, 'x'", (1,)) == [(1, "x")]
        assert conn.used_psycopg and not conn.closed
    finally:
        conn.close()


@pytest.mark.parametrize("params", MANY_PARAMS, ids=["600 rows", "last row null", "one row"])
@pytest.mark.parametrize("path", ["in bulk", "one by one"])
def test_many_rows_read_as_psycopg_reads_them(
    conninfo: str, params: tuple[Any, ...], path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of rows is read off libpq's cell arrays in bulk (each row in one operation),
    or value by value when those do not look as expected: both give psycopg's rows."""
    used: list[str] = []
    bulk, one_by_one = pgread._cells_in_bulk, pgread._cells_one_by_one

    def in_bulk(*args: Any) -> Any:
        got = bulk(*args) if path == "in bulk" else None
        used.append("in bulk" if got is not None else "one by one")
        return got

    monkeypatch.setattr(pgread, "_cells_in_bulk", in_bulk)
    monkeypatch.setattr(pgread, "_cells_one_by_one", one_by_one)
    conn = pgread.Connection(conninfo)
    try:
        assert _pgread(conn, MANY, params) == _psycopg(conninfo, MANY, params)
        assert used == [path]
        assert not conn.used_psycopg
    finally:
        conn.close()


def test_cell_arrays_that_do_not_match_libpq_are_not_read(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk read checks libpq's arrays against PQgetvalue first: an address that does
    not match (another libpq's layout) sends the read value by value, with the same rows."""
    conninfo = str(Store(pg_url).target.conninfo)
    lib = pgread.libpq()
    right = lib.value_address
    monkeypatch.setattr(lib, "value_address", lambda res, r, c: right(res, r, c) + 1)
    bulk = pgread._cells_in_bulk
    answers: list[object] = []
    monkeypatch.setattr(pgread, "_cells_in_bulk", lambda *a: answers.append(bulk(*a)))
    conn = pgread.Connection(conninfo)
    try:
        params = MANY_PARAMS[0]
        assert _pgread(conn, MANY, params) == _psycopg(conninfo, MANY, params)
        assert answers == [None]
    finally:
        conn.close()


def test_a_connection_the_server_ends_is_logged_not_written_to_the_terminal(
    pg_url: str, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """An administrator (or a restart) ends the reader's and the change feed's connections:
    libpq's own notice processor wrote the server's FATAL to file descriptor 2, across the
    screen Textual paints (seen in the suite's output when a test database was dropped). It
    goes to the log; the read goes on, on a new connection; the feed sees the link lost."""
    url = str(Store(pg_url).target.conninfo)
    conn = pgread.Connection(url)
    listener = pgread.Listener(url)
    try:
        pids = [conn.query("SELECT pg_backend_pid()", ())[0][0]]
        pids.append(int(listener.scalar("SELECT pg_backend_pid()")))
        with psycopg.connect(url, autocommit=True) as admin:
            for pid in pids:  # waits until each has ended (5 s at most)
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        with caplog.at_level(logging.INFO, logger="supportdesk.pgread"):
            with pytest.raises(pgread.LinkLost):
                listener.notifies(5, 1)
            assert conn.query("SELECT 1", ()) == [(1,)]
    finally:
        listener.close()
        conn.close()
    assert "FATAL" not in capfd.readouterr().err
    said = [r.getMessage() for r in caplog.records if r.name == "supportdesk.pgread"]
    assert any("terminating connection due to administrator command" in m for m in said), said
