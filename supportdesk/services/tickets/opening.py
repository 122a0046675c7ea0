"""Opening a ticket (staff, phone, chat) and confirming a held one: who is asking, under
which verification of this call, and whether the request must wait for an authorized contact.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportdesk.core import permissions
from supportdesk.core.audit import text_digest
from supportdesk.core.create import NewTicket, Settle, open_ticket
from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.core.request_block import this_call
from supportdesk.core.tickets import (
    add_event,
    change_status,
    iso,
    load_ticket,
    parse_enum,
)
from supportdesk.enums import (
    Category,
    Channel,
    EventKind,
    Priority,
    Status,
)
from supportdesk.errors import (
    NotAllowed,
    NotFound,
    NothingToDo,
    UsageError,
)
from supportdesk.models import (
    Account,
    Contact,
    ContactPoint,
    Service,
    Ticket,
    Verification,
)
from supportdesk.rules import limits
from supportdesk.rules.policy_intake import refusal_text
from supportdesk.rules.request_types import REQUEST_TYPES, check_request_type, words
from supportdesk.services.directory.resellers import referral_in
from supportdesk.services.outbox.customer import acknowledge
from supportdesk.services.tickets.confirmation import (
    confirm_refusal,
    needs_confirmation,
    offer_confirmation,
)

__all__ = [
    "REQUEST_TYPES",
    "confirm",
    "confirm_ticket",
    "create",
    "find_contact",
]

LIVE = (Channel.PHONE.value, Channel.CHAT.value)  # a verified caller is on the line


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

    An end customer of a reseller gets no ticket: NotAllowed with the referral (seed 002).
    With `verification_id` (a verification of this call, on this account) the verified
    contact is the requester. The ticket is answered at creation (its respond clock met) only
    when that verification is of this call (`answers_call`): on the phone or in chat, or
    whatever the channel with `during_verified_call`, which needs `verification_id` and
    refuses one that is not of this call. A report from a caller who is not listed or not
    verified, or a restricted request (billing, credentials, contacts, cancellation) the
    requester may not make, is created awaiting_authorization: it cannot be taken, escalated
    or resolved until an authorized contact confirms it (`confirm`). Chat needs a verified
    PIN (seed 002)."""
    actor = desk.actor
    permissions.require(actor, "ticket.create")
    prio = parse_enum(Priority, priority, "priority")
    cat = parse_enum(Category, category, "category")
    chan = parse_enum(Channel, channel, "channel")
    check_request_type(request_type)
    subject = limits.check(subject, limits.SUBJECT).strip()
    if not subject:
        raise UsageError("a ticket needs a subject")
    limits.check(account, limits.ACCOUNT_ID)
    limits.check(description, limits.DESCRIPTION)
    limits.check_optional(caller_name, limits.CALLER_NAME)
    limits.check_optional(caller_phone, limits.PHONE, what="caller phone")
    if contact_email is not None:
        limits.check(contact_email, limits.EMAIL, what="contact e-mail")
    if during_verified_call and verification_id is None:
        raise UsageError(
            "a ticket opened during a verified call names that call's verification: "
            "--verification ID (`supportdesk verify` prints it)"
        )
    intake = current_policy(desk).intake
    if not intake.accepts(chan.value):
        raise NotAllowed(refusal_text(intake, chan.value))
    with desk.write() as (session, record):
        acct = session.get(Account, account)
        if acct is None:
            raise NotFound(f"no account {account!r}")
        referred = referral_in(session, acct)
        if referred is not None:
            raise NotAllowed(referred.message)
        contact = find_contact(session, account, contact_email) if contact_email else None
        check = _call_verification(session, desk, verification_id, account, chan)
        if check is not None and check.contact_id is not None:
            if contact is not None and contact.id != check.contact_id:
                raise NotAllowed(
                    f"verification {check.id} is not of {contact_email}: "
                    "a ticket names the caller this call verified"
                )
            contact = session.get(Contact, check.contact_id)
        hold = _needs_hold(desk, session, check, contact, request_type, service_id, account)
        # a caller nobody verified waits for an authorized contact (`[intake]`, seed 000)
        hold = hold or (
            check is None and chan.value in LIVE and intake.unverified_callers == "hold"
        )
        answered = answers_call(
            session, desk, check, explicit=during_verified_call, live=chan.value in LIVE
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
            responded=answered,
            settle=Settle(Status.AWAITING_AUTHORIZATION) if hold else None,
        )
        if chan in (Channel.EMAIL, Channel.PORTAL):  # the customer wrote: acknowledged
            acknowledge(session, desk, ticket)
        if hold:  # the requester may ask for it: a one-time code to their address on file
            offer_confirmation(session, desk, record, ticket)
        return ticket.id


