"""tier escalation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 08:00:00

Escalations, watchers and console notices; tickets get the time they reached their tier,
their open escalation, an escalation count, when their holder last touched them and a
complaint flag, plus the board, stale-claim and same-server indexes, and those the SLA
report reads (clocks by when they stopped, tickets by when they were solved). Existing tickets are
backfilled from their history (`_backfill` below, a frozen copy of what
services/escalation.py `backfill` ran when this revision was written).
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
    _backfill(op.get_bind())
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


def _backfill(conn: sa.Connection) -> None:
    """Escalation rows and tier times from the recorded history: before 0005 the only way
    up a tier was a `tier` event (the demo's), and nothing came back down. Set-based SQL, so
    a million tickets take seconds.

    A frozen copy of `services/escalation.py backfill` as it stood when this revision was
    written: a migration never imports live service code, which would change an old upgrade
    whenever the service changes."""
    text = sa.text

    # an escalation is numbered like its ticket (the table is empty when this runs, and the
    # demo generator writes tickets.escalation_id that way)
    # a tier event's body is the reason, then "\nTried: ..." (as `escalate` writes it)
    if conn.dialect.name == "postgresql":
        cut = "strpos(e.body, chr(10) || 'Tried: ')"
    else:
        cut = "instr(e.body, char(10) || 'Tried: ')"
    reason = (
        f"CASE WHEN {cut} > 0 THEN substr(e.body, 1, {cut} - 1)"
        " ELSE coalesce(e.body, 'escalated') END"
    )
    tried = f"CASE WHEN {cut} > 0 THEN substr(e.body, {cut} + 8) ELSE '' END"
    conn.execute(
        text(
            "INSERT INTO escalations (id, ticket_id, kind, from_tier, to_tier, reason, tried,"
            " by_id, at, ended_at, ended_how)"
            f" SELECT l.id, l.id, 'tier', 1, l.tier, {reason}, {tried},"
            " e.staff_id,"
            " coalesce(e.created_at, l.created_at),"
            " CASE WHEN l.status IN ('resolved', 'closed') THEN l.resolved_at END,"
            " CASE WHEN l.status IN ('resolved', 'closed') THEN 'solved' END"
            " FROM (SELECT t.id, t.tier, t.status, t.created_at, t.resolved_at,"
            " (SELECT max(x.id) FROM ticket_events x WHERE x.ticket_id = t.id"
            " AND x.kind = 'tier') AS eid"
            " FROM tickets t WHERE t.tier > 1"
            " AND NOT EXISTS (SELECT 1 FROM escalations y WHERE y.ticket_id = t.id)) l"
            " LEFT JOIN ticket_events e ON e.id = l.eid ORDER BY l.id"
        )
    )
    # the first claim after the escalation: a holder event, else the first thing someone
    # other than the escalator did on the ticket after it (found once per escalation, in a
    # scratch table, then copied)
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('escalations', 'id'),"
                " coalesce(max(id), 0) + 1, false) FROM escalations"
            )
        )
    conn.execute(text("CREATE TEMPORARY TABLE first_claims (esc INTEGER PRIMARY KEY, ev INTEGER)"))
    conn.execute(
        text(
            "INSERT INTO first_claims (esc, ev) SELECT x.id, (SELECT y.id FROM ticket_events y"
            " WHERE y.ticket_id = x.ticket_id AND y.created_at >= x.at"
            " AND y.staff_id IS NOT NULL AND (x.by_id IS NULL OR y.staff_id <> x.by_id)"
            " AND y.kind IN ('holder', 'reply', 'call', 'note', 'status')"
            " ORDER BY y.created_at, y.id LIMIT 1)"
            " FROM escalations x WHERE x.claimed_at IS NULL AND x.kind = 'tier'"
        )
    )
    conn.execute(text("DELETE FROM first_claims WHERE ev IS NULL"))
    conn.execute(
        text(
            "UPDATE escalations SET"
            " claimed_at = (SELECT e.created_at FROM first_claims f"
            " JOIN ticket_events e ON e.id = f.ev WHERE f.esc = escalations.id),"
            " claimed_by_id = (SELECT e.staff_id FROM first_claims f"
            " JOIN ticket_events e ON e.id = f.ev WHERE f.esc = escalations.id)"
            " WHERE id IN (SELECT esc FROM first_claims)"
        )
    )
    conn.execute(text("DROP TABLE first_claims"))
    # tickets point at their escalation (by primary key: no scan of every ticket)
    conn.execute(
        text(
            "UPDATE tickets SET escalation_id = (SELECT max(x.id) FROM escalations x"
            " WHERE x.ticket_id = tickets.id), escalations = 1"
            " WHERE id IN (SELECT ticket_id FROM escalations WHERE kind = 'tier')"
            " AND escalation_id IS NULL"
        )
    )
    # when live tickets reached their tier (a reopened one gets it when it reopens), and
    # when held ones were last touched; `view <> 'done'` lets both read a live-ticket index
    conn.execute(
        text(
            "UPDATE tickets SET tier_since = coalesce((SELECT x.at FROM escalations x"
            " WHERE x.id = tickets.escalation_id), created_at)"
            " WHERE view <> 'done' AND tier_since IS NULL"
        )
    )
    conn.execute(
        text(
            "UPDATE tickets SET touched_at = last_activity_at"
            " WHERE view <> 'done' AND holder_id IS NOT NULL AND touched_at IS NULL"
        )
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
    # Plain DROP COLUMN (SQLite 3.35+ and PostgreSQL), as 0009 does: a batch rebuild of
    # `tickets` copies into its generated column `view`, which SQLite refuses
    for name in ("flagged_at", "touched_at", "escalations", "escalation_id", "tier_since"):
        op.execute(f"ALTER TABLE tickets DROP COLUMN {name}")
    op.drop_table("notices")
    op.drop_table("watchers")
    op.drop_table("escalations")
