"""one-time confirmation codes

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-09 12:00:00

Issue 19, item 2: a held ticket is confirmed by mail only with a one-time code the desk sent
to an allowed contact's address on file. `confirmation_codes` keeps the SHA-256 of each code
(never the code), what it is bound to (ticket, contact, request type), when it expires and
when it was spent. On PostgreSQL the table NOTIFYs the desk's consoles like every other.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "confirmation_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("request_type", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("spent", sa.String(12), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_confirmation_codes_ticket_id_tickets"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_confirmation_codes_contact_id_contacts"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name="fk_confirmation_codes_created_by_staff"
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name="fk_confirmation_codes_outbox_id_outbox"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_confirmation_codes"),
    )
    op.create_index("uq_confirmation_codes_hash", "confirmation_codes", ["code_hash"], unique=True)
    op.create_index("ix_confirmation_codes_ticket", "confirmation_codes", ["ticket_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER confirmation_codes_notify AFTER INSERT OR UPDATE OR DELETE OR "
            "TRUNCATE ON confirmation_codes FOR EACH STATEMENT EXECUTE FUNCTION "
            "supportdesk_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS confirmation_codes_notify ON confirmation_codes")
    op.drop_index("ix_confirmation_codes_ticket", table_name="confirmation_codes")
    op.drop_index("uq_confirmation_codes_hash", table_name="confirmation_codes")
    op.drop_table("confirmation_codes")
