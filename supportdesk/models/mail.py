"""Every message `supportdesk mail ingest` received: what became of it, and the raw bytes of
those it could not file (the quarantine)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supportdesk.models.base import Base, UTCDateTime


class MailMessage(Base):
    """One received message. `state` is filed (on ticket `ticket_id`), quarantined (kept in
    `raw` for a lead to read, release or delete) or released (filed from the quarantine).
    Filed messages keep their digest, not their bytes: what a customer pasted stays only in
    the ticket's thread, where it can be redacted. `message_id` is unique, so a message
    delivered twice is filed once."""

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    size: Mapped[int] = mapped_column(BigInteger)  # bytes received, also past what was kept
    digest: Mapped[str] = mapped_column(String(71))  # "sha256:" + hex of what was kept
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    envelope_sender: Mapped[str | None] = mapped_column(String(255), default=None)
    sender: Mapped[str | None] = mapped_column(String(255), default=None)
    subject: Mapped[str | None] = mapped_column(String(200), default=None)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    action: Mapped[str | None] = mapped_column(String(24), default=None)

    __table_args__ = (
        Index("uq_mail_messages_message_id", "message_id", unique=True),
        Index("ix_mail_messages_state", "state", "id"),
    )
