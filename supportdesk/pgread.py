"""Plain reads on PostgreSQL through libpq itself (ctypes), without importing psycopg.

`import psycopg` costs about 0.2 s of CPU (its adapters, asyncio, ssl, importlib.metadata),
more than everything else `supportdesk queue --limit 50` does; the console's first page pays
it too. `Store.query` runs one read-only statement and wants tuples, so this module does
exactly that on the libpq that psycopg's binary package ships (loading it costs ~10 ms), and
gives every value the Python type psycopg would give it.

A foreign call through ctypes costs about a microsecond, so a result is not read value by
value (PQgetvalue for each of a 500-row queue page's 16,500 values, 15 ms of CPU): each
row's values come off libpq's own array of cells in one ctypes operation (the layout of
libpq-int.h, checked against PQgetvalue and PQgetlength on every result, else value by
value), and each column is loaded by one call (`int`, `bytes.decode`, `fromisoformat`).
A 500-row queue page's statement then costs 3.3 ms of CPU here against psycopg's 1.7 ms,
so this module is for processes that have not imported psycopg (the CLI, the
console until its first paint); once psycopg is imported anyway, a connection's reads go
to psycopg. It handles the common cases only and hands everything else to psycopg, so that
the result is psycopg's in every case:

- parameters of other types than None, bool, int (64-bit), float, str and datetime, SQL
  with `%` other than `%%` or with more than one statement, and connections whose settings
  psycopg would read differently (client encoding, DateStyle, IntervalStyle): the statement
  runs on a psycopg connection instead (made on first need, kept beside the libpq one);
- a statement that fails runs again on psycopg, which raises its own exception (a failed
  statement in autocommit changed nothing);
- result columns of other types than bool, integers, floats, text and timestamptz are
  loaded by psycopg's own loaders.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import logging
import os
import re
import select
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, cast

CONNECT_TIMEOUT_S = 10  # as Store gives psycopg.connect
# Once something else has imported psycopg, reads move to it (tests turn this off to compare)
PSYCOPG_ONCE_LOADED = True

_OK, _BAD = 0, 1  # ConnStatusType
_EMPTY_QUERY, _COMMAND_OK, _TUPLES_OK, _FATAL_ERROR = 0, 1, 2, 7  # ExecStatusType
_INT8_MIN, _INT8_MAX = -(2**63), 2**63

# psycopg's oids for the parameters it would send (IntDumper picks the smallest integer)
_BOOL, _INT2, _INT4, _INT8, _FLOAT8 = 16, 21, 23, 20, 701
_TIMESTAMP, _TIMESTAMPTZ = 1114, 1184

_lib: Any = None
_lib_lock = threading.Lock()
_UNAVAILABLE = object()

log = logging.getLogger(__name__)
NoticeProcessor = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)


@NoticeProcessor
def _on_notice(_arg: Any, message: bytes | None) -> None:
    """What the server says outside a result (a NOTICE, or the FATAL of a connection an
    administrator ended): to the log. libpq's own processor writes it to file descriptor 2,
    which in the console is the terminal Textual paints: "FATAL: terminating connection due
    to administrator command" landed across the screen when a server restarted."""
    text = (message or b"").decode(errors="replace").rstrip()
    log.info("PostgreSQL: %s", text)


def _quiet(lib: Any, pg: Any) -> None:
    """A new connection's notices go to the log (`_on_notice`), not to the terminal."""
    lib.PQsetNoticeProcessor(pg, _on_notice, None)


def _find_libpq() -> str | None:
    """The libpq psycopg's binary package ships (psycopg uses it too), else the system's."""
    spec = importlib.util.find_spec("psycopg_binary")
    if spec is not None and spec.submodule_search_locations:
        folder = os.path.dirname(next(iter(spec.submodule_search_locations)))
        found = sorted(glob.glob(os.path.join(folder, "psycopg_binary.libs", "libpq-*.so*")))
        if found:
            return found[0]
    return "libpq.so.5"


def libpq() -> Any:
    """The loaded libpq with its functions typed, or None when there is none to load."""
    global _lib
    with _lib_lock:
        if _lib is None:
            _lib = _load() or _UNAVAILABLE
    return None if _lib is _UNAVAILABLE else _lib


