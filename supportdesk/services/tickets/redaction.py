"""A lead removes a secret a customer pasted: the text and the nonce that salted its audit
digest go; the result says what the append-only audit still holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportdesk.core import permissions
from supportdesk.core.audit import body_digest, rows_containing, text_digest
from supportdesk.core.desk import Desk
from supportdesk.core.tickets import (
    add_event,
    load_ticket,
)
from supportdesk.core.views import JsonMixin
from supportdesk.enums import (
    EventKind,
)
from supportdesk.errors import (
    NotFound,
    NothingToDo,
    UsageError,
)
from supportdesk.models import (
    TicketEvent,
)
from supportdesk.rules import limits
from supportdesk.services.outbox.redacting import (
    MailRedaction,
    redact_event_mail,
    redact_subject_mail,
    withdrawn_words,
)

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
        mailed = redact_event_mail(session, desk, event.id, REDACTED)
        changes = {
            "body": [text_digest(event.body, event.nonce) if salted else None, None],
            "ticket": [event.ticket_id, event.ticket_id],
            "reason": [None, why],
        }
        if mailed.redacted:
            changes["outbox"] = [None, list(mailed.redacted)]
            changes["withdrawn"] = [None, withdrawn_words(session, mailed.withdrawn)]
        record("event.redact", "ticket_event", event_id, changes)
        event.body = REDACTED
        event.nonce = None
        event.redacted_at = desk.now()
        _mail_note(session, desk, event.ticket_id, mailed)
        return Redaction(f"event {event_id}", salted, left)


def _mail_note(session: Session, desk: Desk, ticket_id: int, mailed: MailRedaction) -> None:
    """The thread says what became of the mail that carried the redacted text."""
    note = mailed.note()
    if note is not None:
        add_event(session, desk, load_ticket(session, ticket_id), EventKind.NOTE, body=note)


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
        mailed = MailRedaction((), (), ())
        if field == "subject":
            mailed = redact_subject_mail(session, desk, t.id, value, REDACTED)
        record(
            f"ticket.redact_{field}",
            "ticket",
            t.id,
            {
                field: [text_digest(value, nonce) if nonce else None, REDACTED],
                "reason": [None, why],
                **({"events": [None, quoted]} if quoted else {}),
                **({"outbox": [None, list(mailed.redacted)]} if mailed.redacted else {}),
            },
        )
        _mail_note(session, desk, t.id, mailed)
        setattr(t, field, REDACTED)
        setattr(t, f"{field}_nonce", None)
        setattr(t, f"{field}_redacted_at", desk.now())
        t.updated_at = desk.now()
        return Redaction(f"{field} of #{t.id}", nonce is not None, left, tuple(quoted))


@dataclass(frozen=True)
class AttachmentRedaction(JsonMixin):
    """An attachment whose bytes a lead removed; its record (name, type, size) stays."""

    what: str  # "attachment 7 (error.log)"
    sha256: str

    @property
    def note(self) -> str:
        return (
            "its bytes are deleted; its name, types, size and SHA-256 stay on the record "
            "and in the append-only audit"
        )


def redact_attachment(desk: Desk, attachment_id: int, reason: str) -> AttachmentRedaction:
    """A lead removes an attachment's bytes (a secret in a log, a screenshot of a password):
    `data` goes, `redacted_at` is set, the record stays (issue 20)."""
    from supportdesk.models import Attachment

    permissions.require(desk.actor, "ticket.redact")
    why = _redaction_reason(reason)
    with desk.write() as (session, record):
        a = session.get(Attachment, attachment_id) if limits.fits_id(attachment_id) else None
        if a is None:
            raise NotFound(f"no attachment {attachment_id}")
        if a.redacted_at is not None:
            raise NothingToDo(f"attachment {attachment_id} is already redacted")
        record(
            "attachment.redact",
            "attachment",
            a.id,
            {"data": [a.sha256, None], "ticket": [a.ticket_id, a.ticket_id], "reason": [None, why]},
        )
        a.data = None
        a.redacted_at = desk.now()
        return AttachmentRedaction(f"attachment {a.id} ({a.name})", a.sha256)
