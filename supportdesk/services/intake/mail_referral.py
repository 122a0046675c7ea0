"""Mail from a reseller's end customer (seed 002, 5c): filed closed with the referral as its
reason (services/intake/mail.py), and, when the desk sends mail and the sender is a contact
on file of that account, the referral sent back to them.

The referral's words are services.directory.resellers' (core.views.Referral), the same on
every path. Automatic mail never gets here (mail.py files none of it as a new ticket), and
the reply is automatic itself (Auto-Submitted: auto-replied), at most one per sender per
the policy's acknowledgement interval, so two desks' auto-replies cannot loop.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Protocol

from supportdesk.core.views import Referral
from supportdesk.services.directory.resellers import referral_in

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk
    from supportdesk.models import Contact
    from supportdesk.rules.templating import Rendered

__all__ = ["Referral", "refer_sender", "referral_in"]

SUBJECT_ROOM = 300


class Incoming(Protocol):
    """What is read of the message being filed (mail.Message)."""

    @property
    def sender(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def message_id(self) -> str | None: ...


def refer_sender(
    session: Session,
    desk: Desk,
    ticket_id: int | None,
    contact: Contact | None,
    message: Incoming,
    referral: Referral | None,
) -> int | None:
    """Queue the referral to `contact` (the sender, on file on the end customer's account)
    in this transaction; the outbox row's id, or None when nothing is sent: no referral, no
    contact on file (a From: header proves nobody: an unlisted sender gets no mail), the
    desk sends no mail, or this sender had a referral within the interval."""
    from sqlalchemy import select

    from supportdesk.core.policy import current_policy
    from supportdesk.models import OutboxMessage
    from supportdesk.services.outbox.queueing import queue_message

    if referral is None or contact is None or contact.account_id != referral.account:
        return None
    rules = current_policy(desk).mail
    if not rules.enabled:
        return None
    interval = max(1, rules.acknowledge_interval_s)
    window = int(desk.now().timestamp()) // interval
    who = hashlib.sha256(message.sender.encode()).hexdigest()[:32]
    key = f"referral:{who}:{window}"
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
        return None
    subject = " ".join(message.subject.split())[:SUBJECT_ROOM] or "your message"
    body = referral.mail_body(subject)
    edited = _from_template(session, desk, ticket_id, referral)
    if edited is not None:  # a lead's text for it
        subject, body = (edited.subject or subject)[:SUBJECT_ROOM], edited.body
    row = queue_message(
        session,
        desk,
        kind="referral",
        to_addr=message.sender,
        subject=f"Re: {subject}",
        body=body,
        ticket_id=ticket_id,
        contact_id=contact.id,
        in_reply_to=message.message_id,
        automatic="auto-replied",
        dedupe_key=key,
    )
    return row.id if row is not None else None


def _from_template(
    session: Session, desk: Desk, ticket_id: int | None, referral: Referral
) -> Rendered | None:
    """The referral from the lead's template of its kind (the ticket filed closed and the
    reseller's company and contact as placeholders), or None: the built-in text."""
    from supportdesk.core.template_context import automatic
    from supportdesk.enums import TemplateKind
    from supportdesk.models import Ticket

    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    facts = {"reseller": {"company": referral.company, "contact": referral.contact_line}}
    return automatic(session, desk, TemplateKind.REFERRAL, ticket, facts)
