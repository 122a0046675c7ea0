"""PostgreSQL reads every queue filter's first page, the boards and "claim next" off an
index, in the plan the driver gets at first (custom) and in the one it gets once psycopg has
prepared the statement (generic: `plan_cache_mode = force_generic_plan`), where a partial
index whose WHERE depended on a bound value could not be used. And migration 0012 goes up
and down on both databases.

The plans are read with `enable_seqscan` and `enable_sort` off: then a sequential scan of
tickets or a sort in the plan means that no index can give the rows or their order, whatever
the table's size (benchmarks/explain_plans.py shows the plans and times at a million).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from supportdesk.core import queue
from supportdesk.core.desk import Desk
from supportdesk.enums import View
from supportdesk.services import escalation
from supportdesk.services.reports import sla_board
from supportdesk.store import HEAD_REVISION
from tests.helpers.desk import new_ticket
from tests.helpers.migrations import migrate
from tests.helpers.plans import explain_pg, pg_schema_desk, ticket_rows

TICKETS = 6000
DUE_INDEXES = ("ix_tickets_live_due_t", "ix_tickets_live_due_c", "ix_tickets_live_due_tc")
NEW_INDEXES = {*DUE_INDEXES, "ix_tickets_paused"}


@pytest.fixture(scope="module")
def pg_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """A desk in a fresh schema with a few thousand tickets of every view, analyzed."""
    rnd = random.Random(7)
    base = datetime(2026, 9, 1, tzinfo=UTC)

    def rows() -> Iterator[tuple[Any, ...]]:
        for row in ticket_rows(rnd, TICKETS, base, lambda ts: ts):
            ts, holder = row[9], row[11]
            yield (*row, ts, ts if holder else None, rnd.randrange(10**9))

    with pg_schema_desk(tmp_path_factory.mktemp("pgplans"), "plans_", rows(), TICKETS) as desk:
        yield desk


FILTERS = [
    queue.QueueFilter(view=v, tier=t, category=c, mine=m, unclaimed=u, sort=s)
    for v, t, c, (m, u), s in itertools.product(
        [View.QUEUE, View.HELD, View.WAITING, View.SCHEDULED],
        [None, 2],
        [None, "billing"],
        [(False, False), (True, False), (False, True)],
        queue.SORTS,
    )
]


@pytest.mark.postgres
@pytest.mark.parametrize("filt", FILTERS, ids=lambda f: f.describe().replace(" ", ""))
def test_every_queue_filter_reads_its_first_page_off_an_index(
    pg_desk: Desk, filt: queue.QueueFilter
) -> None:
    sql, params = queue.first_page_sql(filt, staff_id=1, limit=500, pg=True)
    plans = explain_pg(pg_desk, sql, tuple(params))
    for kind, plan in zip(("custom", "generic"), plans, strict=True):
        assert "Seq Scan on tickets" not in plan, (kind, plan)
        if filt.sort == "due" and filt.mine:
            # a person's few claims, found by holder (ix_tickets_live_h and its siblings, or
            # the board's index) and sorted (queue.order_by)
            assert "ix_tickets_live_" in plan or "ix_tickets_board" in plan, (kind, plan)
            continue
        assert "ix_tickets_live" in plan, (kind, plan)
        assert "Sort" not in plan, (kind, plan)
        if filt.sort == "due" and (filt.tier is not None or filt.category):
            assert any(ix in plan for ix in DUE_INDEXES), (kind, plan)


@pytest.mark.postgres
def test_board_claims_and_claim_next_read_off_their_indexes(pg_desk: Desk) -> None:
    """What the tier boards, the claims list and "claim next" run, recorded as run."""
    seen: list[tuple[str, tuple[Any, ...]]] = []
    store = pg_desk.store
    real = store.query

    def record(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        if "FROM tickets t" in sql:
            seen.append((sql, tuple(params)))
        return real(sql, params)

    store.query = record  # type: ignore[method-assign]
    try:
        for tier in (1, 2, 3):
            escalation.tier_board(pg_desk, tier)
        escalation.claims(pg_desk)
    finally:
        del store.query
    next_sql = escalation.NEXT_SQL.replace("LIMIT 1", "LIMIT 1 FOR UPDATE SKIP LOCKED")
    seen.append((next_sql, (2,)))
    assert len(seen) > 20
    for sql, params in seen:
        plans = explain_pg(pg_desk, sql, params)
        for kind, plan in zip(("custom", "generic"), plans, strict=True):
            assert "Seq Scan on tickets" not in plan, (kind, sql, plan)
            assert "ix_tickets_" in plan, (kind, sql, plan)


@pytest.mark.postgres
def test_a_search_reads_its_candidates_off_the_trigram_index(pg_desk: Desk) -> None:
    """The search's candidates come off ix_tickets_live_words (pg_trgm, migration 0013) in
    both plans, and the page looks them up by primary key and sorts them (enable_sort on:
    a sort of a few candidates is the plan wanted): never a walk of the view's queue index,
    which read every live ticket for a text that matched none."""
    for text in ("subject 12", "qzxqv"):  # (every subject here has the first's trigrams)
        sql, params = queue.candidates_sql(text, pg=True)
        plans = explain_pg(pg_desk, sql, tuple(params))
        for kind, plan in zip(("custom", "generic"), plans, strict=True):
            assert "Seq Scan on tickets" not in plan, (kind, plan)
            if text == "qzxqv":
                assert "ix_tickets_live_words" in plan, (kind, plan)
    filt = queue.QueueFilter(search="subject 12")
    ids = queue.search_ids(pg_desk, filt)
    assert ids and len(ids) < 200
    sql, params = queue.first_page_sql(filt, staff_id=1, limit=501, ids=ids, ilike=True, pg=True)
    plans = explain_pg(pg_desk, sql, tuple(params), sort=True)
    for kind, plan in zip(("custom", "generic"), plans, strict=True):
        assert "Seq Scan on tickets" not in plan, (kind, plan)
        assert "pk_tickets" in plan and "ix_tickets_live" not in plan, (kind, plan)
    page = queue.page(pg_desk, filt, limit=500)
    where, params = queue.where_clause(filt, 1, ilike=True)
    walked = pg_desk.store.query(
        "SELECT t.id FROM tickets t" + where + queue.order_by(filt) + " LIMIT 500", params
    )
    assert [r.id for r in page.rows] == [r[0] for r in walked] != []


@pytest.mark.postgres
def test_a_common_search_skips_the_trigram_index(
    pg_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text the statistics expect in more live tickets than COMMON_ESTIMATE is not read
    off the GIN index (which would read every match to find too many): the page walks the
    view, as it finds a page of a common text soon. Here every live ticket's subject holds
    "subject", so the estimate is the live tickets, and the bar is lowered below it."""
    monkeypatch.setattr(queue, "ESTIMATE_TTL_S", 0.0)  # asked every time: no estimate kept
    sql, params = queue.candidates_sql("subject", pg=True)
    estimate = queue.estimated_matches(pg_desk, sql, params)
    assert estimate > 1000
    filt = queue.QueueFilter(search="subject")
    monkeypatch.setattr(queue, "COMMON_ESTIMATE", int(estimate) + 1)
    assert queue.search_ids(pg_desk, filt) is None  # more than SEARCH_CANDIDATES: walk
    monkeypatch.setattr(queue, "COMMON_ESTIMATE", int(estimate) // 2)
    ran: list[str] = []
    real = pg_desk.store.query

    def record(sql: str, params: Any = (), **kw: Any) -> list[tuple[Any, ...]]:
        ran.append(sql)
        return real(sql, params, **kw)

    pg_desk.store.query = record  # type: ignore[method-assign]
    try:
        assert queue.search_ids(pg_desk, filt) is None
        page = queue.page(pg_desk, filt, limit=50)
    finally:
        del pg_desk.store.query
    assert sql not in ran  # only its EXPLAIN
    assert "EXPLAIN (FORMAT JSON) " + sql in ran
    where, params = queue.where_clause(filt, 1, ilike=True)
    walked = pg_desk.store.query(
        "SELECT t.id FROM tickets t" + where + queue.order_by(filt) + " LIMIT 50", params
    )
    assert [r.id for r in page.rows] == [r[0] for r in walked] != []


@pytest.mark.postgres
def test_a_searchs_estimate_is_asked_once_while_it_is_fresh(
    pg_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console reads a search's page again on every change: its estimate (an EXPLAIN)
    is asked once per ESTIMATE_TTL_S, per text; the oldest of more than ESTIMATES_KEPT texts
    is asked again; the pages are the same whether the estimate was kept or asked."""
    explains: list[tuple[Any, ...]] = []
    real = pg_desk.store.query

    def record(sql: str, params: Any = (), **kw: Any) -> list[tuple[Any, ...]]:
        if sql.startswith("EXPLAIN"):
            explains.append(tuple(params))
        return real(sql, params, **kw)

    texts = ("ubject 3", "ubject 4", "ubject 5")  # no other test here asks these
    filt = queue.QueueFilter(search=texts[0])
    pg_desk.store.query = record  # type: ignore[method-assign]
    try:
        first = queue.page(pg_desk, filt, limit=50)
        again = queue.page(pg_desk, filt, limit=50)
        assert len(explains) == 1
        monkeypatch.setattr(queue, "ESTIMATE_TTL_S", 0.0)
        late = queue.page(pg_desk, filt, limit=50)
        assert len(explains) == 2
        monkeypatch.setattr(queue, "ESTIMATE_TTL_S", 60.0)
        monkeypatch.setattr(queue, "ESTIMATES_KEPT", 2)
        for text in texts[1:]:
            queue.page(pg_desk, filt.with_(search=text), limit=50)
        assert len(explains) == 4
        queue.page(pg_desk, filt.with_(search=texts[2]), limit=50)  # kept
        assert len(explains) == 4
        queue.page(pg_desk, filt, limit=50)  # the oldest: forgotten
        assert len(explains) == 5
    finally:
        del pg_desk.store.query
    assert [r.id for r in first.rows] == [r.id for r in again.rows] == [r.id for r in late.rows]
    assert first.rows


# -- migration 0012 -----------------------------------------------------------------------------


def _new_indexes(desk: Desk) -> set[str]:
    if desk.store.is_sqlite:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE ?"
    else:
        sql = (
            "SELECT indexname FROM pg_indexes"
            " WHERE schemaname = current_schema() AND indexname LIKE ?"
        )
    found = {r[0] for r in desk.store.query(sql, ("ix_tickets_%",))}
    return found & {*NEW_INDEXES, "ix_tickets_live_due"}


def test_migration_0012_goes_down_and_up(desk: Desk) -> None:
    """Down to 0011 drops the new indexes, up again makes them; the queue and the lead's
    board read the same."""
    tid = new_ticket(desk, "Mail bounces")
    due_page = queue.QueueFilter(tier=1, category="technical", sort="due")
    assert _new_indexes(desk) == {"ix_tickets_live_due", *NEW_INDEXES}
    migrate(desk, "0011", down=True)
    assert desk.store.schema_revision() == "0011"
    assert _new_indexes(desk) == {"ix_tickets_live_due"}
    # the page's statement as it was at 0011: the names by subquery (the names on the
    # ticket row are PostgreSQL's from 0021)
    sql, params = queue.first_page_sql(due_page, desk.actor.staff_id, 10, pg=False)
    assert [r[0] for r in desk.store.query(sql, params)] == [tid]
    migrate(desk, "head")
    assert desk.store.schema_revision() == HEAD_REVISION
    assert _new_indexes(desk) == {"ix_tickets_live_due", *NEW_INDEXES}
    assert [r.id for r in queue.page(desk, due_page, limit=10).rows] == [tid]
    sla_board.snapshot(desk)  # reads the paused clocks with the index's own words


def test_paused_clocks_are_read_with_the_index_words() -> None:
    """The lead's board repeats ix_tickets_paused's WHERE and expression word for word (with
    the table's alias): SQLite uses an expression index only for the same expression."""
    from supportdesk.models import tickets as model

    def bare(sql: str) -> str:
        return sql.replace("t.", "")

    assert bare(sla_board.PAUSED_WHERE) == model.PAUSED_WHERE
    assert bare(sla_board.PAUSED_LEFT) == model.PAUSED_LEFT


def test_paused_clocks_read_off_their_index_on_both_databases(desk: Desk) -> None:
    sql = (
        f"SELECT t.id FROM tickets t WHERE {sla_board.PAUSED_WHERE}"
        f" ORDER BY {sla_board.PAUSED_LEFT}, t.id LIMIT ?"
    )
    if desk.store.is_sqlite:
        plan = " | ".join(str(r[-1]) for r in desk.store.query("EXPLAIN QUERY PLAN " + sql, [20]))
        assert "ix_tickets_paused" in plan and "TEMP B-TREE" not in plan, plan
        return
    for kind, plan in zip(("custom", "generic"), explain_pg(desk, sql, (20,)), strict=True):
        assert "ix_tickets_paused" in plan and "Sort" not in plan, (kind, plan)
