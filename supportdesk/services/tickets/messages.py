"""Replies, internal notes and logged calls on a ticket's thread. A reply waits while the
ticket's request type is blocked (core/request_block.py); a note or a logged call does not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from supportdesk.core.audit import text_digest
from supportdesk.core.clocks import (
    on_first_response,
)
from supportdesk.core.desk import Desk
from supportdesk.core.notices import notify
from supportdesk.core.request_block import require_unblocked
from supportdesk.core.tickets import (
    add_event,
    first_response,
    guard,
    load_ticket,
    parse_enum,
)
from supportdesk.enums import (
    CallOutcome,
    EventKind,
    Speaker,
    Status,
)
from supportdesk.errors import (
    InvalidTransition,
    UsageError,
)
from supportdesk.rules import limits
from supportdesk.services.outbox.customer import Mailed, queue_reply
from supportdesk.services.tickets.attachments import Outgoing, attach_outgoing, read_outgoing

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Recorder
    from supportdesk.models import Ticket


def reply(desk: Desk, ticket_id: int, body: str, files: tuple[str, ...] = ()) -> Mailed:
    """A customer-visible reply: the first one is the first response. It is queued as mail
    to the customer's address on file in the same transaction (a rollback sends nothing);
    the result says where it goes, or why it is only recorded. `files` (paths) are read
    first and go with it, kept on the ticket (issue 20)."""
    mailed = _message(desk, ticket_id, EventKind.REPLY, body, visible=True, files=files)
    assert mailed is not None
    return mailed


def note(desk: Desk, ticket_id: int, body: str) -> None:
    """An internal note: not seen by the customer, does not count as a response."""
    _message(desk, ticket_id, EventKind.NOTE, body, visible=False)


def log_call(desk: Desk, ticket_id: int, outcome: str, body: str = "") -> None:
    """A logged call; only one where we spoke to the customer counts as a response."""
    result = parse_enum(CallOutcome, outcome, "call outcome")
    _message(desk, ticket_id, EventKind.CALL, body, visible=True, outcome=result)


def result_word(outcome: CallOutcome | None) -> str:
    return outcome.value.replace("_", " ") if outcome is not None else "call"


def one_line(text: str) -> str:
    """A body's words on one line, for a notice."""
    return " ".join(text.split())


def _message(
    desk: Desk,
    ticket_id: int,
    kind: EventKind,
    body: str,
    *,
    visible: bool,
    outcome: CallOutcome | None = None,
    files: tuple[str, ...] = (),
) -> Mailed | None:
    check_message(kind, body)
    outgoing = read_outgoing(files)  # read before anything is written
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, ACTIONS.get(kind, "ticket.call"))
        return add_message(
            session, record, desk, t, kind, body, visible=visible, outcome=outcome,
            outgoing=outgoing,
        )  # fmt: skip


ACTIONS = {EventKind.REPLY: "ticket.reply", EventKind.NOTE: "ticket.note"}


def check_message(kind: EventKind, body: str) -> None:
    """A message's text, checked before its transaction opens."""
    limits.check(body, limits.BODY, what=f"{kind.value} text")
    if kind is not EventKind.CALL and not body.strip():
        raise UsageError(f"a {kind.value} needs text")


def add_message(
    session: Session,
    record: Recorder,
    desk: Desk,
    t: Ticket,
    kind: EventKind,
    body: str,
    *,
    visible: bool,
    outcome: CallOutcome | None = None,
    subject: str | None = None,
    outgoing: Sequence[Outgoing] = (),
) -> Mailed | None:
    """A message on ticket `t`, loaded, locked and guarded by the caller in its write; a
    reply is queued as mail (with `subject` in place of the ticket's, when given)."""
    action = ACTIONS.get(kind, "ticket.call")
    if t.status == Status.CLOSED.value:
        raise InvalidTransition(f"ticket #{t.id} is closed; nothing can be added to it")
    if kind is EventKind.REPLY:
        require_unblocked(session, desk, t, "answered")
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
    if kind is EventKind.CALL and t.holder_id not in (None, desk.actor.staff_id):
        # anyone logs a customer's call on a ticket someone holds: the holder is told
        # (their claim's last-touched time stays: `add_event` touches only for them)
        said = f": {one_line(body)[:80]}" if body.strip() else ""
        notify(
            session,
            desk,
            t.holder_id,
            t.id,
            "call",
            f"#{t.id} call ({result_word(outcome)}) logged by {desk.actor.login}{said}",
        )
    mailed = None
    if kind is EventKind.REPLY:
        mailed = queue_reply(session, desk, t, event, subject=subject)
        changes["mail"] = [None, mailed.message_id or f"not e-mailed: {mailed.why}"]
        if outgoing:
            attach_outgoing(
                session, desk, record, t.id, event.id, mailed.message_id, list(outgoing)
            )
    record(action, "ticket", t.id, changes)
    return mailed
