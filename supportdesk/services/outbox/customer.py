"""Mail to a ticket's customer, queued inside the write that causes it (issue 18, items 3-4):
a staff reply, and the acknowledgement of a new ticket. Each call adds at most one outbox
row to the caller's transaction, so a rollback sends nothing.

- A reply goes to the address on file (threads.address_on_file), threaded on the ticket.
- An acknowledgement (`Auto-Submitted: auto-replied`) tells a listed sender the ticket's
  number and its response target in words, once per ticket (its dedupe key), at most one per
  address per `[mail] acknowledge_interval`, never for a held or closed ticket (unlisted mail
  is closed unanswered or held) and never in answer to automatic mail (the caller's check:
  mail ingest never opens a ticket for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from supportdesk.core.policy import current_policy
from supportdesk.core.template_context import automatic, incident_facts, span_words
from supportdesk.core.views import JsonMixin
from supportdesk.enums import Status, TemplateKind
from supportdesk.services.outbox.queueing import queue_message
from supportdesk.services.outbox.threads import (
    MESSAGE_ID,
    address_on_file,
    mask,
    thread_ids,
    thread_subject,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk
    from supportdesk.models import OutboxMessage, Ticket, TicketEvent

NO_DOMAIN = "the policy sets no [mail] domain: the desk sends no mail"


@dataclass(frozen=True)
class Mailed(JsonMixin):
    """What became of the mail a write would send: queued to `to` (masked), or not and why."""

    queued: bool
    to: str | None = None
    why: str | None = None
    message_id: str | None = None

    def words(self, what: str) -> str:
        """ "Reply on #5 queued to p***@bluefin.example" / "... recorded; not e-mailed: why"."""
        if self.queued:
            return f"{what} queued to {self.to}"
        return f"{what} recorded; not e-mailed: {self.why}"


def queue_once(
    session: Session, desk: Desk, dedupe_key: str, **fields: Any
) -> OutboxMessage | None:
    """`queue_message` for an automatic message, at most once per `dedupe_key`: checked
    first, and inserted in a savepoint so that a racing writer's row (PostgreSQL) costs this
    one nothing but the message, never the caller's transaction."""
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from supportdesk.models import OutboxMessage

    have = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
    if have is not None:
        return None
    try:
        with session.begin_nested():
            return queue_message(session, desk, dedupe_key=dedupe_key, **fields)
    except IntegrityError:
        return None


def queue_reply(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    event: TicketEvent,
    *,
    subject: str | None = None,
) -> Mailed:
    """The staff reply `event` as mail to the ticket's customer, threaded (under `subject`,
    one line, in place of the ticket's when given: a template's)."""
    rules = current_policy(desk).mail
    if rules.domain is None:
        return Mailed(False, why=NO_DOMAIN)
    to = address_on_file(session, ticket)
    if to.address is None:
        return Mailed(False, why=to.why)
    session.flush()  # the event's id
    parent, refs = thread_ids(session, ticket.id)
    row = queue_message(
        session,
        desk,
        kind="reply",
        to_addr=to.address,
        subject=thread_subject(subject or ticket.subject, ticket.id),
        body=event.body or "",
        ticket_id=ticket.id,
        event_id=event.id,
        contact_id=to.contact_id,
        in_reply_to=parent,
        references=refs,
    )
    if row is None:
        return Mailed(False, why=NO_DOMAIN)
    return Mailed(True, mask(to.address), message_id=row.message_id)


def target_words(desk: Desk, ticket: Ticket) -> str:
    """ "we will answer within 4 business hours" from the ticket's respond target and the
    calendar of its plan."""
    span = span_words(desk, ticket, ticket.respond_target_s)
    return "we will answer as soon as we can" if span is None else f"we will answer within {span}"


