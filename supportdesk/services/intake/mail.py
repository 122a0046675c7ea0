"""E-mail into tickets (issues 4 and 12): `supportdesk mail ingest` gets one RFC 822 message
on stdin, as a mail server's pipe delivers it, and files it: exit 0 once it is filed
somewhere, 75 (retry) only when the database cannot be written.

- In-Reply-To or References naming a message the desk sent or filed on a ticket, else
  `[#N]` in the SUBJECT (never a bare #N, never in the body) (mail_threads.py), from an
  address listed on that ticket's account (or the address that opened it) is the customer's
  reply: it is added to the thread, and a ticket waiting on the customer opens again (its
  clocks resume). A reply confirms a ticket held for authorization (or blocked by its
  request type) only when it is authenticated as the contact a one-time code was sent to and
  carries that code under a "yes" (mail_confirm.py); otherwise it is kept as the customer's
  words, with a note for the leads saying why, and the ticket stays held.
- Otherwise the account that lists the sender gets a new ticket, channel e-mail, and the
  sender an acknowledgement (services/outbox/customer.py); a reseller's end customer's is
  filed closed with the referral (mail_referral.py), nothing else.
- From an address no account lists the policy decides (`[intake] unlisted_senders`): "close"
  files it closed, unanswered (seed 001); "hold" awaiting authorization (seed 000), on the
  account the message names (its username, seed 001) or whose domain the sender writes from,
  else on `unlisted-mail` (`mail unlisted`); "once_off" on the intake account (routing.py).
- The envelope recipient (`--recipient`) picks the mailbox's route (routing.py).
- Automatic mail (RFC 3834 Auto-Submitted, Precedence bulk/junk/list, List-Id, bounces:
  mail_parse.automatic_reason) is never acknowledged and never opens, reopens or confirms
  anything: on an open ticket it is an internal note, otherwise it goes to the quarantine.
- Malformed or oversized mail, a body over the desk's limit, or a message that fails to file
  for a reason a retry would not cure, goes to the quarantine (services/mail_quarantine.py)
  with its raw bytes. A repeated Message-ID is filed once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.audit import new_nonce, text_digest
from supportdesk.core.clocks import on_status_change
from supportdesk.core.create import NewTicket, Settle, open_ticket
from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.enums import EventKind, ResolutionCode, Speaker, Status
from supportdesk.errors import StoreError, UsageError, clashed
from supportdesk.services.intake import mail_attachments, mail_confirm, mail_parse, routing
from supportdesk.services.intake.mail_confirm import Found
from supportdesk.services.intake.mail_parse import (
    BODY_LIMIT,
    EMAIL_LIMIT,
    NAME_LIMIT,
    SUBJECT_LIMIT,
    Parsed,
    subject_limit,
    ticket_id_limit,
)
from supportdesk.services.intake.mail_referral import Referral, refer_sender, referral_in
from supportdesk.services.intake.mail_threads import TICKET_REF, referenced_ticket
from supportdesk.services.intake.mail_views import NOT_CONFIRMED, held, unlisted
from supportdesk.services.outbox.customer import acknowledge

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import Account, Contact, MailMessage, Ticket

__all__ = [
    "BODY_LIMIT",
    "EMAIL_LIMIT",
    "NAME_LIMIT",
    "NOT_CONFIRMED",
    "SUBJECT_LIMIT",
    "TICKET_REF",
    "IngestResult",
    "Message",
    "held",
    "ingest",
    "ingest_message",
    "ticket_id_limit",
    "unlisted",
]

ACCOUNT_TOKEN = re.compile(r"\b[a-z0-9][a-z0-9._-]{1,63}\b")
UNLISTED_ACCOUNT = "unlisted-mail"


@dataclass(frozen=True)
class Message:
    sender: str
    subject: str
    body: str
    message_id: str | None
    sender_name: str | None = None
    automatic: str | None = None
    notes: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()  # the Message-IDs it answers (In-Reply-To, References)
    recipient: str | None = None  # the envelope recipient (routing.py); None: support
    trace: tuple[tuple[str, str], ...] = ()  # From, Received, Authentication-Results
    found: Found | None = None  # the one-time codes it carries (mail_confirm.screen)


@dataclass(frozen=True)
class IngestResult:
    """What became of a message. action: reply | reply_reopened | reply_held |
    reply_confirmed | auto_note |
    opened | closed_unlisted | held_unlisted | closed_referred | duplicate | quarantined."""

    action: str
    ticket_id: int | None
    account: str | None
    sender: str
    quarantine_id: int | None = None
    reason: str | None = None
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "ticket": self.ticket_id,
            "account": self.account,
            "sender": self.sender,
            "quarantine": self.quarantine_id,
            "reason": self.reason,
            "notes": list(self.notes),
        }


class Unfileable(Exception):
    """This message cannot be filed (it goes to the quarantine); raised inside the write so
    that nothing it did stays."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- the delivery agent --------------------------------------------------------------------
