"""Ticket operations: create, show, update, reply, log a call, note, take, resolve, merge.

Each write is one short transaction that changes the ticket, appends its thread event and
writes the audit row together; a failure leaves the database as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from supportdesk.core import permissions
from supportdesk.core.audit import body_digest, rows_containing, text_digest
from supportdesk.core.claims import claim_ticket
from supportdesk.core.clocks import (
    clocks_of,
    on_first_response,
    on_status_change,
    retarget_ticket,
)
from supportdesk.core.create import NewTicket, Settle, open_ticket
from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.core.presence import marker_cutoff
from supportdesk.core.tickets import (
    add_event,
    change_status,
    check_transition,
    first_response,
    guard,
    iso,
    load_ticket,
    parse_enum,
)
from supportdesk.core.views import EventView, JsonMixin, TicketView
from supportdesk.enums import (
    CallOutcome,
    Category,
    Channel,
    EventKind,
    Priority,
    ResolutionCode,
    Speaker,
    Status,
)
from supportdesk.errors import (
    InvalidTransition,
    NotAllowed,
    NotFound,
    NothingToDo,
    UsageError,
)
from supportdesk.models import (
    Account,
    Contact,
    ContactPoint,
    Presence,
    Service,
    Staff,
    Ticket,
    TicketEvent,
    Verification,
)
from supportdesk.rules import limits
from supportdesk.rules.verify_rules import CALL_WINDOW

REQUEST_TYPES = ("technical", "billing", "password_reset", "contact_change", "cancellation")


# -- reading -------------------------------------------------------------------------------


def show(desk: Desk, ticket_id: int) -> TicketView:
    """Everything the ticket screen shows, as plain data."""
    permissions.require(desk.actor, "ticket.read")
    with desk.store.read() as s:
        t = load_ticket(s, ticket_id)
        logins = dict(s.execute(select(Staff.id, Staff.login)).all())
        company = s.scalar(select(Account.company).where(Account.id == t.account_id)) or ""
        contact = (
            s.scalar(select(Contact.name).where(Contact.id == t.contact_id))
            if t.contact_id
            else None
        )
        service_label = (
            s.scalar(select(Service.label).where(Service.id == t.service_id))
            if t.service_id
            else None
        )
        events = tuple(
            EventView(
                id=e.id,
                kind=e.kind,
                at=e.created_at,
                author=logins.get(e.staff_id) if e.staff_id else None,
                from_customer=e.from_customer,
                visible=e.visible,
                body=e.body,
                call_outcome=e.call_outcome,
                old_value=e.old_value,
                new_value=e.new_value,
                redacted=e.redacted_at is not None,
            )
            for e in s.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.created_at, TicketEvent.id)
            )
        )
        open_by = tuple(
            sorted(
                {
                    logins.get(sid, "?")
                    for sid in s.scalars(
                        select(Presence.staff_id).where(
                            and_(
                                Presence.ticket_id == ticket_id,
                                Presence.state != "off",
                                Presence.seen_at >= marker_cutoff(datetime.now(UTC)),
                            )
                        )
                    )
                    if sid != desk.actor.staff_id
                }
            )
        )
        return TicketView(
            id=t.id,
            account=t.account_id,
            company=company,
            contact=contact or t.caller_name,
            contact_id=t.contact_id,
            caller_name=t.caller_name,
            caller_phone=t.caller_phone,
            service=t.service_id,
            service_label=service_label,
            request_type=t.request_type,
            subject=t.subject,
            description=t.description,
            priority=Priority.from_rank(t.priority_rank).value,
            category=t.category,
            channel=t.channel,
            status=t.status,
            tier=t.tier,
            created_at=t.created_at,
            updated_at=t.updated_at,
            first_response_at=t.first_response_at,
            resolved_at=t.resolved_at,
            resolution_code=t.resolution_code,
            holder=logins.get(t.holder_id) if t.holder_id else None,
            merged_into=t.merged_into_id,
            last_speaker=t.last_speaker,
            last_activity_at=t.last_activity_at,
            events=events,
            open_by=open_by,
            sla_plan=t.sla_plan,
            clocks=clocks_of(t),
            window_id=t.window_id,
        )


# -- writing helpers -----------------------------------------------------------------------


# -- operations ----------------------------------------------------------------------------
def find_contact(session: Session, account_id: str, email: str) -> Contact:
    value = limits.check(email, limits.EMAIL, what="contact e-mail").strip().lower()
    contact = session.scalars(
        select(Contact)
        .join(ContactPoint, ContactPoint.contact_id == Contact.id)
        .where(
            Contact.account_id == account_id,
            ContactPoint.kind == "email",
            ContactPoint.value == value,
        )
    ).first()
    if contact is None:
        raise NotFound(f"no contact with e-mail {email} on account {account_id}")
    return contact


def create(
    desk: Desk,
    *,
    account: str,
    subject: str,
    priority: str,
    category: str,
    channel: str,
    contact_email: str | None = None,
    service_id: int | None = None,
    description: str = "",
    request_type: str = "technical",
    during_verified_call: bool = False,
    verification_id: int | None = None,
    caller_name: str | None = None,
    caller_phone: str | None = None,
) -> int:
    """Open a new ticket (status new, tier 1) and return its number.

    With `verification_id` (a verification of this call, on this account) the verified
    contact is the requester and, on the phone or in chat, the ticket is answered at
    creation (its respond clock is met). A report from a caller who is not listed or not
    verified, or a restricted request (billing, credentials, contacts, cancellation) the
    requester may not make, is created awaiting_authorization: it cannot be taken, escalated
    or resolved until an authorized contact confirms it (`confirm`). Chat needs a verified
    PIN (seed 002)."""
    actor = desk.actor
    permissions.require(actor, "ticket.create")
    prio = parse_enum(Priority, priority, "priority")
    cat = parse_enum(Category, category, "category")
    chan = parse_enum(Channel, channel, "channel")
    if request_type not in REQUEST_TYPES:
        raise UsageError(
            f"unknown request type {request_type!r} (one of: {', '.join(REQUEST_TYPES)})"
        )
    subject = limits.check(subject, limits.SUBJECT).strip()
    if not subject:
        raise UsageError("a ticket needs a subject")
    limits.check(account, limits.ACCOUNT_ID)
    limits.check(description, limits.DESCRIPTION)
    limits.check_optional(caller_name, limits.CALLER_NAME)
    limits.check_optional(caller_phone, limits.PHONE, what="caller phone")
    if contact_email is not None:
        limits.check(contact_email, limits.EMAIL, what="contact e-mail")
    with desk.write() as (session, record):
        acct = session.get(Account, account)
        if acct is None:
            raise NotFound(f"no account {account!r}")
        contact = find_contact(session, account, contact_email) if contact_email else None
        check = _call_verification(session, desk, verification_id, account, chan)
        if check is not None and check.contact_id is not None:
            contact = session.get(Contact, check.contact_id)
        hold = _needs_hold(desk, session, check, contact, request_type, service_id, account)
        during_verified_call = during_verified_call or (
            check is not None and check.result == "verified" and chan.value in ("phone", "chat")
        )
        if service_id is not None:
            svc = session.get(Service, service_id) if limits.fits_id(service_id) else None
            if svc is None or svc.account_id != account:
                raise NotFound(f"no service {service_id} on account {account}")

        def audit(ticket: Ticket) -> dict[str, Any]:
            return {
                "account": [None, account],
                "contact": [None, ticket.contact_id],
                "service": [None, service_id],
                "subject": [None, text_digest(subject, ticket.subject_nonce)],
                "priority": [None, prio.value],
                "category": [None, cat.value],
                "channel": [None, chan.value],
                "request_type": [None, request_type],
                "description": [
                    None,
                    text_digest(description, ticket.description_nonce) if description else None,
                ],
                "status": [None, ticket.status],
                "sla_plan": [None, ticket.sla_plan],
                "respond_due": [None, iso(ticket.respond_due)],
                "resolve_due": [None, iso(ticket.resolve_due)],
            }

        ticket = open_ticket(
            session,
            desk,
            record,
            NewTicket(
                account_id=account,
                subject=subject,
                priority_rank=prio.rank,
                category=cat.value,
                channel=chan.value,
                request_type=request_type,
                description=description,
                contact_id=contact.id if contact else None,
                caller_name=caller_name.strip() if caller_name else None,
                caller_phone=caller_phone.strip() if caller_phone else None,
                service_id=service_id,
                verification_id=check.id if check is not None else None,
            ),
            action="ticket.create",
            audit=audit,
            responded=during_verified_call,
            settle=Settle(Status.AWAITING_AUTHORIZATION) if hold else None,
        )
        return ticket.id


def _call_verification(
    session: Session, desk: Desk, verification_id: int | None, account: str, chan: Channel
) -> Verification | None:
    """The verification a ticket is opened under: of this account, of this call (recent),
    verified or held. Chat needs a verified PIN."""
    if verification_id is None:
        if chan is Channel.CHAT:
            raise UsageError("chat requests need the contact's verified support PIN (seed 002)")
        return None
    v = session.get(Verification, verification_id) if limits.fits_id(verification_id) else None
    if v is None or v.account_id != account:
        raise NotFound(f"no verification {verification_id} for account {account}")
    if desk.now() - v.created_at > CALL_WINDOW:
        raise NotAllowed(f"verification {verification_id} was for an earlier call: verify again")
    if v.result not in ("verified", "held"):
        raise NotAllowed(f"verification {verification_id} is {v.result}: nothing can be opened")
    if chan is Channel.CHAT and not (v.result == "verified" and v.method == "pin"):
        raise UsageError("chat requests need the contact's verified support PIN (seed 002)")
    return v


def _needs_hold(
    desk: Desk,
    session: Session,
    check: Verification | None,
    contact: Contact | None,
    request_type: str,
    service_id: int | None,
    account: str,
) -> bool:
    """Held for confirmation: an unverified caller, or a request this contact may not make
    (restricted requests need a verified primary or secondary contact)."""
    from supportdesk.rules.verify_rules import person_of, requests_of

    if check is not None and check.result == "held":
        return True
    owners_only = current_policy(desk).verification.owners_only
    restricted = request_type in owners_only
    if contact is None:
        return restricted
    allowed = request_type in requests_of(person_of(contact), service_id, owners_only)
    if not allowed:
        return True
    return restricted and check is None  # restricted work needs this call's verification


def confirm(desk: Desk, ticket_id: int, verification_id: int) -> None:
    """An authorized contact, verified on this call, confirms a held ticket: it opens, the
    resolve clock resumes, and the confirmation is recorded."""
    from supportdesk.rules.verify_rules import permission, person_of

    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        permissions.require(desk.actor, "ticket.update")
        if t.status != Status.AWAITING_AUTHORIZATION.value:
            raise NothingToDo(f"ticket #{t.id} is not awaiting authorization")
        v = _call_verification(session, desk, verification_id, t.account_id, Channel.PHONE)
        assert v is not None
        if v.result != "verified" or v.contact_id is None:
            raise NotAllowed(f"verification {verification_id} did not verify a contact")
        contact = session.get(Contact, v.contact_id)
        assert contact is not None
        others = [
            person_of(c)
            for c in session.scalars(
                select(Contact).where(Contact.account_id == t.account_id, Contact.active)
            )
        ]
        owners_only = current_policy(desk).verification.owners_only
        grant = permission(person_of(contact), t.request_type, others, t.service_id, owners_only)
        if not grant.allowed:
            raise NotAllowed(f"{contact.name} cannot confirm: {grant.refusal(t.request_type)}")
        change_status(
            session,
            desk,
            record,
            t,
            Status.OPEN,
            extra={"confirmed_by": [None, contact.name], "verification": [None, v.id]},
        )
        t.confirmed_at = desk.now()
        t.verification_id = v.id
        if t.contact_id is None:
            t.contact_id = contact.id


def update_fields(
    desk: Desk,
    ticket_id: int,
    *,
    priority: str | None = None,
    status: str | None = None,
    code: str | None = None,
) -> None:
    """Change priority and/or status (following the transition table)."""
    if priority is None and status is None:
        raise UsageError("nothing to change: give --priority and/or --status")
    prio = parse_enum(Priority, priority, "priority") if priority else None
    new_status = parse_enum(Status, status, "status") if status else None
    res = parse_enum(ResolutionCode, code, "resolution code") if code else None
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.update")
        changed = False
        if prio is not None and prio.rank != t.priority_rank:
            old = Priority.from_rank(t.priority_rank).value
            add_event(session, desk, t, EventKind.PRIORITY, old=old, new=prio.value)
            t.priority_rank = prio.rank
            t.updated_at = desk.now()
            dues = (iso(t.respond_due), iso(t.resolve_due))
            retarget_ticket(session, desk, t, f"priority {old} → {prio.value}")
            record(
                "ticket.priority",
                "ticket",
                t.id,
                {
                    "priority": [old, prio.value],
                    "respond_due": [dues[0], iso(t.respond_due)],
                    "resolve_due": [dues[1], iso(t.resolve_due)],
                },
            )
            changed = True
        if new_status is not None and new_status.value != t.status:
            if new_status is Status.NEW:
                raise InvalidTransition(f"ticket #{t.id} cannot go back to new")
            if t.status == Status.AWAITING_AUTHORIZATION.value:
                _held_change(desk, t, new_status, res)
            change_status(session, desk, record, t, new_status, res)
            changed = True
        if not changed:
            raise NothingToDo(f"ticket #{t.id} already has those values")


def _held_change(desk: Desk, t: Ticket, new: Status, code: ResolutionCode | None) -> None:
    """A held ticket opens only by confirmation; only a lead closes it, as not_authorized."""
    if new is Status.OPEN:
        raise NotAllowed(
            f"ticket #{t.id} is awaiting authorization: an authorized contact must confirm it "
            "(`supportdesk ticket confirm`)"
        )
    if new is Status.CLOSED:
        if not desk.actor.is_lead:
            raise NotAllowed(f"only a lead closes ticket #{t.id} while it awaits authorization")
        if code is not ResolutionCode.NOT_AUTHORIZED:
            raise UsageError("a held ticket is closed with --code not_authorized")


def reply(desk: Desk, ticket_id: int, body: str) -> None:
    """A customer-visible reply: the first one is the first response."""
    _message(desk, ticket_id, EventKind.REPLY, body, visible=True)


def note(desk: Desk, ticket_id: int, body: str) -> None:
    """An internal note: not seen by the customer, does not count as a response."""
    _message(desk, ticket_id, EventKind.NOTE, body, visible=False)


def log_call(desk: Desk, ticket_id: int, outcome: str, body: str = "") -> None:
    """A logged call; only one where we spoke to the customer counts as a response."""
    result = parse_enum(CallOutcome, outcome, "call outcome")
    _message(desk, ticket_id, EventKind.CALL, body, visible=True, outcome=result)


def _message(
    desk: Desk,
    ticket_id: int,
    kind: EventKind,
    body: str,
    *,
    visible: bool,
    outcome: CallOutcome | None = None,
) -> None:
    limits.check(body, limits.BODY, what=f"{kind.value} text")
    if kind is not EventKind.CALL and not body.strip():
        raise UsageError(f"a {kind.value} needs text")
    action = {EventKind.REPLY: "ticket.reply", EventKind.NOTE: "ticket.note"}.get(
        kind, "ticket.call"
    )
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, action)
        if t.status == Status.CLOSED.value:
            raise InvalidTransition(f"ticket #{t.id} is closed; nothing can be added to it")
        now = desk.now()
        event = add_event(
            session,
            desk,
            t,
            kind,
            body=body or None,
            visible=visible,
            call_outcome=outcome.value if outcome else None,
        )
        changes: dict[str, Any] = {"body": [None, text_digest(body or None, event.nonce)]}
        if outcome is not None:
            changes["outcome"] = [None, outcome.value]
        counts_as_response = kind is EventKind.REPLY or outcome is CallOutcome.SPOKE
        if counts_as_response:
            first_response(t, now, changes)
            why = "reply" if kind is EventKind.REPLY else "call: spoke"
            on_first_response(session, desk, t, why)
        if visible:
            t.last_speaker = Speaker.STAFF.value
            t.last_activity_at = now
        t.updated_at = now
        record(action, "ticket", t.id, changes)


def take(desk: Desk, ticket_id: int) -> None:
    """Claim a ticket: one conditional update, so of N racing people exactly one wins."""
    permissions.require(desk.actor, "ticket.take")
    with desk.write() as (session, record):
        claim_ticket(session, desk, record, ticket_id)


def resolve(desk: Desk, ticket_id: int, code: str) -> None:
    res = parse_enum(ResolutionCode, code, "resolution code")
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.resolve")
        change_status(session, desk, record, t, Status.RESOLVED, res)


def merge(desk: Desk, ticket_id: int, into: int) -> int:
    """Fold a duplicate into another ticket: its thread moves, it is closed as duplicate."""
    if ticket_id == into:
        raise UsageError("a ticket cannot be merged into itself")
    with desk.write() as (session, record):
        dup = load_ticket(session, ticket_id, lock=True)
        target = load_ticket(session, into, lock=True)
        guard(desk, session, dup, "ticket.merge")
        guard(desk, session, target, "ticket.merge")
        if dup.account_id != target.account_id:
            raise UsageError(
                f"ticket #{dup.id} is on {dup.account_id} and #{target.id} on "
                f"{target.account_id}: only tickets of one account can be merged"
            )
        if target.status == Status.CLOSED.value:
            raise InvalidTransition(f"ticket #{target.id} is closed; merge into an open ticket")
        if dup.status == Status.CLOSED.value:
            raise InvalidTransition(f"ticket #{dup.id} is already closed")
        result: Any = session.execute(
            update(TicketEvent).where(TicketEvent.ticket_id == dup.id).values(ticket_id=target.id)
        )
        moved = int(result.rowcount)
        add_event(
            session,
            desk,
            target,
            EventKind.MERGE,
            old=str(dup.id),
            new=str(target.id),
            body=f"Merged #{dup.id}: {dup.subject}",
        )
        dup.merged_into_id = target.id
        check_transition(dup, Status.CLOSED)
        add_event(session, desk, dup, EventKind.STATUS, old=dup.status, new=Status.CLOSED.value)
        on_status_change(session, desk, dup, dup.status, Status.CLOSED.value)
        old_status = dup.status
        dup.status = Status.CLOSED.value
        dup.resolution_code = ResolutionCode.DUPLICATE.value
        now = desk.now()
        dup.resolved_at = dup.resolved_at or now
        dup.updated_at = target.updated_at = now
        record(
            "ticket.merge",
            "ticket",
            dup.id,
            {
                "merged_into": [None, target.id],
                "status": [old_status, Status.CLOSED.value],
                "resolution_code": [None, ResolutionCode.DUPLICATE.value],
                "events_moved": [None, moved],
            },
        )
        return moved


REDACTED = "[redacted]"


@dataclass(frozen=True)
class Redaction(JsonMixin):
    """What a redaction removed and what, if anything, the audit still holds of the text."""

    what: str  # "event 12", "subject of #4", "description of #4"
    salted: bool  # the text had a nonce: its audit digest can no longer be checked
    unsalted_rows: tuple[int, ...]  # audit rows that still hold it unsalted or in clear
    also: tuple[int, ...] = ()  # merge entries that quoted the subject, redacted with it

    @property
    def note(self) -> str:
        """One line on what is left of the text in the audit."""
        rows = ", ".join(str(r) for r in self.unsalted_rows)
        if not self.salted:
            if self.unsalted_rows:
                clear = self.what.startswith("subject")
                form = "it, in clear," if clear else "its unsalted digest"
                return (
                    f"this text was written before 0009; {form} remains in the audit "
                    f"(rows {rows}): the audit is append-only"
                )
            return "this text had no nonce; the audit holds no digest of it"
        if self.unsalted_rows:
            return (
                f"an unsalted digest of this text remains in the audit (rows {rows}), "
                "written by a command that does not salt it yet"
            )
        return "its nonce is deleted: the audit's digest of it can no longer be checked or guessed"


def _redaction_reason(reason: str) -> str:
    if not limits.check(reason, limits.REASON).strip():
        raise UsageError("a redaction needs a reason")
    return reason.strip()


def redact(desk: Desk, event_id: int, reason: str) -> Redaction:
    """A lead removes a secret a customer pasted into the thread: the text and the nonce
    that salted its audit digest go, so what the audit keeps cannot be checked against a
    guess. Entries written before 0009 have no nonce; their unsalted digest stays in the
    append-only audit, and the result says so."""
    permissions.require(desk.actor, "ticket.redact")
    why = _redaction_reason(reason)
    with desk.write() as (session, record):
        event = session.get(TicketEvent, event_id) if limits.fits_id(event_id) else None
        if event is None:
            raise NotFound(f"no ticket event {event_id}")
        if event.redacted_at is not None:
            raise NothingToDo(f"event {event_id} is already redacted")
        salted = event.nonce is not None
        left = _unsalted_rows(session, event.body)
        record(
            "event.redact",
            "ticket_event",
            event_id,
            {
                "body": [text_digest(event.body, event.nonce) if salted else None, None],
                "ticket": [event.ticket_id, event.ticket_id],
                "reason": [None, why],
            },
        )
        event.body = REDACTED
        event.nonce = None
        event.redacted_at = desk.now()
        return Redaction(f"event {event_id}", salted, left)


def _unsalted_rows(session: Session, body: str | None) -> tuple[int, ...]:
    """Audit rows holding the form-1 digest of this exact text."""
    if not body:
        return ()
    return tuple(rows_containing(session, json.dumps(body_digest(body))))


def redact_ticket_text(desk: Desk, ticket_id: int, field: str, reason: str) -> Redaction:
    """A lead removes a secret from a ticket's subject or description, with its nonce. The
    subject also goes from the thread entry that quoted it when the ticket was merged."""
    if field not in ("subject", "description"):
        raise UsageError(f"only a subject or a description is redacted, not {field!r}")
    permissions.require(desk.actor, "ticket.redact")
    why = _redaction_reason(reason)
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        if getattr(t, f"{field}_redacted_at") is not None:
            raise NothingToDo(f"the {field} of ticket #{t.id} is already redacted")
        value: str = getattr(t, field)
        if not value:
            raise NothingToDo(f"ticket #{t.id} has no {field}")
        nonce: bytes | None = getattr(t, f"{field}_nonce")
        if field == "subject":  # form 1 audit rows held the subject in clear
            left = tuple(rows_containing(session, json.dumps(value)))
        else:
            left = _unsalted_rows(session, value)
        quoted = []
        if field == "subject":
            for e in session.scalars(
                select(TicketEvent).where(
                    TicketEvent.kind == EventKind.MERGE.value,
                    TicketEvent.old_value == str(t.id),
                    TicketEvent.redacted_at.is_(None),
                )
            ):
                e.body, e.nonce, e.redacted_at = f"Merged #{t.id}: {REDACTED}", None, desk.now()
                quoted.append(e.id)
        record(
            f"ticket.redact_{field}",
            "ticket",
            t.id,
            {
                field: [text_digest(value, nonce) if nonce else None, REDACTED],
                "reason": [None, why],
                **({"events": [None, quoted]} if quoted else {}),
            },
        )
        setattr(t, field, REDACTED)
        setattr(t, f"{field}_nonce", None)
        setattr(t, f"{field}_redacted_at", desk.now())
        t.updated_at = desk.now()
        return Redaction(f"{field} of #{t.id}", nonce is not None, left, tuple(quoted))
