"""a change-feed channel per desk

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:40:00

On PostgreSQL every write NOTIFYs the desk's consoles. The channel was `supportdesk` for the
whole database, so two desks in one database (one schema each) woke each other's consoles.
The channel is now named after the database and the schema of the table written
(`supportdesk_` and 16 hex digits of md5("database/schema"): a channel name is an identifier,
at most 63 bytes); the listener (store.PostgresChangeFeed) asks the database for the same
name for its own schema. SQLite has no NOTIFY: nothing to do there.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# frozen here; store.CHANNEL_SQL computes the same name for the listener
PER_DESK = """CREATE OR REPLACE FUNCTION supportdesk_notify() RETURNS trigger
   LANGUAGE plpgsql AS $$
   BEGIN
     PERFORM pg_notify(
       'supportdesk_' || left(md5(current_database() || '/' || TG_TABLE_SCHEMA), 16),
       TG_TABLE_NAME);
     RETURN NULL;
   END $$"""

DATABASE_WIDE = """CREATE OR REPLACE FUNCTION supportdesk_notify() RETURNS trigger
   LANGUAGE plpgsql AS $$
   BEGIN
     PERFORM pg_notify('supportdesk', TG_TABLE_NAME);
     RETURN NULL;
   END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PER_DESK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DATABASE_WIDE)