def ingest(
    desk: Desk,
    raw: bytes,
    *,
    size: int | None = None,
    envelope_sender: str | None = None,
    recipient: str | None = None,
) -> IngestResult:
    """File one received message (its first bytes, and its size in all, when it was larger
    than the limit). Raises only when the database cannot take it (StoreError) or the desk is
    not set up to (no such staff member, no audit key): then the mail server should retry."""
    from supportdesk.services.intake import mail_quarantine

    size = len(raw) if size is None else size
    permissions.require(desk.actor, "mail.ingest")
    if oversized := mail_parse.oversized(desk, raw, size):
        raw = raw[: mail_parse.KEEP_OVERSIZED]  # refused before the whole is parsed
        parsed = mail_parse.parse(raw, envelope_sender)  # for its sender and Message-ID
        reason = f"oversized: {oversized}; the first {len(raw):,} kept"
        return mail_quarantine.put(desk, raw, size, reason, parsed)
    parsed = mail_parse.parse(raw, envelope_sender)
    if parsed.problem is not None:
        return mail_quarantine.put(desk, raw, size, parsed.problem, parsed)
    try:
        try:
            return file_parsed(desk, parsed, raw, size, recipient=recipient)
        except Exception as exc:
            if parsed.message_id is None or not clashed(exc):
                raise
            # delivered twice at once, the other's row committed after this one's check:
            # filed again, the check finds it (a duplicate, as a later delivery is)
            return file_parsed(desk, parsed, raw, size, recipient=recipient)
    except Unfileable as exc:
        return mail_quarantine.put(desk, raw, size, exc.reason, parsed)
    except Exception as exc:
        if _retry_may_cure(exc):
            raise
        why = f"could not be filed ({type(exc).__name__}): kept to release after a fix"
        return mail_quarantine.put(desk, raw, size, why, parsed)


def _retry_may_cure(exc: BaseException) -> bool:
    """True for a database that cannot be written now (locked, down, full, read-only); False
    for a failure this message would meet again (a bug, a value the database refuses)."""
    if isinstance(exc, StoreError):
        cause = exc.__cause__
        if cause is None:
            return True
        from sqlalchemy.exc import DataError, ProgrammingError

        return not isinstance(cause, DataError | ProgrammingError)
    if not isinstance(exc, Exception) or isinstance(exc, UsageError):
        return False
    module = type(exc).__module__
    if module.startswith(("sqlalchemy", "sqlite3", "psycopg")):
        from sqlalchemy.exc import DataError, ProgrammingError

        return not isinstance(exc, DataError | ProgrammingError)
    from supportdesk.errors import DeskError

    return isinstance(exc, DeskError)  # e.g. NotAllowed under --at: the desk's setting


def as_message(parsed: Parsed) -> Message:
    return Message(
        parsed.sender,
        parsed.subject,
        parsed.body,
        parsed.message_id,
        parsed.sender_name,
        parsed.automatic,
        tuple(parsed.notes),
        parsed.refs,
        trace=parsed.trace,
    )


