"""The desk's own export (`supportdesk export`): JSON Lines that `supportdesk import` reads
back (format `desk`), with every ticket's thread and the files that came or went with it.

The first line is a header (`{"supportdesk_export": 1, ...}`); then, a page of tickets at a
time, one `ticket` line each (its fields and its thread, oldest first; the SLA clock's own
entries are left out, as an import recomputes the clocks from the ticket's times), then one
`attachment` line per file of those tickets: name, declared and detected type, size,
SHA-256, the index of the thread entry it came with, and its bytes in base64 (`data`; null
for a redacted file, or for all of them with `with_bytes=False`, `"bytes": false` in the
header). Memory stays bounded: a page of tickets and their threads at a time, and one
attachment's bytes at a time, read by its id and written at once.

Not carried: who on the desk wrote each entry (an import's entries have no staff), holders,
tiers and escalations, merges (a merged duplicate comes as the closed ticket it is), watchers,
the outbox (mail sent or queued) and the audit, which stays with the desk that wrote it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select

from supportdesk.core import permissions
from supportdesk.core.views import JsonMixin
from supportdesk.enums import EventKind, Priority
from supportdesk.errors import StoreError

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk

FORMAT_KEY = "supportdesk_export"
VERSION = 1
PAGE = 200  # tickets read (with their threads and files' records) at a time
LEFT_OUT = (EventKind.SLA.value,)  # the clocks' entries: an import makes its own


@dataclass(frozen=True)
class ExportSummary(JsonMixin):
    tickets: int
    events: int
    attachments: int
    attachments_with_bytes: int
    bytes_written: int
    with_bytes: bool


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def require_export(desk: Desk) -> None:
    """Leads only: asked before the file to write is made."""
    permissions.require(desk.actor, "desk.export")


def write_export(
    desk: Desk, out: IO[bytes], *, with_bytes: bool = True, page: int = PAGE
) -> ExportSummary:
    """Write every ticket of the desk to `out` (leads only), in one read transaction."""
    require_export(desk)
    counts = {"tickets": 0, "events": 0, "attachments": 0, "with_bytes": 0, "bytes": 0}

    def put(obj: dict[str, Any]) -> None:
        line = json.dumps(obj, separators=(",", ":")).encode("ascii") + b"\n"
        out.write(line)
        counts["bytes"] += len(line)

    put(
        {
            FORMAT_KEY: VERSION,
            "exported_at": desk.now().isoformat(),
            "bytes": with_bytes,
        }
    )
    with desk.store.read() as s:
        after = 0
        while True:
            tickets = _page(s, after, page)
            if not tickets:
                break
            after = tickets[-1]["id"]
            _write_page(s, tickets, put, counts, with_bytes)
    return ExportSummary(
        counts["tickets"],
        counts["events"],
        counts["attachments"],
        counts["with_bytes"],
        counts["bytes"],
        with_bytes,
    )


def _page(s: Session, after: int, n: int) -> list[dict[str, Any]]:
    from supportdesk.models import Account, Contact, Ticket

    rows = s.execute(
        select(Ticket, Account.company, Contact.name)
        .join(Account, Account.id == Ticket.account_id)
        .outerjoin(Contact, Contact.id == Ticket.contact_id)
        .where(Ticket.id > after)
        .order_by(Ticket.id)
        .limit(n)
    ).all()
    emails = _emails(s, [t.contact_id for t, _c, _n in rows if t.contact_id and not t.sender])
    out: list[dict[str, Any]] = []
    for t, company, contact_name in rows:
        out.append(
            {
                "id": t.id,
                "contact_id": t.contact_id,
                "line": {
                    "type": "ticket",
                    "ref": str(t.id),
                    "account": t.account_id,
                    "company": company,
                    "contact_name": contact_name or t.caller_name,
                    "contact_email": t.sender or emails.get(t.contact_id or 0),
                    "subject": t.subject,
                    "description": t.description or "",
                    "category": t.category,
                    "request_type": t.request_type,
                    "priority": Priority.from_rank(t.priority_rank).value,
                    "channel": t.channel,
                    "status": t.status,
                    "resolution_code": t.resolution_code,
                    "created_at": _iso(t.created_at),
                    "first_response_at": _iso(t.first_response_at),
                    "resolved_at": _iso(t.resolved_at),
                    "last_activity_at": _iso(t.last_activity_at),
                    "last_speaker": t.last_speaker,
                    "events": [],
                },
            }
        )
    return out


def _emails(s: Session, contact_ids: list[int]) -> dict[int, str]:
    """Each contact's first e-mail address."""
    from supportdesk.models import ContactPoint

    found: dict[int, str] = {}
    if contact_ids:
        for cid, value in s.execute(
            select(ContactPoint.contact_id, ContactPoint.value)
            .where(ContactPoint.contact_id.in_(contact_ids), ContactPoint.kind == "email")
            .order_by(ContactPoint.id)
        ):
            found.setdefault(cid, value)
    return found


def _write_page(
    s: Session,
    tickets: list[dict[str, Any]],
    put: Any,
    counts: dict[str, int],
    with_bytes: bool,
) -> None:
    from supportdesk.models import Attachment, TicketEvent

    by_id = {t["id"]: t["line"] for t in tickets}
    index: dict[int, tuple[int, int]] = {}  # event id -> (ticket id, its index in the export)
    last_shown: dict[int, int] = {}  # an SLA entry's files go with the entry before it
    for e in s.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id.in_(list(by_id)))
        .order_by(TicketEvent.ticket_id, TicketEvent.id)
    ):
        events = by_id[e.ticket_id]["events"]
        if e.kind in LEFT_OUT:
            if e.ticket_id in last_shown:
                index[e.id] = (e.ticket_id, last_shown[e.ticket_id])
            continue
        last_shown[e.ticket_id] = len(events)
        index[e.id] = (e.ticket_id, len(events))
        events.append(
            {
                "kind": e.kind,
                "at": _iso(e.created_at),
                "body": e.body,
                "visible": bool(e.visible),
                "from_customer": bool(e.from_customer),
                "call_outcome": e.call_outcome,
                "old": e.old_value,
                "new": e.new_value,
                "redacted_at": _iso(e.redacted_at),
            }
        )
    for line in by_id.values():
        put(line)
        counts["tickets"] += 1
        counts["events"] += len(line["events"])
    cols = [c for c in Attachment.__table__.c if c.name != "data"]
    files = s.execute(
        select(*cols).where(Attachment.ticket_id.in_(list(by_id))).order_by(Attachment.id)
    ).all()
    for a in files:
        where = index.get(a.event_id) if a.event_id is not None else None
        data = None
        if with_bytes and a.redacted_at is None:
            data = s.scalar(select(Attachment.data).where(Attachment.id == a.id))
        if data is not None and hashlib.sha256(data).hexdigest() != a.sha256:
            raise StoreError(f"attachment {a.id}: its bytes do not match its SHA-256")
        put(
            {
                "type": "attachment",
                "ticket": str(a.ticket_id),
                "event": where[1] if where is not None and where[0] == a.ticket_id else None,
                "name": a.name,
                "declared_type": a.declared_type,
                "detected_type": a.detected_type,
                "size": a.size,
                "sha256": a.sha256,
                "inline": bool(a.inline),
                "created_at": _iso(a.created_at),
                "redacted_at": _iso(a.redacted_at),
                "data": base64.b64encode(bytes(data)).decode("ascii") if data is not None else None,
            }
        )
        counts["attachments"] += 1
        counts["with_bytes"] += data is not None
