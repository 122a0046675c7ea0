"""imported tickets

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 08:00:00

Which source row each imported ticket came from (`supportdesk import`), unique per source
format, so importing the same export twice adds nothing the second time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imported_tickets",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_imported_tickets_ticket_id_tickets"
        ),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_imported_tickets"),
        sa.UniqueConstraint("source", "ref", name="uq_imported_tickets_source_ref"),
    )


def downgrade() -> None:
    op.drop_table("imported_tickets")
