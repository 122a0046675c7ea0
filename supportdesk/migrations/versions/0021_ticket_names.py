"""company and contact names on the ticket row (PostgreSQL)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 06:40:00

The queue page read the company and the contact name of every row with two correlated
subqueries; on PostgreSQL at a million tickets they were most of a 500-row page's time
(two subplans of 501 loops each: ~6 of 7.5 ms). PostgreSQL now keeps both names on the
ticket row, and the database itself keeps them right:

- BEFORE INSERT OR UPDATE OF account_id, contact_id, company_name, contact_name ON tickets
  sets them from accounts/contacts (so a name written directly is put back);
- AFTER UPDATE OF company ON accounts / OF name ON contacts writes the new name onto that
  account's / contact's tickets (only where it differs; `ix_tickets_contact` finds a
  contact's tickets, `ix_tickets_account` an account's);
- a contact or an account that tickets point at cannot be deleted (their foreign keys have
  no ON DELETE), so a stored name never outlives its row.

SQLite keeps the subqueries (in-process and cheap there; a trigger would slow the timed
SQLite demo build): nothing to do there. The demo's bulk load writes the names in its COPY
with these triggers disabled (demo.pgload).
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# frozen here; demo.pgload disables the triggers of these functions during its COPY
TICKET_NAMES = """CREATE OR REPLACE FUNCTION supportdesk_ticket_names() RETURNS trigger
   LANGUAGE plpgsql AS $$
   BEGIN
     NEW.company_name := (SELECT a.company FROM accounts a WHERE a.id = NEW.account_id);
     IF NEW.contact_id IS NULL THEN
       NEW.contact_name := NULL;
     ELSE
       NEW.contact_name := (SELECT c.name FROM contacts c WHERE c.id = NEW.contact_id);
     END IF;
     RETURN NEW;
   END $$"""
ACCOUNT_NAMES = """CREATE OR REPLACE FUNCTION supportdesk_account_names() RETURNS trigger
   LANGUAGE plpgsql AS $$
   BEGIN
     UPDATE tickets SET company_name = NEW.company
      WHERE account_id = NEW.id AND company_name IS DISTINCT FROM NEW.company;
     RETURN NULL;
   END $$"""
CONTACT_NAMES = """CREATE OR REPLACE FUNCTION supportdesk_contact_names() RETURNS trigger
   LANGUAGE plpgsql AS $$
   BEGIN
     UPDATE tickets SET contact_name = NEW.name
      WHERE contact_id = NEW.id AND contact_name IS DISTINCT FROM NEW.name;
     RETURN NULL;
   END $$"""
TRIGGERS = (
    "CREATE TRIGGER tickets_names BEFORE INSERT OR UPDATE OF account_id, contact_id,"
    " company_name, contact_name ON tickets FOR EACH ROW"
    " EXECUTE FUNCTION supportdesk_ticket_names()",
    "CREATE TRIGGER accounts_names AFTER UPDATE OF company ON accounts FOR EACH ROW"
    " WHEN (OLD.company IS DISTINCT FROM NEW.company)"
    " EXECUTE FUNCTION supportdesk_account_names()",
    "CREATE TRIGGER contacts_names AFTER UPDATE OF name ON contacts FOR EACH ROW"
    " WHEN (OLD.name IS DISTINCT FROM NEW.name)"
    " EXECUTE FUNCTION supportdesk_contact_names()",
)
BACKFILL = (
    "UPDATE tickets t SET"
    " company_name = (SELECT a.company FROM accounts a WHERE a.id = t.account_id),"
    " contact_name = (SELECT c.name FROM contacts c WHERE c.id = t.contact_id)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE tickets ADD COLUMN company_name text, ADD COLUMN contact_name text")
    op.execute(BACKFILL)
    op.execute(
        "CREATE INDEX ix_tickets_contact ON tickets (contact_id) WHERE contact_id IS NOT NULL"
    )
    for sql in (TICKET_NAMES, ACCOUNT_NAMES, CONTACT_NAMES, *TRIGGERS):
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS contacts_names ON contacts")
    op.execute("DROP TRIGGER IF EXISTS accounts_names ON accounts")
    op.execute("DROP TRIGGER IF EXISTS tickets_names ON tickets")
    for name in ("contact_names", "account_names", "ticket_names"):
        op.execute(f"DROP FUNCTION IF EXISTS supportdesk_{name}()")
    op.execute("DROP INDEX IF EXISTS ix_tickets_contact")
    op.execute("ALTER TABLE tickets DROP COLUMN contact_name, DROP COLUMN company_name")
