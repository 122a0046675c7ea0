"""Other helpdesks' ticket exports (CSV) read into plain records: pure, no database.

Two exports are understood, told apart by their header:

- `kaggle`: one row per ticket (the "Customer Support Ticket Dataset" layout: Ticket ID,
  Customer Name, Customer Email, Ticket Type, Ticket Subject, Ticket Description, Ticket
  Status, Resolution, Ticket Priority, Ticket Channel, First Response Time, Time to
  Resolution, Customer Satisfaction Rating). It has no creation times.
- `servicenow`: an incident event log, one row per change of an incident (number,
  incident_state, opened_at, sys_updated_at, caller_id, priority, contact_type, category,
  assignment_group, resolved_at, closed_at, ...), several rows per incident.

Neither carries files: the Kaggle table has none, and a ServiceNow incident log holds no
attachments (ServiceNow keeps them in `sys_attachment`, exported apart), so their tickets
come without any. The desk's own export (export_desk.py, read by import_desk.py) does.

A row that cannot become a ticket (no id, an unknown priority or status, a time that is not
a time) is a `Problem` in `rejected`, named by its line and field; a row kept although
something in it is odd (resolved before its first response, a channel the desk does not
have) is a `Problem` in `notes`. Times without an offset are read in the zone given.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from datetime import datetime, tzinfo

from supportdesk.enums import Category, Channel, EventKind, Priority, Status
from supportdesk.errors import UsageError
from supportdesk.rules.limits import EMAIL
from supportdesk.services.intake.export_records import (
    Export,
    HistoryEntry,
    Problem,
    Record,
    RowError,
    opened_entry,
    pick,
    present,
    rows_of,
    slug,
    time_of,
)
from supportdesk.services.intake.export_servicenow import SN_PRIORITY, servicenow_export

FORMATS = ("kaggle", "servicenow")


# -- reading the file ----------------------------------------------------------------------
def read_export(text: str, *, name: str, fmt: str, zone: tzinfo, now: datetime) -> Export:
    """Parse an export; `fmt` is "auto" or one of FORMATS. Raises UsageError when the file
    as a whole cannot be read (no header, columns of no known export)."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise UsageError(f"{name}: the file is empty") from None
    except csv.Error as exc:
        raise UsageError(f"{name}:1: not CSV: {exc}") from None
    columns = [h.strip() for h in header]
    chosen = detect(columns, name) if fmt == "auto" else fmt
    if chosen not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r} (one of: auto, {', '.join(FORMATS)})")
    missing = [c for c in REQUIRED[chosen] if c not in columns]
    if missing:
        raise UsageError(f"{name}:1: a {chosen} export needs the columns {', '.join(missing)}")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        while True:
            line = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            if not any(v.strip() for v in values):
                continue
            rows.append((line, dict(zip(columns, (v.strip() for v in values), strict=False))))
    except csv.Error as exc:
        raise UsageError(f"{name}:{reader.line_num}: not CSV: {exc}") from None
    export = Export(name, chosen, len(rows), [], [], [], identity(chosen, rows))
    PARSERS[chosen](export, rows, zone, now)
    return export


IDENTITY_TICKETS = 3  # how many of an export's first tickets say which export it is


def identity(fmt: str, rows: list[tuple[int, dict[str, str]]]) -> str:
    """A digest naming the export, not the file: its format and the fields that never change
    (id, customer, subject; opening time and caller) of its first IDENTITY_TICKETS tickets.
    The same export renamed, moved, read from standard input, grown by more rows or exported
    again with newer statuses keeps it; another export reusing the same ticket ids has other
    customers or subjects on them, so it gets another one."""
    columns = IDENTITY_COLUMNS[fmt]
    seen: list[tuple[str, ...]] = []
    refs: set[str] = set()
    for _line, row in rows:
        key = tuple(row.get(c, "").strip() for c in columns)
        if not key[0] or key[0] in refs:
            continue
        refs.add(key[0])
        seen.append(key)
        if len(seen) == IDENTITY_TICKETS:
            break
    text = "\x1f".join([fmt, *("\x1e".join(k) for k in seen)])
    return "auto-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def detect(columns: list[str], name: str) -> str:
    for fmt in FORMATS:
        if all(c in columns for c in SIGNATURE[fmt]):
            return fmt
    raise UsageError(
        f"{name}:1: columns of no known export (a kaggle export has Ticket ID and Customer "
        "Email; a servicenow log has number, incident_state and opened_at); see --format"
    )


# -- kaggle: one row per ticket ------------------------------------------------------------
K_PRIORITY = {p.value: p.value for p in Priority}
K_STATUS = {
    "open": "open",
    "pending customer response": "pending_customer",
    "closed": "closed",
    "resolved": "resolved",
}
K_CHANNEL = {"email": "email", "phone": "phone", "chat": "chat", "social media": "portal"}
K_TYPE = {  # ticket type -> (category, request type)
    "technical issue": ("technical", "technical"),
    "product inquiry": ("technical", "technical"),
    "billing inquiry": ("billing", "billing"),
    "refund request": ("billing", "billing"),
    "cancellation request": ("billing", "cancellation"),
}


def _kaggle(
    export: Export, rows: list[tuple[int, dict[str, str]]], zone: tzinfo, now: datetime
) -> None:
    seen: set[str] = set()
    for line, ref, row in rows_of(export, rows, lambda r: r.get("Ticket ID", "")):
        if ref in seen:
            export.rejected.append(Problem(line, ref, "duplicate", f"ticket id {ref} again"))
            continue
        seen.add(ref)
        try:
            record = _kaggle_record(export, line, ref, row, zone, now)
        except RowError as exc:
            export.rejected.append(Problem(line, ref, "bad_row", str(exc)))
            continue
        export.records.append(record)


