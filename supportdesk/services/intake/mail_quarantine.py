"""The mail quarantine: messages `mail ingest` received but could not file (malformed,
oversized, a body over the desk's limit, automatic mail with no open ticket), kept with their
raw bytes for a lead to read (safely), release (file it again, e.g. after a fix) or delete.
Every step is audited; reading one is too, since it shows a customer's words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from supportdesk.core.desk import Desk
from supportdesk.errors import NotAllowed, NotFound, UsageError
from supportdesk.services.intake import mail_parse

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import MailMessage
    from supportdesk.services.intake.mail import IngestResult
    from supportdesk.services.intake.mail_parse import Parsed

QUARANTINED = "quarantined"
SHOW_BODY = 100_000  # characters of a body `show` prints


def put(desk: Desk, raw: bytes, size: int, reason: str, parsed: Parsed | None) -> IngestResult:
    """Keep a message that cannot be filed; a Message-ID seen before is not kept twice."""
    from supportdesk.models import MailMessage
    from supportdesk.services.intake.mail import (
        IngestResult,
        as_message,
        duplicate_result,
        seen_message,
    )

    message_id = parsed.message_id if parsed else None
    sender = parsed.sender if parsed else ""
    with desk.write() as (session, record):
        if message_id is not None:
            seen = seen_message(session, message_id, None)
            if seen is not None and parsed is not None:
                return duplicate_result(seen, as_message(parsed))
        row = MailMessage(
            received_at=desk.now(),
            state=QUARANTINED,
            reason=mail_parse.storable(reason),
            size=size,
            digest=mail_parse.digest(raw),
            raw=raw,
            message_id=message_id,
            envelope_sender=parsed.envelope_sender if parsed else None,
            sender=sender[:255] or None,
            subject=parsed.subject[:200] if parsed else None,
        )
        session.add(row)
        session.flush()
        record(
            "mail.quarantine",
            "mail",
            row.id,
            {
                "reason": [None, row.reason],
                "size": [None, size],
                "digest": [None, row.digest],
                "sender": [None, row.sender],
                "envelope_sender": [None, row.envelope_sender],
                "message_id": [None, message_id],
            },
        )
        return IngestResult(
            "quarantined", None, None, sender, quarantine_id=row.id, reason=row.reason
        )


def _require_lead(desk: Desk) -> None:
    actor = desk.actor
    if not actor.is_lead:
        raise NotAllowed(f"{actor.login} is {actor.role.value}; the mail quarantine is for leads")


def quarantined_row(session: Session, qid: int, *, lock: bool = False) -> MailMessage:
    from sqlalchemy import select

    from supportdesk.models import MailMessage

    stmt = select(MailMessage).where(MailMessage.id == qid, MailMessage.state == QUARANTINED)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first() if 0 < qid < 2**31 else None
    if row is None:
        raise NotFound(f"no quarantined message Q{qid}")
    return row


@dataclass(frozen=True)
class QuarantinedMail:
    id: int
    received_at: datetime
    size: int
    kept: int
    reason: str
    sender: str | None
    envelope_sender: str | None
    message_id: str | None
    subject: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "size": self.size,
            "kept": self.kept,
            "reason": self.reason,
            "sender": self.sender,
            "envelope_sender": self.envelope_sender,
            "message_id": self.message_id,
            "subject": self.subject,
        }


def list_quarantine(desk: Desk, limit: int = 100) -> list[QuarantinedMail]:
    """Quarantined messages, newest first (leads)."""
    from sqlalchemy import func, select

    from supportdesk.models import MailMessage

    _require_lead(desk)
    with desk.write() as (session, record):
        rows = session.execute(
            select(
                MailMessage.id,
                MailMessage.received_at,
                MailMessage.size,
                func.length(MailMessage.raw),
                MailMessage.reason,
                MailMessage.sender,
                MailMessage.envelope_sender,
                MailMessage.message_id,
                MailMessage.subject,
            )
            .where(MailMessage.state == QUARANTINED)
            .order_by(MailMessage.id.desc())
            .limit(limit)
        ).all()
        record("mail.quarantine.list", "mail", "-", {"listed": [None, len(rows)]})
    return [
        QuarantinedMail(i, at, size, kept or 0, reason or "", s, env, mid, subj)
        for i, at, size, kept, reason, s, env, mid, subj in rows
    ]


@dataclass(frozen=True)
class QuarantineView:
    """A quarantined message as text (decoded, never the raw bytes)."""

    item: QuarantinedMail
    headers: tuple[tuple[str, str], ...]
    body: str
    body_chars: int
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.item.to_json(),
            "headers": [list(h) for h in self.headers],
            "body": self.body,
            "body_chars": self.body_chars,
            "notes": list(self.notes),
        }


def _readable(raw: bytes) -> tuple[tuple[tuple[str, str], ...], str, list[str]]:
    """Headers and body of a message as text, however broken it is."""
    notes: list[str] = []
    try:
        msg, items = mail_parse.headers(raw)
        heads = tuple(
            (mail_parse.storable(k), mail_parse.decode_header(v, notes)) for k, v in items
        )
        body = mail_parse.body_of(msg, notes)
        if not body:
            split = raw.find(b"\n\n")
            rest = raw[split + 2 :] if split >= 0 and heads else raw
            body = mail_parse.decode_bytes(rest, None, notes)
    except Exception:  # the email package gave up: show the bytes as text
        heads = ()
        body = mail_parse.decode_bytes(raw, None, notes)
    return heads, body, notes


def show(desk: Desk, qid: int) -> QuarantineView:
    from sqlalchemy import func, select

    from supportdesk.models import MailMessage

    _require_lead(desk)
    with desk.write() as (session, record):
        row = quarantined_row(session, qid)
        raw = row.raw or b""
        kept = session.scalar(select(func.length(MailMessage.raw)).where(MailMessage.id == qid))
        record("mail.quarantine.show", "mail", row.id, {"digest": [None, row.digest]})
        item = QuarantinedMail(
            row.id,
            row.received_at,
            row.size,
            kept or 0,
            row.reason or "",
            row.sender,
            row.envelope_sender,
            row.message_id,
            row.subject,
        )
    heads, body, notes = _readable(raw)
    return QuarantineView(item, heads, body[:SHOW_BODY], len(body), tuple(notes))


def release(desk: Desk, qid: int) -> IngestResult:
    """File a quarantined message as if it had just arrived (after a fix, or a lead's
    decision); a message that still cannot be filed stays where it is, unchanged."""
    from supportdesk.services.intake.mail import Unfileable, file_parsed

    _require_lead(desk)
    with desk.store.read() as session:
        row = quarantined_row(session, qid)
        raw, size, envelope = row.raw or b"", row.size, row.envelope_sender
    if size > len(raw):
        raise UsageError(
            f"Q{qid} still cannot be filed: only the first {len(raw):,} of its {size:,} bytes "
            "were kept"
        )
    given = "<>" if envelope == "<>" else envelope
    parsed = mail_parse.parse(raw, given)
    if parsed.problem is not None:
        raise UsageError(f"Q{qid} still cannot be filed: {parsed.problem}")
    if parsed.automatic is not None:
        parsed.automatic = None  # a lead's release: file it as a person's mail
        parsed.notes.append("automatic mail, released from the quarantine by a lead")
    try:
        return file_parsed(desk, parsed, raw, size, row_id=qid)
    except Unfileable as exc:
        raise UsageError(f"Q{qid} still cannot be filed: {exc.reason}") from None


def delete(desk: Desk, qid: int) -> None:
    _require_lead(desk)
    with desk.write() as (session, record):
        row = quarantined_row(session, qid, lock=True)
        record(
            "mail.quarantine.delete",
            "mail",
            row.id,
            {
                "reason": [row.reason, None],
                "digest": [row.digest, None],
                "size": [row.size, None],
                "sender": [row.sender, None],
                "message_id": [row.message_id, None],
            },
        )
        session.delete(row)