def file_parsed(
    desk: Desk,
    parsed: Parsed,
    raw: bytes,
    size: int,
    row_id: int | None = None,
    recipient: str | None = None,
) -> IngestResult:
    """File a readable message in one transaction with its mail_messages row (a new one, or
    the quarantined row `row_id` being released). Unfileable for automatic mail with no open
    ticket; nothing is written then."""
    from supportdesk.models import MailMessage
    from supportdesk.services.intake.mail_quarantine import QUARANTINED, quarantined_row

    message = replace(as_message(parsed), recipient=recipient)
    with desk.write() as (session, record):
        row = quarantined_row(session, row_id, lock=True) if row_id is not None else None
        if message.message_id is not None:
            seen = seen_message(session, message.message_id, row_id)
            if seen is not None:
                return duplicate_result(seen, message)
        result = _apply(session, desk, record, message)
        mail_attachments.keep(session, desk, record, result.ticket_id, parsed.attachments)
        if row is None:
            row = MailMessage(received_at=desk.now(), size=size)
            session.add(row)
        row.state = "filed" if row_id is None else "released"
        row.digest = mail_parse.digest(raw)
        row.raw = None
        row.message_id = message.message_id
        row.envelope_sender = parsed.envelope_sender
        row.sender = message.sender
        row.subject = message.subject[:200]
        row.ticket_id = result.ticket_id
        row.action = result.action
        if row_id is not None:
            record(
                "mail.release",
                "mail",
                row_id,
                {
                    "state": [QUARANTINED, row.state],
                    "ticket": [None, result.ticket_id],
                    "action": [None, result.action],
                },
            )
        return result


def seen_message(session: Session, message_id: str, row_id: int | None) -> MailMessage | None:
    from sqlalchemy import select

    from supportdesk.models import MailMessage

    stmt = select(MailMessage).where(MailMessage.message_id == message_id)
    if row_id is not None:
        stmt = stmt.where(MailMessage.id != row_id)
    return session.scalars(stmt).first()


def duplicate_result(seen: MailMessage, message: Message) -> IngestResult:
    if seen.ticket_id is not None:
        reason = f"already filed as #{seen.ticket_id}"
    else:
        reason = f"already quarantined as Q{seen.id}"
    return IngestResult(
        "duplicate",
        seen.ticket_id,
        None,
        message.sender,
        quarantine_id=None if seen.ticket_id is not None else seen.id,
        reason=reason,
    )


def ingest_message(desk: Desk, message: Message) -> IngestResult:
    """Apply the e-mail rules to one message typed in by staff (`ticket new --channel email
    --from`): no quarantine, a bad address is a usage error."""
    sender = message.sender.strip().lower()
    if not mail_parse.address_ok(sender):
        raise UsageError(f"not an e-mail address: {message.sender!r}")
    message = replace(message, sender=sender)
    permissions.require(desk.actor, "mail.ingest")
    try:
        with desk.write() as (session, record):
            return _apply(session, desk, record, message)
    except Unfileable as exc:
        raise UsageError(exc.reason) from None


