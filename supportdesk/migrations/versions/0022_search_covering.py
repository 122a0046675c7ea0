"""a common-text search reads the queue's indexes only (PostgreSQL)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 10:00:00

A search for a common text ("mail": tens of thousands of live tickets at a million) walks
the view's queue-order index and tests each ticket until a page of them matches (core/
queue.py `search_ids`): about 10,000 heap rows for "queue · tier 2 · mail · breaches
first", 21-28 ms. Two changes make that walk cheap:

- `subject_lc` and `account_lc`: the lowered subject and account id of a live ticket (NULL
  once it is done, which no queue reads), stored generated columns, so that the test is a
  LIKE on text lowered once rather than an ILIKE that lowers both sides of every row
  (`x ILIKE p` is `lower(x) LIKE lower(p)` in PostgreSQL, exactly; 0.77 against 0.24 µs a
  row in an index-only scan at a million tickets);
- every queue-order partial index (ix_tickets_live*, ix_tickets_live_due*) INCLUDEs them,
  so that the walk is an Index Only Scan that never reads the table (given the visibility
  map: the demo VACUUMs, and autovacuum keeps a live desk's, here after 1 % of the tickets
  changed rather than the default 20 %: the live tickets are the ones that change, and a
  page changed since the last vacuum is read from the table again), and the page then
  reads its 501 rows by id.

Wider indexes cost more to walk in the planner's eyes, and "scheduled · tier 2" (no search)
went from its ordered index (2 ms) to a bitmap of the tier board's and a sort (140 ms): the
planner multiplied the view's and the tier's shares (390 rows) where nearly every scheduled
ticket is tier 2's (9,771). `st_tickets_filters`, statistics of the filters' columns
together, gives it the true count, and the ordered index back.

The column list and the view's expression are frozen here. SQLite keeps its word table
(migration 0013): nothing to do there.
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

LIVE = "view <> 'done'"
VIEW_SQL = (
    "CASE status WHEN 'new' THEN 'queue' WHEN 'open' THEN 'queue'"
    " WHEN 'awaiting_authorization' THEN 'held' WHEN 'pending_customer' THEN 'waiting'"
    " WHEN 'scheduled' THEN 'scheduled' WHEN 'resolved' THEN 'done' WHEN 'closed' THEN 'done'"
    " ELSE 'done' END"
)
LOWERED = {"subject_lc": "subject", "account_lc": "account_id"}
INCLUDED = tuple(LOWERED)
STATISTICS = "st_tickets_filters"
VACUUM_AT = "autovacuum_vacuum_scale_factor"
# (name, key columns) of every queue-order index (models/tickets.py FILTER_INDEXES and
# DUE_FILTER_INDEXES, as of 0012)
ORDER = ("priority_rank", "created_at", "id")
DUE = ("sla_key", "id")
INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ix_tickets_live", ("view", *ORDER)),
    ("ix_tickets_live_t", ("view", "tier", *ORDER)),
    ("ix_tickets_live_c", ("view", "category", *ORDER)),
    ("ix_tickets_live_h", ("view", "holder_id", *ORDER)),
    ("ix_tickets_live_tc", ("view", "tier", "category", *ORDER)),
    ("ix_tickets_live_th", ("view", "tier", "holder_id", *ORDER)),
    ("ix_tickets_live_ch", ("view", "category", "holder_id", *ORDER)),
    ("ix_tickets_live_tch", ("view", "tier", "category", "holder_id", *ORDER)),
    ("ix_tickets_live_due", ("view", *DUE)),
    ("ix_tickets_live_due_t", ("view", "tier", *DUE)),
    ("ix_tickets_live_due_c", ("view", "category", *DUE)),
    ("ix_tickets_live_due_tc", ("view", "tier", "category", *DUE)),
)


def _create(name: str, cols: tuple[str, ...], include: tuple[str, ...]) -> None:
    with_ = f" INCLUDE ({', '.join(include)})" if include else ""
    op.execute(f"CREATE INDEX {name} ON tickets ({', '.join(cols)}){with_} WHERE {LIVE}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    adds = ", ".join(
        f"ADD COLUMN {col} text GENERATED ALWAYS AS"
        f" (CASE WHEN ({VIEW_SQL}) <> 'done' THEN lower({src}) END) STORED"
        for col, src in LOWERED.items()
    )
    op.execute(f"ALTER TABLE tickets {adds}")
    for name, cols in INDEXES:
        op.execute(f"DROP INDEX {name}")
        _create(name, cols, INCLUDED)
    op.execute(
        f"CREATE STATISTICS {STATISTICS} (mcv, dependencies) ON view, tier, category FROM tickets"
    )
    op.execute(f"ALTER TABLE tickets SET ({VACUUM_AT} = 0.01)")
    op.execute("ANALYZE tickets")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, cols in INDEXES:
        op.execute(f"DROP INDEX {name}")
        _create(name, cols, ())
    op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    op.execute(f"ALTER TABLE tickets RESET ({VACUUM_AT})")
    op.execute("ALTER TABLE tickets DROP COLUMN account_lc, DROP COLUMN subject_lc")
