"""Incidents as plain data, for the CLI and the screens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from supportdesk.core.views import JsonMixin

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class IncidentSummary(JsonMixin):
    """What every console's banner shows of an incident."""

    id: int
    title: str
    state: str
    servers: tuple[str, ...]
    owner: str | None
    opened_at: datetime
    opened_by: str | None
    cadence_s: int
    next_update_due: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    script: str
    linked: int = 0
    calls: int = 0

    @property
    def is_open(self) -> bool:
        return self.state != "resolved"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    def update_left_s(self, now: datetime) -> int | None:
        """Seconds until the next customer update is due (negative: overdue)."""
        if self.next_update_due is None or not self.is_open:
            return None
        return int((self.next_update_due - now).total_seconds())


@dataclass(frozen=True)
class UpdateView(JsonMixin):
    id: int
    kind: str
    state: str
    body: str
    by: str | None
    at: datetime
    tickets_posted: int


@dataclass(frozen=True)
class LinkedTicket(JsonMixin):
    ticket_id: int
    account: str
    subject: str
    status: str
    priority: str
    holder: str | None
    linked_by: str | None
    linked_at: datetime
    reason: str | None
    keep_open: bool


@dataclass(frozen=True)
class AffectedAccount(JsonMixin):
    account: str
    company: str
    servers: tuple[str, ...]
    open_tickets: int


@dataclass(frozen=True)
class CallView(JsonMixin):
    id: int
    account: str
    ticket_id: int | None
    caller: str | None
    by: str | None
    at: datetime
    note: str


@dataclass(frozen=True)
class IncidentView(JsonMixin):
    """Everything the incident screen and `incident show` show."""

    incident: IncidentSummary
    updates: tuple[UpdateView, ...]
    tickets: tuple[LinkedTicket, ...]
    affected: tuple[AffectedAccount, ...]
    affected_total: int
    calls: tuple[CallView, ...] = field(default=())


@dataclass(frozen=True)
class UpdateResult(JsonMixin):
    incident_id: int
    update_id: int
    state: str
    tickets_posted: tuple[int, ...]
    next_update_due: datetime | None


@dataclass(frozen=True)
class LinkResult(JsonMixin):
    incident_id: int
    ticket_id: int
    account: str
    affected: bool
    responded: bool  # the link (a call with the customer) was the ticket's first response


@dataclass(frozen=True)
class CallResult(JsonMixin):
    incident_id: int
    call_id: int
    account: str
    affected: bool


@dataclass(frozen=True)
class ResolveResult(JsonMixin):
    incident_id: int
    resolved: tuple[int, ...]
    left_open: tuple[int, ...]
    tickets_posted: tuple[int, ...]