def _kaggle_record(
    export: Export, line: int, ref: str, row: dict[str, str], zone: tzinfo, now: datetime
) -> Record:
    def note(kind: str, text: str) -> None:
        export.notes.append(Problem(line, ref, kind, text))

    email = (row.get("Customer Email") or "").strip().lower()
    if "@" not in email:
        raise RowError(
            "Customer Email", f"not an e-mail address: {email!r} (accounts are found by it)"
        )
    if len(email) > EMAIL.chars:  # it becomes a contact point: refused, not cut short
        raise RowError("Customer Email", f"{len(email)} characters, at most {EMAIL.chars}")
    name = row.get("Customer Name") or email
    priority = Priority(pick(row, "Ticket Priority", K_PRIORITY, "priority"))
    status_word = pick(row, "Ticket Status", K_STATUS, "status")
    raw_channel = (row.get("Ticket Channel") or "").strip().lower()
    channel = Channel(K_CHANNEL.get(raw_channel, "portal"))
    if raw_channel not in ("email", "phone", "chat"):
        note(
            "channel",
            f"came by {row.get('Ticket Channel') or 'an unnamed channel'}: filed as portal",
        )
    ticket_type = (row.get("Ticket Type") or "").strip()
    category, request_type = K_TYPE.get(ticket_type.lower(), ("technical", "technical"))
    if ticket_type.lower() not in K_TYPE:
        note("type", f"ticket type {ticket_type!r} is not known here: filed as technical")
    product = present(row.get("Product Purchased"))
    subject = (row.get("Ticket Subject") or "").strip() or ticket_type or "(no subject)"
    if product:
        subject = f"{subject}: {product}"
    description = row.get("Ticket Description") or ""
    if product:
        description = description.replace("{product_purchased}", product)
    responded = time_of(row, "First Response Time", zone)
    resolved = time_of(row, "Time to Resolution", zone)
    done = status_word in ("closed", "resolved")
    if done and resolved is None:
        raise RowError("Time to Resolution", f"empty for a {status_word} ticket")
    if not done and resolved is not None:
        note(
            "live_with_resolution",
            f"{status_word} but has a resolution time: kept as {status_word}",
        )
        resolved = None
    if resolved is not None and responded is not None and resolved < responded:
        note(
            "resolved_before_response",
            f"resolved {resolved:%Y-%m-%d %H:%M} before its first response "
            f"{responded:%Y-%m-%d %H:%M}: the resolution is taken as the first response",
        )
        responded = resolved
    if done and responded is None:
        responded = resolved
    known = [t for t in (responded, resolved) if t is not None]
    if known:
        created, start_known = min(known), False
        note("no_created_time", "the export has no creation time: dated at its first response")
    else:
        created, start_known = now, True  # live work the desk receives now: its clocks start
    status = Status(status_word)
    if status is Status.OPEN and responded is None:
        status = Status.NEW
    history = [opened_entry(export, created, f"ticket {ref}")]
    if responded is not None:
        after = Status.OPEN if done else status
        history.append(
            HistoryEntry(
                EventKind.STATUS,
                responded,
                body="first response (its time is in the export, its text is not)",
                old=Status.NEW.value,
                new=after.value,
            )
        )
    resolution = present(row.get("Resolution"))
    if resolved is not None:
        if resolution:
            history.append(HistoryEntry(EventKind.REPLY, resolved, body=resolution, visible=True))
        history.append(
            HistoryEntry(EventKind.STATUS, resolved, old=Status.OPEN.value, new=status.value)
        )
    rating = present(row.get("Customer Satisfaction Rating"))
    if rating:
        history.append(
            HistoryEntry(
                EventKind.NOTE,
                resolved or responded or created,
                body=f"Customer satisfaction in the export: {rating.removesuffix('.0')} of 5",
            )
        )
    last = max([created, *known])
    return Record(
        ref=ref,
        line=line,
        account_key=slug(email.split("@", 1)[0]),
        company=name,
        contact_name=name,
        contact_email=email,
        subject=subject[:300],
        description=description,
        category=Category(category),
        request_type=request_type,
        priority=priority,
        channel=channel,
        status=status,
        created_at=created,
        start_known=start_known,
        first_response_at=responded,
        resolved_at=resolved,
        resolution_code="fixed" if done else None,
        last_activity_at=last,
        staff_spoke_last=responded is not None,
        history=history,
    )


SN_PRIORITY.update({"planning": "low", "medium": "medium"})


IDENTITY_COLUMNS = {
    "kaggle": ("Ticket ID", "Customer Email", "Customer Name", "Ticket Subject"),
    "servicenow": ("number", "caller_id", "opened_at"),
}
SIGNATURE = {
    "kaggle": ("Ticket ID", "Customer Email"),
    "servicenow": ("number", "incident_state", "opened_at"),
}
REQUIRED = {
    "kaggle": (
        "Ticket ID",
        "Customer Name",
        "Customer Email",
        "Ticket Type",
        "Ticket Subject",
        "Ticket Status",
        "Ticket Priority",
        "Ticket Channel",
        "First Response Time",
        "Time to Resolution",
    ),
    "servicenow": (
        "number",
        "incident_state",
        "opened_at",
        "sys_updated_at",
        "caller_id",
        "priority",
        "contact_type",
    ),
}
PARSERS: dict[str, Callable[[Export, list[tuple[int, dict[str, str]]], tzinfo, datetime], None]] = {
    "kaggle": _kaggle,
    "servicenow": servicenow_export,
}