def _apply(session: Session, desk: Desk, record: Any, message: Message) -> IngestResult:
    notes = list(message.notes)
    intake = current_policy(desk).intake
    route = routing.route_of(intake, message.recipient)  # never To: (routing.py)
    ticket = referenced_ticket(session, message.subject, message.refs)
    if ticket is not None and route.accepted:
        body, subject, found = mail_confirm.screen(session, message.body, message.subject)
        message = replace(message, body=body, subject=subject, found=found)
        contact = _listed(session, ticket.account_id, message.sender)
        if contact is not None or (ticket.sender or "") == message.sender:
            if ticket.status != Status.CLOSED.value:
                if message.automatic is not None:
                    return _auto_note(session, desk, record, ticket, message)
                return _reply(session, desk, record, ticket, contact, message, notes)
            notes.append(f"a reply to closed ticket #{ticket.id}: filed as a new ticket")
    if message.automatic is not None:
        raise Unfileable(f"automatic mail ({message.automatic}) with no open ticket to note it on")
    unlisted: str | routing.Filing | None = intake.unlisted_senders  # [intake] / [verification]
    contact = _listed_anywhere(session, message.sender)
    if contact is not None:
        account, unlisted = contact.account_id, None
    elif unlisted == "once_off":
        account, unlisted = routing.once_off(session, desk, record, intake, message.sender)
    else:
        account = (_guess_account(session, message) or _unlisted_account(session, desk, record)).id
    referred = referral_in(session, account)  # a reseller's customer: closed, referred
    if not route.accepted:
        unlisted = routing.refused(route)
    result = _open(session, desk, record, account, contact, message, referred or unlisted, notes)
    refer_sender(session, desk, result.ticket_id, contact, message, referred)
    routing.after_open(session, desk, record, result.ticket_id, route)
    return result


def _listed(session: Session, account_id: str, address: str) -> Contact | None:
    from sqlalchemy import select

    from supportdesk.models import Contact, ContactPoint

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

    from supportdesk.models import Contact, ContactPoint

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

    from supportdesk.models import Account, Service

    text = f"{message.subject[:SUBJECT_LIMIT]}\n{message.body[:5000]}".lower()
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
    from supportdesk.models import Account

    account = session.get(Account, UNLISTED_ACCOUNT)
    if account is None:
        account = Account(
            id=UNLISTED_ACCOUNT,
            company="Mail from unlisted senders",
            plan=current_policy(desk).default_plan,
            status="active",
            notes="Filed by `supportdesk mail ingest`: no account lists these senders.",
            created_at=desk.now(),
        )
        session.add(account)
        session.flush()
        record("account.add", "account", UNLISTED_ACCOUNT, {"company": [None, account.company]})
    return account


def _note(session: Session, desk: Desk, ticket: Ticket, notes: list[str]) -> None:
    """What ingest changed in the message (a cut, a charset guessed), for staff."""
    from supportdesk.models import TicketEvent

    if notes:
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                kind=EventKind.NOTE.value,
                staff_id=desk.actor.staff_id,
                body="mail: " + "; ".join(dict.fromkeys(notes)),
                nonce=new_nonce(),
                created_at=desk.now(),
            )
        )


def _open(
    session: Session,
    desk: Desk,
    record: Any,
    account_id: str,
    contact: Contact | None,
    message: Message,
    unlisted: str | Referral | routing.Filing | None,
    notes: list[str],
) -> IngestResult:
    """A new e-mail ticket; for an unlisted sender closed unanswered or held, per policy; for
    a reseller's customer closed with the referral (mail_referral.py)."""
    subject = mail_parse.clip(message.subject, subject_limit(), "subject", notes)
    name = None
    if contact is None and message.sender_name:
        name = mail_parse.clip(message.sender_name, NAME_LIMIT, "sender name", notes)
    settle = None
    action = "opened"
    if isinstance(unlisted, Referral):
        settle = Settle(Status.CLOSED, unlisted.message, ResolutionCode.OUT_OF_SCOPE)
        action = "closed_referred"
    elif isinstance(unlisted, routing.Filing):
        settle, action = unlisted.settle, unlisted.action
    elif unlisted is not None:
        closing = unlisted == "close"
        settle = Settle(
            Status.CLOSED if closing else Status.AWAITING_AUTHORIZATION,
            f"sender {message.sender} is not listed on any account",
            ResolutionCode.UNLISTED_SENDER if closing else None,
        )
        action = "closed_unlisted" if closing else "held_unlisted"

    def audit(ticket: Ticket) -> dict[str, Any]:
        return {
            "action": [None, action],
            "account": [None, account_id],
            "sender": [None, message.sender],
            "message_id": [None, message.message_id],
            "subject": [None, text_digest(ticket.subject, ticket.subject_nonce)],
            "body": [None, text_digest(message.body or None, ticket.description_nonce)],
            "status": [None, ticket.status],
            "notes": [None, list(dict.fromkeys(notes)) or None],
        }

    ticket = open_ticket(
        session,
        desk,
        record,
        NewTicket(
            account_id=account_id,
            subject=subject,
            priority_rank=2,
            category="technical",
            channel="email",
            description=message.body,
            contact_id=contact.id if contact else None,
            caller_name=name,
            sender=message.sender,
        ),
        action="mail.ingest",
        audit=audit,
        from_customer=True,
        note="mail: " + "; ".join(dict.fromkeys(notes)) if notes else None,
        settle=settle,
    )
    if unlisted is None or (isinstance(unlisted, routing.Filing) and unlisted.acknowledge):
        acknowledge(session, desk, ticket, in_reply_to=message.message_id)
    return IngestResult(action, ticket.id, account_id, message.sender, notes=tuple(notes))


