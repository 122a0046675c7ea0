"""Attachments (issue 20): the files that came with a customer's mail, or go with a reply.

The bytes live in the database (one place for SQLite and PostgreSQL desks alike). Redaction
clears `data` and sets `redacted_at`; the record (name, types, size, SHA-256) stays.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from supportdesk.models.base import Base, UTCDateTime


class Attachment(Base):
    """One file on ticket `ticket_id`, with the thread event `event_id` it came or went with;
    `outbox_id` is the outgoing mail it goes with (a reply's `--attach`)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"), default=None)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), default=None)
    name: Mapped[str] = mapped_column(String(255))
    declared_type: Mapped[str] = mapped_column(String(255))
    detected_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        Index("ix_attachments_ticket", "ticket_id", "id"),
        Index("ix_attachments_outbox", "outbox_id"),
    )
