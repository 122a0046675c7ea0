"""Typed SQLAlchemy models, one concern per module.

The names are loaded on first use (PEP 562): the CLI's read path and the console's first
paint do not need the ORM. The closed vocabularies live in `supportdesk.enums`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supportdesk.models.attachments import Attachment
    from supportdesk.models.audit import AuditEvent
    from supportdesk.models.base import Base, UTCDateTime, sqlite_timestamp
    from supportdesk.models.confirmations import ConfirmationCode
    from supportdesk.models.desk import Presence, Setting
    from supportdesk.models.directory import (
        Account,
        Contact,
        ContactPoint,
        Service,
        Staff,
        Verification,
    )
    from supportdesk.models.escalation import Escalation, Notice, Watcher
    from supportdesk.models.imports import ImportedTicket
    from supportdesk.models.incidents import (
        Incident,
        IncidentCall,
        IncidentLink,
        IncidentServer,
        IncidentUpdate,
        MaintenanceWindow,
        WindowServer,
    )
    from supportdesk.models.mail import MailMessage
    from supportdesk.models.outbox import MailAlarm, OutboxMessage
    from supportdesk.models.templates import Template
    from supportdesk.models.tickets import VIEW_SQL, Ticket, TicketEvent

_HOME = {
    "Attachment": "attachments",
    "AuditEvent": "audit",
    "Base": "base",
    "UTCDateTime": "base",
    "sqlite_timestamp": "base",
    "ConfirmationCode": "confirmations",
    "Presence": "desk",
    "Setting": "desk",
    "Account": "directory",
    "Contact": "directory",
    "ContactPoint": "directory",
    "Service": "directory",
    "Staff": "directory",
    "Verification": "directory",
    "Escalation": "escalation",
    "Notice": "escalation",
    "Watcher": "escalation",
    "ImportedTicket": "imports",
    "Incident": "incidents",
    "IncidentCall": "incidents",
    "IncidentLink": "incidents",
    "IncidentServer": "incidents",
    "IncidentUpdate": "incidents",
    "MaintenanceWindow": "incidents",
    "WindowServer": "incidents",
    "MailMessage": "mail",
    "MailAlarm": "outbox",
    "OutboxMessage": "outbox",
    "Template": "templates",
    "VIEW_SQL": "tickets",
    "Ticket": "tickets",
    "TicketEvent": "tickets",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # one whole metadata
    for each in (
        "base",
        "audit",
        "desk",
        "directory",
        "tickets",
        "escalation",
        "incidents",
        "imports",
        "mail",
        "outbox",
        "confirmations",
        "attachments",
        "templates",
    ):
        importlib.import_module(f"{__name__}.{each}")
    try:
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


__all__ = [
    "VIEW_SQL",
    "Account",
    "Attachment",
    "AuditEvent",
    "Base",
    "ConfirmationCode",
    "Contact",
    "ContactPoint",
    "Escalation",
    "ImportedTicket",
    "Incident",
    "IncidentCall",
    "IncidentLink",
    "IncidentServer",
    "IncidentUpdate",
    "MailAlarm",
    "MailMessage",
    "MaintenanceWindow",
    "Notice",
    "OutboxMessage",
    "Presence",
    "Service",
    "Setting",
    "Staff",
    "Template",
    "Ticket",
    "TicketEvent",
    "UTCDateTime",
    "Verification",
    "Watcher",
    "WindowServer",
    "sqlite_timestamp",
]
