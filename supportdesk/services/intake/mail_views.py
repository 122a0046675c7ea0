"""What leads read of mail: tickets filed from unlisted senders, and replies that tried to
confirm a held ticket by e-mail (which mail never does)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.enums import EventKind, ResolutionCode, Status

if TYPE_CHECKING:
    pass


NOT_CONFIRMED = "confirmation by e-mail not accepted"


@dataclass(frozen=True)
class UnlistedMail:
    ticket_id: int
    account: str
    sender: str
    subject: str
    status: str
    created_at: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket_id,
            "account": self.account,
            "sender": self.sender,
            "subject": self.subject,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
        }


def unlisted(desk: Desk, limit: int = 100) -> list[UnlistedMail]:
    """Mail from unlisted senders, newest first (closed unanswered or held), for leads."""
    from sqlalchemy import or_, select

    from supportdesk.models import Ticket

    permissions.require(desk.actor, "mail.review")
    with desk.store.read() as session:
        rows = session.execute(
            select(
                Ticket.id,
                Ticket.account_id,
                Ticket.sender,
                Ticket.subject,
                Ticket.status,
                Ticket.created_at,
            )
            .where(
                Ticket.sender.is_not(None),
                Ticket.contact_id.is_(None),
                or_(
                    Ticket.resolution_code == ResolutionCode.UNLISTED_SENDER.value,
                    Ticket.status == Status.AWAITING_AUTHORIZATION.value,
                ),
            )
            .order_by(Ticket.id.desc())
            .limit(limit)
        ).all()
    return [UnlistedMail(t, a, sender or "", subj, st, at) for t, a, sender, subj, st, at in rows]


@dataclass(frozen=True)
class HeldMail:
    """A held ticket that mail tried to confirm: the lead's to decide."""

    ticket_id: int
    account: str
    subject: str
    note: str
    at: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket_id,
            "account": self.account,
            "subject": self.subject,
            "note": self.note,
            "at": self.at.isoformat(),
        }


def held(desk: Desk, limit: int = 100) -> list[HeldMail]:
    """Tickets awaiting authorization with mail on them ("confirmation by e-mail not
    accepted"), newest mail first, for leads."""
    from sqlalchemy import select

    from supportdesk.models import Ticket, TicketEvent

    permissions.require(desk.actor, "mail.review")
    with desk.store.read() as session:
        rows = session.execute(
            select(
                Ticket.id,
                Ticket.account_id,
                Ticket.subject,
                TicketEvent.body,
                TicketEvent.created_at,
            )
            .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
            .where(
                Ticket.status == Status.AWAITING_AUTHORIZATION.value,
                TicketEvent.kind == EventKind.NOTE.value,
                TicketEvent.body.like(NOT_CONFIRMED + "%"),
            )
            .order_by(TicketEvent.id.desc())
            .limit(limit)
        ).all()
    return [HeldMail(t, a, s, b or "", at) for t, a, s, b, at in rows]