def _load() -> Any:
    if os.environ.get("SUPPORTDESK_PG_READER") == "psycopg":  # a way out, and for tests
        return None
    path = _find_libpq()
    if path is None:
        return None
    try:
        lib: Any = ctypes.CDLL(path)
    except OSError:
        return None
    p, i, s, u = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint
    signatures: dict[str, tuple[Any, list[Any]]] = {
        "PQconnectdbParams": (p, [ctypes.POINTER(s), ctypes.POINTER(s), i]),
        "PQstatus": (i, [p]),
        "PQfinish": (None, [p]),
        "PQparameterStatus": (s, [p, s]),
        "PQexec": (p, [p, s]),
        "PQexecParams": (
            p,
            [p, s, i, ctypes.POINTER(u), ctypes.POINTER(s), ctypes.c_void_p, ctypes.c_void_p, i],
        ),
        "PQresultStatus": (i, [p]),
        "PQntuples": (i, [p]),
        "PQnfields": (i, [p]),
        "PQftype": (u, [p, i]),
        "PQgetvalue": (s, [p, i, i]),
        "PQgetisnull": (i, [p, i, i]),
        "PQgetlength": (i, [p, i, i]),
        "PQcmdStatus": (s, [p]),
        "PQsocket": (i, [p]),
        "PQconsumeInput": (i, [p]),
        "PQnotifies": (p, [p]),
        "PQfreemem": (None, [p]),
        "PQclear": (None, [p]),
        "PQsetNoticeProcessor": (p, [p, NoticeProcessor, p]),
    }
    try:
        for name, (restype, argtypes) in signatures.items():
            func = getattr(lib, name)
            func.restype = restype
            func.argtypes = argtypes
        # the same function with the value's address as an int (the bulk read's check)
        lib.value_address = ctypes.CFUNCTYPE(ctypes.c_void_p, p, i, i)(("PQgetvalue", lib))
    except AttributeError:
        return None
    return lib


def _text(data: bytes) -> str:
    return data.decode()


def _bool(data: bytes) -> bool:
    return data == b"t"


_TS = re.compile(
    rb"(\d+)-(\d+)-(\d+)[ T](\d+):(\d+):(\d+)(?:\.(\d+))?([-+])(\d+)(?::(\d+))?(?::(\d+))?"
)


def _timestamptz(
    zone: tzinfo, other: Callable[[], Callable[[bytes], Any]]
) -> Callable[[bytes], Any]:
    """psycopg's text timestamptz loader: the instant in the connection's time zone; what
    this does not read (BC dates, infinity, overflow) goes to psycopg's, `other()`.

    PostgreSQL's ISO output (`2026-01-02 03:04:05.5+00`, `+05:30`, `+01:30:20`) is what
    datetime.fromisoformat reads, in C, in a fraction of the regular expression's time."""
    from_iso = datetime.fromisoformat

    def parsed(data: bytes) -> Any:
        m = _TS.fullmatch(data)
        if m is not None:
            ye, mo, da, ho, mi, se, fr, sign, oh, om, os_ = m.groups()
            off = 3600 * int(oh) + 60 * int(om or 0) + int(os_ or 0)
            try:
                at = datetime(
                    int(ye), int(mo), int(da), int(ho), int(mi), int(se),
                    int(fr.ljust(6, b"0")) if fr else 0, UTC,
                )  # fmt: skip
                return (at - timedelta(seconds=off if sign == b"+" else -off)).astimezone(zone)
            except (OverflowError, ValueError):
                pass
        return other()(data)

    def load(data: bytes) -> Any:
        try:
            at = from_iso(data.decode())
            if at.tzinfo is not None:
                return at.astimezone(zone)
        except (OverflowError, ValueError):  # e.g. an instant in 1 BC shown in 1 AD
            pass
        return parsed(data)

    return load


def _zone(name: bytes | None) -> tzinfo:
    """The connection's time zone as psycopg names it (psycopg._tz.get_tzinfo)."""
    if name in (None, b"UTC"):
        return UTC
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name.decode())
    except Exception:
        return UTC


