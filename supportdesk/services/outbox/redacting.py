"""Redaction reaches the outbox (issue 18, item 5): a lead redacting a reply (or a ticket's
subject) redacts the mail that carried it, in the same transaction. A message not yet sent
(queued or deferred) is withdrawn: it is never sent, and the ticket's thread says so. A
message a sender holds at that moment (sending) may still go out with the text it read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from supportdesk.services.outbox.notices import withdraw
from supportdesk.services.outbox.threads import mask, one_line, thread_subject

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk


@dataclass(frozen=True)
class MailRedaction:
    redacted: tuple[int, ...]  # outbox rows whose text went
    withdrawn: tuple[int, ...]  # of those, the ones taken back before they were sent
    in_flight: tuple[int, ...]  # a sender held them: they may go out as read

    def note(self) -> str | None:
        """The thread's line on it, or None when no mail carried the text."""
        if not self.redacted:
            return None
        parts = [f"the text was redacted from {len(self.redacted)} outgoing message(s)"]
        if self.withdrawn:
            parts.append(f"{len(self.withdrawn)} not yet sent were withdrawn and will not be sent")
        if self.in_flight:
            parts.append(f"{len(self.in_flight)} being sent at that moment may still arrive")
        return "Mail: " + "; ".join(parts) + "."


def redact_event_mail(session: Session, desk: Desk, event_id: int, text: str) -> MailRedaction:
    """The mail of thread event `event_id` (a reply, an incident update posted as one): its
    body becomes `text`; the unsent ones are withdrawn."""
    from sqlalchemy import select, update

    from supportdesk.models import OutboxMessage

    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.state).where(OutboxMessage.event_id == event_id)
    ).all()
    if not rows:
        return MailRedaction((), (), ())
    withdrawn = withdraw(session, desk, why="its text was redacted", event_id=event_id)
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.event_id == event_id)
        .values(body=text, redacted_at=desk.now())
        .execution_options(synchronize_session=False)
    )
    flying = tuple(rid for rid, state in rows if state == "sending")
    return MailRedaction(tuple(sorted(r for r, _ in rows)), tuple(withdrawn), flying)


def redact_subject_mail(
    session: Session, desk: Desk, ticket_id: int, old: str, text: str
) -> MailRedaction:
    """The ticket's subject `old` goes from the subjects and bodies of its mail (the desk
    quotes it in `Re: <subject> [#N]` and in an acknowledgement). The staff's words around it
    stay, so nothing is withdrawn for it."""
    from sqlalchemy import select

    from supportdesk.models import OutboxMessage

    redacted = []
    flying = []
    quoted = one_line(old)
    core = thread_subject(old, ticket_id, reply=False).removesuffix(f" [#{ticket_id}]")
    for row in session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id)):
        if row.state == "sending":
            flying.append(row.id)
        for secret in (core, quoted):
            if secret and secret in row.subject:
                row.subject = row.subject.replace(secret, text)
        if quoted and quoted in row.body:
            row.body = row.body.replace(quoted, text)
        if old in row.body:
            row.body = row.body.replace(old, text)
        row.redacted_at = desk.now()
        redacted.append(row.id)
    return MailRedaction(tuple(redacted), (), tuple(flying))


def withdrawn_words(session: Session, ids: tuple[int, ...]) -> list[str]:
    """ "<message-id> to p***@x.example" for each withdrawn message, for the audit."""
    from sqlalchemy import select

    from supportdesk.models import OutboxMessage

    if not ids:
        return []
    return [
        f"{mid} to {mask(addr)}"
        for mid, addr in session.execute(
            select(OutboxMessage.message_id, OutboxMessage.to_addr)
            .where(OutboxMessage.id.in_(ids))
            .order_by(OutboxMessage.id)
        )
    ]
