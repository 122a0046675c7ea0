"""mail received and its quarantine

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 08:00:00

Every message `supportdesk mail ingest` receives gets a row: its Message-ID (unique, so a
message delivered twice is filed once), envelope sender, size, digest, and what became of it.
Messages that cannot be filed (malformed, oversized, automatic mail with no open ticket) keep
their raw bytes there for a lead: the quarantine.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.Column("envelope_sender", sa.String(255), nullable=True),
        sa.Column("sender", sa.String(255), nullable=True),
        sa.Column("subject", sa.String(200), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(24), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_mail_messages_ticket_id_tickets"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_mail_messages"),
    )
    op.create_index("uq_mail_messages_message_id", "mail_messages", ["message_id"], unique=True)
    op.create_index("ix_mail_messages_state", "mail_messages", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_mail_messages_state", table_name="mail_messages")
    op.drop_index("uq_mail_messages_message_id", table_name="mail_messages")
    op.drop_table("mail_messages")
