"""A ticket's attachments (issue 20, item 3): listed, read, saved, attached to a reply.

Services hand back plain dataclasses; the bytes are returned only to the caller that asked
for one attachment (`content`). Nothing here opens, runs or interprets a file: saving writes
its bytes, and showing one inline is for text the caller passes through safe_text.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.tickets import load_ticket
from supportdesk.core.views import FileView
from supportdesk.errors import NotFound, UsageError
from supportdesk.rules.files import detect_type, sanitise_name

COLUMNS = (
    "id",
    "ticket_id",
    "event_id",
    "outbox_id",
    "name",
    "declared_type",
    "detected_type",
    "size",
    "sha256",
    "inline",
    "created_at",
    "redacted_at",
)
TEXTISH = ("text/plain", "application/octet-stream")
INLINE_SUFFIXES = (".txt", ".log", ".eml", ".csv", ".json", ".xml", ".html", ".md")
INLINE_MAX = 1024 * 1024  # bytes shown inline; a longer text is cut with a note
ATTACH_MAX = 10 * 1024 * 1024  # bytes per file attached to a reply


@dataclass(frozen=True)
class AttachmentView:
    id: int
    ticket_id: int
    event_id: int | None
    outbox_id: int | None
    name: str
    declared_type: str
    detected_type: str
    size: int
    sha256: str
    inline: bool
    created_at: datetime
    redacted_at: datetime | None

    @property
    def readable(self) -> bool:
        """Text the console may show inline (through safe_text, which shows controls such as
        a log's colour escapes as visible marks), never run: a text type declared or detected,
        or a text name, and bytes that are not a known binary format."""
        if self.redacted_at is not None or self.detected_type not in TEXTISH:
            return False
        return (
            self.detected_type == "text/plain"
            or self.declared_type.startswith("text/")
            or self.declared_type == "message/rfc822"
            or self.name.lower().endswith(INLINE_SUFFIXES)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ticket": self.ticket_id,
            "event": self.event_id,
            "outbox": self.outbox_id,
            "name": self.name,
            "declared_type": self.declared_type,
            "detected_type": self.detected_type,
            "size": self.size,
            "sha256": self.sha256,
            "inline": self.inline,
            "created_at": self.created_at.isoformat(),
            "redacted_at": self.redacted_at.isoformat() if self.redacted_at else None,
        }


def _view(a: Any) -> AttachmentView:
    return AttachmentView(
        a.id,
        a.ticket_id,
        a.event_id,
        a.outbox_id,
        a.name,
        a.declared_type,
        a.detected_type,
        a.size,
        a.sha256,
        bool(a.inline),
        a.created_at,
        a.redacted_at,
    )


def event_files(session: Any, ticket_id: int) -> dict[int, tuple[FileView, ...]]:
    """A ticket's attachments by the event they came or went with (no bytes read)."""
    from supportdesk.models import Attachment

    cols = (Attachment.__table__.c[n] for n in COLUMNS if n != "data")
    out: dict[int, list[FileView]] = {}
    for row in session.execute(
        select(*cols).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)
    ):
        if row.event_id is None:
            continue
        view = _view(row)
        out.setdefault(row.event_id, []).append(
            FileView(
                view.id,
                view.name,
                view.detected_type,
                view.size,
                view.readable,
                view.redacted_at is not None,
            )
        )
    return {k: tuple(v) for k, v in out.items()}


def list_attachments(desk: Desk, ticket_id: int) -> list[AttachmentView]:
    """The ticket's attachments, oldest first (never their bytes)."""
    from supportdesk.models import Attachment

    permissions.require(desk.actor, "ticket.read")
    with desk.store.read() as s:
        load_ticket(s, ticket_id)
        cols = (Attachment.__table__.c[n] for n in COLUMNS)
        rows = s.execute(
            select(*cols).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)
        )
        return [_view(a) for a in rows]


