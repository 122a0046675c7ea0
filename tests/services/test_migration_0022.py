"""Migration 0022 on its own: on PostgreSQL the lowered subject and account id of every live
ticket (NULL once done, kept by the database through every change), the queue-order indexes
INCLUDing them and the filters' statistics, all gone again on the way down; nothing on
SQLite. A common-text search finds the same tickets at both ends."""

from __future__ import annotations

import pytest

from supportdesk.core import queue
from supportdesk.core.desk import Desk
from supportdesk.store import HEAD_REVISION
from tests.helpers.desk import Fx, new_ticket
from tests.helpers.migrations import migrate

QUEUE_INDEXES = (
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    " AND tablename = 'tickets' AND starts_with(indexname, 'ix_tickets_live')"
    " AND indexname <> 'ix_tickets_live_words' ORDER BY indexname"
)
LOWERED_COLUMNS = (
    "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema()"
    " AND table_name = 'tickets' AND column_name IN ('subject_lc', 'account_lc')"
)
STATISTICS = "SELECT count(*) FROM pg_statistic_ext WHERE stxname = 'st_tickets_filters'"
VACUUM_AT = (
    "SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class"
    " WHERE oid = 'tickets'::regclass"
)


def _sql(desk: Desk, sql: str) -> None:
    with desk.store.engine.begin() as conn:
        conn.exec_driver_sql(sql)


def _found(desk: Desk, text: str) -> list[int]:
    return [r.id for r in queue.page(desk, queue.QueueFilter(search=text), limit=50).rows]


def test_0022_lowers_live_subjects_into_the_queue_indexes_and_goes_down_again(
    fx: Fx, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue, "COMMON_ESTIMATE", 0)  # every search walks the view
    desk = fx.desk
    pg = not desk.store.is_sqlite
    mail = new_ticket(desk, "Mail BOUNCES for ünïcode")
    done = new_ticket(desk, "Mail that was solved")
    other = new_ticket(desk, "Disk full")
    _sql(desk, f"UPDATE tickets SET status = 'closed' WHERE id = {int(done)}")
    assert _found(desk, "bounces") == [mail] and _found(desk, "mail") == [mail]
    if pg:
        indexes = desk.store.query(QUEUE_INDEXES)
        assert len(indexes) == 12
        assert all("INCLUDE (subject_lc, account_lc)" in d for _n, d in indexes), indexes
        assert desk.store.query(STATISTICS) == [(1,)]
        assert desk.store.query(VACUUM_AT) == [("autovacuum_vacuum_scale_factor=0.01",)]
        lowered = "SELECT id, subject_lc, account_lc FROM tickets WHERE id IN (?, ?, ?) ORDER BY id"
        rows = desk.store.query(lowered, (mail, done, other))
        assert [tuple(r) for r in rows] == [
            (mail, "mail bounces for ünïcode", "bluefin"),
            (done, None, None),  # done: no queue reads it
            (other, "disk full", "bluefin"),
        ]
        # the database keeps them: a new subject, a ticket done and one live again
        _sql(desk, f"UPDATE tickets SET subject = 'Disk FULL again' WHERE id = {int(other)}")
        _sql(desk, f"UPDATE tickets SET status = 'open' WHERE id = {int(done)}")
        _sql(desk, f"UPDATE tickets SET status = 'resolved' WHERE id = {int(mail)}")
        rows = desk.store.query(lowered, (mail, done, other))
        assert [r[1] for r in rows] == [None, "mail that was solved", "disk full again"]
    else:
        _sql(desk, f"UPDATE tickets SET status = 'open' WHERE id = {int(done)}")
        _sql(desk, f"UPDATE tickets SET status = 'resolved' WHERE id = {int(mail)}")
    assert _found(desk, "MAIL") == [done]
    migrate(desk, "0021", down=True)
    assert desk.store.schema_revision() == "0021"
    if pg:
        assert desk.store.query(LOWERED_COLUMNS) == [(0,)]
        assert desk.store.query(STATISTICS) == [(0,)]
        assert desk.store.query(VACUUM_AT) == [("",)]
        indexes = desk.store.query(QUEUE_INDEXES)
        assert len(indexes) == 12 and not any("INCLUDE" in d for _n, d in indexes)
    _sql(desk, f"UPDATE tickets SET status = 'open' WHERE id = {int(mail)}")  # at 0021
    migrate(desk, "head")
    assert desk.store.schema_revision() == HEAD_REVISION
    if pg:
        assert desk.store.query(LOWERED_COLUMNS) == [(2,)]
        assert desk.store.query(STATISTICS) == [(1,)]
    assert _found(desk, "mail") == sorted([mail, done])  # backfilled on the way up
