"""One-time confirmation codes (issue 19): a held ticket confirmed by its allowed contact's
authenticated reply carrying the code the desk mailed them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from supportdesk.models.base import Base, UTCDateTime


class ConfirmationCode(Base):
    """A code sent to `contact_id`'s address on file, good once, until `expires_at`, for
    `ticket_id` while its request type is `request_type`. Only `code_hash` (SHA-256 of the
    code) is stored, never the code. `spent_at` is set when it confirmed the ticket
    (`spent` = "confirmed") or a newer code for the same ticket and contact replaced it
    ("replaced")."""

    __tablename__ = "confirmation_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    request_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), default=None)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    spent: Mapped[str | None] = mapped_column(String(12), default=None)

    __table_args__ = (
        Index("uq_confirmation_codes_hash", "code_hash", unique=True),
        Index("ix_confirmation_codes_ticket", "ticket_id", "id"),
    )
