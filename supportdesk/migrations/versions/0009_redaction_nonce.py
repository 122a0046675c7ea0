"""redaction nonces

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-08 08:00:00

Every stored text from outside gets a random nonce in its own row (a thread entry's body;
a ticket's subject and description), and the audit keeps HMAC-SHA256(nonce, text) of it
(digest form 2, "hmac-sha256:") instead of an unsalted SHA-256 (form 1, "sha256:") or the
subject in clear. Redaction deletes the text and its nonce, so the digest left in the audit
can no longer be checked against a guess. Rows written before this revision have no nonce
and keep their audit rows exactly as they were: the audit is chained and append-only, so
their unsalted digests (and clear subjects) stay, and redaction says so.

Downgrading drops the nonces: every form-2 digest then becomes unverifiable, as if redacted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # nullable columns: ADD COLUMN on both databases, no table rebuild (and no trigger fires)
    op.add_column("ticket_events", sa.Column("nonce", sa.LargeBinary(16), nullable=True))
    op.add_column("tickets", sa.Column("subject_nonce", sa.LargeBinary(16), nullable=True))
    op.add_column("tickets", sa.Column("description_nonce", sa.LargeBinary(16), nullable=True))
    op.add_column("tickets", sa.Column("subject_redacted_at", TS, nullable=True))
    op.add_column("tickets", sa.Column("description_redacted_at", TS, nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch rebuild of `tickets` would
    # copy into its generated column `view`, which SQLite refuses.
    for table, column in (
        ("tickets", "description_redacted_at"),
        ("tickets", "subject_redacted_at"),
        ("tickets", "description_nonce"),
        ("tickets", "subject_nonce"),
        ("ticket_events", "nonce"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
