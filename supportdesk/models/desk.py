"""Desk-wide settings and console presence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supportdesk.models.base import Base, UTCDateTime


class Setting(Base):
    """A desk-wide key/value setting (for example `demo` = `1` on a demo database)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Presence(Base):
    """A running console: who runs it, where, and which ticket it has open.

    Rows are updated, never deleted; a console that exits marks itself `off`.
    """

    __tablename__ = "presence"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="available")
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id"), default=None, index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
