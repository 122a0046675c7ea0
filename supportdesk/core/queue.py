"""The queue: tickets of one view in priority-then-arrival order, one keyset page at a time.

Every combination of filters has a partial index that starts with its equality columns and
ends with the order (`priority_rank, created_at, id`), so a page is read straight off an
index with no sort (tests read EXPLAIN QUERY PLAN). The company and contact names come from
primary-key subqueries in the select list on SQLite, which never change the driving index,
and from the ticket row itself on PostgreSQL (migration 0021: triggers keep them there);
the holder's login from one read of the staff.

This is the hottest read in the product (every console, every refresh, `supportdesk queue`),
so it is plain SQL on the DBAPI connection (`Store.query`): no SQLAlchemy import at start-up
and no per-row ORM work. The SQL is the same on SQLite and PostgreSQL apart from the
search's test, those two names (`select_sql`) and a PostgreSQL walk for a common text,
which picks the page's ids off the index alone and then reads their rows (`page_sql`).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from supportdesk.core.desk import Desk
from supportdesk.core.presence import marker_cutoff
from supportdesk.core.views import UTC_OFFSET, QueueKey, QueuePage, QueueRow
from supportdesk.enums import PRIORITY_ORDER, View
from supportdesk.errors import UsageError
from supportdesk.rules import limits
from supportdesk.rules.sla_engine import ClockState, SlaClock, stored_clock, stored_clocks

MAX_PAGE = 1000
SEARCH_COUNT_CAP = 10_000
# a search with more candidates than this walks the view in queue order instead (about one
# ticket in 130 of a million-ticket demo's live ones: a page of matches is then near)
SEARCH_CANDIDATES = 2000
WORDS_SQL = "SELECT rowid FROM ticket_words WHERE ticket_words MATCH ?"  # SQLite (0013)
# PostgreSQL: a text its statistics expect in more live tickets than this is not looked up
# in the trigram index at all (the GIN index reads every match of a common text, "mail":
# 20-35 ms at a million tickets, only to find more than SEARCH_CANDIDATES and walk). Above
# SEARCH_CANDIDATES by more than the estimates missed by at a million tickets (within
# -30 % / +60 %), so that a rare text is still looked up.
COMMON_ESTIMATE = 5 * SEARCH_CANDIDATES // 2
# A search's estimate is kept this long per database and text: the console reads a search's
# page again on every change anyone makes, and the EXPLAIN behind it (0.4-0.8 ms at a
# million tickets, a tenth of the page) reads the table's statistics, which change with
# ANALYZE, not with a write. The estimate picks how a page is read, never what it holds.
ESTIMATE_TTL_S = 60.0
ESTIMATES_KEPT = 256  # texts per database; the oldest are forgotten beyond it
PRIORITY_NAMES = tuple(p.value for p in PRIORITY_ORDER)


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: a view plus optional narrowing."""

    view: View = View.QUEUE
    tier: int | None = None
    category: str | None = None
    mine: bool = False
    unclaimed: bool = False
    search: str | None = None
    sort: str = "priority"  # or "due": breaches first (earliest running due time)

    def describe(self) -> str:
        parts = [self.view.value]
        if self.tier is not None:
            parts.append(f"tier {self.tier}")
        if self.category:
            parts.append(self.category)
        if self.mine:
            parts.append("mine")
        if self.unclaimed:
            parts.append("unclaimed")
        if self.search:
            parts.append(f"“{self.search}”")
        if self.sort == "due":
            parts.append("breaches first")
        return " · ".join(parts)

    def with_(self, **changes: Any) -> QueueFilter:
        return replace(self, **changes)


_STAMPS = (
    "created_at",
    "last_activity_at",
    "respond_since",
    "respond_due",
    "resolve_since",
    "resolve_due",
)
# Every timestamp comes as UTC text, the form SQLite keeps them in: one fromisoformat each
# in `_rows`, on both databases. A timestamptz cost two conversions more per value (into
# the session's time zone, ZoneInfo("Etc/UTC") on a stock server, by both readers; then to
# UTC), 3,000 of each for a 500-row page. `AT TIME ZONE 'UTC'` gives the timestamp without
# time zone, whose text is ISO (`2026-01-02 03:04:05.5`) under DateStyle ISO: the only one
# in which psycopg reads a timestamptz at all (pgread reads only such sessions too).