def _json(data: bytes) -> Any:
    """psycopg's json and jsonb loaders (json.loads, unless an app sets another)."""
    import json

    return json.loads(data)


_SIMPLE: dict[int, Callable[[bytes], Any]] = {
    114: _json,  # json: EXPLAIN (FORMAT JSON) for the queue's search estimate
    3802: _json,  # jsonb
    16: _bool,
    20: int,
    21: int,
    23: int,
    26: int,
    700: float,
    701: float,
    25: _text,
    1043: _text,
    1042: _text,
    19: _text,
}


def _texts(column: Sequence[bytes]) -> list[str]:
    return list(map(bytes.decode, column))


def _bools(column: Sequence[bytes]) -> list[bool]:
    return [v == b"t" for v in column]


def _ints(column: Sequence[bytes]) -> list[int]:
    return list(map(int, column))


def _floats(column: Sequence[bytes]) -> list[float]:
    return list(map(float, column))


# whole columns without NULLs, as _SIMPLE loads each value
_BULK: dict[int, Callable[[Sequence[bytes]], list[Any]]] = {
    16: _bools,
    20: _ints,
    21: _ints,
    23: _ints,
    26: _ints,
    700: _floats,
    701: _floats,
    25: _texts,
    1043: _texts,
    1042: _texts,
    19: _texts,
}


class _Cell(ctypes.Structure):
    """libpq-int.h's PGresAttValue, one value of a result (the same since PostgreSQL 7.4):
    its length (-1 for NULL) and its text, NUL-terminated."""

    _fields_ = [("len", ctypes.c_int), ("value", ctypes.c_char_p)]


class _ResultHead(ctypes.Structure):
    """The first fields of libpq-int.h's pg_result (the same since PostgreSQL 7.4): the
    number of rows and columns, and each row's array of _Cell."""

    _fields_ = [
        ("ntups", ctypes.c_int),
        ("numAttributes", ctypes.c_int),
        ("attDescs", ctypes.c_void_p),
        ("tuples", ctypes.c_void_p),
    ]


_POINTER = ctypes.sizeof(ctypes.c_void_p)
_CELL = ctypes.sizeof(_Cell)
# a row's cells seen as pointers: each cell's text is every second one
_LAYOUT_AS_POINTERS = _CELL == 2 * _POINTER and _Cell.value.offset == _POINTER

# every value as bytes, a list per row; and a function telling which values of a column
# that has some b"" in it are NULL (NULL reads as b"", and so does an empty text)
Cells = tuple[list[list[bytes]], Callable[[int, Sequence[bytes]], list[bool]]]


def _cells_in_bulk(lib: Any, res: int, n_rows: int, n_cols: int) -> Cells | None:
    """Every value of a text-format result as bytes, a row per list, read off libpq's own
    arrays with one ctypes operation per row (PQgetvalue costs a foreign call per value,
    most of a 500-row page's read).
    None when the result does not look as libpq-int.h says (checked against PQgetvalue and
    PQgetlength at both ends): the caller then asks libpq value by value."""
    if not _LAYOUT_AS_POINTERS:
        return None
    head = _ResultHead.from_address(res)
    if head.ntups != n_rows or head.numAttributes != n_cols or not head.tuples:
        return None
    rows = [at for at in (ctypes.c_void_p * n_rows).from_address(head.tuples)[:] if at]
    if len(rows) != n_rows:
        return None

    row = ctypes.c_char_p * (2 * n_cols)
    arrays = [row.from_address(at) for at in rows]
    lengths: list[tuple[int, ...]] = []  # a tuple per column: -1 is NULL

    def nulls(c: int, column: Sequence[bytes]) -> list[bool]:
        if not lengths:  # the lengths off the same arrays, seen as ints, on first need
            step = _CELL // ctypes.sizeof(ctypes.c_int)
            ints = [memoryview(a).cast("B").cast("i")[::step] for a in arrays]
            lengths.extend(zip(*ints, strict=True))
        return [n < 0 for n in lengths[c]]

    for r, c in ((0, 0), (n_rows - 1, n_cols - 1)):
        address = ctypes.c_void_p.from_address(rows[r] + c * _CELL + _POINTER).value
        size = ctypes.c_int.from_address(rows[r] + c * _CELL).value
        if address != lib.value_address(res, r, c) or lib.PQgetlength(res, r, c) != max(size, 0):
            return None
        if (size < 0) != bool(lib.PQgetisnull(res, r, c)):
            return None
    # never None: libpq points a NULL at an empty string (its length -1)
    cells = cast(list[list[bytes]], [a[1::2] for a in arrays])
    return cells, nulls


