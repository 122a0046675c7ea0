"""Tickets brought in from another helpdesk's export: which source row each one came from,
so that importing the same export again adds nothing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class ImportedTicket(Base):
    """One imported ticket: its source format and the id it had there."""

    __tablename__ = "imported_tickets"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # the export's format: kaggle, servicenow
    ref: Mapped[str] = mapped_column(String(64))  # the ticket's id in that export
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("source", "ref"),)
