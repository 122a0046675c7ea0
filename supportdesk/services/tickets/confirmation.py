"""Confirmation requests for held tickets (issues 18 and 19): a one-time code mailed to an
allowed contact's address on file, which their authenticated reply carries back
(services/intake/mail_confirm.py).

- Automatic (`offer_confirmation`), inside the write that holds or blocks a ticket (`ticket
  new`, a change of request type): when the ticket's own contact may make its request, the
  code goes to them, once per ticket, contact and request type while a code is live.
- `request_confirmation` (`supportdesk ticket request-confirmation N --contact ID`): an agent
  names the allowed contact (an unlisted sender, an unverified caller, a requester who may
  not ask for it: the desk cannot guess who should confirm). It replaces that contact's
  earlier codes for the ticket.

The code exists in clear only in the outbox row's body until the message is sent (the sender
then replaces it with a mark, services/outbox/sending.py); `mail outbox`, `ticket show` and
the console show confirmation bodies with the code masked (services/outbox/views.py). The
audit and the history name the code's row, never the code or its hash. `[mail]
confirmation_requests = false` sends none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from supportdesk.core import permissions
from supportdesk.core.policy import current_policy
from supportdesk.core.template_context import automatic
from supportdesk.core.tickets import add_event, load_ticket
from supportdesk.core.views import JsonMixin
from supportdesk.enums import EventKind, Status, TemplateKind
from supportdesk.errors import NotAllowed, NotFound, NothingToDo, UsageError
from supportdesk.models import ConfirmationCode, Contact, Ticket
from supportdesk.rules import limits
from supportdesk.rules.one_time_codes import CODE_VALID, code_hash, new_code
from supportdesk.rules.request_types import words
from supportdesk.services.outbox.queueing import queue_message
from supportdesk.services.outbox.threads import (
    contact_addresses,
    mask,
    thread_ids,
    thread_subject,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk

HOW_TO_REPLY = (
    'To confirm, reply to this message with "Yes" on the first line and the code below '
    "anywhere in your reply (not only in the quoted text)."
)


@dataclass(frozen=True)
class Requested(JsonMixin):
    """A confirmation request queued (to `to`, masked), or not and why."""

    queued: bool
    ticket_id: int
    to: str | None = None
    expires_at: datetime | None = None
    why: str | None = None


def needs_confirmation(session: Session, desk: Desk, t: Ticket) -> bool:
    """Whether `t` waits for an allowed contact: held, or blocked by its request type."""
    from supportdesk.core.request_block import request_block

    if t.status == Status.AWAITING_AUTHORIZATION.value:
        return True
    return request_block(session, desk, t) is not None


def confirm_refusal(session: Session, desk: Desk, t: Ticket, contact: Contact) -> str | None:
    """Why `contact` may not confirm `t`'s request (it is not theirs to make), or None."""
    from supportdesk.rules.verify_rules import permission, person_of

    if contact.account_id != t.account_id or not contact.active:
        return f"{contact.name} is not an active contact of account {t.account_id}"
    others = [
        person_of(c)
        for c in session.scalars(
            select(Contact).where(Contact.account_id == t.account_id, Contact.active)
        )
    ]
    owners_only = current_policy(desk).verification.owners_only
    grant = permission(person_of(contact), t.request_type, others, t.service_id, owners_only)
    return None if grant.allowed else grant.refusal(t.request_type)


def _staff_id(desk: Desk) -> int | None:
    try:
        return desk.actor.staff_id
    except NotFound:
        return None


def live_code(session: Session, desk: Desk, t: Ticket, contact_id: int) -> ConfirmationCode | None:
    """An unspent, unexpired code for `t`, `contact_id` and the ticket's request type."""
    return session.scalars(
        select(ConfirmationCode)
        .where(
            ConfirmationCode.ticket_id == t.id,
            ConfirmationCode.contact_id == contact_id,
            ConfirmationCode.request_type == t.request_type,
            ConfirmationCode.spent_at.is_(None),
            ConfirmationCode.expires_at > desk.now(),
        )
        .limit(1)
    ).first()


