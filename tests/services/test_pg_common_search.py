"""A common-text search on PostgreSQL (one that walks the view in queue order, migration
0022) shows exactly what a plain walk would: every row, every page forwards and backwards,
its count and its "more before", for texts that LIKE would obey (% _ \\), quotes and markup;
and it reads the view's queue-order index alone (an Index Only Scan), then rows by id.

The desk is a few thousand tickets in a schema of its own; COMMON_ESTIMATE is lowered to 0
so that every search of three characters or more counts as common (shorter ones always walk).
The expected rows come from Python: every live ticket of the view, in the queue's order, whose
subject or account id holds the text ignoring case (ASCII texts: Python's lower is
PostgreSQL's there).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from supportdesk.core import queue
from supportdesk.core.desk import Desk
from supportdesk.core.views import QueueKey
from supportdesk.enums import View
from tests.helpers.plans import explain_pg, pg_schema_desk, ticket_rows

TICKETS = 3000
# pieces of subjects: one in two subjects gets one of them (the rest: "subject N")
PIECES = (
    "Mail bounces",
    "e-MAIL quota",
    "100% off",
    "50%_discount",
    "under_score",
    "back\\slash",
    "it's down",
    'say "hi"',
    "[b]bold[/b]",
    "[link=http://x]click[/link]",
    "\\%_ all three",
    "mailbox full",
)
TEXTS = ("mail", "MAIL", "%", "_", "\\", "'", '"', "[b]", "[/", "0%_d", "r_s", "k\\s", "\\%_")
TEXTS += ("cct1", "it's", "%o")  # an account id; "%o" is a percent, then an o: in no piece
FILTERS = (
    queue.QueueFilter(View.QUEUE),
    queue.QueueFilter(View.QUEUE, tier=1, sort="due"),
    queue.QueueFilter(View.QUEUE, category="billing", unclaimed=True),
    queue.QueueFilter(View.HELD, mine=True, sort="due"),
    queue.QueueFilter(View.WAITING, tier=1, category="technical"),
)
PAGE = 40
ONLY_THE_INDEX = re.compile(r"Index Only Scan (Backward )?using ix_tickets_live")


@pytest.fixture(scope="module")
def common_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """A desk in a fresh schema: the tickets of tests/helpers/plans.py with hostile
    subjects, vacuumed (the visibility map an Index Only Scan needs) and analyzed."""
    rnd = random.Random(11)
    base = datetime(2026, 9, 1, tzinfo=UTC)

    def rows() -> Iterator[tuple[Any, ...]]:
        for row in ticket_rows(rnd, TICKETS, base, lambda ts: ts):
            subject = row[2]
            if rnd.random() < 0.5:
                subject = f"{subject} {rnd.choice(PIECES)}"
            ts, holder = row[9], row[11]
            sla_key = rnd.randrange(50)  # ties: the id decides
            yield (*row[:2], subject, *row[3:], ts, ts if holder else None, sla_key)

    tmp = tmp_path_factory.mktemp("pgcommon")
    with pg_schema_desk(tmp, "common_", rows(), TICKETS, vacuum=True) as desk:
        yield desk


def _expected(desk: Desk, filt: queue.QueueFilter, text: str) -> list[int]:
    """The filter's tickets without its search, in its order (the plain walk), kept where
    the subject or the account id holds `text` ignoring case."""
    where, params = queue.where_clause(filt.with_(search=None), desk.actor.staff_id, ilike=True)
    sql = "SELECT t.id, t.subject, t.account_id FROM tickets t" + where + queue.order_by(filt)
    needle = text.lower()
    return [
        tid
        for tid, subject, account in desk.store.query(sql, params)
        if needle in subject.lower() or needle in account.lower()
    ]


def _forwards(desk: Desk, filt: queue.QueueFilter) -> tuple[list[int], QueueKey | None]:
    ids: list[int] = []
    page = queue.page(desk, filt, limit=PAGE)
    assert not page.has_more_before
    while True:
        ids += [r.id for r in page.rows]
        if not page.has_more_after:
            return ids, (page.rows[-1].key if page.rows else None)
        page = queue.page(desk, filt, after=page.rows[-1].key, limit=PAGE)
        assert page.has_more_before and page.rows


def _backwards(desk: Desk, filt: queue.QueueFilter, last: QueueKey) -> list[int]:
    page = queue.page(desk, filt, start_at=last, limit=PAGE)
    ids = [r.id for r in page.rows]
    assert not page.has_more_after
    while page.has_more_before:
        page = queue.page(desk, filt, before=page.rows[0].key, limit=PAGE)
        assert page.has_more_after and page.rows
        ids = [r.id for r in page.rows] + ids
    return ids


@pytest.mark.postgres
@pytest.mark.parametrize("text", TEXTS)
def test_a_common_search_pages_exactly_as_a_plain_walk(
    common_desk: Desk, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "COMMON_ESTIMATE", 0)  # every search walks the view
    found = 0
    for base in FILTERS:
        filt = base.with_(search=text)
        assert queue.search_ids(common_desk, filt) is None
        expected = _expected(common_desk, filt, text)
        found += len(expected)
        ids, last = _forwards(common_desk, filt)
        assert ids == expected, filt.describe()
        assert queue.count(common_desk, filt) == len(expected)
        if last is None:
            continue
        assert _backwards(common_desk, filt, last) == expected, filt.describe()
        middle = common_desk.store.query(  # from a row in the middle, inclusive
            "SELECT priority_rank, created_at, sla_key FROM tickets WHERE id = ?",
            (expected[len(expected) // 2],),
        )[0]
        key = QueueKey(middle[0], middle[1], expected[len(expected) // 2], middle[2])
        page = queue.page(common_desk, filt, start_at=key, limit=PAGE)
        half = expected[len(expected) // 2 :]
        assert [r.id for r in page.rows] == half[:PAGE]
        assert page.has_more_before == (len(expected) > 1)
        assert page.has_more_after == (len(half) > PAGE)
    if text != "%o":
        assert found > PAGE  # the texts are found, on more than one page
    else:
        assert found == 0  # % is a letter: no subject holds "%o"


@pytest.mark.postgres
def test_a_common_search_reads_the_queue_index_alone_then_rows_by_id(
    common_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every statement of a common search's pages, count and "more before" (as run, recorded)
    reads tickets through an index in both plans (custom, and generic as psycopg's prepared
    statements get); those that test the text test it in an Index Only Scan of a queue-order
    index, and the page reads its rows by primary key."""
    monkeypatch.setattr(queue, "COMMON_ESTIMATE", 0)
    seen: list[tuple[queue.QueueFilter, str, tuple[Any, ...]]] = []
    store = common_desk.store
    real = store.query
    filt = FILTERS[0]

    def record(sql: str, params: Any = (), **kw: Any) -> list[tuple[Any, ...]]:
        if "FROM tickets t" in sql and not sql.startswith("EXPLAIN"):
            seen.append((filt, sql, tuple(params)))
        return real(sql, params, **kw)

    store.query = record  # type: ignore[method-assign]
    try:
        for base in FILTERS:
            filt = base.with_(search="mail")
            first = queue.page(common_desk, filt, limit=PAGE, with_total=True)
            assert first.rows
            after = queue.page(common_desk, filt, after=first.rows[-1].key, limit=PAGE)
            if after.rows:
                queue.page(common_desk, filt, before=after.rows[0].key, limit=PAGE)
    finally:
        del store.query
    walks = [s for s in seen if "subject_lc" in s[1]]
    assert len(walks) >= len(FILTERS) * 3  # pages, counts, "more before"
    for filt, sql, params in walks:
        plans = explain_pg(common_desk, sql, params, sort=True)
        for kind, plan in zip(("custom", "generic"), plans, strict=True):
            assert "Seq Scan on tickets" not in plan, (kind, sql, plan)
            if filt.mine and filt.sort == "due":  # a person's few claims, sorted (order_by)
                assert "ix_tickets_live_h" in plan or "ix_tickets_board" in plan, (kind, plan)
                continue
            assert ONLY_THE_INDEX.search(plan), (kind, sql, plan)
            if "JOIN (" in sql:
                assert "pk_tickets" in plan, (kind, sql, plan)
