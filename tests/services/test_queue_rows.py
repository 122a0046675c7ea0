"""A queue page's rows are exactly what the plain conversion made of them before it was made
cheaper (tests/helpers/queue_rows.py: timestamptz columns, parse_utc, the dataclasses' own
constructors), on every row of a demo's pages under many filters, on SQLite and on
PostgreSQL through both of its readers (pgread's libpq and psycopg)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from supportdesk import demo, pgread
from supportdesk.core import queue
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.core.queue import QueueFilter
from supportdesk.core.views import QueueRow
from supportdesk.enums import View
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store
from tests.helpers.queue_rows import reference_rows, reference_sql

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
FILTERS = [
    QueueFilter(view, tier, None, mine, unclaimed, None, sort)
    for view in (View.QUEUE, View.HELD, View.WAITING, View.SCHEDULED)
    for tier in (None, 2)
    for mine, unclaimed in ((False, False), (True, False), (False, True))
    for sort in ("priority", "due")
] + [QueueFilter(search="mail"), QueueFilter(View.WAITING, search="server", sort="due")]


@pytest.fixture
def built_demo(db_url: str, tmp_path: Path) -> Iterator[Desk]:
    store = Store(db_url)
    try:
        desk = Desk(store, "lena", clock=Clock(NOW), audit_key_path=tmp_path / "k.key")
        init_database(desk, admin="lena")
        demo.build_demo(desk, tickets=2500, seed=7)
        yield Desk(store, "tomas", clock=Clock(NOW), audit_key_path=tmp_path / "k.key")
    finally:
        store.dispose()


def _reference_page(desk: Desk, filt: QueueFilter) -> list[QueueRow]:
    ids = queue.search_ids(desk, filt)
    where, params = queue.where_clause(
        filt, desk.actor.staff_id, ilike=not desk.store.is_sqlite, ids=ids
    )
    sql = reference_sql(desk) + where + queue.order_by(filt, by_id=ids is not None) + " LIMIT ?"
    return reference_rows(desk, desk.store.query(sql, [*params, 500]))


def _compare(desk: Desk) -> int:
    compared = 0
    for filt in FILTERS:
        rows = list(queue.page(desk, filt, limit=500).rows)
        assert rows == _reference_page(desk, filt), filt
        for row in rows:
            clocks = row.clocks
            assert clocks is not None
            stamps = [row.created_at, row.last_activity_at]
            for clock in (clocks.respond, clocks.resolve):
                stamps += [s for s in (clock.since, clock.due) if s is not None]
            assert all(s.tzinfo is UTC for s in stamps), row
        compared += len(rows)
    return compared


def test_rows_are_what_the_plain_conversion_made(built_demo: Desk) -> None:
    desk = built_demo
    if desk.store.is_sqlite:
        assert _compare(desk) > 2000
        return
    once_loaded = pgread.PSYCOPG_ONCE_LOADED
    try:
        for on_psycopg in (False, True):  # this process imported psycopg: choose the reader
            pgread.PSYCOPG_ONCE_LOADED = on_psycopg
            desk.store.dispose()
            assert _compare(desk) > 2000
            reader = desk.store._take_raw(reader=True)
            try:
                # libpq's link is still open unless the reads moved to psycopg (the
                # searches' id lists go to psycopg either way)
                assert (reader._pg is None) is on_psycopg
            finally:
                desk.store._give_back(reader, True, reader=True)
    finally:
        pgread.PSYCOPG_ONCE_LOADED = once_loaded
