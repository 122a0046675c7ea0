"""the request type a ticket's words suggest

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 12:00:00

Issue 19: every ticket keeps the request type its subject and first message suggest
(`suggested_type`) and the keywords they matched (`suggested_words`, a JSON array), beside
the type a person chose (`request_type`, default technical). A suggestion is shown, never
applied. Tickets opened before this revision have none (NULL): nothing is guessed for them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable columns: ADD COLUMN on both databases, no table rebuild (and no trigger fires)
    op.add_column("tickets", sa.Column("suggested_type", sa.String(32), nullable=True))
    op.add_column("tickets", sa.Column("suggested_words", sa.String(600), nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN: a batch rebuild of `tickets` would copy into its generated `view`
    for column in ("suggested_words", "suggested_type"):
        op.execute(f"ALTER TABLE tickets DROP COLUMN {column}")
