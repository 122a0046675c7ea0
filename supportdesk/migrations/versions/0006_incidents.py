"""incidents and maintenance windows

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 08:00:00

Incidents (outages) with their servers, customer updates, linked tickets and calls;
maintenance windows with their servers; tickets get the window a scheduled ticket waits for.
On PostgreSQL the new tables NOTIFY like the others, so every console hears of an incident.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
WATCHED = ("incidents", "incident_updates", "incident_links", "maintenance_windows")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    ref_table = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{ref_table}")


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("cadence_s", sa.Integer(), nullable=False),
        sa.Column("next_update_due", TS, nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        _fk("incidents", "owner_id", "staff.id"),
        _fk("incidents", "opened_by_id", "staff.id"),
        _fk("incidents", "acknowledged_by_id", "staff.id"),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index(
        "ix_incidents_open",
        "incidents",
        ["id"],
        sqlite_where=sa.text("state <> 'resolved'"),
        postgresql_where=sa.text("state <> 'resolved'"),
    )
    op.create_table(
        "incident_servers",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("server", sa.String(128), nullable=False),
        _fk("incident_servers", "incident_id", "incidents.id"),
        sa.PrimaryKeyConstraint("incident_id", "server", name="pk_incident_servers"),
    )
    op.create_index("ix_incident_servers_server", "incident_servers", ["server", "incident_id"])
    op.create_table(
        "incident_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("tickets_posted", sa.Integer(), nullable=False),
        _fk("incident_updates", "incident_id", "incidents.id"),
        _fk("incident_updates", "by_id", "staff.id"),
        sa.PrimaryKeyConstraint("id", name="pk_incident_updates"),
    )
    op.create_index("ix_incident_updates_incident", "incident_updates", ["incident_id", "id"])
    op.create_table(
        "incident_links",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("keep_open", sa.Boolean(), nullable=False),
        _fk("incident_links", "incident_id", "incidents.id"),
        _fk("incident_links", "ticket_id", "tickets.id"),
        _fk("incident_links", "by_id", "staff.id"),
        sa.PrimaryKeyConstraint("incident_id", "ticket_id", name="pk_incident_links"),
    )
    op.create_index("ix_incident_links_ticket", "incident_links", ["ticket_id"])
    op.create_table(
        "incident_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("caller_name", sa.String(200), nullable=True),
        sa.Column("caller_phone", sa.String(64), nullable=True),
        sa.Column("verification_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("at", TS, nullable=False),
        _fk("incident_calls", "incident_id", "incidents.id"),
        _fk("incident_calls", "account_id", "accounts.id"),
        _fk("incident_calls", "ticket_id", "tickets.id"),
        _fk("incident_calls", "contact_id", "contacts.id"),
        _fk("incident_calls", "verification_id", "verifications.id"),
        _fk("incident_calls", "staff_id", "staff.id"),
        sa.PrimaryKeyConstraint("id", name="pk_incident_calls"),
    )
    op.create_index("ix_incident_calls_incident", "incident_calls", ["incident_id", "id"])
    op.create_index("ix_incident_calls_account", "incident_calls", ["account_id", "id"])
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        _fk("maintenance_windows", "created_by_id", "staff.id"),
        sa.PrimaryKeyConstraint("id", name="pk_maintenance_windows"),
    )
    op.create_index("ix_maintenance_windows_ends", "maintenance_windows", ["ends_at", "starts_at"])
    op.create_table(
        "window_servers",
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("server", sa.String(128), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        _fk("window_servers", "window_id", "maintenance_windows.id"),
        sa.PrimaryKeyConstraint("window_id", "server", name="pk_window_servers"),
    )
    op.create_index("ix_window_servers_server", "window_servers", ["server", "ends_at"])
    op.add_column("tickets", sa.Column("window_id", sa.Integer(), nullable=True))
    if pg:
        op.create_foreign_key(
            "fk_tickets_window_id_maintenance_windows",
            "tickets",
            "maintenance_windows",
            ["window_id"],
            ["id"],
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION supportdesk_notify()"
            )
    op.create_index(
        "ix_tickets_window",
        "tickets",
        ["window_id"],
        sqlite_where=sa.text("window_id IS NOT NULL"),
        postgresql_where=sa.text("window_id IS NOT NULL"),
    )


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_tickets_window", table_name="tickets")
    if pg:
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
        op.drop_constraint("fk_tickets_window_id_maintenance_windows", "tickets")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_column("window_id")
    for table in (
        "window_servers",
        "maintenance_windows",
        "incident_calls",
        "incident_links",
        "incident_updates",
        "incident_servers",
        "incidents",
    ):
        op.drop_table(table)
