"""Tickets brought in from another helpdesk's export: which source row each one came from,
so that importing the same export again adds nothing twice, while another export that
reuses the same ticket ids still imports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from supportdesk.models.base import Base, UTCDateTime


class ImportedTicket(Base):
    """One imported ticket: its source format, the export it came from and its id there."""

    __tablename__ = "imported_tickets"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # the export's format: kaggle, servicenow
    # the export: its `--source` name or a digest of its first tickets (None: imported
    # before exports were told apart; recognised by the ticket's content)
    export_key: Mapped[str | None] = mapped_column(String(64), default=None)
    ref: Mapped[str] = mapped_column(String(64))  # the ticket's id in that export
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("source", "export_key", "ref"),
        Index("ix_imported_tickets_source_ref", "source", "ref"),
    )