def _reply(
    session: Session,
    desk: Desk,
    record: Any,
    ticket: Ticket,
    contact: Contact | None,
    message: Message,
    notes: list[str],
) -> IngestResult:
    """The customer's reply on a ticket: threads it and reopens a ticket waiting on them. A
    reply to a held ticket confirms it only as mail_confirm.py says; else it is their words."""
    from supportdesk.models import TicketEvent

    now = desk.now()
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
    _note(session, desk, ticket, notes)
    ticket.last_speaker = Speaker.CUSTOMER.value
    ticket.last_activity_at = ticket.updated_at = now
    action = "reply"
    old = ticket.status
    if old == Status.PENDING_CUSTOMER.value:
        action = "reply_reopened"
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                kind=EventKind.STATUS.value,
                staff_id=desk.actor.staff_id,
                old_value=old,
                new_value=Status.OPEN.value,
                body="customer replied",
                nonce=new_nonce(),
                created_at=now,
            )
        )
        on_status_change(session, desk, ticket, old, Status.OPEN.value)
        ticket.status = Status.OPEN.value
    confirmed = mail_confirm.on_reply(
        session, desk, record, ticket, message.sender, message.trace, message.found, message.body
    )
    if confirmed == "confirmed":
        action = "reply_confirmed"
    elif confirmed is not None and old == Status.AWAITING_AUTHORIZATION.value:
        action = "reply_held"
    record(
        "mail.ingest",
        "ticket",
        ticket.id,
        {
            "action": [None, action],
            "sender": [None, message.sender],
            "message_id": [None, message.message_id],
            "body": [None, text_digest(reply.body, reply.nonce)],
            "status": [old, ticket.status],
            "notes": [None, list(dict.fromkeys(notes)) or None],
        },
    )
    return IngestResult(action, ticket.id, ticket.account_id, message.sender, notes=tuple(notes))


def _auto_note(
    session: Session, desk: Desk, record: Any, ticket: Ticket, message: Message
) -> IngestResult:
    """Automatic mail on an open ticket: an internal note; no status, speaker or clock moves."""
    from supportdesk.models import TicketEvent

    subject = mail_parse.clip(message.subject, subject_limit(), "subject", list(message.notes))
    body = f"automatic mail ({message.automatic}) from {message.sender}: {subject}"
    if message.body:
        body += "\n\n" + message.body
    note = TicketEvent(
        ticket_id=ticket.id,
        kind=EventKind.NOTE.value,
        staff_id=desk.actor.staff_id,
        body=body,
        nonce=new_nonce(),
        created_at=desk.now(),
    )
    session.add(note)
    record(
        "mail.ingest",
        "ticket",
        ticket.id,
        {
            "action": [None, "auto_note"],
            "sender": [None, message.sender],
            "message_id": [None, message.message_id],
            "automatic": [None, message.automatic],
            "body": [None, text_digest(note.body, note.nonce)],
        },
    )
    return IngestResult(
        "auto_note", ticket.id, ticket.account_id, message.sender, notes=message.notes
    )
