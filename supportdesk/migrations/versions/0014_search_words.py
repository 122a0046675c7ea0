"""word indexes for the queue's search and the call screen's domain search

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 22:00:00

The queue's search (a substring of the subject or the account id) walked a view in queue
order until it had a page: a text that matches nothing walked every live ticket (404 ms on
SQLite, 467 ms on PostgreSQL at a million tickets). Now an index of trigrams over the live
tickets gives the candidates first (core/queue.py search_ids):

- SQLite: `ticket_words`, an FTS5 table (contentless, trigram tokenizer, detail=none) of
  the subject and account id of every live ticket (view <> 'done'), kept by triggers on
  tickets and filled here from the live tickets. The demo's loader drops the triggers for
  its load and fills the table once after it (demo/load.py).
- PostgreSQL: pg_trgm, when the server has it: a GIN index of the live tickets' subject and
  account id (`ix_tickets_live_words`), and one of the call screen's "a domain after the
  first" search (`' ' || domains` of the services with more than one,
  `ix_services_domain_words`), which read every such service before (159 ms p95 per
  keystroke at 100,000 accounts), and of its "a word inside a company name"
  (`lower(company)`, `ix_accounts_company_words`), which read every account. The
  extension goes to the schema it is already in, or to `public` (so that dropping a desk's
  schema never drops another desk's indexes); its operator class is named with that
  schema. Without pg_trgm the indexes are left out and the reads work as before.

Frozen here: the SQL of the table and its triggers (the loader reads them back from
sqlite_master).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

WORDS_TABLE = (
    "CREATE VIRTUAL TABLE ticket_words USING fts5(subject, account_id, content='',"
    " tokenize='trigram', detail='none')"
)
_DELETE = (
    "INSERT INTO ticket_words(ticket_words, rowid, subject, account_id)"
    " SELECT 'delete', old.id, old.subject, old.account_id WHERE old.view <> 'done';"
)
_INSERT = (
    "INSERT INTO ticket_words(rowid, subject, account_id)"
    " SELECT new.id, new.subject, new.account_id WHERE new.view <> 'done';"
)
# a contentless table forgets a row only when told exactly what it held: every trigger
# removes the old text before adding the new, in one trigger body (in that order)
WORDS_TRIGGERS = (
    f"CREATE TRIGGER ticket_words_insert AFTER INSERT ON tickets WHEN new.view <> 'done'"
    f" BEGIN {_INSERT} END",
    f"CREATE TRIGGER ticket_words_delete AFTER DELETE ON tickets WHEN old.view <> 'done'"
    f" BEGIN {_DELETE} END",
    "CREATE TRIGGER ticket_words_update AFTER UPDATE OF status, subject, account_id ON tickets"
    " WHEN (old.view = 'done') <> (new.view = 'done') OR old.subject IS NOT new.subject"
    f" OR old.account_id IS NOT new.account_id BEGIN {_DELETE} {_INSERT} END",
)
WORDS_FILL = (
    "INSERT INTO ticket_words(rowid, subject, account_id)"
    " SELECT id, subject, account_id FROM tickets WHERE view <> 'done'"
)
TRIGGER_NAMES = ("ticket_words_insert", "ticket_words_delete", "ticket_words_update")
PG_INDEXES = ("ix_tickets_live_words", "ix_services_domain_words", "ix_accounts_company_words")


def _trgm_schema() -> str | None:
    """The schema of pg_trgm, installed there (or in public) when the server has it."""
    bind = op.get_bind()
    found = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    ).scalar()
    if found is not None:
        return str(found)
    available = bind.exec_driver_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"
    ).scalar()
    if available is None:
        return None
    has_public = bind.exec_driver_sql("SELECT to_regnamespace('public') IS NOT NULL").scalar()
    here = bind.exec_driver_sql("SELECT current_schema()").scalar()
    schema = "public" if has_public else str(here)
    try:
        with bind.begin_nested():  # no right to create it: the reads work without
            bind.exec_driver_sql(f'CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA "{schema}"')
    except DBAPIError:  # any refusal leaves the indexes out, nothing else
        return None
    return schema


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute(WORDS_TABLE)
        for trigger in WORDS_TRIGGERS:
            op.execute(trigger)
        op.execute(WORDS_FILL)
        return
    schema = _trgm_schema()
    if schema is None:
        return
    ops = f'"{schema}".gin_trgm_ops'
    # fastupdate off: new tickets go straight into the index rather than a pending list
    # that every search reads until a vacuum merges it (and that the planner, seeing it,
    # would rather walk the queue than read)
    op.execute(
        f"CREATE INDEX ix_tickets_live_words ON tickets USING gin (subject {ops},"
        f" account_id {ops}) WITH (fastupdate = off) WHERE view <> 'done'"
    )
    op.execute(
        f"CREATE INDEX ix_services_domain_words ON services USING gin ((' ' || domains) {ops})"
        " WITH (fastupdate = off) WHERE strpos(domains, ' ') > 0"
    )
    op.execute(
        f"CREATE INDEX ix_accounts_company_words ON accounts USING gin (lower(company) {ops})"
        " WITH (fastupdate = off)"
    )
    op.execute("ANALYZE accounts")
    op.execute("ANALYZE services")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name in TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS ticket_words")
        return
    for name in PG_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
