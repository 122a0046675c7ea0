"""indexes for the call screen's account lookup

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:10:00

The call screen searches accounts on every keystroke (services/lookup.py); these indexes turn
its prefix matches into index ranges: a company by `lower(company)`, a service's first domain
by `services.domains`. Its other domains are found by scanning a partial index that holds
only the services with more than one (a fifth of them in the demo). On PostgreSQL the range
indexes use `text_pattern_ops`, so that `LIKE 'text%'` can use them under any collation; the
index of contact points (e-mail addresses, phone numbers) is rebuilt with it, and account ids
get one of their own (PostgreSQL only: on SQLite the primary key serves).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    ops = " text_pattern_ops" if pg else ""
    op.execute(f"CREATE INDEX ix_accounts_company_lower ON accounts (lower(company){ops})")
    op.execute(f"CREATE INDEX ix_services_domains ON services (domains{ops})")
    more = "strpos(domains, ' ') > 0" if pg else "instr(domains, ' ') > 0"
    op.execute(
        f"CREATE INDEX ix_services_more_domains ON services (domains, account_id) WHERE {more}"
    )
    if pg:
        op.execute("CREATE INDEX ix_accounts_id_pattern ON accounts (id text_pattern_ops)")
        # `=` is in text_pattern_ops too: the equality lookups keep working on it
        op.execute("DROP INDEX ix_contact_points_value")
        op.execute(
            "CREATE INDEX ix_contact_points_value ON contact_points (value text_pattern_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_contact_points_value")
        op.execute("CREATE INDEX ix_contact_points_value ON contact_points (value)")
        op.execute("DROP INDEX ix_accounts_id_pattern")
    op.execute("DROP INDEX ix_services_more_domains")
    op.execute("DROP INDEX ix_services_domains")
    op.execute("DROP INDEX ix_accounts_company_lower")
