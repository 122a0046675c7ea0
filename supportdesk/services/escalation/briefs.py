"""Everything the next person needs to work an escalated ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.views import JsonMixin, ServiceView
from supportdesk.errors import (
    NotFound,
)

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class EscalationView(JsonMixin):
    id: int
    kind: str
    from_tier: int
    to_tier: int
    reason: str
    tried: str
    by: str | None
    at: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    ended_at: datetime | None
    ended_how: str | None


@dataclass(frozen=True)
class Authorizer(JsonMixin):
    name: str
    role: str
    scope: str  # "all services" or the services they are limited to


@dataclass(frozen=True)
class Neighbour(JsonMixin):
    ticket_id: int
    server: str
    account: str
    subject: str
    status: str
    priority: str
    holder: str | None


@dataclass(frozen=True)
class HandoverNote(JsonMixin):
    """A note left when a ticket changed hands: an end of shift's handover note, or the
    reason given when a claim was released."""

    by: str | None
    at: datetime
    note: str
    kind: str  # "handover" (end of shift) or "release"


HANDOVER_PREFIX = "Handover: "  # how end_shift writes its note into the holder event


@dataclass(frozen=True)
class Brief(JsonMixin):
    """Everything the next person needs to work an escalated ticket."""

    ticket_id: int
    account: str
    company: str
    account_notes: str
    reported_at: datetime
    reported: str
    services: tuple[ServiceView, ...]
    escalations: tuple[EscalationView, ...]
    authorizers: tuple[Authorizer, ...]
    same_server: tuple[Neighbour, ...]
    watchers: tuple[str, ...]
    flagged_at: datetime | None
    handovers: tuple[HandoverNote, ...] = ()  # oldest first
    flag: str | None = None  # why it is flagged: "supervisor" (a complaint), "mail failed"


def brief(desk: Desk, ticket_id: int, *, neighbours: int = 10) -> Brief:
    from sqlalchemy import select

    from supportdesk.core.queue import PRIORITY_NAMES
    from supportdesk.enums import EventKind
    from supportdesk.models import (
        Account,
        Contact,
        Escalation,
        Service,
        Staff,
        Ticket,
        TicketEvent,
        Watcher,
    )
    from supportdesk.rules.limits import fits_id

    permissions.require(desk.actor, "ticket.read")
    with desk.store.read() as s:
        t = s.get(Ticket, ticket_id) if fits_id(ticket_id) else None
        if t is None:
            raise NotFound(f"no ticket #{ticket_id}")
        logins = dict(s.execute(select(Staff.id, Staff.login)).all())
        acct = s.get(Account, t.account_id)
        services = list(
            s.scalars(
                select(Service).where(Service.account_id == t.account_id).order_by(Service.id)
            )
        )
        # the ticket's own service first; the servers that matter are its server, or all
        # of the account's when the ticket names no service
        services.sort(key=lambda sv: (sv.id != t.service_id, sv.id))
        servers = sorted(
            {
                sv.server
                for sv in services
                if sv.server and (t.service_id is None or sv.id == t.service_id)
            }
        )
        labels = {sv.id: sv.label for sv in services}
        authorizers = tuple(
            Authorizer(
                c.name,
                c.role,
                ", ".join(labels.get(int(x), f"service {x}") for x in c.services.split())
                or "all services",
            )
            for c in s.scalars(
                select(Contact)
                .where(
                    Contact.account_id == t.account_id,
                    Contact.active.is_(True),
                    Contact.role.in_(("primary", "secondary", "authorized")),
                )
                .order_by(Contact.id)
            )
        )
        escalations = tuple(
            EscalationView(
                e.id,
                e.kind,
                e.from_tier,
                e.to_tier,
                e.reason,
                e.tried,
                logins.get(e.by_id) if e.by_id else None,
                e.at,
                logins.get(e.claimed_by_id) if e.claimed_by_id else None,
                e.claimed_at,
                e.ended_at,
                e.ended_how,
            )
            for e in s.scalars(
                select(Escalation).where(Escalation.ticket_id == t.id).order_by(Escalation.id)
            )
        )
        near: list[Neighbour] = []
        if servers:
            rows = s.execute(
                select(
                    Ticket.id,
                    Service.server,
                    Ticket.account_id,
                    Ticket.subject,
                    Ticket.status,
                    Ticket.priority_rank,
                    Ticket.holder_id,
                )
                .join(Service, Service.id == Ticket.service_id)
                .where(
                    Service.server.in_(servers),
                    Ticket.view != "done",
                    Ticket.service_id.is_not(None),
                    Ticket.id != t.id,
                )
                .order_by(Ticket.priority_rank, Ticket.created_at)
                .limit(neighbours)
            ).all()
            near = [
                Neighbour(
                    tid,
                    server or "",
                    account,
                    subject,
                    status,
                    PRIORITY_NAMES[rank],
                    logins.get(holder) if holder else None,
                )
                for tid, server, account, subject, status, rank, holder in rows
            ]
        watchers = tuple(
            sorted(
                logins.get(sid, "?")
                for sid in s.scalars(select(Watcher.staff_id).where(Watcher.ticket_id == t.id))
            )
        )
        handovers = tuple(
            HandoverNote(
                logins.get(by) if by else None,
                at,
                (body or "").removeprefix(HANDOVER_PREFIX),
                "handover" if (body or "").startswith(HANDOVER_PREFIX) else "release",
            )
            for by, at, body in s.execute(
                select(TicketEvent.staff_id, TicketEvent.created_at, TicketEvent.body)
                .where(
                    TicketEvent.ticket_id == t.id,
                    TicketEvent.kind == EventKind.HOLDER.value,
                    TicketEvent.new_value.is_(None),
                    TicketEvent.body.is_not(None),
                    TicketEvent.body != "",
                )
                .order_by(TicketEvent.id)
            )
        )
        flag = (
            s.scalars(
                select(TicketEvent.new_value)
                .where(TicketEvent.ticket_id == t.id, TicketEvent.kind == EventKind.FLAG.value)
                .order_by(TicketEvent.id.desc())
                .limit(1)
            ).first()
            if t.flagged_at is not None
            else None
        )
        return Brief(
            t.id,
            t.account_id,
            acct.company if acct else "",
            acct.notes if acct else "",
            t.created_at,
            t.description,
            tuple(ServiceView.of(sv) for sv in services),
            escalations,
            authorizers,
            tuple(near),
            watchers,
            t.flagged_at,
            handovers,
            flag,
        )
