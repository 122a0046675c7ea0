"""Calls and tickets linked to an incident (in two keys, not a new ticket), and resolving it
with every linked ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.clocks import on_first_response
from supportdesk.core.desk import Desk
from supportdesk.core.request_block import request_block
from supportdesk.enums import CallOutcome, EventKind, ResolutionCode, Speaker, Status
from supportdesk.errors import InvalidTransition, NotFound, NothingToDo, UsageError
from supportdesk.rules import limits
from supportdesk.services.incidents.common import (
    DONE,
    body_digest,
    incident_text,
    load_incident,
    require_manager,
    require_open,
)
from supportdesk.services.incidents.declaring import linked_tickets, post_reply
from supportdesk.services.incidents.reading import affects
from supportdesk.services.incidents.views import CallResult, LinkResult, ResolveResult

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def link_ticket(
    desk: Desk,
    incident_id: int,
    ticket_id: int,
    *,
    reason: str | None = None,
    call: bool = False,
) -> LinkResult:
    """Link a ticket to the incident instead of working it on its own: a note on the ticket
    names the incident. With `call` (the customer is on the line and was told) the call is
    logged too, which is the customer's response (the respond clock stops). A ticket of an
    account the incident does not affect is linked only with a reason."""
    from sqlalchemy import select

    from supportdesk.core.tickets import add_event, first_response, guard, load_ticket
    from supportdesk.models import IncidentCall, IncidentLink

    why = limits.check((reason or "").strip(), limits.REASON, what="--reason") or None
    with desk.write() as (session, record):
        inc = load_incident(session, incident_id, lock=True)
        require_open(inc, "linked to")
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.note")
        if t.status == Status.CLOSED.value:
            raise InvalidTransition(f"ticket #{t.id} is closed; it cannot be linked")
        have = session.scalar(
            select(IncidentLink.ticket_id).where(
                IncidentLink.incident_id == inc.id, IncidentLink.ticket_id == t.id
            )
        )
        if have is not None:
            raise NothingToDo(f"ticket #{t.id} is already linked to incident #{inc.id}")
        affected = affects(session, inc.id, t.account_id)
        if not affected and why is None:
            raise UsageError(
                f"account {t.account_id} has no service on {_server_text(session, inc.id)}: "
                f"give a reason to link ticket #{t.id} anyway (--reason)"
            )
        now = desk.now()
        session.add(
            IncidentLink(
                incident_id=inc.id,
                ticket_id=t.id,
                by_id=desk.actor.staff_id,
                at=now,
                reason=why,
                keep_open=False,
            )
        )
        note = f"Linked to incident #{inc.id}: {inc.title}" + (f"\nWhy: {why}" if why else "")
        add_event(session, desk, t, EventKind.NOTE, body=note)
        changes: dict[str, Any] = {"incident": [None, inc.id]}
        if why:
            changes["reason"] = [None, body_digest(why)]
        responded = False
        if call:
            told = f"Caller told about incident #{inc.id} ({inc.title}) from the script."
            add_event(
                session,
                desk,
                t,
                EventKind.CALL,
                body=told,
                visible=True,
                call_outcome=CallOutcome.SPOKE.value,
            )
            responded = t.first_response_at is None
            first_response(t, now, changes)
            on_first_response(session, desk, t, "call: spoke")
            t.last_speaker = Speaker.STAFF.value
            t.last_activity_at = now
            session.add(
                IncidentCall(
                    incident_id=inc.id,
                    account_id=t.account_id,
                    ticket_id=t.id,
                    contact_id=t.contact_id,
                    caller_name=t.caller_name,
                    caller_phone=t.caller_phone,
                    note="",
                    staff_id=desk.actor.staff_id,
                    at=now,
                )
            )
            changes["call"] = [None, CallOutcome.SPOKE.value]
        t.updated_at = now
        record("incident.link", "ticket", t.id, changes)
        return LinkResult(inc.id, t.id, t.account_id, affected, responded)


def _server_text(session: Session, incident_id: int) -> str:
    from sqlalchemy import select

    from supportdesk.models import IncidentServer

    names = session.scalars(
        select(IncidentServer.server)
        .where(IncidentServer.incident_id == incident_id)
        .order_by(IncidentServer.server)
    )
    return ", ".join(names)


def log_call(
    desk: Desk,
    incident_id: int,
    account: str,
    *,
    contact_id: int | None = None,
    caller_name: str | None = None,
    caller_phone: str | None = None,
    verification_id: int | None = None,
    note: str = "",
    reason: str | None = None,
) -> CallResult:
    """A caller about the incident who has no ticket: the call is recorded against the
    incident and the account (who called, who took it, when), and no ticket is opened."""
    from supportdesk.models import Account, Contact, IncidentCall, Verification

    permissions.require(desk.actor, "ticket.call")
    why = limits.check((reason or "").strip(), limits.REASON, what="--reason") or None
    limits.check(account, limits.ACCOUNT_ID, what="--account")
    limits.check_optional(caller_name, limits.CALLER_NAME, what="--caller-name")
    limits.check_optional(caller_phone, limits.PHONE, what="--caller-phone")
    limits.check(note or "", limits.BODY, what="--note")
    with desk.write() as (session, record):
        inc = load_incident(session, incident_id, lock=True)
        require_open(inc, "called about")
        if session.get(Account, account) is None:
            raise NotFound(f"no account {account!r}")
        if contact_id is not None:
            contact = session.get(Contact, contact_id) if limits.fits_id(contact_id) else None
            if contact is None or contact.account_id != account:
                raise NotFound(f"no contact {contact_id} on account {account}")
        if verification_id is not None:
            v = (
                session.get(Verification, verification_id)
                if limits.fits_id(verification_id)
                else None
            )
            if v is None or v.account_id != account:
                raise NotFound(f"no verification {verification_id} for account {account}")
        affected = affects(session, inc.id, account)
        if not affected and why is None:
            raise UsageError(
                f"account {account} has no service on {_server_text(session, inc.id)}: "
                "give a reason to record the call against this incident anyway (--reason)"
            )
        text = (note or "").strip()
        if why:
            text = (text + "\n" if text else "") + f"Why: {why}"
        call = IncidentCall(
            incident_id=inc.id,
            account_id=account,
            contact_id=contact_id,
            caller_name=(caller_name or "").strip() or None,
            caller_phone=(caller_phone or "").strip() or None,
            verification_id=verification_id,
            note=text,
            staff_id=desk.actor.staff_id,
            at=desk.now(),
        )
        session.add(call)
        session.flush()
        record(
            "incident.call",
            "incident",
            inc.id,
            {
                "call": [None, call.id],
                "account": [None, account],
                "contact": [None, contact_id],
                "caller_name": [None, call.caller_name],
                "note": [None, body_digest(text) if text else None],
            },
        )
        return CallResult(inc.id, call.id, account, affected)


def resolve(
    desk: Desk, incident_id: int, body: str, *, keep_open: Sequence[int] = ()
) -> ResolveResult:
    """The outage is over: the last update goes to every live linked ticket, which is then
    resolved (fixed), except those in `keep_open` (and any awaiting authorization, which
    cannot be resolved); the incident is resolved and leaves every console's banner."""
    from supportdesk.core.tickets import add_event, change_status
    from supportdesk.models import IncidentUpdate

    words = incident_text(body, "what fixed it (the resolution's text)")
    keep = set(keep_open)
    with desk.write() as (session, record):
        inc = load_incident(session, incident_id, lock=True)
        require_manager(desk, inc)
        require_open(inc, "resolved again")
        rows = linked_tickets(session, inc.id, lock=True)
        unknown = keep - {t.id for t, _ in rows}
        if unknown:
            raise UsageError(
                f"not linked to incident #{inc.id}: " + ", ".join(f"#{n}" for n in sorted(unknown))
            )
        now = desk.now()
        reply = f"Resolved: the incident affecting your service ({inc.title}) is over. {words}"
        posted: list[int] = []
        resolved: list[int] = []
        left: list[int] = []
        replies = []
        for ticket, link in rows:
            if ticket.status in DONE:
                continue
            replies.append((ticket, post_reply(session, desk, record, ticket, reply, inc.id)))
            posted.append(ticket.id)
            if (
                ticket.id in keep
                or ticket.status == Status.AWAITING_AUTHORIZATION.value
                or request_block(session, desk, ticket) is not None  # issue 19
            ):
                link.keep_open = True
                add_event(
                    session,
                    desk,
                    ticket,
                    EventKind.NOTE,
                    body=f"Incident #{inc.id} resolved; this ticket stays open for its own work.",
                )
                left.append(ticket.id)
                continue
            change_status(
                session,
                desk,
                record,
                ticket,
                Status.RESOLVED,
                ResolutionCode.FIXED,
                extra={"incident": [None, inc.id]},
            )
            resolved.append(ticket.id)
        last = IncidentUpdate(
            incident_id=inc.id,
            kind="resolved",
            state="resolved",
            body=words,
            by_id=desk.actor.staff_id,
            at=now,
            tickets_posted=len(posted),
        )
        session.add(last)
        session.flush()
        from supportdesk.services.outbox.customer import queue_incident_update

        mailed = queue_incident_update(
            session, desk, (inc.id, last.id, inc.title), reply, replies, words=words
        )
        record(
            "incident.resolve",
            "incident",
            inc.id,
            {
                "state": [inc.state, "resolved"],
                "body": [None, body_digest(words)],
                "tickets_resolved": [None, resolved],
                "tickets_left_open": [None, left],
                **({"mailed": [None, mailed]} if mailed else {}),
            },
        )
        inc.state = "resolved"
        inc.resolved_at = now
        inc.next_update_due = None
        inc.updated_at = now
        return ResolveResult(inc.id, tuple(resolved), tuple(left), tuple(posted))