def _columns(stamp: str) -> str:
    """The queue row's columns, each timestamp written as `stamp` formats it."""
    at = {c: stamp.format(c) for c in _STAMPS}
    return (
        "SELECT t.id, t.priority_rank, t.account_id, t.subject, t.category, t.channel,"
        f" t.status, t.tier, {at['created_at']}, t.last_speaker, {at['last_activity_at']},"
        " t.contact_id, t.service_id, t.caller_name, t.holder_id, t.sla_plan, t.sla_key,"
        " t.respond_state, t.respond_target_s, t.respond_used_s, t.respond_paused_s,"
        f" {at['respond_since']}, {at['respond_due']}, t.respond_paused,"
        " t.resolve_state, t.resolve_target_s, t.resolve_used_s, t.resolve_paused_s,"
        f" {at['resolve_since']}, {at['resolve_due']}, t.resolve_paused,"
    )


# The company and the contact name, last: on SQLite by primary-key subqueries (in-process,
# cheap); on PostgreSQL from the ticket row, where triggers keep them (migration 0021: the
# two subplans were most of a page's time at a million tickets). Same tuple shape for `_rows`.
SQLITE_SELECT_SQL = (
    _columns("t.{}") + " (SELECT a.company FROM accounts a WHERE a.id = t.account_id),"
    " (SELECT c.name FROM contacts c WHERE c.id = t.contact_id)"
    " FROM tickets t"
)
PG_SELECT_SQL = (
    _columns("(t.{} AT TIME ZONE 'UTC')::text") + " t.company_name, t.contact_name FROM tickets t"
)


def select_sql(*, pg: bool) -> str:
    """The SELECT ... FROM tickets t of queue rows on one database."""
    return PG_SELECT_SQL if pg else SQLITE_SELECT_SQL


# `t.view <> 'done'` is written literally: it is the WHERE of the partial indexes, and SQLite
# uses a partial index only when the query repeats its condition (a bound value would not do).
LIVE_TERM = "t.view <> 'done'"
SORTS = ("priority", "due")
ORDER_COLS = {"priority": "(t.priority_rank, t.created_at, t.id)", "due": "(t.sla_key, t.id)"}
ORDER_KEYS = {sort: cols[1:-1] for sort, cols in ORDER_COLS.items()}
ORDER_ASC = {
    "priority": " ORDER BY t.priority_rank, t.created_at, t.id",
    "due": " ORDER BY t.sla_key, t.id",
}
ORDER_DESC = {
    "priority": " ORDER BY t.priority_rank DESC, t.created_at DESC, t.id DESC",
    "due": " ORDER BY t.sla_key DESC, t.id DESC",
}


def order_by(filt: QueueFilter, *, desc: bool = False, by_id: bool = False) -> str:
    """The ORDER BY of a filter's pages (descending: the rows before an anchor).

    "Mine" in breaches-first order sorts a person's claims (tens of tickets, read off
    ix_tickets_live_h and its tier/category siblings) rather than walk a whole view in due
    order and skip everyone else's: `sla_key + 0` is not an index's order, on either
    database (SQLite walked ix_tickets_live_due for it: 1.6 s at a million tickets). So
    does a search whose candidates are known (`by_id`): they are read by id and sorted."""
    sql = (ORDER_DESC if desc else ORDER_ASC)[filt.sort]
    if filt.sort == "due" and (filt.mine or by_id):
        sql = sql.replace("t.sla_key", "t.sla_key + 0")
    elif by_id:
        sql = sql.replace("t.priority_rank", "t.priority_rank + 0")
    return sql


# Who has which ticket open (a few rows per running console), then every login by staff id
# (a few dozen rows: cheaper than a lookup per row), in one round trip: a staff row has no
# ticket. Both are read whole rather than with an IN list of the page's ids.
MARKS_SQL = (
    "SELECT p.ticket_id, p.staff_id, s.login FROM presence p JOIN staff s ON s.id = p.staff_id"
    " WHERE p.ticket_id IS NOT NULL AND p.state <> 'off' AND p.seen_at >= ?"
    " UNION ALL SELECT NULL, id, login FROM staff"
)


