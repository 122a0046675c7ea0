"""A held ticket confirmed by mail (issue 19, item 2): the customer's reply to a
confirmation request (services/tickets/confirmation.py) confirms the ticket only when ALL
of these hold:

- it is authenticated (rules/mail_auth.py: the desk's server's Authentication-Results above
  its Received: header, dmarc=pass or aligned dkim=pass, one From: mailbox), and its From:
  address is an address on file of the contact the code was sent to;
- it is not automatic mail (that never reaches here: mail.py notes it);
- it carries a code the desk sent, outside quoted `>` lines, unused, unexpired (72 h), bound
  to this ticket and to the ticket's current request type;
- its first unquoted non-empty line says yes (rules/one_time_codes.YES).

Then the ticket is confirmed as `ticket confirm` does (opening.confirm_ticket), under a
verification row of method `mail_code` that records the proof, and the code is spent.
Anything else is the customer's words on the ticket, with a note for the leads listing every
reason it did not confirm; never an error.

The codes a message carries are masked in what is stored of it (the thread, the audit's
digest), whatever their state: a code is not shown again once it was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from supportdesk.core.policy import current_policy
from supportdesk.core.tickets import add_event
from supportdesk.enums import EventKind, Status
from supportdesk.models import ConfirmationCode, Contact, Ticket, Verification
from supportdesk.rules.mail_auth import authenticate
from supportdesk.rules.one_time_codes import found_codes, mask_codes, says_yes
from supportdesk.rules.request_types import words
from supportdesk.services.intake.mail_views import NOT_CONFIRMED
from supportdesk.services.outbox.threads import contact_addresses
from supportdesk.services.tickets.confirmation import confirm_refusal, needs_confirmation
from supportdesk.services.tickets.opening import confirm_ticket

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk

HOW = "by authenticated e-mail with a one-time code"
MAX_CODES = 20  # code-shaped tokens of one message looked up


@dataclass(frozen=True)
class Found:
    """The hashes of the codes a message carries: outside quoted lines, and inside them."""

    plain: tuple[str, ...] = ()
    quoted: tuple[str, ...] = ()


def screen(session: Session, body: str, subject: str) -> tuple[str, str, Found]:
    """(`body`, `subject`) with every code the desk ever issued masked, and the codes found
    in the body."""
    plain, quoted = found_codes(body)
    in_subject, _ = found_codes(subject)
    wanted = list(dict.fromkeys((*plain, *quoted, *in_subject)))[:MAX_CODES]
    if not wanted:
        return body, subject, Found()
    known = frozenset(
        session.scalars(
            select(ConfirmationCode.code_hash).where(ConfirmationCode.code_hash.in_(wanted))
        )
    )
    if known:
        body, subject = mask_codes(body, known), mask_codes(subject, known)
    return body, subject, Found(plain, quoted)


def _code_problems(
    session: Session, desk: Desk, ticket: Ticket, found: Found
) -> tuple[ConfirmationCode | None, list[str]]:
    """The code the reply carries for this ticket, or why there is none that counts."""
    if not found.plain:
        if found.quoted:
            return None, ["the one-time code appears only in quoted (>) lines"]
        return None, ["no one-time code in the reply"]
    rows = list(
        session.scalars(
            select(ConfirmationCode).where(ConfirmationCode.code_hash.in_(found.plain[:MAX_CODES]))
        )
    )
    if not rows:
        return None, ["the code in the reply is not one the desk sent"]
    mine = [r for r in rows if r.ticket_id == ticket.id]
    if not mine:
        return None, ["the code in the reply is for another ticket"]
    code = min(mine, key=lambda r: (r.spent_at is not None, -r.id))
    if code.spent_at is not None:
        if code.spent == "replaced":
            return None, ["the code was replaced by a newer one"]
        return None, ["the code was already used"]
    if code.expires_at <= desk.now():
        return None, ["the code expired"]
    if code.request_type != ticket.request_type:
        return None, [
            f"the code was for a {words(code.request_type)}; the ticket asks for a "
            f"{words(ticket.request_type)} now"
        ]
    return code, []


def on_reply(
    session: Session,
    desk: Desk,
    record: Any,
    ticket: Ticket,
    sender: str,
    trace: tuple[tuple[str, str], ...],
    found: Found | None,
    body: str,
    automatic: str | None = None,
) -> str | None:
    """Confirm `ticket` by this reply when everything holds (the module's docstring): then
    "confirmed". Otherwise, for a ticket that waits for confirmation, the note for the leads
    and "not_confirmed"; None for a ticket that waits for nothing."""
    if not needs_confirmation(session, desk, ticket):
        return None
    code, why = _code_problems(session, desk, ticket, found or Found())
    if automatic is not None:
        why.insert(0, f"automatic mail ({automatic})")
    froms = [v for k, v in trace if k.strip().lower() == "from"]
    verdict = authenticate(trace, froms, current_policy(desk).mail.authserv_id)
    if not verdict.ok:
        why.append(f"not authenticated: {verdict.why}")
    contact = session.get(Contact, code.contact_id) if code is not None else None
    if contact is not None:
        on_file = contact_addresses(session, contact.id)
        if sender not in on_file or (verdict.address is not None and verdict.address != sender):
            why.append(f"wrong sender: the code was sent to {contact.name}, not to {sender}")
        else:
            refused = confirm_refusal(session, desk, ticket, contact)
            if refused is not None:
                why.append(f"{contact.name} cannot confirm: {refused}")
    if not says_yes(body):
        why.append('the first line does not say yes ("Yes", "Yes, go ahead", "Confirm")')
    if why or code is None or contact is None:
        _not_confirmed(session, desk, ticket, sender, why)
        return "not_confirmed"
    now = desk.now()
    proof = Verification(
        account_id=ticket.account_id,
        contact_id=contact.id,
        staff_id=desk.actor.staff_id,
        channel="email",
        method="mail_code",
        result="verified",
        request=ticket.request_type,
        detail=f"confirmed {HOW} ({verdict.why})"[:200],
        created_at=now,
    )
    session.add(proof)
    session.flush()
    confirm_ticket(session, desk, record, ticket, proof, contact, HOW)
    code.spent_at, code.spent = now, "confirmed"
    record(
        "ticket.confirmation_code",
        "ticket",
        ticket.id,
        {"code": [f"confirmation code {code.id}", "spent"], "verification": [None, proof.id]},
    )
    return "confirmed"


def _not_confirmed(
    session: Session, desk: Desk, ticket: Ticket, sender: str, why: list[str]
) -> None:
    held = ticket.status == Status.AWAITING_AUTHORIZATION.value
    stays = "held" if held else "blocked"
    add_event(
        session,
        desk,
        ticket,
        EventKind.NOTE,
        body=(
            f"{NOT_CONFIRMED}: mail from {sender} is kept as the customer's words "
            f"({'; '.join(dict.fromkeys(why))}); the ticket stays {stays} until an authorized "
            "contact confirms on a verified call (`supportdesk ticket confirm`), by an "
            "authenticated reply with a one-time code (`supportdesk ticket "
            "request-confirmation`), or a lead decides"
        ),
    )
