"""The files that come with a customer's mail (issue 20, item 2), read and kept.

Every MIME part that is not the chosen body is kept with the ticket event the message made:
attachments, inline images, `message/rfc822` parts (as their bytes), and the HTML of an
HTML-only mail (whose body is read as text with inscriptis). Each keeps a sanitised name
(no path separators, controls or leading dots; at most 255 characters), the type the
message declared, the type its bytes show (magic numbers, not the name), its size and
SHA-256. The policy's `[intake] attachment_max` / `message_attachments_max` limit them,
counted after decoding; a refused one leaves a note on the ticket, never nothing.
Nothing here raises for what a message contains.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from supportdesk.rules.files import detect_type, sanitise_name
from supportdesk.services.intake.mail_spans import SpannedMessage, clean_base64

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy import Table
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk

TYPE_MAX = 255


@dataclass(frozen=True)
class Part:
    """One file from a message: its bytes, or the MIME part they are decoded from when kept
    (`read`), so that a message's files are never all decoded at once (issue 20)."""

    name: str
    declared_type: str
    data: bytes | None = None
    inline: bool = False
    source: Any = field(default=None, repr=False, compare=False)

    def take(self) -> bytes:
        """The file's bytes, decoded now from the message, whose encoded text is then let go
        (the parsed message is not read again once its files are kept): one call a part."""
        if self.data is not None:
            return self.data
        data = bytes_of(self.source)
        if self.declared_type != "message/rfc822":
            self.source.set_payload("")
        return data


def bytes_of(part: Any) -> bytes:
    """A leaf's bytes as `get_payload(decode=True)` gives them (a `message/rfc822` part: the
    message's bytes). Clean base64, what attachments nearly always are, is decoded straight
    from the raw bytes (a large part, mail_spans.py) or the parsed text: the email package
    first copies it to bytes, splits it into lines, joins them and pads the result (four
    copies of a 14 MB part to decode 10 MB); anything else takes the email package's own
    path, defects and all."""
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        return inner.as_bytes() if hasattr(inner, "as_bytes") else str(inner).encode()
    if isinstance(part, SpannedMessage) and part.span is not None:
        data = part.get_payload(decode=True)  # straight from the raw bytes
        return data if isinstance(data, bytes) else b""
    payload = part.get_payload()
    cte = str(part.get("content-transfer-encoding", "")).lower()  # as get_payload reads it
    if cte == "base64" and isinstance(payload, str) and clean_base64(payload):
        return binascii.a2b_base64(payload)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def html_text(html: str) -> str:
    """HTML as readable text (inscriptis: Apache-2.0), links' text kept, markup gone."""
    if not html.strip():
        return ""
    try:
        from inscriptis import get_text

        return str(get_text(html)).strip("\n")
    except Exception:  # a document lxml cannot build: fall back to the tags stripped
        import re

        return re.sub(r"<[^>]*>", " ", html)


def _leaves(part: Any) -> Iterator[Any]:
    """The parts that hold bytes, in order; a `message/rfc822` part is one leaf."""
    if part.get_content_type() == "message/rfc822":
        yield part
        return
    if part.is_multipart():
        for sub in part.get_payload():
            yield from _leaves(sub)
        return
    yield part


def _alternatives(msg: Any, body: Any) -> set[int]:
    """The other text versions of the chosen body (a multipart/alternative's text/html beside
    its text/plain): the same words again, not a file the customer sent."""
    out: set[int] = set()
    if body is None or body.get_content_type() != "text/plain":
        return out
    for part in msg.walk():
        if part.get_content_type() == "multipart/alternative":
            subs = part.get_payload()
            if any(s is body for s in subs):
                out |= {id(s) for s in subs if s.get_content_maintype() == "text"}
    return out


def collect(msg: Any, body: Any, decode_header: Callable[[str, list[str]], str]) -> list[Part]:
    """Every part of `msg` but the chosen text/plain `body` (and its alternatives); an HTML
    body is kept as a file too. `decode_header` reads a name's encoded-words (mail_parse)."""
    skip = _alternatives(msg, body)
    out: list[Part] = []
    for part in _leaves(msg):
        if id(part) in skip or (part is body and body.get_content_type() == "text/plain"):
            continue
        kind = part.get_content_type().replace("\x00", "")[:TYPE_MAX]
        data = None
        spanned = isinstance(part, SpannedMessage) and part.span is not None
        if kind != "message/rfc822" and not (
            spanned or isinstance(part.get_payload(), str | bytes)
        ):
            continue  # nothing get_payload(decode=True) would give bytes for
        if part is msg:  # a single-part message: kept only when it holds something
            data = bytes_of(part)
            if not data.strip():
                continue
        try:
            raw_name = part.get_filename() or part.get_param("name")
        except Exception:
            raw_name = None
        if isinstance(raw_name, tuple):
            raw_name = raw_name[2]
        name = decode_header(str(raw_name), []) if raw_name else None
        if name is None and part is body:
            name = "message.html"
        disposition = str(part.get("Content-Disposition", "")).strip().lower()
        inline = disposition.startswith("inline") or (
            not disposition.startswith("attachment") and part.get("Content-ID") is not None
        )
        number = len(out) + 1
        out.append(Part(sanitise_name(name, kind, number), kind, data, inline, source=part))
    return out


