"""Outages and planned work (issue 6): incidents with their servers, customer updates,
linked tickets and calls; maintenance windows with their servers.

A "server" is the name in `services.server`: the accounts an incident or a window affects
are found through their services (indexed on `services.server`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from supportdesk.models.base import Base, UTCDateTime


class Incident(Base):
    """One outage: its state, owner, customer-update cadence and when the next update is
    due, the script agents read to callers, and who acknowledged it (no more bells)."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    # investigating | identified | monitoring | resolved
    state: Mapped[str] = mapped_column(String(16), default="investigating")
    script: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cadence_s: Mapped[int] = mapped_column(Integer)
    next_update_due: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    # every console reads the open ones after each change of the store
    __table_args__ = (
        Index(
            "ix_incidents_open",
            "id",
            sqlite_where=text("state <> 'resolved'"),
            postgresql_where=text("state <> 'resolved'"),
        ),
    )


class IncidentServer(Base):
    """A server an incident is about."""

    __tablename__ = "incident_servers"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    server: Mapped[str] = mapped_column(String(128), primary_key=True)

    __table_args__ = (Index("ix_incident_servers_server", "server", "incident_id"),)


class IncidentUpdate(Base):
    """A customer update (posted to every linked ticket), a state change, or the opening."""

    __tablename__ = "incident_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(12))  # opened | update | ack | resolved
    state: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    tickets_posted: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_incident_updates_incident", "incident_id", "id"),)


class IncidentLink(Base):
    """A ticket linked to an incident instead of being worked on its own. `reason` is why a
    ticket of an account the incident does not affect was linked anyway; `keep_open` marks
    a ticket the resolution left open."""

    __tablename__ = "incident_links"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    keep_open: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_incident_links_ticket", "ticket_id"),)


class IncidentCall(Base):
    """A call about an incident: on a ticket (linked with the caller on the line) or, for a
    caller with no ticket, against the account alone; either way no new ticket."""

    __tablename__ = "incident_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    caller_name: Mapped[str | None] = mapped_column(String(200), default=None)
    caller_phone: Mapped[str | None] = mapped_column(String(64), default=None)
    verification_id: Mapped[int | None] = mapped_column(
        ForeignKey("verifications.id"), default=None
    )
    note: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_incident_calls_incident", "incident_id", "id"),
        Index("ix_incident_calls_account", "account_id", "id"),
    )


class MaintenanceWindow(Base):
    """Planned work: from `starts_at` to `ends_at` on its servers, with the notice customers
    and agents read. Tickets whose fix needs the work are scheduled into it."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_maintenance_windows_ends", "ends_at", "starts_at"),)


class WindowServer(Base):
    """A server a maintenance window works on; the window's times are repeated so that the
    overlap check on one server is a single index range."""

    __tablename__ = "window_servers"

    window_id: Mapped[int] = mapped_column(ForeignKey("maintenance_windows.id"), primary_key=True)
    server: Mapped[str] = mapped_column(String(128), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_window_servers_server", "server", "ends_at"),)
