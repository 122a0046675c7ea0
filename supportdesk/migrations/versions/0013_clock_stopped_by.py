"""Who stopped each SLA clock: tickets.responded_by and tickets.resolved_by

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 22:00:00

`report sla --by agent` credited a ticket's holder when its clocks stopped, so an agent who
answered or solved a ticket without taking it showed nothing, and released tickets counted
for "(nobody)" (issue 16). The clocks now record who stopped them (core/clocks.py). The
backfill is frozen SQL (no ORM model): the person on the ticket's last "<clock> clock
stopped" SLA event; without one (a demo's or an imported history), for the respond clock the
first reply or call by a staff member, and for the resolve clock the last change of status to
resolved or closed by a staff member, else the last reply or call by one (a clock stopped by
the system, as mail from an unlisted sender closed at once, keeps nobody).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

STOPPED = "{clock}_state IN ('met', 'breached')"
SLA_EVENT = (
    "(SELECT e.staff_id FROM ticket_events e WHERE e.ticket_id = tickets.id"
    " AND e.kind = 'sla' AND e.body LIKE '{clock} clock stopped%'"
    " ORDER BY e.id DESC LIMIT 1)"
)
FIRST_ANSWER = (
    "(SELECT e.staff_id FROM ticket_events e WHERE e.ticket_id = tickets.id"
    " AND e.kind IN ('reply', 'call') AND NOT e.from_customer AND e.staff_id IS NOT NULL"
    " ORDER BY e.id LIMIT 1)"
)
LAST_CLOSE = (
    "(SELECT e.staff_id FROM ticket_events e WHERE e.ticket_id = tickets.id"
    " AND e.kind = 'status' AND e.new_value IN ('resolved', 'closed')"
    " AND e.staff_id IS NOT NULL ORDER BY e.id DESC LIMIT 1)"
)
LAST_ANSWER = (  # a slim history (an older demo's) keeps the fix's reply, not the status
    "(SELECT e.staff_id FROM ticket_events e WHERE e.ticket_id = tickets.id"
    " AND e.kind IN ('reply', 'call') AND NOT e.from_customer AND e.staff_id IS NOT NULL"
    " ORDER BY e.id DESC LIMIT 1)"
)
BACKFILL = (
    "UPDATE tickets SET responded_by = coalesce("
    + SLA_EVENT.format(clock="respond")
    + ", "
    + FIRST_ANSWER
    + ") WHERE "
    + STOPPED.format(clock="respond"),
    "UPDATE tickets SET resolved_by = coalesce("
    + SLA_EVENT.format(clock="resolve")
    + ", "
    + LAST_CLOSE
    + ", "
    + LAST_ANSWER
    + ") WHERE "
    + STOPPED.format(clock="resolve"),
)


COLUMNS = ("responded_by", "resolved_by")


def upgrade() -> None:
    # plain ADD COLUMN (no table rebuild: the generated `view`, the indexes and triggers
    # stay); SQLite cannot add a foreign key so, PostgreSQL gets it as a constraint
    for name in COLUMNS:
        op.add_column("tickets", sa.Column(name, sa.Integer(), nullable=True))
        if op.get_bind().dialect.name == "postgresql":
            op.create_foreign_key(f"fk_tickets_{name}_staff", "tickets", "staff", [name], ["id"])
    for sql in BACKFILL:
        op.execute(sql)


def downgrade() -> None:
    for name in reversed(COLUMNS):
        if op.get_bind().dialect.name == "postgresql":
            op.drop_constraint(f"fk_tickets_{name}_staff", "tickets", type_="foreignkey")
        op.drop_column("tickets", name)
