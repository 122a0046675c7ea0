"""The closed vocabularies of the desk, kept as plain string enums so SQL readers see words."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    """Ticket priority; the rank (0 = critical) is what the database stores and sorts on."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return PRIORITY_ORDER.index(self)

    @classmethod
    def from_rank(cls, rank: int) -> Priority:
        return PRIORITY_ORDER[rank]


PRIORITY_ORDER: tuple[Priority, ...] = (
    Priority.CRITICAL,
    Priority.HIGH,
    Priority.MEDIUM,
    Priority.LOW,
)


class Category(StrEnum):
    TECHNICAL = "technical"
    BILLING = "billing"
    INFRASTRUCTURE = "infrastructure"
    SECURITY = "security"


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    PORTAL = "portal"


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    AWAITING_AUTHORIZATION = "awaiting_authorization"
    PENDING_CUSTOMER = "pending_customer"
    SCHEDULED = "scheduled"
    RESOLVED = "resolved"
    CLOSED = "closed"


class View(StrEnum):
    """Which list a ticket appears in; derived by the database from its status."""

    QUEUE = "queue"
    HELD = "held"
    WAITING = "waiting"
    SCHEDULED = "scheduled"
    DONE = "done"


# The one place the status -> view mapping lives; the generated column is built from it.
VIEW_OF_STATUS: dict[Status, View] = {
    Status.NEW: View.QUEUE,
    Status.OPEN: View.QUEUE,
    Status.AWAITING_AUTHORIZATION: View.HELD,
    Status.PENDING_CUSTOMER: View.WAITING,
    Status.SCHEDULED: View.SCHEDULED,
    Status.RESOLVED: View.DONE,
    Status.CLOSED: View.DONE,
}


class ResolutionCode(StrEnum):
    FIXED = "fixed"
    DUPLICATE = "duplicate"
    NOT_AUTHORIZED = "not_authorized"
    OUT_OF_SCOPE = "out_of_scope"
    UNLISTED_SENDER = "unlisted_sender"
    NO_RESPONSE = "no_response"


class Role(StrEnum):
    """A staff member's role; see core.permissions for what each may do."""

    AGENT = "agent"
    ENGINEER = "engineer"
    LEAD = "lead"


class ContactRole(StrEnum):
    """Who a contact is on an account (seed 001: primary, secondary, up to 3 authorized)."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    AUTHORIZED = "authorized"
    SUBACCOUNT = "subaccount"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class ServiceKind(StrEnum):
    MANAGED_SERVER = "managed_server"
    SHARED_HOSTING = "shared_hosting"
    RESELLER = "reseller"
    EMAIL = "email"
    DOMAIN = "domain"


class EventKind(StrEnum):
    """What a ticket event records."""

    CREATED = "created"
    REPLY = "reply"
    CALL = "call"
    NOTE = "note"
    STATUS = "status"
    PRIORITY = "priority"
    TIER = "tier"
    HOLDER = "holder"
    FLAG = "flag"  # a complaint escalated to a supervisor
    MERGE = "merge"
    SLA = "sla"
    REQUEST = "request_type"  # a person set the request type (issue 19)
    CATEGORY = "category"  # a person (or a template) changed the category (issue 20)


class CallOutcome(StrEnum):
    SPOKE = "spoke"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"


# The SLA sort key (tickets.sla_key) of a ticket with no running, breachable clock: epoch
# seconds far after every real due time, so such tickets sort last under "breaches first".
NO_DUE_KEY = 10**12


class Speaker(StrEnum):
    """Who spoke last on a ticket, for the queue's at-a-glance column."""

    CUSTOMER = "customer"
    STAFF = "staff"


# Allowed status changes. new -> open on first response or take; resolved can reopen;
# closed is final. A transition not listed here is refused.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset(
        {
            Status.OPEN,
            Status.AWAITING_AUTHORIZATION,
            Status.PENDING_CUSTOMER,
            Status.SCHEDULED,
            Status.RESOLVED,
            Status.CLOSED,
        }
    ),
    Status.OPEN: frozenset(
        {
            Status.AWAITING_AUTHORIZATION,
            Status.PENDING_CUSTOMER,
            Status.SCHEDULED,
            Status.RESOLVED,
            Status.CLOSED,
        }
    ),
    Status.AWAITING_AUTHORIZATION: frozenset({Status.OPEN, Status.CLOSED}),
    Status.PENDING_CUSTOMER: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED}),
    Status.SCHEDULED: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


class TemplateKind(StrEnum):
    """What a template is for (issue 20): a reply an agent picks, or one of the desk's
    automatic messages and scripts, which use the template of their kind when there is one."""

    REPLY = "reply"
    ACKNOWLEDGEMENT = "acknowledgement"
    CONFIRMATION = "confirmation"
    INCIDENT_UPDATE = "incident_update"
    MAINTENANCE_NOTICE = "maintenance_notice"
    REFERRAL = "referral"
    INCIDENT_SCRIPT = "incident_script"
