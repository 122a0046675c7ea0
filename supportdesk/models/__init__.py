"""Typed SQLAlchemy models, one concern per module."""

from .audit import AuditEvent
from .base import Base, UTCDateTime, sqlite_timestamp
from .desk import Presence, Setting
from .directory import Account, Contact, ContactPoint, Service, Staff
from .enums import (
    PRIORITY_ORDER,
    TRANSITIONS,
    VIEW_OF_STATUS,
    AccountStatus,
    CallOutcome,
    Category,
    Channel,
    ContactRole,
    EventKind,
    Priority,
    ResolutionCode,
    Role,
    ServiceKind,
    Speaker,
    Status,
    View,
)
from .tickets import VIEW_SQL, Ticket, TicketEvent

__all__ = [
    "PRIORITY_ORDER",
    "TRANSITIONS",
    "VIEW_OF_STATUS",
    "VIEW_SQL",
    "Account",
    "AccountStatus",
    "AuditEvent",
    "Base",
    "CallOutcome",
    "Category",
    "Channel",
    "Contact",
    "ContactPoint",
    "ContactRole",
    "EventKind",
    "Presence",
    "Priority",
    "ResolutionCode",
    "Role",
    "Service",
    "ServiceKind",
    "Setting",
    "Speaker",
    "Staff",
    "Status",
    "Ticket",
    "TicketEvent",
    "UTCDateTime",
    "View",
    "sqlite_timestamp",
]