def content(desk: Desk, attachment_id: int) -> tuple[AttachmentView, bytes]:
    """One attachment and its bytes; UsageError when they were redacted."""
    from supportdesk.models import Attachment

    permissions.require(desk.actor, "ticket.read")
    with desk.store.read() as s:
        a = s.get(Attachment, attachment_id)
        if a is None:
            raise NotFound(f"no attachment {attachment_id}")
        view = _view(a)
        if a.data is None and a.redacted_at is None:  # imported from an export without them
            raise UsageError(
                f"attachment {attachment_id} has no bytes here: the export it was imported "
                "from left them out (--no-bytes)"
            )
        if a.data is None:
            raise UsageError(f"attachment {attachment_id} was redacted: its bytes are gone")
        return view, bytes(a.data)


def text_of(desk: Desk, attachment_id: int) -> tuple[AttachmentView, str]:
    """A text attachment's words for the inline view (UTF-8; a long one cut, saying so)."""
    view, data = content(desk, attachment_id)
    if not view.readable:
        raise UsageError(f"attachment {attachment_id} is not text: save it instead")
    text = data[:INLINE_MAX].decode("utf-8", "replace")
    if len(data) > INLINE_MAX:
        text += f"\n[cut: {len(data):,} bytes in all; save it to read the rest]"
    return view, text


def save(desk: Desk, attachment_id: int, path: str | None, *, force: bool = False) -> Path:
    """Write an attachment's bytes to `path` (default: its sanitised name in the current
    directory); never over an existing file unless `force`. Never opens or runs it."""
    view, data = content(desk, attachment_id)
    target = Path(path) if path else Path.cwd() / view.name
    if target.is_dir():
        target = target / view.name
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    flags |= getattr(os, "O_NOFOLLOW", 0) if not force else 0
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise UsageError(f"{target} exists: pass --force to overwrite it") from None
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return target


@dataclass(frozen=True)
class Outgoing:
    """A file to attach to a reply, read and checked."""

    name: str
    data: bytes


def read_outgoing(paths: tuple[str, ...]) -> list[Outgoing]:
    """The files for `ticket reply --attach`, read before anything is written: a missing,
    unreadable or oversized file is a usage error and nothing is sent."""
    out: list[Outgoing] = []
    for number, raw in enumerate(paths, 1):
        path = Path(raw)
        try:
            if not path.is_file():
                raise UsageError(f"--attach {raw}: not a file")
            if path.stat().st_size > ATTACH_MAX:
                raise UsageError(f"--attach {raw}: over {ATTACH_MAX:,} bytes")
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"--attach {raw}: cannot read it ({exc.strerror})") from None
        out.append(Outgoing(sanitise_name(path.name, "", number), data))
    return out


def attach_outgoing(
    session: Any,
    desk: Desk,
    record: Any,
    ticket_id: int,
    event_id: int,
    message_id: str | None,
    files: list[Outgoing],
) -> None:
    """Keep a reply's files with its event and the outgoing mail (`message_id`, when it was
    queued) that carries them: the sender attaches them (services/outbox/attaching.py)."""
    if not files:
        return
    from supportdesk.models import Attachment, OutboxMessage

    outbox_id = None
    if message_id is not None:
        outbox_id = session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.message_id == message_id)
        )

    for f in files:
        kind = detect_type(f.data)
        row = Attachment(
            ticket_id=ticket_id,
            event_id=event_id,
            outbox_id=outbox_id,
            name=f.name,
            declared_type=kind,
            detected_type=kind,
            size=len(f.data),
            sha256=hashlib.sha256(f.data).hexdigest(),
            data=f.data,
            inline=False,
            created_at=desk.now(),
        )
        session.add(row)
        session.flush()
        record(
            "attachment.add",
            "attachment",
            row.id,
            {"ticket": [None, ticket_id], "name": [None, f.name], "sha256": [None, row.sha256]},
        )
