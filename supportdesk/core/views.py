"""Plain dataclasses the services hand to screens and the CLI (never ORM objects)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from supportdesk.enums import NO_DUE_KEY, Priority
from supportdesk.rules.sla_engine import TicketClocks

UTC_OFFSET = "+00:00"  # appended to a UTC text: fromisoformat then gives tzinfo UTC, 8x faster


def parse_utc(value: Any) -> datetime:
    """A timestamp read with the plain driver, as an aware UTC datetime."""
    if isinstance(value, str):  # SQLite keeps UTC as text; parsing with the offset is 8x
        return datetime.fromisoformat(value + UTC_OFFSET)  # faster than .replace(tzinfo=)
    return value.astimezone(UTC)


def parse_utc_or_none(value: Any) -> datetime | None:
    return None if value is None else parse_utc(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


class JsonMixin:
    def to_json(self) -> dict[str, Any]:
        return {k: _json_value(v) for k, v in asdict(self).items()}  # type: ignore[call-overload]


@dataclass(frozen=True)
class QueueKey:
    """A position in the queue order: priority, then arrival, then id."""

    priority_rank: int
    created_at: datetime
    id: int
    sla_key: int = NO_DUE_KEY  # the "breaches first" order: earliest running due time


@dataclass(slots=True)
class QueueRow(JsonMixin):
    """One ticket as a queue line shows it (not frozen: building 500 of these per page is
    measurably faster without the frozen __setattr__ detour)."""

    id: int
    priority: str
    account: str
    company: str
    subject: str
    category: str
    channel: str
    status: str
    tier: int
    created_at: datetime
    holder: str | None
    last_speaker: str
    last_activity_at: datetime
    contact: str | None
    service: int | None
    open_by: tuple[str, ...] = ()
    sla_plan: str | None = None
    sla_key: int = NO_DUE_KEY
    clocks: TicketClocks | None = None

    @property
    def key(self) -> QueueKey:
        return QueueKey(Priority(self.priority).rank, self.created_at, self.id, self.sla_key)


@dataclass(frozen=True)
class QueuePage:
    rows: tuple[QueueRow, ...]
    has_more_after: bool
    has_more_before: bool
    total: int | None = None


@dataclass(frozen=True)
class FileView(JsonMixin):
    """A file that came or went with a thread entry (issue 20): never its bytes."""

    id: int
    name: str
    kind: str  # the type its bytes show
    size: int
    readable: bool  # text that may open inline (through safe_text)
    redacted: bool


@dataclass(frozen=True)
class EventView(JsonMixin):
    id: int
    kind: str
    at: datetime
    author: str | None
    from_customer: bool
    visible: bool
    body: str | None
    call_outcome: str | None
    old_value: str | None
    new_value: str | None
    redacted: bool
    files: tuple[FileView, ...] = ()  # its attachments (issue 20)


@dataclass(frozen=True)
class ServiceView(JsonMixin):
    id: int
    kind: str
    label: str
    domains: tuple[str, ...]
    server: str | None

    @classmethod
    def of(cls, service: Any) -> ServiceView:
        """From a `Service` row (its domains are stored space-separated)."""
        return cls(
            service.id, service.kind, service.label, tuple(service.domains.split()), service.server
        )


@dataclass(frozen=True)
class ContactView(JsonMixin):
    id: int
    name: str
    role: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    has_pin: bool


@dataclass(frozen=True)
class Referral(JsonMixin):
    """An end customer of a reseller is referred to the reseller (seed 002, 5c): the one
    wording every path uses (verify, ticket new, mail, the call screen), with the reseller's
    primary contact to give the customer. Made by services.directory.resellers."""

    account: str  # the end customer's account
    reseller: str
    company: str  # the reseller's
    contact: str | None  # the reseller's primary contact: name, first e-mail and phone
    email: str | None
    phone: str | None

    @property
    def contact_line(self) -> str:
        """ "Ola Berg, ops@bluefin.example, +27 21 555 0101" (what is on file of it)."""
        parts = [x for x in (self.contact, self.email, self.phone) if x]
        return ", ".join(parts) if parts else "no contact on file"

    @property
    def message(self) -> str:
        return (
            f"{self.account} is a customer of the reseller {self.company} ({self.reseller}): "
            f"they must contact their reseller ({self.contact_line}); no ticket is opened"
        )

    def mail_body(self, subject: str) -> str:
        """The referral sent to an end customer who wrote to the desk."""
        return (
            f"Hello,\n\nyour account {self.account} is looked after by {self.company}, who "
            f"give you support. Please send your request to them: {self.contact_line}.\n\n"
            f"We have not opened a ticket for your message ({subject}).\n"
        )

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "message": self.message}


@dataclass(frozen=True)
class AccountView(JsonMixin):
    id: str
    company: str
    plan: str
    status: str
    suspended_reason: str | None
    notes: str
    reseller: str | None
    created_at: datetime
    services: tuple[ServiceView, ...] = ()
    contacts: tuple[ContactView, ...] = ()
    open_tickets: int = 0
    referral: Referral | None = None  # an end customer: to whom, with the reseller's contact


@dataclass(frozen=True)
class DeliveryView(JsonMixin):
    """One outgoing message as the thread, `ticket show` and `mail outbox` show it.

    state: queued | sending | sent | deferred | failed | withdrawn (never sent: redacted or
    cancelled before it went). `last_error` and `server_reply` are the mail server's words:
    outside text. `body` is None once redacted."""

    id: int
    kind: str
    state: str
    ticket_id: int | None
    event_id: int | None
    to_addr: str
    subject: str
    queued_at: datetime
    send_after: datetime
    attempts: int
    sent_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    server_reply: str | None
    redacted: bool
    body: str | None = None


@dataclass(frozen=True)
class MailAlarmView(JsonMixin):
    """An open fault of the mail transport: nothing goes out until a delivery succeeds."""

    id: int
    raised_at: datetime
    last_seen_at: datetime
    reason: str
    count: int
    waiting: int  # messages queued, deferred or being sent


@dataclass(frozen=True)
class TicketView(JsonMixin):
    """A ticket with everything its screen shows."""

    id: int
    account: str
    company: str
    contact: str | None
    contact_id: int | None
    caller_name: str | None
    caller_phone: str | None
    service: int | None
    service_label: str | None
    request_type: str
    subject: str
    description: str
    priority: str
    category: str
    channel: str
    status: str
    tier: int
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution_code: str | None
    holder: str | None
    merged_into: int | None
    last_speaker: str
    last_activity_at: datetime
    events: tuple[EventView, ...] = field(default=())
    open_by: tuple[str, ...] = ()
    sla_plan: str | None = None
    clocks: TicketClocks | None = None
    window_id: int | None = None  # the maintenance window a scheduled ticket waits for
    confirmed_by: str | None = None  # the contact who confirmed it when it was held
    # issue 19: what the ticket's words suggest (never applied) and the keywords matched,
    # and why nothing may be said to the customer or resolved yet (its request type)
    suggested_type: str | None = None
    suggested_words: tuple[str, ...] = ()
    request_block: str | None = None
    deliveries: tuple[DeliveryView, ...] = ()  # its outgoing mail, oldest first


@dataclass(frozen=True)
class StaffView(JsonMixin):
    id: int
    login: str
    name: str
    tier: int
    role: str
    active: bool
