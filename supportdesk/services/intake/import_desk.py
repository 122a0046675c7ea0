"""Reading the desk's own export (export_desk.py) back: `supportdesk import --format desk`.

The tickets become records as any export's do (importer.py writes them, with their clocks
recomputed from their times). Each file is checked while reading (its base64, its size and
its SHA-256), but its bytes are left in the export: the import opens it again and reads them
one attachment at a time while it writes them, so a large export never sits in memory.
A file exported without its bytes (`--no-bytes`) comes back as its record (name, types,
size, SHA-256) without them; a redacted one as redacted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from supportdesk.enums import CallOutcome, Category, Channel, EventKind, Priority, Status
from supportdesk.errors import UsageError
from supportdesk.rules import limits
from supportdesk.rules.request_types import REQUEST_TYPES
from supportdesk.services.intake.export_desk import FORMAT_KEY, VERSION
from supportdesk.services.intake.export_records import (
    Export,
    HistoryEntry,
    Problem,
    Record,
    RowError,
    parse_time,
    slug,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

FORMAT = "desk"
LINE_MAX = 64 << 20  # one line: a ticket with its thread, or one file's base64
CODES = ("fixed", "duplicate", "not_authorized", "out_of_scope", "unlisted_sender", "no_response")


@dataclass(frozen=True)
class FileRef:
    """One file of the export: its record, and where its line starts (its bytes stay there)."""

    ticket: str  # the ticket's ref
    event: int | None  # index of the thread entry it came with
    name: str
    declared_type: str
    detected_type: str
    size: int
    sha256: str
    inline: bool
    created_at: datetime
    redacted_at: datetime | None
    has_bytes: bool
    offset: int
    line: int


def sniff(path: str, data: bytes | None) -> bool:
    """Whether the export looks like the desk's own (a JSON object first, not a CSV)."""
    if data is None:
        try:
            with limits.open_regular(path, "import") as fh:
                data = fh.read(64)
        except UsageError:
            return False
    return data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{"


def read_desk_export(path: str, name: str, data: bytes | None) -> Export:
    """Parse the desk's export from `path` (or `data`, standard input's bytes)."""

    def reopen() -> IO[bytes]:
        return io.BytesIO(data) if data is not None else limits.open_regular(path, "import")

    export = Export(name, FORMAT, 0, [], [], [], reopen=reopen)
    known: dict[str, Record] = {}
    with reopen() as fh:
        header = False
        number = 0
        while True:
            offset = fh.tell()
            raw = fh.readline(LINE_MAX + 1)
            if not raw:
                break
            number += 1
            if len(raw) > LINE_MAX:
                raise UsageError(f"{name}:{number}: a line longer than {LINE_MAX:,} bytes")
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise UsageError(f"{name}:{number}: not JSON: {exc}") from None
            if not isinstance(obj, dict):
                raise UsageError(f"{name}:{number}: not a JSON object")
            if not header:
                if obj.get(FORMAT_KEY) != VERSION:
                    raise UsageError(f"{name}:{number}: not a supportdesk export (version 1)")
                header = True
                continue
            export.rows += 1
            ref = str(obj.get("ref") or obj.get("ticket") or "")[:64]
            try:
                if obj.get("type") == "ticket":
                    record = _record(obj, ref, number, name)
                    if ref in known:
                        raise RowError("ref", f"ticket {ref} again")
                    known[ref] = record
                    export.records.append(record)
                elif obj.get("type") == "attachment":
                    export.files.append(_file(obj, known.get(ref), number, offset))
                else:
                    raise RowError("type", f"{str(obj.get('type'))[:40]!r} is not ticket or file")
            except RowError as exc:
                export.rejected.append(Problem(number, ref, "bad_row", str(exc)))
    if not header:
        raise UsageError(f"{name}: the file is empty")
    first = [(r.ref, r.created_at.isoformat(), r.subject) for r in export.records[:3]]
    text = "\x1f".join([FORMAT, *("\x1e".join(k) for k in first)])
    export.identity = "auto-" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:20]
    return export


def _text(obj: dict[str, Any], key: str, *, required: bool = True, most: int = 0) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise RowError(key, f"not a text: {str(value)[:40]!r}")
    return value[:most] if most else value


def _time(obj: dict[str, Any], key: str, *, required: bool = True) -> datetime | None:
    value = _text(obj, key, required=required)
    if value is None:
        return None
    try:
        return parse_time(value, UTC)
    except ValueError as exc:
        raise RowError(key, str(exc)) from None


def _enum(obj: dict[str, Any], key: str, kind: Any) -> Any:
    try:
        return kind(obj.get(key))
    except ValueError:
        raise RowError(key, f"unknown {key} {str(obj.get(key))[:40]!r}") from None


