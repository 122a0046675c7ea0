"""attachments of merged tickets follow their events

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 04:40:00

Issue 20: until now a merge moved the duplicate's thread to the target and left the files
that came with it on the closed duplicate, where `attachment list` of the target did not
find them. Merges now move them; this moves the ones earlier merges left behind, following
a chain of merges (#1 into #2, later #2 into #3) to its end. A data migration: it names
the two columns it needs and nothing else.
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# a chain of merges is at most as long as the desk has tickets; each pass moves files one
# link along, and a pass that moves nothing ends it
MOVE = (
    "UPDATE attachments SET ticket_id = ("
    "SELECT t.merged_into_id FROM tickets t WHERE t.id = attachments.ticket_id) "
    "WHERE ticket_id IN (SELECT id FROM tickets WHERE merged_into_id IS NOT NULL)"
)


def upgrade() -> None:
    bind = op.get_bind()
    while bind.exec_driver_sql(MOVE).rowcount:
        pass


def downgrade() -> None:
    """Nothing to undo: which ticket a file sat on before is not kept, and the target is
    where it belongs."""
