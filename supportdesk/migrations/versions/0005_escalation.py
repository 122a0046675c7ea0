"""tier escalation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 08:00:00

Escalations, watchers and console notices; tickets get the time they reached their tier,
their open escalation, an escalation count, when their holder last touched them and a
complaint flag, plus the board, stale-claim and same-server indexes, and those the SLA
report reads (clocks by when they stopped, tickets by when they were solved). Existing tickets are
backfilled from their history (services/escalation.py `backfill`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
LIVE = "view <> 'done'"


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("from_tier", sa.SmallInteger(), nullable=False),
        sa.Column("to_tier", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("tried", sa.Text(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("claimed_by_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("ended_how", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_escalations_ticket_id_tickets"
        ),
        sa.ForeignKeyConstraint(["by_id"], ["staff.id"], name="fk_escalations_by_id_staff"),
        sa.ForeignKeyConstraint(
            ["claimed_by_id"], ["staff.id"], name="fk_escalations_claimed_by_id_staff"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_escalations"),
    )
    op.create_index("ix_escalations_ticket", "escalations", ["ticket_id", "id"])
    op.create_index("ix_escalations_at", "escalations", ["at"])
    claimed = "kind = 'tier' AND claimed_at IS NOT NULL"
    waiting = "kind = 'tier' AND claimed_at IS NULL AND ended_at IS NULL"
    op.create_index(
        "ix_escalations_claimed",
        "escalations",
        ["claimed_at", "at"],
        sqlite_where=sa.text(claimed),
        postgresql_where=sa.text(claimed),
    )
    op.create_index(
        "ix_escalations_waiting",
        "escalations",
        ["at"],
        sqlite_where=sa.text(waiting),
        postgresql_where=sa.text(waiting),
    )
    op.create_table(
        "watchers",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_watchers_ticket_id_tickets"
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name="fk_watchers_staff_id_staff"),
        sa.PrimaryKeyConstraint("ticket_id", "staff_id", name="pk_watchers"),
    )
    op.create_index("ix_watchers_staff", "watchers", ["staff_id"])
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("seen_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name="fk_notices_staff_id_staff"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_notices_ticket_id_tickets"),
        sa.ForeignKeyConstraint(["by_id"], ["staff.id"], name="fk_notices_by_id_staff"),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
    )
    op.create_index("ix_notices_staff", "notices", ["staff_id", "id"])
    for column in (
        sa.Column("tier_since", TS, nullable=True),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("escalations", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("touched_at", TS, nullable=True),
        sa.Column("flagged_at", TS, nullable=True),
    ):
        op.add_column("tickets", column)
    if pg:
        op.create_foreign_key(
            "fk_tickets_escalation_id_escalations",
            "tickets",
            "escalations",
            ["escalation_id"],
            ["id"],
        )
    from supportdesk.services.escalation import backfill

    backfill(op.get_bind())
    op.create_index(
        "ix_tickets_board",
        "tickets",
        ["view", "tier", "holder_id", "priority_rank", "tier_since", "id"],
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    op.create_index(
        "ix_tickets_claims",
        "tickets",
        ["touched_at", "id"],
        sqlite_where=sa.text(f"{LIVE} AND holder_id IS NOT NULL"),
        postgresql_where=sa.text(f"{LIVE} AND holder_id IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_service",
        "tickets",
        ["service_id"],
        sqlite_where=sa.text(f"{LIVE} AND service_id IS NOT NULL"),
        postgresql_where=sa.text(f"{LIVE} AND service_id IS NOT NULL"),
    )

    # the SLA report (issue 7): covering indexes, so a month is read from them alone
    report = ["resolution_code", "category", "tier", "sla_plan", "holder_id"]
    for clock in ("respond", "resolve"):
        stopped = f"{clock}_state IN ('met', 'breached')"
        op.create_index(
            f"ix_tickets_{clock}_stopped",
            "tickets",
            [f"{clock}_since", f"{clock}_state", f"{clock}_used_s", f"{clock}_target_s", *report],
            sqlite_where=sa.text(stopped),
            postgresql_where=sa.text(stopped),
        )
    op.create_index(
        "ix_tickets_resolved",
        "tickets",
        ["resolved_at", "escalations", *report],
        sqlite_where=sa.text("resolved_at IS NOT NULL"),
        postgresql_where=sa.text("resolved_at IS NOT NULL"),
    )
    # the lead's board (issue 7)
    op.create_index("ix_tickets_created", "tickets", ["created_at"])
    for name, table, col, where in (
        ("ix_tickets_flagged", "tickets", "flagged_at", "flagged_at IS NOT NULL"),
        ("ix_ticket_events_sla", "ticket_events", "created_at", "kind = 'sla'"),
        ("ix_contacts_locked", "contacts", "locked_until", "locked_until IS NOT NULL"),
    ):
        op.create_index(
            name,
            table,
            [col],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    op.drop_index("ix_contacts_locked", table_name="contacts")
    op.drop_index("ix_ticket_events_sla", table_name="ticket_events")
    op.drop_index("ix_tickets_flagged", table_name="tickets")
    op.drop_index("ix_tickets_created", table_name="tickets")
    for name in (
        "ix_tickets_resolved",
        "ix_tickets_resolve_stopped",
        "ix_tickets_respond_stopped",
        "ix_tickets_service",
        "ix_tickets_claims",
        "ix_tickets_board",
    ):
        op.drop_index(name, table_name="tickets")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_tickets_escalation_id_escalations", "tickets")
    with op.batch_alter_table("tickets") as batch_op:
        for name in ("flagged_at", "touched_at", "escalations", "escalation_id", "tier_since"):
            batch_op.drop_column(name)
    op.drop_table("notices")
    op.drop_table("watchers")
    op.drop_table("escalations")
