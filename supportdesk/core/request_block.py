"""Whether a ticket's request type lets the desk act on it (issue 19): the one check every
customer-visible reply and every resolution passes, whoever writes it (CLI, console, an
incident's resolution), and the re-check when a person changes the type.

A restricted request (the policy's `[verification] owners_only`: billing, credentials,
contacts, cancellation) is acted on only once a contact who may ask for it is proven by a
verified call: the call the ticket was opened on, or the one an allowed contact confirmed it
on (`ticket confirm`). Until then it is blocked, with the reason and who can ask. Words in
the ticket never block anything: only the type a person chose does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supportdesk.core.policy import current_policy
from supportdesk.errors import NotAllowed, NotFound
from supportdesk.rules.verify_rules import Person, person_of, request_refusal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk
    from supportdesk.models import Ticket, Verification

HOW_TO_CONFIRM = "supportdesk ticket confirm {id} --verification N"


def _people(session: Session, ticket: Ticket) -> tuple[Person | None, Person | None, list[Person]]:
    """(the listed contact it came from, the contact a verified call proved, the account's
    active contacts)."""
    from sqlalchemy import select

    from supportdesk.models import Contact, Verification

    others = {
        c.id: person_of(c)
        for c in session.scalars(
            select(Contact).where(Contact.account_id == ticket.account_id, Contact.active)
        )
    }
    requester = None
    if ticket.contact_id is not None:
        contact = session.get(Contact, ticket.contact_id)
        requester = person_of(contact) if contact is not None else None
    proven = None
    if ticket.verification_id is not None:
        v = session.get(Verification, ticket.verification_id)
        if v is not None and v.result == "verified" and v.contact_id in others:
            proven = others[v.contact_id]
    return requester, proven, list(others.values())


def refusal(session: Session, desk: Desk, ticket: Ticket) -> str | None:
    """Why the ticket's request must wait for an authorized contact (any request type a
    requester may not make, or a restricted one nobody proved), or None."""
    owners_only = current_policy(desk).verification.owners_only
    requester, proven, others = _people(session, ticket)
    return request_refusal(
        ticket.request_type, requester, proven, others, ticket.service_id, owners_only
    )


def request_block(session: Session, desk: Desk, ticket: Ticket) -> str | None:
    """Why nothing may be said to the customer or resolved on this ticket yet: a restricted
    request type nobody allowed to ask for it has confirmed. None: not blocked."""
    if ticket.request_type not in current_policy(desk).verification.owners_only:
        return None
    return refusal(session, desk, ticket)


def require_unblocked(session: Session, desk: Desk, ticket: Ticket, verb: str) -> None:
    """NotAllowed, with the reason and who can ask, while `request_block` holds."""
    why = request_block(session, desk, ticket)
    if why is not None:
        raise NotAllowed(
            f"ticket #{ticket.id} cannot be {verb} yet: {why}; one of them confirms on a "
            f"verified call (`{HOW_TO_CONFIRM.format(id=ticket.id)}`). Internal notes are fine"
        )


def hold_reason(session: Session, desk: Desk, ticket: Ticket) -> str | None:
    """Why the ticket waits for authorization after its type changed: its request (as
    `refusal`), or, until someone confirmed it, what held it when it came in (a caller
    the verification did not verify, mail from an address no account lists)."""
    why = refusal(session, desk, ticket)
    if why is not None or ticket.confirmed_at is not None:
        return why
    from supportdesk.models import Verification

    if ticket.verification_id is not None:
        v = session.get(Verification, ticket.verification_id)
        if v is not None and v.result == "held":
            return "the caller was not verified: an authorized contact must confirm it"
    if ticket.contact_id is None and ticket.sender is not None:
        return f"sender {ticket.sender} is not listed on the account"
    return None


def this_call(session: Session, desk: Desk, verification_id: int, account: str) -> Verification:
    """Verification `verification_id` as the proof of the call the actor is on: of
    `account`, under CALL_WINDOW old, and made by the actor (another agent's verification
    proves nothing about who is on this line: a caller who says "your colleague just
    verified me" is verified again). What it verified is the caller's to check."""
    from supportdesk.models import Verification
    from supportdesk.rules import limits
    from supportdesk.rules.verify_rules import CALL_WINDOW, OTHERS_CALL

    v = session.get(Verification, verification_id) if limits.fits_id(verification_id) else None
    if v is None or v.account_id != account:
        raise NotFound(f"no verification {verification_id} for account {account}")
    if desk.now() - v.created_at > CALL_WINDOW:
        raise NotAllowed(f"verification {verification_id} was for an earlier call: verify again")
    if v.staff_id is None or v.staff_id != desk.actor.staff_id:
        raise NotAllowed(OTHERS_CALL.format(id=verification_id))
    return v
