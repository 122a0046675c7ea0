"""Tier escalation (issue 5): the escalations themselves, who watches a ticket, and the
notices a console shows its user (a reassignment, a ticket handed back, a complaint)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from supportdesk.models.base import Base, UTCDateTime

CLAIMED = "kind = 'tier' AND claimed_at IS NOT NULL"
WAITING = "kind = 'tier' AND claimed_at IS NULL AND ended_at IS NULL"


class Escalation(Base):
    """One move of a ticket up a tier, or of a complaint to a supervisor (`kind`).

    `claimed_at` is the first claim after it (the "time to claim" figure); `ended_at` when
    it stopped being the ticket's open escalation (de-escalated, escalated further, solved).
    """

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(12), default="tier")  # tier | supervisor
    from_tier: Mapped[int] = mapped_column(SmallInteger)
    to_tier: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(Text)
    tried: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_how: Mapped[str | None] = mapped_column(String(16), default=None)

    __table_args__ = (
        Index("ix_escalations_ticket", "ticket_id", "id"),
        Index("ix_escalations_at", "at"),
        # time to claim (the figures): claimed escalations by when, with when they began
        Index(
            "ix_escalations_claimed",
            "claimed_at",
            "at",
            sqlite_where=text(CLAIMED),
            postgresql_where=text(CLAIMED),
        ),
        # escalations still waiting for their first claim
        Index(
            "ix_escalations_waiting",
            "at",
            sqlite_where=text(WAITING),
            postgresql_where=text(WAITING),
        ),
    )


class Watcher(Base):
    """Someone who follows a ticket without holding it (who escalated it, for example)."""

    __tablename__ = "watchers"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_watchers_staff", "staff_id"),)


class Notice(Base):
    """A message for one staff member's console, written in the transaction of the change it
    tells about; a running console reads the new ones after each change of the store."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (Index("ix_notices_staff", "staff_id", "id"),)