def _cells_one_by_one(lib: Any, res: int, n_rows: int, n_cols: int) -> Cells:
    """What _cells_in_bulk reads, a foreign call per value."""
    value, is_null = lib.PQgetvalue, lib.PQgetisnull
    cells = [[value(res, r, c) for c in range(n_cols)] for r in range(n_rows)]

    def nulls(c: int, column: Sequence[bytes]) -> list[bool]:
        return [not v and bool(is_null(res, r, c)) for r, v in enumerate(column)]

    return cells, nulls


def _param(value: Any) -> tuple[int, bytes | None] | None:
    """(oid, text) as psycopg would bind `value`, or None to leave it to psycopg."""
    if value is None:
        return 0, None
    kind = type(value)
    if kind is bool:
        return _BOOL, b"t" if value else b"f"
    if kind is int:
        if -(2**15) <= value < 2**15:
            return _INT2, str(value).encode()
        if -(2**31) <= value < 2**31:
            return _INT4, str(value).encode()
        if _INT8_MIN <= value < _INT8_MAX:
            return _INT8, str(value).encode()
        return None
    if kind is str:
        return None if "\x00" in value else (0, value.encode())
    if kind is float:
        return (
            (_FLOAT8, repr(value).encode())
            if value == value and abs(value) != float("inf")
            else None
        )
    if kind is datetime:
        if value.tzinfo is None:
            return _TIMESTAMP, value.isoformat().encode()
        offset = value.utcoffset()
        if offset is None:
            return None
        return _TIMESTAMPTZ, value.astimezone(UTC).isoformat().encode()
    return None


def _statement(sql: str, n_params: int) -> str | None:
    """psycopg's `%s` placeholders as `$n` (and `%%` as `%`), or None when psycopg would read
    the text otherwise (any other `%`, a count that does not match, several statements)."""
    parts = sql.split("%s")
    if len(parts) - 1 != n_params:
        return None
    out = [parts[0]]
    for n, part in enumerate(parts[1:], 1):
        out.append(f"${n}")
        out.append(part)
    text = "".join(out)
    if "%" in text.replace("%%", ""):
        return None
    text = text.replace("%%", "%")
    if ";" in text.rstrip().rstrip(";"):
        return None
    return text