def where_clause(
    filt: QueueFilter,
    staff_id: int | None,
    *,
    ilike: bool = False,
    ids: Sequence[int] | None = None,
    words: bool = True,
) -> tuple[str, list[Any]]:
    """The WHERE of a filter and its parameters (shared by page, count and EXPLAIN).

    `ids`: the search's candidates from the word index (`search_ids`), when it gave them:
    the rows are then looked up by id and sorted (a few thousand at most) instead of
    walking the view in queue order until a page of them matches. Without them, a SQLite
    search of 3 characters or more (`words`) still walks, but tests each index entry's id
    against the word table's matches before reading its row (`+t.id IN (...)`: a filter,
    never the driving loop), which halved the walk of a common text at a million tickets."""
    if filt.mine and filt.unclaimed:
        raise UsageError("--mine and --unclaimed exclude each other")
    if filt.sort not in SORTS:
        raise UsageError(f"unknown sort {filt.sort!r} (one of: {', '.join(SORTS)})")
    if filt.view is View.DONE:
        raise UsageError("the queue shows live tickets only (queue, held, waiting, scheduled)")
    # SQLite: `+t.view` keeps it from walking a queue index when the ids are known
    terms = ["+t.view = ?" if ids is not None and not ilike else "t.view = ?", LIVE_TERM]
    params: list[Any] = [filt.view.value]
    if filt.tier is not None:
        terms.append("t.tier = ?")
        params.append(filt.tier)
    if filt.category:
        terms.append("t.category = ?")
        params.append(filt.category)
    if filt.mine:
        terms.append("t.holder_id = ?")
        params.append(staff_id)
    if filt.unclaimed:
        terms.append("t.holder_id IS NULL")
    if filt.search:
        text = limits.check(filt.search, limits.SEARCH, what="search").strip()
        number = text.lstrip("#")
        if number.isascii() and number.isdigit():
            if limits.fits_id(int(number)):
                terms.append("t.id = ?")  # a number finds that ticket
                params.append(int(number))
            else:
                terms.append("1 = 0")  # beyond every ticket id: finds nothing
        else:
            if ids is not None:
                terms.append(_ids_term(ids, params, pg=ilike))
            elif words and not ilike and len(text) >= 3:
                terms.append(f"+t.id IN ({WORDS_SQL})")
                params.append(" ".join(_trigrams(text)))
            terms.append(_like_term(text, params, LOWERED if ilike else PLAIN))
    return " WHERE " + " AND ".join(terms), params


# The search's test: (subject, account id, operator and pattern). % _ and \ are searched
# for, not obeyed: escaped with \, given as the escape on SQLite (which took a lone \ as a
# letter; "%" found every ticket) and PostgreSQL's default. SQLite's LIKE ignores ASCII case
# already. PostgreSQL's `x ILIKE p` is `lower(x) LIKE lower(p)`, which the page tests on
# the lowered copies of a live ticket's subject and account id (migration 0022: stored and
# INCLUDEd in every queue-order index, so that a walk reads no table row; 0.24 µs a row
# against ILIKE's 0.77). `lower(?)` is folded into a constant in a custom plan, whose
# estimate then keeps the walk serial (the pattern hidden in an InitPlan, the planner
# expected a walk of the whole view and started two workers for it: 15 ms). A generic plan
# lowers it on every row (about twice the walk's time). The trigram index answers the ILIKE
# of the raw columns (`candidates_sql`).
PLAIN = ("t.subject", "t.account_id", "LIKE ? ESCAPE '\\'")
LOWERED = ("t.subject_lc", "t.account_lc", "LIKE lower(?)")
TRIGRAMS = ("t.subject", "t.account_id", "ILIKE ? ESCAPE '\\'")


