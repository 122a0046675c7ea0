"""Who the desk serves and who works it: accounts, their services and contacts, and staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


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

    __table_args__ = (Index("ix_accounts_company", "company"),)


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


class ContactPoint(Base):
    """One e-mail address or phone number of a contact, normalised for lookup."""

    __tablename__ = "contact_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # email | phone
    value: Mapped[str] = mapped_column(String(255), index=True)


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
