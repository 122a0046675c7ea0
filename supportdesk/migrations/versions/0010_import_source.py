"""import source

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-08 08:00:00

Imported tickets are told apart by the export they came from, not only by their format:
`export_key` (the `--source` name, or a digest of the export's first tickets) joins the
unique key, so two exports that reuse ticket ids both import. Rows imported before have no
key; the importer recognises them by their ticket's content.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _table_0007() -> sa.Table:
    """The table as 0007 made it: SQLite's batch mode copies it from this instead of
    reflecting it (reflection would follow its foreign key through the whole schema)."""
    return sa.Table(
        "imported_tickets",
        sa.MetaData(),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_imported_tickets_ticket_id_tickets"
        ),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_imported_tickets"),
        sa.UniqueConstraint("source", "ref", name="uq_imported_tickets_source_ref"),
    )


def _table_0010() -> sa.Table:
    table = _table_0007()
    table.append_column(sa.Column("export_key", sa.String(64), nullable=True))
    for c in list(table.constraints):
        if c.name == "uq_imported_tickets_source_ref":
            table.constraints.remove(c)
    table.append_constraint(
        sa.UniqueConstraint(
            "source", "export_key", "ref", name="uq_imported_tickets_source_export_key_ref"
        )
    )
    sa.Index("ix_imported_tickets_source_ref", table.c.source, table.c.ref)
    return table


def upgrade() -> None:
    with op.batch_alter_table("imported_tickets", copy_from=_table_0007()) as batch:
        batch.add_column(sa.Column("export_key", sa.String(64), nullable=True))
        batch.drop_constraint("uq_imported_tickets_source_ref", type_="unique")
        batch.create_unique_constraint(
            "uq_imported_tickets_source_export_key_ref", ["source", "export_key", "ref"]
        )
        batch.create_index("ix_imported_tickets_source_ref", ["source", "ref"])


def downgrade() -> None:
    with op.batch_alter_table("imported_tickets", copy_from=_table_0010()) as batch:
        batch.drop_index("ix_imported_tickets_source_ref")
        batch.drop_constraint("uq_imported_tickets_source_export_key_ref", type_="unique")
        batch.create_unique_constraint("uq_imported_tickets_source_ref", ["source", "ref"])
        batch.drop_column("export_key")