def acknowledge(
    session: Session, desk: Desk, ticket: Ticket, *, in_reply_to: str | None = None
) -> OutboxMessage | None:
    """The acknowledgement of a new ticket (see the module's docstring); None when none is
    due. `in_reply_to`: the Message-ID of the mail that opened it."""
    from sqlalchemy import select, text

    from supportdesk.models import OutboxMessage

    rules = current_policy(desk).mail
    if rules.domain is None or not rules.acknowledge:
        return None
    if ticket.status not in (Status.NEW.value, Status.OPEN.value):
        return None  # held for authorization, or closed unanswered: no word to the sender
    to = address_on_file(session, ticket)
    if to.address is None:
        return None
    if session.get_bind().dialect.name == "postgresql":  # SQLite writers are one at a time
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
            {"k": f"supportdesk.ack:{to.address}"},
        )
    since = desk.now() - timedelta(seconds=rules.acknowledge_interval_s)
    recent = session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.kind == "acknowledgement",
            OutboxMessage.to_addr == to.address,
            OutboxMessage.queued_at > since,
        )
        .limit(1)
    )
    if recent is not None:
        return None
    parent = in_reply_to if in_reply_to and MESSAGE_ID.fullmatch(in_reply_to) else None
    greeting = f"Hello {to.name}," if to.name else "Hello,"
    body = (
        f"{greeting}\n\n"
        f"We have your request and opened ticket #{ticket.id} for it: "
        f"{thread_subject(ticket.subject, ticket.id, reply=False)}\n"
        f"{target_words(desk, ticket).capitalize()}.\n\n"
        f"To add to it, reply to this message and keep [#{ticket.id}] in the subject."
    )
    subject = ticket.subject
    edited = automatic(session, desk, TemplateKind.ACKNOWLEDGEMENT, ticket)
    if edited is not None:  # a lead's text for it
        body, subject = edited.body, edited.subject or subject
    return queue_once(
        session,
        desk,
        f"ack:ticket:{ticket.id}",
        kind="acknowledgement",
        to_addr=to.address,
        subject=thread_subject(subject, ticket.id, reply=parent is not None),
        body=body,
        ticket_id=ticket.id,
        contact_id=to.contact_id,
        in_reply_to=parent,
        references=(parent,) if parent else (),
        automatic="auto-replied",
    )


def queue_incident_update(
    session: Session,
    desk: Desk,
    incident: tuple[int, int, str],
    text: str,
    posted: list[tuple[Ticket, TicketEvent]],
    *,
    words: str | None = None,
) -> int:
    """An incident update (`incident` = its id, the update's id, its title) as mail to the
        contacts of the linked tickets it was posted on: one message per contact per update,
        however many of their tickets are linked (`Auto-Submitted: auto-generated`), threaded on
        the contact's first linked ticket. `text` is the built-in body; `words` the update as
    typed (a lead's template prints it as `incident.update_text`). Returns how many were
    queued."""
    from supportdesk.services.outbox.threads import one_line

    rules = current_policy(desk).mail
    if rules.domain is None or not rules.incident_updates or not posted:
        return 0
    incident_id, update_id, title = incident
    session.flush()  # the reply events' ids
    seen: set[str] = set()
    queued = 0
    this = {
        "incident": {
            **incident_facts(session, desk, incident_id),
            "title": title,
            "update_text": words or text,
            "latest_update": words or text,
        }
    }
    for ticket, event in sorted(posted, key=lambda p: p[0].id):
        to = address_on_file(session, ticket)
        if to.address is None:
            continue
        key = f"incident:{incident_id}:update:{update_id}:contact:{to.contact_id}"
        if key in seen:
            continue
        seen.add(key)
        parent, refs = thread_ids(session, ticket.id)
        subject, body = f"Incident update: {one_line(title)}", text
        edited = automatic(session, desk, TemplateKind.INCIDENT_UPDATE, ticket, this)
        if edited is not None:  # a lead's text for it
            subject, body = edited.subject or subject, edited.body
        row = queue_once(
            session,
            desk,
            key,
            kind="incident_update",
            to_addr=to.address,
            subject=f"{one_line(subject)} [#{ticket.id}]",
            body=body,
            ticket_id=ticket.id,
            event_id=event.id,
            contact_id=to.contact_id,
            in_reply_to=parent,
            references=refs,
            automatic="auto-generated",
        )
        queued += row is not None
    return queued
