"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 00:17:58.703039
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"

# Frozen copies of models.tickets.LIVE_SQL and FILTER_INDEXES as of this revision.
LIVE_SQL = "view <> 'done'"
FILTER_INDEXES = (
    ("", ()),
    ("t", ("tier",)),
    ("c", ("category",)),
    ("h", ("holder_id",)),
    ("tc", ("tier", "category")),
    ("th", ("tier", "holder_id")),
    ("ch", ("category", "holder_id")),
    ("tch", ("tier", "category", "holder_id")),
)

# Frozen copy of models.tickets.VIEW_SQL as of this revision.
VIEW_SQL = (
    "CASE status WHEN 'new' THEN 'queue' WHEN 'open' THEN 'queue' "
    "WHEN 'awaiting_authorization' THEN 'held' WHEN 'pending_customer' THEN 'waiting' "
    "WHEN 'scheduled' THEN 'scheduled' WHEN 'resolved' THEN 'done' WHEN 'closed' THEN 'done' "
    "ELSE 'done' END"
)
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("suspended_reason", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("reseller_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reseller_id"], ["accounts.id"], name=op.f("fk_accounts_reseller_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_company", ["company"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_reseller_id"), ["reseller_id"], unique=False)

    op.create_table(
        "audit",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("staff_login", sa.String(length=64), nullable=False),
        sa.Column("os_user", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("prev_mac", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit")),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("login", name=op.f("uq_staff_login")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contacts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_account_id"), ["account_id"], unique=False)

    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("domains", sa.Text(), nullable=False),
        sa.Column("server", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_services_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
    )
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_services_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_services_server"), ["server"], unique=False)

    op.create_table(
        "contact_points",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_points_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_points")),
    )
    with op.batch_alter_table("contact_points", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_points_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contact_points_value"), ["value"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("caller_name", sa.String(length=200), nullable=True),
        sa.Column("caller_phone", sa.String(length=64), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("request_type", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("priority_rank", sa.SmallInteger(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column(
            "view",
            sa.String(length=10),
            sa.Computed(
                VIEW_SQL,
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_code", sa.String(length=24), nullable=True),
        sa.Column("holder_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("last_speaker", sa.String(length=8), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_tickets_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_tickets_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["staff.id"], name=op.f("fk_tickets_holder_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["tickets.id"], name=op.f("fk_tickets_merged_into_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_tickets_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_account", ["account_id", "status"], unique=False)
        for suffix, cols in FILTER_INDEXES:
            batch_op.create_index(
                "ix_tickets_live" + ("_" + suffix if suffix else ""),
                ["view", *cols, "priority_rank", "created_at", "id"],
                unique=False,
                sqlite_where=sa.text(LIVE_SQL),
                postgresql_where=sa.text(LIVE_SQL),
            )

    op.create_table(
        "presence",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_presence_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_presence_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence")),
    )
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_presence_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("from_customer", sa.Boolean(), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("call_outcome", sa.String(length=12), nullable=True),
        sa.Column("old_value", sa.String(length=64), nullable=True),
        sa.Column("new_value", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_ticket_events_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_events_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_events_ticket", ["ticket_id", "id"], unique=False)

    _create_triggers()


# Tables whose changes every console must see (PostgreSQL NOTIFY; SQLite uses data_version).
WATCHED_TABLES = (
    "accounts",
    "services",
    "contacts",
    "contact_points",
    "staff",
    "tickets",
    "ticket_events",
    "presence",
    "settings",
)

SQLITE_AUDIT_GUARDS = [
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit is append-only: DELETE refused'); END""",
]

PG_AUDIT_GUARDS = [
    """CREATE FUNCTION supportdesk_audit_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'audit is append-only: % refused', TG_OP;
       END $$""",
    """CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit
       FOR EACH ROW EXECUTE FUNCTION supportdesk_audit_append_only()""",
    """CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
       FOR EACH STATEMENT EXECUTE FUNCTION supportdesk_audit_append_only()""",
    """CREATE FUNCTION supportdesk_notify() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         PERFORM pg_notify('supportdesk', TG_TABLE_NAME);
         RETURN NULL;
       END $$""",
]


def _create_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for stmt in SQLITE_AUDIT_GUARDS:
            op.execute(stmt)
        return
    for stmt in PG_AUDIT_GUARDS:
        op.execute(stmt)
    for table in WATCHED_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION supportdesk_notify()"
        )


def _drop_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        return
    for table in WATCHED_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP TRIGGER IF EXISTS audit_no_update_delete ON audit")
    op.execute("DROP TRIGGER IF EXISTS audit_no_truncate ON audit")
    op.execute("DROP FUNCTION IF EXISTS supportdesk_notify()")
    op.execute("DROP FUNCTION IF EXISTS supportdesk_audit_append_only()")


def downgrade() -> None:
    _drop_triggers()

    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_events_ticket")

    op.drop_table("ticket_events")
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_presence_ticket_id"))

    op.drop_table("presence")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for suffix, _cols in FILTER_INDEXES:
            batch_op.drop_index("ix_tickets_live" + ("_" + suffix if suffix else ""))
        batch_op.drop_index("ix_tickets_account")

    op.drop_table("tickets")
    with op.batch_alter_table("contact_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_points_value"))
        batch_op.drop_index(batch_op.f("ix_contact_points_contact_id"))

    op.drop_table("contact_points")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_server"))
        batch_op.drop_index(batch_op.f("ix_services_account_id"))

    op.drop_table("services")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_account_id"))

    op.drop_table("contacts")
    op.drop_table("staff")
    op.drop_table("settings")
    op.drop_table("audit")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_reseller_id"))
        batch_op.drop_index("ix_accounts_company")

    op.drop_table("accounts")