class Connection:
    """One autocommit libpq connection for plain reads, with a psycopg connection beside it
    for what it leaves to psycopg (made on first need). Used by one thread at a time."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._pg: Any = None  # the libpq connection (a pointer), None when psycopg does all
        self._psycopg: Any = None
        self._loaders: dict[int, Callable[[bytes], Any]] = dict(_SIMPLE)
        self._bulk: dict[int, Callable[[Sequence[bytes]], list[Any]]] = {}
        self._zone: tzinfo = UTC
        self._closed = False
        lib = libpq()
        if lib is None:
            self._fallback()
            return
        keys = (ctypes.c_char_p * 3)(b"dbname", b"connect_timeout", None)
        values = (ctypes.c_char_p * 3)(conninfo.encode(), str(CONNECT_TIMEOUT_S).encode(), None)
        pg = lib.PQconnectdbParams(keys, values, 1)
        if not pg or lib.PQstatus(pg) != _OK:
            if pg:
                lib.PQfinish(pg)
            self._fallback()  # psycopg says why, in its own words (or connects after all)
            return
        _quiet(lib, pg)
        status = lib.PQparameterStatus
        if (
            status(pg, b"client_encoding") != b"UTF8"
            or not (status(pg, b"DateStyle") or b"").startswith(b"ISO")
            or status(pg, b"IntervalStyle") != b"postgres"
        ):
            lib.PQfinish(pg)
            self._fallback()
            return
        self._pg = pg
        self._zone = zone = _zone(status(pg, b"TimeZone"))
        self._loaders[_TIMESTAMPTZ] = _timestamptz(zone, lambda: self._psycopg_loader(_TIMESTAMPTZ))

    def _fallback(self) -> Any:
        if self._psycopg is None:
            import psycopg

            self._psycopg = psycopg.connect(
                self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        return self._psycopg

    @property
    def used_psycopg(self) -> bool:
        """Whether anything so far needed psycopg (tests: the common reads must not)."""
        return self._psycopg is not None

    @property
    def closed(self) -> bool:
        if self._closed:
            return True
        if self._pg is not None and libpq().PQstatus(self._pg) == _BAD:
            return True
        return self._psycopg is not None and bool(self._psycopg.closed)

    def close(self) -> None:
        self._closed = True
        if self._pg is not None:
            libpq().PQfinish(self._pg)
            self._pg = None
        if self._psycopg is not None:
            self._psycopg.close()

    def query(
        self, sql: str, params: Sequence[Any], prepare: bool | None = None
    ) -> list[tuple[Any, ...]]:
        """`cursor.execute(sql, params, prepare=prepare)` and `fetchall()` as on a psycopg
        connection (`%s` placeholders). On libpq a statement is never prepared: every run
        is planned with its values, as `prepare=False` asks of psycopg."""
        if self._pg is not None and PSYCOPG_ONCE_LOADED and "psycopg" in sys.modules:
            # psycopg is here already (the console loads it after its first paint): its C
            # loaders read a page in half the time this takes, and it prepares a statement
            # run often, so from now on this connection is psycopg's
            libpq().PQfinish(self._pg)
            self._pg = None
        if self._pg is None:
            return self._on_psycopg(sql, params, prepare)
        statement = _statement(sql, len(params))
        bound = [_param(v) for v in params]
        if statement is None or any(b is None for b in bound):
            return self._on_psycopg(sql, params, prepare)
        lib = libpq()
        if params:
            n = len(bound)
            types = (ctypes.c_uint * n)(*(b[0] for b in bound if b is not None))
            texts = (ctypes.c_char_p * n)(*(b[1] for b in bound if b is not None))
            res = lib.PQexecParams(self._pg, statement.encode(), n, types, texts, None, None, 0)
        else:
            res = lib.PQexec(self._pg, statement.encode())
        try:
            status = lib.PQresultStatus(res) if res else _FATAL_ERROR
            if status != _TUPLES_OK:
                # an error (psycopg raises its own: nothing was changed) or no rows at all
                # (psycopg's ProgrammingError, without running the statement again)
                if status not in (_COMMAND_OK, _EMPTY_QUERY, _FATAL_ERROR):
                    lib.PQfinish(self._pg)  # COPY and the like: this link is psycopg's now
                    self._pg = None
                if status == _COMMAND_OK:
                    import psycopg

                    command = (lib.PQcmdStatus(res) or b"").decode()
                    detail = f" (command status: {command})" if command else ""
                    raise psycopg.ProgrammingError(
                        f"the last operation didn't produce records{detail}"
                    )
                return self._on_psycopg(sql, params, prepare)
            return self._rows(lib, res)
        finally:
            if res:
                lib.PQclear(res)

    def _rows(self, lib: Any, res: Any) -> list[tuple[Any, ...]]:
        """The result's rows, read a column at a time: each column's values in one list,
        loaded by one function (int, decode, fromisoformat) and zipped into tuples."""
        n_rows, n_cols = lib.PQntuples(res), lib.PQnfields(res)
        if not n_rows or not n_cols:
            return [()] * n_rows
        cells, nulls = _cells_in_bulk(lib, res, n_rows, n_cols) or _cells_one_by_one(
            lib, res, n_rows, n_cols
        )
        loaded = []
        for c, column in enumerate(zip(*cells, strict=True)):
            load = self._column_loader(lib.PQftype(res, c))
            null = nulls(c, column) if b"" in column else ()
            if True not in null:
                loaded.append(load(column))
                continue
            present = iter(load([v for v, n in zip(column, null, strict=True) if not n]))
            loaded.append([None if n else next(present) for n in null])
        return list(zip(*loaded, strict=True))

    def _column_loader(self, oid: int) -> Callable[[Sequence[bytes]], list[Any]]:
        """A function loading a whole column of `oid` without NULLs."""
        bulk = _BULK.get(oid) or self._bulk.get(oid)
        if bulk is None:
            if oid == _TIMESTAMPTZ:
                return self._timestamptz_column
            load = self._loader(oid)
            bulk = self._bulk[oid] = lambda column: list(map(load, column))
        return bulk

    def _timestamptz_column(self, column: Sequence[bytes]) -> list[Any]:
        """A column of timestamptz: _timestamptz's fast path without a call per value."""
        load, zone = self._loaders[_TIMESTAMPTZ], self._zone
        try:
            read = [datetime.fromisoformat(v) for v in map(bytes.decode, column)]
            return [
                load(v) if at.tzinfo is None else at.astimezone(zone)
                for at, v in zip(read, column, strict=True)
            ]
        except (OverflowError, ValueError):
            return list(map(load, column))

    def _loader(self, oid: int) -> Callable[[bytes], Any]:
        load = self._loaders.get(oid)
        if load is None:
            load = self._loaders[oid] = self._psycopg_loader(oid)
        return load

    def _psycopg_loader(self, oid: int) -> Callable[[bytes], Any]:
        """psycopg's text loader for `oid`, as its cursor would pick it (the connection's
        adapters, falling back to text)."""
        from psycopg.pq import Format

        conn = self._fallback()
        adapters = conn.adapters
        cls = adapters.get_loader(oid, Format.TEXT) or adapters.get_loader(0, Format.TEXT)
        assert cls is not None
        load: Callable[[bytes], Any] = cls(oid, conn).load
        return load

    def _on_psycopg(
        self, sql: str, params: Sequence[Any], prepare: bool | None = None
    ) -> list[tuple[Any, ...]]:
        with self._fallback().cursor() as cur:
            cur.execute(sql, tuple(params), prepare=prepare)
            return cur.fetchall()


