"""Breaches first under every queue filter, and the paused clocks, read off indexes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 19:00:00

The queue's "breaches first" order (`sla_key, id`) had one index, for the unfiltered view
(ix_tickets_live_due). With a tier, a category or "mine" it walked that index through the
whole view and filtered, or sorted every matching row (measured at a million tickets on
SQLite: 1.6 s for "mine · breaches first", 0.56 s for "tier 2 · billing"). Like the priority
order's ix_tickets_live_* indexes, there are now partial indexes starting with the filters'
equality columns (tier, category, both) and ending in the order, over live tickets only.
"Mine" needs none: a person's few claims are read off ix_tickets_live_h and sorted
(core/queue.py order_by). The list is frozen here (models/tickets.py DUE_FILTER_INDEXES
builds the same names).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

LIVE = "view <> 'done'"
FILTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("t", ("tier",)),
    ("c", ("category",)),
    ("tc", ("tier", "category")),
)


PAUSED_WHERE = (
    "view <> 'queue' AND view <> 'done' AND (respond_state = 'paused' OR resolve_state = 'paused')"
)
PAUSED_LEFT = (
    "CASE WHEN respond_state = 'paused' AND respond_target_s IS NOT NULL"
    " THEN respond_target_s - respond_used_s"
    " WHEN resolve_target_s IS NOT NULL THEN resolve_target_s - resolve_used_s"
    " ELSE 999999999 END"
)
NEW_INDEXES = (*(f"ix_tickets_live_due_{suffix}" for suffix, _cols in FILTERS), "ix_tickets_paused")


def upgrade() -> None:
    for suffix, cols in FILTERS:
        op.create_index(
            f"ix_tickets_live_due_{suffix}",
            "tickets",
            ["view", *cols, "sla_key", "id"],
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )
    op.create_index(
        "ix_tickets_paused",
        "tickets",
        [sa.text(f"({PAUSED_LEFT})"), "id"],
        sqlite_where=sa.text(PAUSED_WHERE),
        postgresql_where=sa.text(PAUSED_WHERE),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ANALYZE tickets")  # the planner weighs the new indexes at once
        return
    # SQLite: statistics for the new indexes, only where the others have some (a desk that
    # was never analyzed stays so; a partial analysis, as the demo's, is quick)
    has_stats = bind.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    if has_stats:
        op.execute("PRAGMA analysis_limit=1000")
        for name in NEW_INDEXES:
            op.execute(f"ANALYZE {name}")


def downgrade() -> None:
    for name in NEW_INDEXES:
        op.drop_index(name, table_name="tickets")
