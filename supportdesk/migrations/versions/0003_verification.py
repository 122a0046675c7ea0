"""caller verification

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:50:00

Contacts get their service scope, allowed request types, PIN lockout counter and lock; a
`verifications` table logs every attempt; tickets record the verification they were opened
or confirmed under and, for e-mail, the sender. Plain ADD COLUMN / CREATE TABLE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("method", sa.String(12), nullable=False),
        sa.Column("result", sa.String(12), nullable=False),
        sa.Column("request", sa.String(24), nullable=True),
        sa.Column("detail", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_verifications_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_verifications_contact_id_contacts"
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name="fk_verifications_staff_id_staff"),
        sa.PrimaryKeyConstraint("id", name="pk_verifications"),
    )
    op.create_index("ix_verifications_contact", "verifications", ["contact_id", "id"])
    op.create_index("ix_verifications_account", "verifications", ["account_id", "id"])
    for column in (
        sa.Column("services", sa.Text(), nullable=False, server_default=""),
        sa.Column("requests", sa.Text(), nullable=False, server_default=""),
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("pin_set_at", TS, nullable=True),
    ):
        op.add_column("contacts", column)
    # SQLite cannot add a foreign key with ADD COLUMN; the model declares it, PostgreSQL
    # gets it as a constraint.
    op.add_column("tickets", sa.Column("verification_id", sa.Integer(), nullable=True))
    op.add_column("tickets", sa.Column("confirmed_at", TS, nullable=True))
    op.add_column("tickets", sa.Column("sender", sa.String(255), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key(
            "fk_tickets_verification_id_verifications",
            "tickets",
            "verifications",
            ["verification_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        for name in ("sender", "confirmed_at", "verification_id"):
            batch_op.drop_column(name)
    with op.batch_alter_table("contacts") as batch_op:
        for name in ("pin_set_at", "locked_until", "failed_attempts", "requests", "services"):
            batch_op.drop_column(name)
    op.drop_index("ix_verifications_account", table_name="verifications")
    op.drop_index("ix_verifications_contact", table_name="verifications")
    op.drop_table("verifications")
