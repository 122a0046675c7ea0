"""Queue a message in the outbox, inside the write that causes it (never sent from there)."""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import make_msgid
from typing import TYPE_CHECKING

from supportdesk.core.policy import current_policy
from supportdesk.errors import UsageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk
    from supportdesk.models import OutboxMessage

KINDS = (
    "reply",
    "acknowledgement",
    "confirmation",
    "incident_update",
    "maintenance_notice",
    "referral",  # a reseller's end customer told where to ask (services/intake/mail_referral)
)


def new_message_id(domain: str) -> str:
    """A Message-ID on the desk's domain, `<...@domain>`."""
    return make_msgid(domain=domain)


def queue_message(
    session: Session,
    desk: Desk,
    *,
    kind: str,
    to_addr: str,
    subject: str,
    body: str,
    ticket_id: int | None = None,
    event_id: int | None = None,
    contact_id: int | None = None,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    automatic: str | None = None,
    dedupe_key: str | None = None,
    send_after: datetime | None = None,
) -> OutboxMessage | None:
    """One outbox row, flushed in `session` (the caller's write transaction). None when the
    policy has no `[mail]` domain: the desk sends nothing. `automatic` is the
    Auto-Submitted value (`auto-replied` or `auto-generated`) of an automatic message.
    The signature of the policy is appended to the body here, once."""
    from supportdesk.models import OutboxMessage

    if kind not in KINDS:
        raise UsageError(f"unknown outgoing message kind {kind!r}")
    rules = current_policy(desk).mail
    if rules.domain is None or rules.sender is None:
        return None
    headers: dict[str, str] = {}
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    refs = [r for r in references if r]
    if in_reply_to and in_reply_to not in refs:
        refs.append(in_reply_to)
    if refs:
        headers["References"] = " ".join(refs[-20:])
    if automatic:
        headers["Auto-Submitted"] = automatic
    text = body.rstrip("\n")
    if rules.signature:
        text += "\n\n-- \n" + rules.signature.rstrip("\n")
    now = desk.now()
    row = OutboxMessage(
        kind=kind,
        state="queued",
        ticket_id=ticket_id,
        event_id=event_id,
        contact_id=contact_id,
        to_addr=to_addr,
        from_addr=rules.sender,
        subject=subject,
        body=text + "\n",
        headers=json.dumps(headers, sort_keys=True),
        message_id=new_message_id(rules.domain),
        dedupe_key=dedupe_key,
        queued_at=now,
        send_after=send_after or now,
        attempts=0,
    )
    session.add(row)
    session.flush()
    return row