def issue(
    session: Session, desk: Desk, record: Any, t: Ticket, contact: Contact, *, by: str
) -> Requested:
    """A new code for `t` and `contact`, and the message carrying it queued to the contact's
    address on file, inside the caller's write; the contact's earlier unspent codes for `t`
    and its request type are replaced (one for another type stays bound to that type).
    `by`: "automatic" or "agent"."""
    rules = current_policy(desk).mail
    if rules.domain is None:
        return Requested(
            False, t.id, why="the policy sets no [mail] domain: the desk sends no mail"
        )
    if not rules.confirmation_requests:
        return Requested(False, t.id, why="the policy sends no confirmation requests")
    addresses = contact_addresses(session, contact.id)
    if not addresses:
        return Requested(False, t.id, why=f"{contact.name} has no e-mail on file")
    to = addresses[0]
    now = desk.now()
    for old in session.scalars(
        select(ConfirmationCode).where(
            ConfirmationCode.ticket_id == t.id,
            ConfirmationCode.contact_id == contact.id,
            ConfirmationCode.request_type == t.request_type,
            ConfirmationCode.spent_at.is_(None),
        )
    ):
        old.spent_at, old.spent = now, "replaced"
    code = new_code()
    row = ConfirmationCode(
        code_hash=code_hash(code),
        ticket_id=t.id,
        contact_id=contact.id,
        request_type=t.request_type,
        created_at=now,
        expires_at=now + CODE_VALID,
        created_by=_staff_id(desk),
    )
    session.add(row)
    session.flush()
    parent, refs = thread_ids(session, t.id)
    hours = int(CODE_VALID.total_seconds() // 3600)
    body = (
        f"Hello {contact.name},\n\n"
        f"We were asked for a {words(t.request_type)} on ticket #{t.id}: "
        f"{thread_subject(t.subject, t.id, reply=False)}\n"
        f"As an authorized contact of account {t.account_id}, please confirm that you want it, "
        "or ignore this message if you did not ask for it.\n\n"
        f"{HOW_TO_REPLY}\n\n"
        f"Your one-time code: {code}\n\n"
        f"The code works once, for this ticket only, for {hours} hours."
    )
    subject = t.subject
    edited = automatic(session, desk, TemplateKind.CONFIRMATION, t, code=code)
    if edited is not None:  # a lead's text for it, the code in it (else the built-in one)
        subject, body = edited.subject or subject, edited.body
    out = queue_message(
        session,
        desk,
        kind="confirmation",
        to_addr=to,
        subject=thread_subject(subject, t.id, reply=parent is not None),
        body=body,
        ticket_id=t.id,
        contact_id=contact.id,
        in_reply_to=parent,
        references=refs,
        automatic="auto-generated",
        dedupe_key=f"confirm:code:{row.id}",
    )
    del code, body, edited
    assert out is not None  # the domain is set
    row.outbox_id = out.id
    masked = mask(to)
    add_event(
        session,
        desk,
        t,
        EventKind.NOTE,
        body=(
            f"confirmation request with a one-time code ({by}) queued to {contact.name} "
            f"<{masked}>: valid {hours} h, for the {words(t.request_type)}"
        ),
    )
    record(
        "ticket.confirmation_request",
        "ticket",
        t.id,
        {
            "contact": [None, contact.id],
            "to": [None, masked],
            "request_type": [None, t.request_type],
            "code": [None, f"confirmation code {row.id}"],
            "expires_at": [None, row.expires_at.isoformat()],
            "outbox": [None, out.id],
            "by": [None, by],
        },
    )
    return Requested(True, t.id, masked, row.expires_at)


def offer_confirmation(session: Session, desk: Desk, record: Any, t: Ticket) -> Requested | None:
    """The automatic confirmation request (see the module's docstring), inside the write
    that held or blocked `t`; None when none is due."""
    rules = current_policy(desk).mail
    if rules.domain is None or not rules.confirmation_requests or t.contact_id is None:
        return None
    if not needs_confirmation(session, desk, t):
        return None
    contact = session.get(Contact, t.contact_id)
    if contact is None or confirm_refusal(session, desk, t, contact) is not None:
        return None  # the requester may not ask for it: an agent names who confirms
    if live_code(session, desk, t, contact.id) is not None:
        return None
    return issue(session, desk, record, t, contact, by="automatic")


def request_confirmation(desk: Desk, ticket_id: int, contact_id: int) -> Requested:
    """`ticket request-confirmation`: a new code for `contact_id`, who must be an active
    contact of the ticket's account allowed to make its request."""
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        permissions.require(desk.actor, "ticket.update")
        if not needs_confirmation(session, desk, t):
            raise NothingToDo(f"ticket #{t.id} is not awaiting authorization")
        contact = session.get(Contact, contact_id) if limits.fits_id(contact_id) else None
        if contact is None or contact.account_id != t.account_id:
            raise NotFound(f"no contact {contact_id} on account {t.account_id}")
        why = confirm_refusal(session, desk, t, contact)
        if why is not None:
            raise NotAllowed(f"{contact.name} cannot confirm: {why}")
        done = issue(session, desk, record, t, contact, by="agent")
        if not done.queued:
            raise UsageError(f"no confirmation request sent: {done.why}")
        return done
