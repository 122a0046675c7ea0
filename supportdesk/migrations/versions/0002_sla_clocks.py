"""SLA clocks on tickets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:20:00

Adds the two SLA clocks (respond, resolve) to tickets, the plan they run under and the
"breaches first" sort key with its partial index. Plain ADD COLUMN (no table rebuild), so the
generated `view` column, the indexes and the triggers of 0001 stay as they are. Due times
are filled in by `supportdesk init`, which loads the SLA policy after migrating.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies as of this revision.
LIVE_SQL = "view <> 'done'"
NO_DUE_KEY = 10**12


def _clock_columns(name: str) -> list[sa.Column[Any]]:
    return [
        sa.Column(f"{name}_state", sa.String(10), nullable=False, server_default="none"),
        sa.Column(f"{name}_target_s", sa.Integer(), nullable=True),
        sa.Column(f"{name}_used_s", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(f"{name}_paused_s", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(f"{name}_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(f"{name}_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column(f"{name}_paused", sa.String(24), nullable=True),
    ]


def upgrade() -> None:
    columns: list[sa.Column[Any]] = [
        sa.Column("sla_plan", sa.String(64), nullable=True),
        sa.Column("sla_key", sa.BigInteger(), nullable=False, server_default=str(NO_DUE_KEY)),
        *_clock_columns("respond"),
        *_clock_columns("resolve"),
    ]
    for column in columns:
        op.add_column("tickets", column)
    op.create_index(
        "ix_tickets_live_due",
        "tickets",
        ["view", "sla_key", "id"],
        unique=False,
        sqlite_where=sa.text(LIVE_SQL),
        postgresql_where=sa.text(LIVE_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_live_due", table_name="tickets")
    with op.batch_alter_table("tickets") as batch_op:
        for name in ("resolve", "respond"):
            for suffix in ("paused", "due", "since", "paused_s", "used_s", "target_s", "state"):
                batch_op.drop_column(f"{name}_{suffix}")
        batch_op.drop_column("sla_key")
        batch_op.drop_column("sla_plan")