BLOB_CHUNK = 1 << 20


def _insert(session: Session, values: dict[str, Any]) -> int:
    """One attachment row, its id back. On SQLite the bytes go in through incremental blob
    I/O, a chunk at a time into a zeroblob: bound as a parameter, SQLite would copy them
    twice (the bound value, then the record) for the length of the INSERT. PostgreSQL's
    driver sends them as they are."""
    from sqlalchemy import func, insert

    from supportdesk.models import Attachment

    table = cast("Table", Attachment.__table__)
    data = values["data"]
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        values = {**values, "data": func.zeroblob(len(data))}
    row_id = int(session.execute(insert(table).values(values).returning(table.c.id)).scalar_one())
    if sqlite:
        conn: Any = session.connection().connection.driver_connection  # sqlite3's
        with memoryview(data) as view, conn.blobopen("attachments", "data", row_id) as blob:
            for start in range(0, len(view), BLOB_CHUNK):
                blob.write(view[start : start + BLOB_CHUNK])
    return row_id


def _size(n: int) -> str:
    return f"{n:,} bytes"


def keep(
    session: Session, desk: Desk, record: Any, ticket_id: int | None, parts: list[Part]
) -> None:
    """Store `parts` on ticket `ticket_id` with the event the message made (its newest event
    from the customer, else its newest entry of the thread), within the policy's limits; a
    note on the ticket names each one refused."""
    if not parts or ticket_id is None:
        return
    from sqlalchemy import select

    from supportdesk.core.audit import new_nonce
    from supportdesk.core.policy import current_policy
    from supportdesk.enums import EventKind
    from supportdesk.models import TicketEvent

    session.flush()
    events = select(TicketEvent.id).where(
        TicketEvent.ticket_id == ticket_id,
        TicketEvent.kind != EventKind.SLA.value,  # the SLA panel's: the thread never shows it
    )
    event_id = (
        session.scalars(
            events.where(TicketEvent.from_customer).order_by(TicketEvent.id.desc())
        ).first()
        or session.scalars(events.order_by(TicketEvent.id.desc())).first()
    )
    rules = current_policy(desk).intake
    total = 0
    refused: list[str] = []
    now = desk.now()
    for part in parts:
        # one file decoded at a time, stored with a plain INSERT (no ORM object keeps its bytes
        # until the commit) and let go before the next is decoded
        data = part.take()
        size = len(data)
        if size > rules.attachment_max:
            refused.append(
                f"{part.name!r} ({_size(size)}) is over the limit of "
                f"{_size(rules.attachment_max)} per attachment"
            )
            continue
        if total + size > rules.message_attachments_max:
            refused.append(
                f"{part.name!r} ({_size(size)}) would take the message over the limit of "
                f"{_size(rules.message_attachments_max)} of attachments"
            )
            continue
        total += size
        sha256 = hashlib.sha256(data).hexdigest()
        values = {
            "ticket_id": ticket_id,
            "event_id": event_id,
            "name": part.name,
            "declared_type": part.declared_type,
            "detected_type": detect_type(data),
            "size": size,
            "sha256": sha256,
            "data": data,
            "inline": part.inline,
            "created_at": now,
        }
        row_id = _insert(session, values)
        del data
        values.clear()
        record(
            "attachment.add",
            "attachment",
            row_id,
            {"ticket": [None, ticket_id], "name": [None, part.name], "sha256": [None, sha256]},
        )
    if refused:
        session.add(
            TicketEvent(
                ticket_id=ticket_id,
                kind=EventKind.NOTE.value,
                staff_id=desk.actor.staff_id,
                body="mail: attachment refused: " + "; ".join(refused),
                nonce=new_nonce(),
                created_at=now,
            )
        )
        record("attachment.refuse", "ticket", ticket_id, {"refused": [None, refused]})