def _like_term(text: str, params: list[Any], how: tuple[str, str, str]) -> str:
    """The subject or the account id contains `text`, ignoring case."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params += [f"%{escaped}%"] * 2
    subject, account, test = how
    return f"({subject} {test} OR {account} {test})"


def _ids_term(ids: Sequence[int], params: list[Any], *, pg: bool) -> str:
    if not ids:
        return "1 = 0"
    if pg:
        params.append(list(ids))
        return "t.id = ANY(?)"
    params += ids
    return f"t.id IN ({', '.join('?' * len(ids))})"


def search_text(filt: QueueFilter) -> str | None:
    """The text a filter searches for as a substring (None: no search, or a #number)."""
    if not filt.search:
        return None
    text = limits.check(filt.search, limits.SEARCH, what="search").strip()
    number = text.lstrip("#")
    if not text or (number.isascii() and number.isdigit()):
        return None
    return text


def _trigrams(text: str) -> list[str]:
    """The FTS5 query for tickets whose indexed text holds every trigram of `text`, each a
    quoted string (so that quotes, `*`, NEAR, AND and OR are letters): a superset of the
    substring's matches, which the LIKE of the WHERE then narrows."""
    grams = dict.fromkeys(text[i : i + 3] for i in range(len(text) - 2))
    return ['"' + g.replace('"', '""') + '"' for g in grams]


def search_ids(desk: Desk, filt: QueueFilter) -> list[int] | None:
    """The live tickets that may match the filter's search, from the word index (migration
    0013), when there are at most SEARCH_CANDIDATES of them; None when the search is not a
    substring, is too short for trigrams, or is common enough that walking the view in queue
    order finds a page of matches sooner than sorting every candidate.

    SQLite asks the FTS5 table `ticket_words` (a superset: every trigram of the text);
    PostgreSQL asks the same ILIKE as the page, which its pg_trgm GIN index answers."""
    text = search_text(filt)
    if text is None or len(text) < 3:
        return None
    pg = not desk.store.is_sqlite
    sql, params = candidates_sql(text, pg=pg)
    if pg and estimated_matches(desk, sql, params) >= COMMON_ESTIMATE:
        return None  # common: the walk finds a page at once (GIN would read every match)
    rows = desk.store.query(sql, params)
    if len(rows) > SEARCH_CANDIDATES:
        return None
    return sorted(int(r[0]) for r in rows)


def estimated_matches(desk: Desk, sql: str, params: list[Any]) -> float:
    """How many rows PostgreSQL expects the candidates' scan to match, before its LIMIT
    (planned for these values: never prepared), asked again after ESTIMATE_TTL_S."""
    store = desk.store
    key = (sql, tuple(params))
    now = time.monotonic()
    with _estimates_lock:
        kept = _estimates.setdefault(store, {})
        hit = kept.get(key)
    if hit is not None and now - hit[1] < ESTIMATE_TTL_S:
        return hit[0]
    rows = store.query("EXPLAIN (FORMAT JSON) " + sql, params, prepare=False)
    plan = rows[0][0]
    if isinstance(plan, str):
        import json

        plan = json.loads(plan)
    top = plan[0]["Plan"]
    while top.get("Node Type") == "Limit" and top.get("Plans"):
        top = top["Plans"][0]
    estimate = float(top.get("Plan Rows", 0))
    with _estimates_lock:
        kept.pop(key, None)
        kept[key] = (estimate, now)
        while len(kept) > ESTIMATES_KEPT:
            del kept[next(iter(kept))]
    return estimate


# (statement, parameters) -> (estimate, when asked), per store (ESTIMATE_TTL_S); the console
# reads pages in worker threads
_estimates: weakref.WeakKeyDictionary[Any, dict[tuple[str, tuple[Any, ...]], tuple[float, float]]]
_estimates = weakref.WeakKeyDictionary()
_estimates_lock = threading.Lock()


def candidates_sql(text: str, *, pg: bool) -> tuple[str, list[Any]]:
    """The statement of `search_ids`: up to SEARCH_CANDIDATES + 1 ids."""
    params: list[Any] = []
    if pg:
        sql = f"SELECT t.id FROM tickets t WHERE {LIVE_TERM} AND "
        sql += _like_term(text, params, TRIGRAMS) + " LIMIT ?"
    else:
        sql = WORDS_SQL + " LIMIT ?"
        params.append(" ".join(_trigrams(text)))
    return sql, [*params, SEARCH_CANDIDATES + 1]


def first_page_sql(
    filt: QueueFilter,
    staff_id: int | None,
    limit: int,
    *,
    ids: Sequence[int] | None = None,
    ilike: bool = False,
    pg: bool = False,
) -> tuple[str, list[Any]]:
    where, params = where_clause(filt, staff_id, ids=ids, ilike=ilike)
    return page_sql(filt, where, pg=pg and ilike, ids=ids), [*params, limit]


def page_sql(
    filt: QueueFilter, where: str, *, pg: bool, ids: Sequence[int] | None, desc: bool = False
) -> str:
    """A page's statement for its WHERE (keyset anchor included); one parameter more, the
    LIMIT. On PostgreSQL a search that walks the view (a common text) picks the page's ids
    in an Index Only Scan of the view's queue-order index, which holds the lowered texts it
    tests (migration 0022), and then reads those rows by primary key, in that order: the
    walk reads ~10,000 index entries for "mail" under a tier, and their table rows
    (2.5 µs each) were most of the page's time."""
    order = order_by(filt, desc=desc, by_id=ids is not None)
    if pg and ids is None and search_text(filt) is not None:
        inner = f"SELECT {ORDER_KEYS[filt.sort]} FROM tickets t{where}{order} LIMIT ?"
        outer = (ORDER_DESC if desc else ORDER_ASC)[filt.sort].replace("t.", "w.")
        return f"{select_sql(pg=True)} JOIN ({inner}) AS w ON t.id = w.id{outer}"
    return select_sql(pg=pg) + where + order + " LIMIT ?"


def page(
    desk: Desk,
    filt: QueueFilter,
    *,
    after: QueueKey | None = None,
    start_at: QueueKey | None = None,
    before: QueueKey | None = None,
    limit: int = 200,
    with_total: bool = False,
) -> QueuePage:
    """One window of the queue: from the top, from a row (inclusive), after or before a row."""
    if not 1 <= limit <= MAX_PAGE:
        raise UsageError(f"--limit must be between 1 and {MAX_PAGE}")
    store = desk.store
    staff_id = desk.actor.staff_id
    ids = search_ids(desk, filt)
    pg = not store.is_sqlite
    where, params = where_clause(filt, staff_id, ilike=pg, ids=ids)
    anchor = before or after or start_at
    if anchor is not None:
        op = "<" if before is not None else (">" if after is not None else ">=")
        where += f" AND {ORDER_COLS[filt.sort]} {op} {_anchor(desk, filt, anchor, params)}"
    sql = page_sql(filt, where, pg=pg, ids=ids, desc=before is not None)
    raw = store.query(sql, [*params, limit + 1])
    more = len(raw) > limit
    raw = raw[:limit]
    if before is not None:
        raw.reverse()
    rows = _rows(desk, raw, me=staff_id)
    total = count(desk, filt, ids=ids) if with_total else None
    if before is not None:
        more_before, more_after = more, True
    else:
        more_after = more
        more_before = (
            anchor is not None and bool(rows) and _exists_before(desk, filt, rows[0].key, ids)
        )
    return QueuePage(
        tuple(rows), has_more_after=more_after, has_more_before=more_before, total=total
    )


_UNSET: Any = object()


def count(desk: Desk, filt: QueueFilter, *, ids: Sequence[int] | None = _UNSET) -> int:
    """How many tickets the filter shows (at most SEARCH_COUNT_CAP while searching)."""
    store = desk.store
    if ids is _UNSET:
        ids = search_ids(desk, filt)
    where, params = where_clause(filt, desk.actor.staff_id, ilike=not store.is_sqlite, ids=ids)
    if filt.search:  # a substring search scans: stop counting at the cap
        sql = f"SELECT count(*) FROM (SELECT 1 FROM tickets t{where} LIMIT ?) AS hits"
        params.append(SEARCH_COUNT_CAP)
    else:
        sql = f"SELECT count(*) FROM tickets t{where}"
    return int(store.query(sql, params)[0][0])


def _exists_before(desk: Desk, filt: QueueFilter, key: QueueKey, ids: Sequence[int] | None) -> bool:
    store = desk.store
    where, params = where_clause(filt, desk.actor.staff_id, ilike=not store.is_sqlite, ids=ids)
    sql = f"SELECT 1 FROM tickets t{where} AND {ORDER_COLS[filt.sort]} < "
    sql += _anchor(desk, filt, key, params) + " LIMIT 1"
    return bool(store.query(sql, params))


def _anchor(desk: Desk, filt: QueueFilter, key: QueueKey, params: list[Any]) -> str:
    """The placeholders of a keyset position in the filter's order (parameters appended)."""
    if filt.sort == "due":
        params += [key.sla_key, key.id]
        return "(?, ?)"
    params += [key.priority_rank, desk.store.timestamp_param(key.created_at), key.id]
    return "(?, ?, ?)"


_STATES = {s.value: s for s in ClockState}
_NO_CLOCK = SlaClock()
_NO_CLOCKS = stored_clocks(_NO_CLOCK, _NO_CLOCK)  # frozen: one for every row without targets


def _rows(desk: Desk, raw: list[tuple[Any, ...]], me: int | None) -> list[QueueRow]:
    """Turn raw rows into QueueRows, adding who else has each ticket open.

    The open markers and the staff's logins come in one statement (MARKS_SQL).

    This is most of a page's CPU in this process (500 rows, 19 fields, two clocks each), so
    it is one loop without a call per value: every timestamp is UTC text on both databases
    (`select_sql`) read by one fromisoformat, a clock's `since` that is the ticket's arrival
    (most resolve clocks) reuses its datetime, and a row without targets shares one pair.
    """
    if not raw:
        return []
    open_sets: dict[int, set[str]] = {}
    logins: dict[int, str] = {}
    cutoff = desk.store.timestamp_param(marker_cutoff(datetime.now(UTC)))
    for tid, sid, login in desk.store.query(MARKS_SQL, (cutoff,)):
        if tid is None:
            logins[sid] = login
        elif sid != me:
            open_sets.setdefault(tid, set()).add(login)
    open_by = {tid: tuple(sorted(names)) for tid, names in open_sets.items()}
    login_of = logins.get  # None (no holder) is no key
    seen = open_by.get
    names, states, clock, pair = PRIORITY_NAMES, _STATES, stored_clock, stored_clocks
    no_clock, no_clocks, utc, iso = _NO_CLOCK, _NO_CLOCKS, UTC_OFFSET, datetime.fromisoformat
    out: list[QueueRow] = []
    add = out.append
    for (
        tid,
        rank,
        account,
        subject,
        category,
        channel,
        status,
        tier,
        created,
        speaker,
        activity,
        contact_id,
        service,
        caller,
        holder_id,
        plan,
        sla_key,
        a_state,
        a_target,
        a_used,
        a_paused_s,
        a_since,
        a_due,
        a_paused,
        b_state,
        b_target,
        b_used,
        b_paused_s,
        b_since,
        b_due,
        b_paused,
        company,
        contact,
    ) in raw:
        created_at = iso(created + utc)
        if a_state == "none":
            respond = no_clock
        else:
            respond = clock(
                states[a_state],
                a_target,
                a_used or 0,
                a_paused_s or 0,
                None
                if a_since is None
                else created_at
                if a_since == created
                else iso(a_since + utc),
                None if a_due is None else iso(a_due + utc),
                a_paused,
            )
        if b_state == "none":
            clocks = no_clocks if respond is no_clock else pair(respond, no_clock)
        else:
            clocks = pair(
                respond,
                clock(
                    states[b_state],
                    b_target,
                    b_used or 0,
                    b_paused_s or 0,
                    None
                    if b_since is None
                    else created_at
                    if b_since == created
                    else iso(b_since + utc),
                    None if b_due is None else iso(b_due + utc),
                    b_paused,
                ),
            )
        add(
            QueueRow(
                tid,
                names[rank],
                account,
                company or "",
                subject,
                category,
                channel,
                status,
                tier,
                created_at,
                login_of(holder_id),
                speaker,
                iso(activity + utc),
                contact if contact_id is not None else caller,
                service,
                seen(tid, ()),
                plan,
                sla_key,
                clocks,
            )
        )
    return out


rows_from = _rows  # for the tier boards, which read the same columns plus their own


def rows_where(desk: Desk, where: str, params: list[Any]) -> list[QueueRow]:
    """Queue rows for one WHERE (and ORDER/LIMIT) clause, as the current person sees them."""
    sql = select_sql(pg=not desk.store.is_sqlite) + where
    return rows_from(desk, desk.store.query(sql, params), desk.actor.staff_id)