def _call_verification(
    session: Session, desk: Desk, verification_id: int | None, account: str, chan: Channel
) -> Verification | None:
    """The verification a ticket is opened under: of this call (`this_call`), verified or
    held. Chat needs a verified PIN where the policy says so (`[intake]
    chat_needs_pin`, seed 002)."""
    pin = chan is Channel.CHAT and current_policy(desk).intake.chat_needs_pin
    if verification_id is None:
        if pin:
            raise UsageError(
                "chat requests need the contact's verified support PIN ([intake] chat_needs_pin)"
            )
        return None
    v = this_call(session, desk, verification_id, account)
    if v.result not in ("verified", "held"):
        raise NotAllowed(f"verification {verification_id} is {v.result}: nothing can be opened")
    if pin and not (v.result == "verified" and v.method == "pin"):
        raise UsageError(
            "chat requests need the contact's verified support PIN ([intake] chat_needs_pin)"
        )
    return v


def answers_call(
    session: Session, desk: Desk, v: Verification | None, *, explicit: bool, live: bool
) -> bool:
    """Whether a new ticket under verification `v` is answered at creation: only when `v`
    is of this call. That is: it verified a contact (`_call_verification` has checked the
    account, that it is under CALL_WINDOW, 2 h, old and that the staff member opening the
    ticket made it), and no other ticket was answered at its opening under it (one verified call
    answers one new ticket; more tickets on that call open with their respond clock
    running). `explicit` (--during-verified-call): a verification that is not of this call
    is refused, whatever the channel; else only a phone or chat ticket (`live`) is answered,
    and one whose verification does not qualify simply opens unanswered."""
    if v is None or not (explicit or live):
        return False
    # the verification's row is locked: two tickets racing on one call cannot both count
    session.execute(select(Verification.id).where(Verification.id == v.id).with_for_update())
    why = None
    if v.result != "verified" or v.contact_id is None:
        why = f"verification {v.id} did not verify a contact ({v.result})"
    else:
        used = session.scalar(
            select(Ticket.id)
            .where(  # the account's tickets since the call (ix_tickets_account): no scan
                Ticket.account_id == v.account_id,
                Ticket.created_at >= v.created_at,
                Ticket.verification_id == v.id,
                Ticket.first_response_at == Ticket.created_at,
            )
            .limit(1)
        )
        if used is not None:
            why = (
                f"verification {v.id} already answered ticket #{used} when it opened: "
                "one verified call answers one new ticket"
            )
    if why is None:
        return True
    if explicit:
        raise NotAllowed(f"not answered on a verified call: {why}")
    return False


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
    (restricted requests need a verified primary or secondary contact): the rule a ticket's
    type is checked by again whenever a person changes it (core/request_block.py)."""
    from supportdesk.rules.verify_rules import person_of, request_refusal

    if check is not None and check.result == "held":
        return True
    owners_only = current_policy(desk).verification.owners_only
    requester = person_of(contact) if contact is not None else None
    proven = requester if check is not None and check.result == "verified" else None
    others: list[Any] = []  # who could ask instead is not needed for yes or no
    why = request_refusal(request_type, requester, proven, others, service_id, owners_only)
    return why is not None


def confirm(desk: Desk, ticket_id: int, verification_id: int) -> None:
    """An authorized contact, verified on this call, confirms a held ticket: it opens, the
    resolve clock resumes, and the confirmation is recorded. A ticket blocked by its
    request type but not held (it was waiting on the customer when the type changed, or came
    in by import) is confirmed the same way and keeps its status."""
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        permissions.require(desk.actor, "ticket.update")
        if not needs_confirmation(session, desk, t):
            raise NothingToDo(f"ticket #{t.id} is not awaiting authorization")
        v = _call_verification(session, desk, verification_id, t.account_id, Channel.PHONE)
        assert v is not None
        if v.result != "verified" or v.contact_id is None:
            raise NotAllowed(f"verification {verification_id} did not verify a contact")
        contact = session.get(Contact, v.contact_id)
        assert contact is not None
        why = confirm_refusal(session, desk, t, contact)
        if why is not None:
            raise NotAllowed(f"{contact.name} cannot confirm: {why}")
        confirm_ticket(session, desk, record, t, v, contact, "on a verified call")


def confirm_ticket(
    session: Session,
    desk: Desk,
    record: Any,
    t: Ticket,
    v: Verification,
    contact: Contact,
    how: str,
) -> None:
    """Confirm `t` inside the caller's write, as `contact` proven by `v` (`how`: "on a
    verified call", "by authenticated e-mail with a one-time code"): a held ticket opens, a
    blocked one keeps its status, and the history and the audit say who and how. The caller
    has checked `needs_confirmation` and `confirm_refusal`."""
    held = t.status == Status.AWAITING_AUTHORIZATION.value
    confirmed = {
        "confirmed_by": [None, contact.name],
        "verification": [None, v.id],
        "how": [None, f"confirmed {how}"],
    }
    why = f"{contact.name} confirmed the {words(t.request_type)} {how}"
    if held:
        change_status(session, desk, record, t, Status.OPEN, extra=confirmed)
        add_event(session, desk, t, EventKind.NOTE, body=why)
    else:
        add_event(session, desk, t, EventKind.NOTE, body=why)
        record("ticket.confirm", "ticket", t.id, confirmed)
    t.confirmed_at = desk.now()
    t.verification_id = v.id
    if t.contact_id is None and t.caller_name is None:
        t.contact_id = contact.id  # nobody on record reported it: the confirmer did
    # else who reported it stays: the confirmer is the verification's contact
