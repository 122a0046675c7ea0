"""attachments

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10 12:00:00

Issue 20, items 2 and 3: the files that come with a customer's mail (and go with a reply)
are kept with the ticket event: sanitised name, declared and detected type, size, SHA-256
and the bytes themselves (one place for SQLite and PostgreSQL desks alike). Redaction clears
the bytes and sets `redacted_at`. On PostgreSQL the table NOTIFYs the desk's consoles.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("declared_type", sa.String(255), nullable=False),
        sa.Column("detected_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("inline", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_attachments_ticket_id_tickets"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["ticket_events.id"], name="fk_attachments_event_id_ticket_events"
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name="fk_attachments_outbox_id_outbox"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
    )
    op.create_index("ix_attachments_ticket", "attachments", ["ticket_id", "id"])
    op.create_index("ix_attachments_outbox", "attachments", ["outbox_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER attachments_notify AFTER INSERT OR UPDATE OR DELETE OR "
            "TRUNCATE ON attachments FOR EACH STATEMENT EXECUTE FUNCTION supportdesk_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS attachments_notify ON attachments")
    op.drop_index("ix_attachments_outbox", table_name="attachments")
    op.drop_index("ix_attachments_ticket", table_name="attachments")
    op.drop_table("attachments")
