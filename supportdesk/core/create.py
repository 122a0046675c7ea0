"""The one way a ticket is born: its row with fresh nonces for the subject and description,
the `created` event, its SLA clocks started, an optional hold or close at birth, and its
audit row, all in the caller's transaction. `tickets.create` (staff, phone, chat) and mail
ingest both open tickets through `open_ticket`; every ticket keeps the request type its words
suggest (`suggestion_columns`, which the importer uses too), never applied.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from supportdesk.core.audit import new_nonce
from supportdesk.core.clocks import on_create, on_status_change
from supportdesk.core.desk import Desk, Recorder
from supportdesk.core.policy import current_policy
from supportdesk.core.tickets import add_event
from supportdesk.enums import EventKind, ResolutionCode, Speaker, Status
from supportdesk.models import Ticket
from supportdesk.rules.request_words import RequestWords


@dataclass(frozen=True)
class NewTicket:
    """What a new ticket says, checked by the caller."""

    account_id: str
    subject: str
    priority_rank: int
    category: str
    channel: str
    request_type: str = "technical"
    description: str = ""
    contact_id: int | None = None
    caller_name: str | None = None
    caller_phone: str | None = None
    sender: str | None = None
    service_id: int | None = None
    verification_id: int | None = None


def suggestion_columns(words: RequestWords, subject: str, description: str) -> dict[str, Any]:
    """A new ticket's `suggested_type` and `suggested_words` (a JSON array): what its subject
    and first message suggest under the policy's keywords; both None when nothing does."""
    found = words.suggest(subject, description)
    if found is None:
        return {"suggested_type": None, "suggested_words": None}
    return {
        "suggested_type": found.request_type,
        "suggested_words": json.dumps(list(found.words), ensure_ascii=False),
    }


@dataclass(frozen=True)
class Settle:
    """A status the ticket takes at birth (held for authorization, closed), with why."""

    status: Status
    why: str | None = None  # the status event's text
    code: ResolutionCode | None = None  # closed at birth: its resolution code


def open_ticket(
    session: Session,
    desk: Desk,
    record: Recorder,
    new: NewTicket,
    *,
    action: str,
    audit: Callable[[Ticket], dict[str, Any]],
    from_customer: bool = False,
    responded: bool = False,
    note: str | None = None,
    settle: Settle | None = None,
) -> Ticket:
    """Create the ticket (status new, tier 1) and return it.

    `from_customer`: the customer opened it (mail); the `created` event is theirs and shown
    in the thread. `note`: a staff note on how it came in, right after `created`.
    `responded`: opened during a verified call, so it is answered at birth (open, respond
    clock met). `settle`: the status it takes at once. `audit(ticket)` gives the audit
    row's changes under `action`, read after all of that."""
    now = desk.now()
    ticket = Ticket(
        account_id=new.account_id,
        contact_id=new.contact_id,
        caller_name=new.caller_name,
        caller_phone=new.caller_phone,
        sender=new.sender,
        verification_id=new.verification_id,
        service_id=new.service_id,
        request_type=new.request_type,
        **suggestion_columns(current_policy(desk).request_words, new.subject, new.description),
        subject=new.subject,
        subject_nonce=new_nonce(),
        description=new.description,
        description_nonce=new_nonce() if new.description else None,
        category=new.category,
        priority_rank=new.priority_rank,
        channel=new.channel,
        status=Status.NEW.value,
        tier=1,
        created_at=now,
        updated_at=now,
        last_speaker=Speaker.CUSTOMER.value,
        last_activity_at=now,
    )
    session.add(ticket)
    session.flush()
    add_event(
        session,
        desk,
        ticket,
        EventKind.CREATED,
        new=Status.NEW.value,
        from_customer=from_customer,
        visible=from_customer,
        at=now,
    )
    if note is not None:
        add_event(session, desk, ticket, EventKind.NOTE, body=note, at=now)
    if responded:
        ticket.first_response_at = now
        ticket.status = Status.OPEN.value
        ticket.last_speaker = Speaker.STAFF.value
    on_create(session, desk, ticket, responded=responded)
    if settle is not None:
        target = settle.status.value
        add_event(
            session, desk, ticket, EventKind.STATUS, old=ticket.status, new=target, body=settle.why
        )
        on_status_change(session, desk, ticket, ticket.status, target)
        ticket.status = target
        if settle.code is not None:
            ticket.resolution_code = settle.code.value
            ticket.resolved_at = now
    changes = audit(ticket)
    if ticket.suggested_type is not None:  # the policy's keywords, not the customer's text
        changes["suggested_type"] = [None, ticket.suggested_type]
        changes["suggested_words"] = [None, json.loads(ticket.suggested_words or "[]")]
    record(action, "ticket", ticket.id, changes)
    return ticket
