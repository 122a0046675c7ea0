"""The tickets domain: open, show, change, message, claim, merge and redact a ticket.

Each write is one short transaction through core (load-and-lock, guard, history event,
audit row); a failure leaves the database as it was.
"""

from __future__ import annotations

from supportdesk.services.tickets.changes import claim, merge, resolve, update_fields
from supportdesk.services.tickets.messages import log_call, note, reply
from supportdesk.services.tickets.opening import REQUEST_TYPES, confirm, create, find_contact
from supportdesk.services.tickets.reading import show
from supportdesk.services.tickets.redaction import REDACTED, Redaction, redact, redact_ticket_text

__all__ = [
    "REDACTED",
    "REQUEST_TYPES",
    "Redaction",
    "claim",
    "confirm",
    "create",
    "find_contact",
    "log_call",
    "merge",
    "note",
    "redact",
    "redact_ticket_text",
    "reply",
    "resolve",
    "show",
    "update_fields",
]
