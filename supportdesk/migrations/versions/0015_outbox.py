"""the outbox: what the desk sends, and the mail transport's alarms

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 01:00:00

Every customer-visible message (a reply, an acknowledgement, a confirmation request, an
incident update, a maintenance notice) is a row of `outbox`, written in the same transaction
as what causes it; `supportdesk mail send` delivers the due ones by lease. `mail_alarms`
records a fault of the transport itself (every message deferred) for the lead's board.
On PostgreSQL both tables NOTIFY the desk's consoles like every other table (a thread shows
each message's delivery state as it changes).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

WATCHED = ("outbox", "mail_alarms")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("to_addr", sa.String(255), nullable=False),
        sa.Column("from_addr", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(400), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("send_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("server_reply", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_outbox_ticket_id_tickets"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["ticket_events.id"], name="fk_outbox_event_id_ticket_events"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_outbox_contact_id_contacts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("uq_outbox_message_id", "outbox", ["message_id"], unique=True)
    op.create_index("uq_outbox_dedupe_key", "outbox", ["dedupe_key"], unique=True)
    op.create_index("ix_outbox_due", "outbox", ["state", "send_after", "id"])
    op.create_index("ix_outbox_ticket", "outbox", ["ticket_id", "id"])
    op.create_index("ix_outbox_event", "outbox", ["event_id"])
    op.create_table(
        "mail_alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_mail_alarms"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION supportdesk_notify()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.drop_table("mail_alarms")
    for name in (
        "ix_outbox_event",
        "ix_outbox_ticket",
        "ix_outbox_due",
        "uq_outbox_dedupe_key",
        "uq_outbox_message_id",
    ):
        op.drop_index(name, table_name="outbox")
    op.drop_table("outbox")
