"""Bounces tied to their message by VERP (issue 18, item 5).

The sender sends each message with the envelope sender `bounces+<outbox id>@<desk
domain>`, so a report about it comes back to that address, and the mail server passes it
to `supportdesk mail ingest --recipient ${recipient}`. Which message bounced is read from
that address only, never from the report's text (which anyone can write). A delivery
status notification (RFC 3464, `message/delivery-status`) whose recipient failed, or mail
from the null sender that carries no `Auto-Submitted` (an old-style bounce), fails the
message (services/outbox/failures.py) with the report's Status and Diagnostic-Code as the
reason ("bounced" when it gives none); a report that delivery is only delayed fails
nothing. Either way it is recorded in mail_messages (action "bounce" or "bounce_delayed",
on the message's ticket). A bounce address naming no outgoing message, or mail to it that
is no delivery report (an out-of-office answer to the envelope sender), goes to the
quarantine with the reason.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from typing import Any

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.rules import limits
from supportdesk.services.intake import mail, mail_parse, mail_quarantine
from supportdesk.services.intake.mail import IngestResult, Unfileable
from supportdesk.services.outbox import failures

BOUNCE_LOCAL = "bounces"
DIGITS = re.compile(r"[0-9]{1,19}")
DETAIL_LIMIT = 300


@dataclass(frozen=True)
class Report:
    """What a delivery report says about its (one) recipient."""

    is_report: bool  # a message/delivery-status part, or an old-style bounce
    action: str | None  # failed | delayed | delivered | relayed | expanded (RFC 3464)
    status: str | None  # e.g. 5.1.1
    diagnostic: str | None  # e.g. "550 5.1.1 <x@example.com>: user unknown"

    @property
    def fails(self) -> bool:
        return self.is_report and self.action in (None, "failed")

    @property
    def filed_as(self) -> str:
        """The mail_messages action: bounce, bounce_delayed, or delivery_report (a report
        that the message was delivered or relayed)."""
        if self.fails:
            return "bounce"
        return "bounce_delayed" if self.action == "delayed" else "delivery_report"

    @property
    def reason(self) -> str:
        """ "bounced: 550 5.1.1 user unknown", or "bounced" when the report says nothing."""
        diag = self.diagnostic
        if diag and self.status and self.status not in diag:
            detail = f"{self.status} {diag}"
        else:
            detail = diag or self.status or ""
        detail = " ".join(detail.split())[:DETAIL_LIMIT]
        return f"bounced: {detail}" if detail else "bounced"


def bounce_tag(desk: Desk, recipient: str | None) -> str | None:
    """What follows `bounces+` when `recipient` is the desk's bounce address (`""` for a
    bare `bounces@`), else None. Without a `[mail]` domain the desk has no bounce address."""
    if not recipient:
        return None
    domain = current_policy(desk).mail.domain
    if domain is None:
        return None
    address = recipient.strip().strip("<>").strip().lower()
    local, at, where = address.rpartition("@")
    if not at or where != domain:
        return None
    if local == BOUNCE_LOCAL:
        return ""
    if local.startswith(BOUNCE_LOCAL + "+"):
        return local[len(BOUNCE_LOCAL) + 1 :]
    return None


def ingest_for(
    desk: Desk,
    raw: bytes,
    *,
    size: int | None = None,
    envelope_sender: str | None = None,
    recipient: str | None = None,
) -> IngestResult:
    """`mail ingest`: mail to the desk's bounce address is a bounce; the rest is filed as
    any mail (services/intake/mail.py)."""
    tag = bounce_tag(desk, recipient)
    if tag is None:
        return mail.ingest(
            desk, raw, size=size, envelope_sender=envelope_sender, recipient=recipient
        )
    return ingest_bounce(desk, raw, tag, size=size, envelope_sender=envelope_sender)


def ingest_bounce(
    desk: Desk, raw: bytes, tag: str, *, size: int | None = None, envelope_sender: str | None
) -> IngestResult:
    """File mail sent to `bounces+<tag>@<desk domain>` (see the module's text). Raises only
    when the database cannot take it, like `mail.ingest`."""
    size = len(raw) if size is None else size
    permissions.require(desk.actor, "mail.ingest")
    if oversized := mail_parse.oversized(desk, raw, size):
        raw = raw[: mail_parse.KEEP_OVERSIZED]  # refused before the whole is parsed
        why = f"a bounce of {oversized}; the first {len(raw):,} kept"
        return mail_quarantine.put(desk, raw, size, why, mail_parse.parse(raw, envelope_sender))
    parsed = mail_parse.parse(raw, envelope_sender)
    address = f"{BOUNCE_LOCAL}+{tag}" if tag else BOUNCE_LOCAL
    if not DIGITS.fullmatch(tag) or not limits.fits_id(int(tag)):
        why = f"mail to the bounce address {address}@ names no outgoing message"
        return mail_quarantine.put(desk, raw, size, why, parsed)
    report = read_report(raw, parsed)
    if not report.is_report:
        why = (
            f"mail to the bounce address of outgoing message {tag} is no delivery report"
            f" ({parsed.automatic or 'not from the null sender'})"
        )
        return mail_quarantine.put(desk, raw, size, why, parsed)
    try:
        return _file(desk, raw, size, int(tag), report, parsed)
    except Unfileable as exc:
        return mail_quarantine.put(desk, raw, size, exc.reason, parsed)


def _file(
    desk: Desk, raw: bytes, size: int, outbox_id: int, report: Report, parsed: Any
) -> IngestResult:
    from sqlalchemy import select

    from supportdesk.models import MailMessage, OutboxMessage

    action = report.filed_as
    sender = parsed.sender or parsed.envelope_sender or ""
    with desk.write() as (session, record):
        if parsed.message_id is not None:
            seen = mail.seen_message(session, parsed.message_id, None)
            if seen is not None:
                return mail.duplicate_result(seen, mail.as_message(parsed))
        stmt = select(OutboxMessage).where(OutboxMessage.id == outbox_id)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        message = session.scalars(stmt).first()
        if message is None:
            raise Unfileable(f"a bounce for outgoing message {outbox_id}, which does not exist")
        before = message.state
        if report.fails:
            failures.message_failed(session, desk, message, report.reason)
        session.add(
            MailMessage(
                received_at=desk.now(),
                state="filed",
                size=size,
                digest=mail_parse.digest(raw),
                message_id=parsed.message_id,
                envelope_sender=parsed.envelope_sender,
                sender=sender[:255] or None,
                subject=parsed.subject[:200],
                ticket_id=message.ticket_id,
                action=action,
            )
        )
        record(
            "mail.ingest",
            "outbox",
            message.id,
            {
                "action": [None, action],
                "message_id": [None, parsed.message_id],
                "report": [None, report.reason],
                "state": [before, message.state],
            },
        )
        return IngestResult(
            action,
            message.ticket_id,
            None,
            sender,
            reason=f"outgoing message {message.id} to {message.to_addr}: "
            + (report.reason if report.fails else f"{report.action}, nothing failed"),
        )


def read_report(raw: bytes, parsed: Any) -> Report:
    """The report's recipient block (the first that failed, else the first), never raising:
    a message that cannot be read is no report unless it came from the null sender."""
    try:
        msg = mail_parse.message_of(raw)  # parsed as ingest parses it, in chunks
        blocks = _status_blocks(msg)
    except Exception:  # malformed input has many ways to fail
        msg, blocks = None, None
    if blocks is None:
        auto = (msg.get("Auto-Submitted") if msg is not None else None) or "no"
        automatic = str(auto).split(";", 1)[0].strip().lower() not in ("", "no")
        return Report(parsed.envelope_sender == "<>" and not automatic, None, None, None)
    recipients = [b for b in blocks if b.get("Action") or b.get("Status")]
    chosen = next(
        (b for b in recipients if _field(b, "Action") == "failed"),
        recipients[0] if recipients else None,
    )
    if chosen is None:
        return Report(True, None, None, None)
    diag = _field(chosen, "Diagnostic-Code", lower=False)
    if diag and ";" in diag:
        diag = diag.split(";", 1)[1].strip()  # "smtp; 550 ..." -> "550 ..."
    status = _field(chosen, "Status", lower=False)
    return Report(True, _field(chosen, "Action"), status, diag)


def _status_blocks(msg: Any) -> list[Any] | None:
    """The blocks of the first message/delivery-status part, or None when there is none."""
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            return [p for p in payload if hasattr(p, "get")]
        text = payload if isinstance(payload, str) else ""
        return [email.message_from_string(chunk) for chunk in re.split(r"\n\s*\n", text)]
    return None


def _field(block: Any, name: str, *, lower: bool = True) -> str | None:
    value = block.get(name)
    if value is None:
        return None
    text = mail_parse.storable(" ".join(str(value).split()))[:DETAIL_LIMIT]
    return text.lower() if lower else text
