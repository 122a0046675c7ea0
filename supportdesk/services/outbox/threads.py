"""Where a customer message goes and how it threads (issue 18, item 3).

- `address_on_file`: the contact's e-mail address on file; for a ticket opened by mail from a
  listed address, that address. Never an incoming Reply-To or Cc (nothing stores them): a
  forged From: with `Reply-To: attacker` must not receive a password reset.
- `thread_subject`: `Re: <subject> [#N]`, one `[#N]`, no `Re: Re:`.
- `thread_ids`: the thread's Message-IDs in order (the customer's mail the desk filed and the
  desk's own outbox), for In-Reply-To and References.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import Ticket

TICKET_TAG = re.compile(r"\s*\[#[0-9]{1,19}\]\s*")
REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|sv|antw)\s*(?:\[[0-9]{1,3}\])?\s*:\s*", re.IGNORECASE)
# a Message-ID the desk can put in a header: <left@right>, no blanks, no angle brackets inside
MESSAGE_ID = re.compile(r"<[^<>\s@]{1,200}@[^<>\s@]{1,200}>")
MAX_REFERENCES = 20


@dataclass(frozen=True)
class Recipient:
    """Who a message to a ticket's customer goes to; `address` None says why not (`why`)."""

    address: str | None
    contact_id: int | None
    name: str | None
    why: str | None = None


def one_line(text: str) -> str:
    """Header-safe text: one line, no control characters (a subject is data, never a header
    break)."""
    words = " ".join(text.split())
    return "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in words)


def thread_subject(subject: str, ticket_id: int, *, reply: bool = True) -> str:
    """`Re: <subject> [#N]`: any `[#N]` and leading `Re:` of the subject dropped first."""
    text = TICKET_TAG.sub(" ", one_line(subject)).strip()
    while True:
        stripped = REPLY_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped.strip()
    text = text or "(no subject)"
    return f"{'Re: ' if reply else ''}{text} [#{ticket_id}]"


def mask(address: str) -> str:
    """`p***@bluefin.example`: enough for staff to recognise, not to copy from a screen."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else address


def contact_addresses(session: Session, contact_id: int) -> list[str]:
    from sqlalchemy import select

    from supportdesk.models import ContactPoint

    return list(
        session.scalars(
            select(ContactPoint.value)
            .where(ContactPoint.contact_id == contact_id, ContactPoint.kind == "email")
            .order_by(ContactPoint.id)
        )
    )


def address_on_file(session: Session, ticket: Ticket) -> Recipient:
    """The address a message about `ticket` goes to (see the module's docstring)."""
    from sqlalchemy import select

    from supportdesk.models import Contact, ContactPoint

    contact = session.get(Contact, ticket.contact_id) if ticket.contact_id else None
    if contact is None and ticket.sender:
        contact = session.scalars(
            select(Contact)
            .join(ContactPoint, ContactPoint.contact_id == Contact.id)
            .where(
                Contact.account_id == ticket.account_id,
                Contact.active,
                ContactPoint.kind == "email",
                ContactPoint.value == ticket.sender,
            )
            .order_by(Contact.id)
        ).first()
    if contact is None:
        if ticket.sender:
            why = f"the sender {mask(ticket.sender)} is not listed on account {ticket.account_id}"
        else:
            why = "no contact with an e-mail address on file"
        return Recipient(None, None, None, why)
    if not contact.active:
        return Recipient(None, contact.id, contact.name, f"contact {contact.name} is inactive")
    addresses = contact_addresses(session, contact.id)
    if not addresses:
        return Recipient(None, contact.id, contact.name, f"{contact.name} has no e-mail on file")
    address = ticket.sender if ticket.sender in addresses else addresses[0]
    return Recipient(address, contact.id, contact.name)


def thread_ids(session: Session, ticket_id: int) -> tuple[str | None, tuple[str, ...]]:
    """(In-Reply-To, References) for a new message on the ticket: the customer's newest mail
    filed on it, else the desk's newest message; References are the thread's Message-IDs in
    order (the first kept, then the newest, at most 20)."""
    from sqlalchemy import select

    from supportdesk.models import MailMessage, OutboxMessage

    seen: list[tuple[datetime, int, str, bool]] = []
    for at, rid, mid in session.execute(
        select(MailMessage.received_at, MailMessage.id, MailMessage.message_id)
        .where(MailMessage.ticket_id == ticket_id, MailMessage.message_id.is_not(None))
        .order_by(MailMessage.id)
        .limit(200)
    ):
        if mid and MESSAGE_ID.fullmatch(mid):
            seen.append((at, rid, mid, True))
    for at, rid, mid in session.execute(
        select(OutboxMessage.queued_at, OutboxMessage.id, OutboxMessage.message_id)
        .where(OutboxMessage.ticket_id == ticket_id)
        .order_by(OutboxMessage.id)
        .limit(200)
    ):
        seen.append((at, rid, mid, False))
    if not seen:
        return None, ()
    seen.sort(key=lambda s: (s[0], s[1]))
    theirs = [s[2] for s in seen if s[3]]
    parent = theirs[-1] if theirs else seen[-1][2]
    # the parent last, as a reader's References would end (RFC 5322 3.6.4)
    ordered = [m for m in dict.fromkeys(s[2] for s in seen) if m != parent] + [parent]
    if len(ordered) > MAX_REFERENCES:
        ordered = [ordered[0], *ordered[-(MAX_REFERENCES - 1) :]]
    return parent, tuple(ordered)