def _record(obj: dict[str, Any], ref: str, line: int, name: str) -> Record:
    if not ref:
        raise RowError("ref", "no ticket id")
    request_type = _text(obj, "request_type") or ""
    if request_type not in REQUEST_TYPES:
        raise RowError("request_type", f"unknown request type {request_type[:40]!r}")
    code = _text(obj, "resolution_code", required=False)
    if code is not None and code not in CODES:
        raise RowError("resolution_code", f"unknown resolution code {code[:40]!r}")
    email = _text(obj, "contact_email", required=False, most=255)
    created = _time(obj, "created_at")
    assert created is not None
    events = obj.get("events")
    if not isinstance(events, list):
        raise RowError("events", "not a list")
    history = [_entry(e, n) for n, e in enumerate(events)]
    history.append(
        HistoryEntry(
            EventKind.NOTE, created, body=f"Imported from {name} (supportdesk export), #{ref}"
        )
    )
    return Record(
        ref=ref,
        line=line,
        account_key=slug(_text(obj, "account") or ""),
        company=(_text(obj, "company") or "")[:200],
        contact_name=_text(obj, "contact_name", required=False, most=200),
        contact_email=email.strip().lower() if email else None,
        subject=(_text(obj, "subject") or "")[:300],
        description=_text(obj, "description", required=False) or "",
        category=_enum(obj, "category", Category),
        request_type=request_type,
        priority=_enum(obj, "priority", Priority),
        channel=_enum(obj, "channel", Channel),
        status=_enum(obj, "status", Status),
        created_at=created,
        start_known=True,
        first_response_at=_time(obj, "first_response_at", required=False),
        resolved_at=_time(obj, "resolved_at", required=False),
        resolution_code=code,
        last_activity_at=_time(obj, "last_activity_at") or created,
        staff_spoke_last=obj.get("last_speaker") == "staff",
        history=history,
    )


def _entry(e: Any, n: int) -> HistoryEntry:
    if not isinstance(e, dict):
        raise RowError(f"events[{n}]", "not an object")
    outcome = _text(e, "call_outcome", required=False)
    if outcome is not None:
        outcome = _enum(e, "call_outcome", CallOutcome).value
    at = _time(e, "at")
    assert at is not None
    return HistoryEntry(
        _enum(e, "kind", EventKind),
        at,
        body=_text(e, "body", required=False),
        visible=e.get("visible") is True,
        from_customer=e.get("from_customer") is True,
        old=_text(e, "old", required=False, most=64),
        new=_text(e, "new", required=False, most=64),
        call_outcome=outcome,
        redacted_at=_time(e, "redacted_at", required=False),
    )


def _file(obj: dict[str, Any], ticket: Record | None, line: int, offset: int) -> FileRef:
    if ticket is None:
        raise RowError("ticket", "a file of no ticket before it in the export")
    event = obj.get("event")
    if event is not None and (
        not isinstance(event, int) or not 0 <= event < len(ticket.history) - 1
    ):
        raise RowError("event", f"no entry {str(event)[:20]} in ticket {ticket.ref}'s thread")
    size, digest = obj.get("size"), _text(obj, "sha256") or ""
    if not isinstance(size, int) or size < 0 or len(digest) != 64:
        raise RowError("size", "a file needs its size and SHA-256")
    data = _data(obj)
    if data is not None and (len(data) != size or hashlib.sha256(data).hexdigest() != digest):
        raise RowError(
            "data", f"the bytes of {obj.get('name')!r} do not match its size and SHA-256"
        )
    created = _time(obj, "created_at")
    assert created is not None
    return FileRef(
        ticket.ref,
        event,
        _text(obj, "name", most=255) or "",
        _text(obj, "declared_type", required=False, most=255) or "",
        _text(obj, "detected_type", most=64) or "",
        size,
        digest,
        obj.get("inline") is True,
        created,
        _time(obj, "redacted_at", required=False),
        data is not None,
        offset,
        line,
    )


def _data(obj: dict[str, Any]) -> bytes | None:
    value = obj.get("data")
    if value is None:
        return None
    if not isinstance(value, str):
        raise RowError("data", "not base64")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise RowError("data", "not base64") from None


def insert_files(
    session: Session,
    export: Export,
    tickets: dict[str, int],
    events: Callable[[str, int], int],
    reserve: Callable[[int], list[int]],
) -> list[tuple[str, str, int, dict[str, Any]]]:
    """Write the files of the imported tickets (`tickets`: ref -> new id; `events`: a
    ticket's ref and an entry's index -> its new id), reading each one's bytes again from
    the export and checking them; the audit rows to record."""
    from supportdesk.models import Attachment

    files = [f for f in export.files if f.ticket in tickets]
    if not files:
        return []
    assert export.reopen is not None
    ids = reserve(len(files))
    audit = []
    table: Any = Attachment.__table__
    with export.reopen() as fh:
        for aid, f in zip(ids, files, strict=True):
            data = None
            if f.has_bytes:
                fh.seek(f.offset)
                data = _data(json.loads(fh.readline(LINE_MAX + 1)))
                if data is None or hashlib.sha256(data).hexdigest() != f.sha256:
                    raise UsageError(
                        f"{export.name}:{f.line}: the file changed while it was imported; "
                        "nothing was imported"
                    )
            tid = tickets[f.ticket]
            session.execute(
                table.insert(),
                {
                    "id": aid,
                    "ticket_id": tid,
                    "event_id": events(f.ticket, f.event) if f.event is not None else None,
                    "outbox_id": None,
                    "name": f.name,
                    "declared_type": f.declared_type,
                    "detected_type": f.detected_type,
                    "size": f.size,
                    "sha256": f.sha256,
                    "data": data,
                    "inline": f.inline,
                    "created_at": f.created_at,
                    "redacted_at": f.redacted_at,
                },
            )
            audit.append(
                (
                    "attachment.add",
                    "attachment",
                    aid,
                    {
                        "ticket": [None, tid],
                        "name": [None, f.name],
                        "sha256": [None, f.sha256],
                        **({} if data is not None else {"bytes": [None, "not in the export"]}),
                    },
                )
            )
    return audit
