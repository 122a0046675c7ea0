"""Who the desk serves and who works it: accounts, their services and contacts, and staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from supportdesk.models.base import Base, UTCDateTime

# services whose `domains` holds more than one (the WHERE of a partial index, and of the
# lookup's scan, which must repeat it for SQLite to use the index)
MORE_DOMAINS_SQLITE = "instr(domains, ' ') > 0"
MORE_DOMAINS_PG = "strpos(domains, ' ') > 0"


class Account(Base):
    """A customer account; `id` is the account id / username callers quote."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    company: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    suspended_reason: Mapped[str | None] = mapped_column(Text, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    reseller_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # On PostgreSQL, migration 0004 also indexes `id text_pattern_ops` (ix_accounts_id_pattern)
    # for the call screen's id prefixes; SQLite's primary key serves them, so the index is
    # not declared here, where the demo loader would build it on both databases.
    __table_args__ = (Index("ix_accounts_company", "company"),)


# A company prefix, without case, is a range on this index (migration 0004).
Index(
    "ix_accounts_company_lower",
    func.lower(Account.company).label("company_lower"),
    postgresql_ops={"company_lower": "text_pattern_ops"},
)


class Service(Base):
    """Something the account buys: a managed server, shared hosting, e-mail, a domain."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200))
    domains: Mapped[str] = mapped_column(Text, default="")  # space separated
    server: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # the call screen's lookup (migration 0004): the first domain's prefix is a range on
    # the first index; the other domains are scanned in the second, which holds only the
    # services with more than one
    __table_args__ = (
        Index("ix_services_domains", "domains", postgresql_ops={"domains": "text_pattern_ops"}),
        Index(
            "ix_services_more_domains",
            "domains",
            "account_id",
            sqlite_where=text(MORE_DOMAINS_SQLITE),
            postgresql_where=text(MORE_DOMAINS_PG),
        ),
    )


class Contact(Base):
    """A person on an account; their role decides what they may ask for."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    pin_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # issue 4: what the contact may ask for, and the PIN lockout counted across consoles
    services: Mapped[str] = mapped_column(Text, default="", server_default="")  # ids; "" all
    requests: Mapped[str] = mapped_column(Text, default="", server_default="")  # sub-accounts
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    pin_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    # locked contacts for the lead's board (migration 0005)
    __table_args__ = (
        Index(
            "ix_contacts_locked",
            "locked_until",
            sqlite_where=text("locked_until IS NOT NULL"),
            postgresql_where=text("locked_until IS NOT NULL"),
        ),
    )


class ContactPoint(Base):
    """One e-mail address or phone number of a contact, normalised for lookup."""

    __tablename__ = "contact_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # email | phone
    value: Mapped[str] = mapped_column(String(255))

    # equality (find a contact) and, for the call screen's lookup, prefixes: on PostgreSQL
    # with `text_pattern_ops` (since migration 0004), so that `LIKE 'x%'` can use it
    __table_args__ = (
        Index("ix_contact_points_value", "value", postgresql_ops={"value": "text_pattern_ops"}),
    )


class Verification(Base):
    """One attempt to verify a caller or sender: who tried, how, and the verdict. Rows are
    only ever added; the PIN itself is never stored here (or anywhere) in plain text."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    channel: Mapped[str] = mapped_column(String(8))
    method: Mapped[str] = mapped_column(String(12))  # pin | callback | email | none
    result: Mapped[str] = mapped_column(String(12))  # verified | failed | locked | held ...
    request: Mapped[str | None] = mapped_column(String(24), default=None)
    detail: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_verifications_contact", "contact_id", "id"),
        Index("ix_verifications_account", "account_id", "id"),
    )


class Staff(Base):
    """A member of the desk: the login is what `--as` names."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
