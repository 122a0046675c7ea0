"""templates

Revision ID: 0019
Revises: 0018 (0018 is being added in parallel: the chain is fixed on merge)
Create Date: 2026-12-10 12:00:00

Issue 20, item 1: named templates (canned replies, and the desk's automatic messages a lead
may edit): kind, subject, body and the status, category and priority a reply made from one
sets. On PostgreSQL the table NOTIFYs the desk's consoles like every other.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("set_status", sa.String(32), nullable=True),
        sa.Column("set_category", sa.String(32), nullable=True),
        sa.Column("set_priority", sa.String(8), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], name="fk_templates_created_by_staff"),
        sa.PrimaryKeyConstraint("id", name="pk_templates"),
    )
    op.create_index("uq_templates_name", "templates", ["name"], unique=True)
    op.create_index("ix_templates_kind", "templates", ["kind", "name"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER templates_notify AFTER INSERT OR UPDATE OR DELETE OR "
            "TRUNCATE ON templates FOR EACH STATEMENT EXECUTE FUNCTION supportdesk_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS templates_notify ON templates")
    op.drop_index("ix_templates_kind", table_name="templates")
    op.drop_index("uq_templates_name", table_name="templates")
    op.drop_table("templates")