class LinkLost(Exception):
    """The listener's connection failed (or never came up): reconnect."""


class Listener:
    """LISTEN on one channel on a libpq connection of its own: psycopg's `notifies()` for
    the change feed (store.PostgresChangeFeed), without importing psycopg."""

    def __init__(self, conninfo: str) -> None:
        lib = libpq()
        assert lib is not None
        self._lib = lib
        keys = (ctypes.c_char_p * 2)(b"dbname", None)
        values = (ctypes.c_char_p * 2)(conninfo.encode(), None)
        self._pg = lib.PQconnectdbParams(keys, values, 1)
        if not self._pg or lib.PQstatus(self._pg) != _OK:
            self.close()
            raise LinkLost("cannot connect")
        _quiet(lib, self._pg)

    def scalar(self, sql: str) -> Any:
        """The first column of the first row of a statement without parameters."""
        lib = self._lib
        res = lib.PQexec(self._pg, sql.encode())
        try:
            status = lib.PQresultStatus(res) if res else _FATAL_ERROR
            if status == _COMMAND_OK:
                return None
            if status != _TUPLES_OK:
                raise LinkLost(sql)
            if lib.PQntuples(res) < 1 or lib.PQgetisnull(res, 0, 0):
                return None
            return lib.PQgetvalue(res, 0, 0).decode()
        finally:
            if res:
                lib.PQclear(res)

    def notifies(self, timeout: float, stop_after: int) -> int:
        """Wait for notifications until `stop_after` came or `timeout` seconds passed; how
        many came."""
        lib, pg = self._lib, self._pg
        deadline = time.monotonic() + timeout
        got = 0
        while True:
            if not lib.PQconsumeInput(pg):
                raise LinkLost("connection lost")
            while got < stop_after:
                note = lib.PQnotifies(pg)
                if not note:
                    break
                lib.PQfreemem(note)
                got += 1
            left = deadline - time.monotonic()
            if got >= stop_after or left <= 0:
                return got
            sock = lib.PQsocket(pg)
            if sock < 0:
                raise LinkLost("no socket")
            select.select([sock], [], [], left)

    def close(self) -> None:
        if self._pg:
            self._lib.PQfinish(self._pg)
            self._pg = None
