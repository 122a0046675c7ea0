"""Migration 0005 on its own: its frozen backfill (no service code) turns recorded tier
events into escalation rows, on SQLite and PostgreSQL, and the upgrade goes back down.

tests/services/test_escalation.py checks a whole `init` upgrade through the services; this
checks the rows the migration itself writes, including the parts that test does not reach:
a reason with what was tried, a solved ticket's ended escalation, a ticket never claimed.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import supportdesk
from supportdesk.store import Store

MIGRATIONS = Path(supportdesk.__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _ts(store: Store, hhmm: str) -> str:
    return f"'2026-11-23 {hhmm}:00'" if store.is_sqlite else f"'2026-11-23T{hhmm}:00Z'"


def test_0005_backfills_escalations_from_tier_events(db_url: str) -> None:
    store = Store(db_url)
    cfg = _config()
    t0, t1, t2, t3 = (_ts(store, x) for x in ("09:00", "09:30", "09:50", "11:00"))
    try:
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0004")
            sql = conn.exec_driver_sql
            sql(
                "INSERT INTO accounts (id, company, plan, status, notes, created_at)"
                f" VALUES ('old', 'Old Co', 'standard', 'active', '', {t0})"
            )
            sql(
                "INSERT INTO staff (id, login, name, tier, role, active, created_at) VALUES"
                f" (11, 'amir', 'Amir', 1, 'agent', true, {t0}),"
                f" (12, 'tomas', 'Tomas', 2, 'engineer', true, {t0})"
            )
            # 1: tier 1, never escalated; 2: tier 3 with what was tried, solved; 3: tier 2
            # with no tier event at all (the escalation then dates from the ticket), open
            for tid, tier, status, resolved in (
                (1, 1, "open", "NULL"),
                (2, 3, "resolved", t3),
                (3, 2, "open", "NULL"),
            ):
                sql(
                    "INSERT INTO tickets (id, account_id, request_type, subject, description,"
                    " category, priority_rank, channel, status, tier, created_at, updated_at,"
                    " last_speaker, last_activity_at, resolved_at) VALUES"
                    f" ({tid}, 'old', 'technical', 's', '', 'technical', 1, 'email',"
                    f" '{status}', {tier}, {t0}, {t0}, 'staff', {t2}, {resolved})"
                )
            sql(
                "INSERT INTO ticket_events (ticket_id, kind, staff_id, from_customer, visible,"
                " body, old_value, new_value, created_at) VALUES"
                f" (2, 'tier', 11, false, false, 'disk full' || char_nl || 'Tried: restart',"
                f" '1', '3', {t1}),"
                f" (2, 'reply', 11, false, true, 'the escalator again', NULL, NULL, {t1}),"
                f" (2, 'reply', 12, false, true, 'on it', NULL, NULL, {t2})".replace(
                    "char_nl", "char(10)" if store.is_sqlite else "chr(10)"
                )
            )
            command.upgrade(cfg, "0005")
            rows = sql(
                "SELECT ticket_id, from_tier, to_tier, reason, tried, by_id, claimed_by_id,"
                " ended_how, ended_at IS NOT NULL, claimed_at IS NOT NULL"
                " FROM escalations ORDER BY ticket_id"
            ).all()
            tickets = sql(
                "SELECT id, escalation_id, escalations, tier_since IS NOT NULL FROM tickets"
                " ORDER BY id"
            ).all()
        assert [tuple(r) for r in rows] == [
            (2, 1, 3, "disk full", "restart", 11, 12, "solved", True, True),
            (3, 1, 2, "escalated", "", None, None, None, False, False),
        ]
        # escalations are numbered like their tickets; only live tickets get a tier time
        assert [tuple(t) for t in tickets] == [
            (1, None, 0, True),
            (2, 2, 1, False),
            (3, 3, 1, True),
        ]

        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
            names = set(store.engine.dialect.get_table_names(conn))
        assert "escalations" not in names and "tickets" in names
    finally:
        store.dispose()
