"""E-mail into tickets (issue 4): `supportdesk mail ingest` gets one RFC 822 message on
stdin, as a mail server's pipe delivers it.

- A subject carrying a ticket number ("[#123]" or "#123") from an address listed on that
  ticket's account (or the address that opened it) is the customer's reply: it is added to
  the thread, and a ticket waiting on the customer opens again (its clocks resume). From an
  authorized contact, it also confirms a ticket held for authorization.
- Otherwise the account that lists the sender gets a new ticket, channel e-mail.
- From an address no account lists the policy decides (`[verification] unlisted_sender`):
  "close" files it closed as unlisted_sender, unanswered (seed 001); "hold" files it
  awaiting authorization until an authorized contact confirms it (seed 000). It is filed on
  the account the message names (its account id / username, as seed 001 asks senders to
  include) or whose domain the sender's address is on, else on the desk's `unlisted-mail`
  account, so that leads see every such message (`supportdesk mail unlisted`).
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..models.enums import EventKind, ResolutionCode, Speaker, Status
from . import permissions, sla
from .audit import new_nonce, text_digest
from .desk import Desk
from .errors import UsageError
from .verify_rules import REQUESTS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ..models import Account, Contact, Ticket

TICKET_REF = re.compile(r"\[#(\d{1,12})\]|(?<![\w&])#(\d{1,12})\b")
ACCOUNT_TOKEN = re.compile(r"\b[a-z0-9][a-z0-9._-]{1,63}\b")
UNLISTED_ACCOUNT = "unlisted-mail"
MAX_MESSAGE = 10 * 1024 * 1024
MAX_BODY = 100_000


@dataclass(frozen=True)
class Message:
    sender: str
    subject: str
    body: str
    message_id: str | None


@dataclass(frozen=True)
class IngestResult:
    action: str  # reply | reply_reopened | confirmed | opened | closed_unlisted | held_unlisted
    ticket_id: int
    account: str
    sender: str

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "ticket": self.ticket_id,
            "account": self.account,
            "sender": self.sender,
        }


def parse(raw: bytes) -> Message:
    """The parts of a message ingest needs; UsageError for anything malformed."""
    if not raw.strip():
        raise UsageError("malformed message: empty input")
    if len(raw) > MAX_MESSAGE:
        raise UsageError(f"message too large ({len(raw):,} bytes; at most {MAX_MESSAGE:,})")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        sender = email.utils.parseaddr(str(msg.get("From", "")))[1].strip().lower()
        subject = " ".join(str(msg.get("Subject", "")).split())
        part = msg.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
    except Exception as exc:  # the email package raises many kinds on broken input
        raise UsageError(f"malformed message: {exc.__class__.__name__}") from None
    if msg.defects and not sender:
        raise UsageError("malformed message: " + str(msg.defects[0]))
    if "@" not in sender or " " in sender:
        raise UsageError("malformed message: no usable From address")
    return Message(sender, subject or "(no subject)", str(body)[:MAX_BODY], msg.get("Message-ID"))


def ingest(desk: Desk, raw: bytes) -> IngestResult:
    return ingest_message(desk, parse(raw))


def ingest_message(desk: Desk, message: Message) -> IngestResult:
    """Apply the e-mail rules to one message (also `ticket new --channel email --from`)."""
    if "@" not in message.sender or " " in message.sender.strip():
        raise UsageError(f"not an e-mail address: {message.sender!r}")
    message = Message(
        message.sender.strip().lower(), message.subject, message.body, message.message_id
    )
    permissions.require(desk.actor, "mail.ingest")
    rules = sla.current_policy(desk).verification
    with desk.write() as (session, record):
        ticket = _referenced_ticket(session, message)
        if ticket is not None:
            contact = _listed(session, ticket.account_id, message.sender)
            if contact is not None or (ticket.sender or "") == message.sender:
                return _reply(session, desk, record, ticket, contact, message)
        contact = _listed_anywhere(session, message.sender)
        if contact is not None:
            return _open(session, desk, record, contact.account_id, contact, message, None)
        account = _guess_account(session, message) or _unlisted_account(session, desk, record)
        return _open(session, desk, record, account.id, None, message, rules.unlisted_sender)


def _referenced_ticket(session: Session, message: Message) -> Ticket | None:
    from ..models import Ticket

    match = TICKET_REF.search(message.subject)
    if match is None:
        return None
    return session.get(Ticket, int(match.group(1) or match.group(2)))


def _listed(session: Session, account_id: str, address: str) -> Contact | None:
    from sqlalchemy import select

    from ..models import Contact, ContactPoint

    return session.scalars(
        select(Contact)
        .join(ContactPoint, ContactPoint.contact_id == Contact.id)
        .where(
            Contact.account_id == account_id,
            Contact.active,
            ContactPoint.kind == "email",
            ContactPoint.value == address,
        )
    ).first()


def _listed_anywhere(session: Session, address: str) -> Contact | None:
    from sqlalchemy import select

    from ..models import Contact, ContactPoint

    return session.scalars(
        select(Contact)
        .join(ContactPoint, ContactPoint.contact_id == Contact.id)
        .where(Contact.active, ContactPoint.kind == "email", ContactPoint.value == address)
        .order_by(Contact.id)
    ).first()


def _guess_account(session: Session, message: Message) -> Account | None:
    """The account a message from an unlisted address names (its username, which seed 001
    asks for) or whose service domain the sender writes from."""
    from sqlalchemy import select

    from ..models import Account, Service

    text = f"{message.subject}\n{message.body[:5000]}".lower()
    tokens = list(dict.fromkeys(ACCOUNT_TOKEN.findall(text)))[:200]
    if tokens:
        found = session.scalars(
            select(Account).where(Account.id.in_(tokens), Account.id != UNLISTED_ACCOUNT)
        ).first()
        if found is not None:
            return found
    domain = message.sender.rsplit("@", 1)[1]
    like = f"%{domain.replace('%', '').replace('_', '')}%"
    for service in session.scalars(select(Service).where(Service.domains.like(like)).limit(20)):
        if domain in service.domains.split():
            return session.get(Account, service.account_id)
    return None


def _unlisted_account(session: Session, desk: Desk, record: Any) -> Account:
    from ..models import Account

    account = session.get(Account, UNLISTED_ACCOUNT)
    if account is None:
        account = Account(
            id=UNLISTED_ACCOUNT,
            company="Mail from unlisted senders",
            plan=sla.current_policy(desk).default_plan,
            status="active",
            notes="Filed by `supportdesk mail ingest`: no account lists these senders.",
            created_at=desk.now(),
        )
        session.add(account)
        session.flush()
        record("account.add", "account", UNLISTED_ACCOUNT, {"company": [None, account.company]})
    return account


def _open(
    session: Session,
    desk: Desk,
    record: Any,
    account_id: str,
    contact: Contact | None,
    message: Message,
    unlisted: str | None,
) -> IngestResult:
    """A new e-mail ticket; for an unlisted sender closed unanswered or held, per policy."""
    from ..models import Ticket, TicketEvent

    now = desk.now()
    ticket = Ticket(
        account_id=account_id,
        contact_id=contact.id if contact else None,
        sender=message.sender,
        request_type="technical",
        subject=message.subject[:300],
        subject_nonce=new_nonce(),
        description=message.body,
        description_nonce=new_nonce() if message.body else None,
        category="technical",
        priority_rank=2,
        channel="email",
        status=Status.NEW.value,
        tier=1,
        created_at=now,
        updated_at=now,
        last_speaker=Speaker.CUSTOMER.value,
        last_activity_at=now,
    )
    session.add(ticket)
    session.flush()
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind=EventKind.CREATED.value,
            from_customer=True,
            visible=True,
            new_value=Status.NEW.value,
            created_at=now,
        )
    )
    sla.on_create(session, desk, ticket)
    action = "opened"
    if unlisted is not None:
        new = Status.CLOSED if unlisted == "close" else Status.AWAITING_AUTHORIZATION
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                kind=EventKind.STATUS.value,
                staff_id=desk.actor.staff_id,
                old_value=ticket.status,
                new_value=new.value,
                body=f"sender {message.sender} is not listed on any account",
                nonce=new_nonce(),
                created_at=now,
            )
        )
        sla.on_status_change(session, desk, ticket, ticket.status, new.value)
        ticket.status = new.value
        if new is Status.CLOSED:
            ticket.resolution_code = ResolutionCode.UNLISTED_SENDER.value
            ticket.resolved_at = now
            action = "closed_unlisted"
        else:
            action = "held_unlisted"
    record(
        "mail.ingest",
        "ticket",
        ticket.id,
        {
            "action": [None, action],
            "account": [None, account_id],
            "sender": [None, message.sender],
            "subject": [None, text_digest(ticket.subject, ticket.subject_nonce)],
            "body": [None, text_digest(message.body or None, ticket.description_nonce)],
            "status": [None, ticket.status],
        },
    )
    return IngestResult(action, ticket.id, account_id, message.sender)


def _reply(
    session: Session,
    desk: Desk,
    record: Any,
    ticket: Ticket,
    contact: Contact | None,
    message: Message,
) -> IngestResult:
    """The customer's reply on a ticket: threads it, reopens a ticket waiting on them, and
    from an authorized contact confirms a held one."""
    from ..models import TicketEvent
    from .verification import person_of
    from .verify_rules import requests_of

    now = desk.now()
    if ticket.status == Status.CLOSED.value:
        raise UsageError(
            f"ticket #{ticket.id} is closed: write without its number to open a new one"
        )
    reply = TicketEvent(
        ticket_id=ticket.id,
        kind=EventKind.REPLY.value,
        from_customer=True,
        visible=True,
        body=message.body or None,
        nonce=new_nonce() if message.body else None,
        created_at=now,
    )
    session.add(reply)
    ticket.last_speaker = Speaker.CUSTOMER.value
    ticket.last_activity_at = ticket.updated_at = now
    action = "reply"
    old = ticket.status
    new = None
    if old == Status.PENDING_CUSTOMER.value:
        new, action = Status.OPEN.value, "reply_reopened"
    elif old == Status.AWAITING_AUTHORIZATION.value and contact is not None:
        wanted = ticket.request_type if ticket.request_type in REQUESTS else "technical"
        owners_only = sla.current_policy(desk).verification.owners_only
        if wanted in requests_of(person_of(contact), ticket.service_id, owners_only):
            new, action = Status.OPEN.value, "confirmed"
            ticket.confirmed_at = now
            if ticket.contact_id is None:
                ticket.contact_id = contact.id
    if new is not None:
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                kind=EventKind.STATUS.value,
                staff_id=desk.actor.staff_id,
                old_value=old,
                new_value=new,
                body="customer replied" if action == "reply_reopened" else "confirmed by e-mail",
                nonce=new_nonce(),
                created_at=now,
            )
        )
        sla.on_status_change(session, desk, ticket, old, new)
        ticket.status = new
    record(
        "mail.ingest",
        "ticket",
        ticket.id,
        {
            "action": [None, action],
            "sender": [None, message.sender],
            "body": [None, text_digest(reply.body, reply.nonce)],
            "status": [old, ticket.status],
        },
    )
    return IngestResult(action, ticket.id, ticket.account_id, message.sender)


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

    from ..models import Ticket

    permissions.require(desk.actor, "contact.manage")
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
