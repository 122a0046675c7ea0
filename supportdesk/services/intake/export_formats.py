"""Other helpdesks' ticket exports (CSV) read into plain records: pure, no database.

Two exports are understood, told apart by their header:

- `kaggle`: one row per ticket (the "Customer Support Ticket Dataset" layout: Ticket ID,
  Customer Name, Customer Email, Ticket Type, Ticket Subject, Ticket Description, Ticket
  Status, Resolution, Ticket Priority, Ticket Channel, First Response Time, Time to
  Resolution, Customer Satisfaction Rating). It has no creation times.
- `servicenow`: an incident event log, one row per change of an incident (number,
  incident_state, opened_at, sys_updated_at, caller_id, priority, contact_type, category,
  assignment_group, resolved_at, closed_at, ...), several rows per incident.

A row that cannot become a ticket (no id, an unknown priority or status, a time that is not
a time) is a `Problem` in `rejected`, named by its line and field; a row kept although
something in it is odd (resolved before its first response, a channel the desk does not
have) is a `Problem` in `notes`. Times without an offset are read in the zone given.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from supportdesk.core.views import JsonMixin
from supportdesk.enums import Category, Channel, EventKind, Priority, Status
from supportdesk.errors import UsageError
from supportdesk.rules.limits import EMAIL

FORMATS = ("kaggle", "servicenow")
MISSING = {"", "?", "n/a", "na", "null", "none"}


@dataclass(frozen=True)
class Problem(JsonMixin):
    """Something about one row of an export: why it was rejected, or what was odd in it."""

    line: int  # the CSV line the row starts on (the header is line 1)
    ref: str  # the ticket's id in the export ("" when it has none)
    kind: str  # a short key that groups problems of one sort
    text: str


@dataclass(frozen=True)
class HistoryEntry:
    """One entry of an imported ticket's thread."""

    kind: EventKind
    at: datetime
    body: str | None = None
    visible: bool = False
    from_customer: bool = False
    old: str | None = None
    new: str | None = None


@dataclass
class Record:
    """One ticket as the export describes it, in the desk's vocabulary."""

    ref: str
    line: int
    account_key: str  # the account id to use when no account of the desk matches
    company: str
    contact_name: str | None
    contact_email: str | None  # lower case; the account is found by it when given
    subject: str
    description: str
    category: Category
    request_type: str
    priority: Priority
    channel: Channel
    status: Status
    created_at: datetime
    start_known: bool  # False: the export gives no creation time (see sla.history_clocks)
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution_code: str | None
    last_activity_at: datetime
    staff_spoke_last: bool
    history: list[HistoryEntry] = field(default_factory=list)
    # when the export tells: the intervals it waited on the customer before it was resolved
    pauses: list[tuple[datetime, datetime]] = field(default_factory=list)


@dataclass
class Export:
    name: str
    format: str
    rows: int  # data rows in the file
    records: list[Record]
    rejected: list[Problem]
    notes: list[Problem]
    # which export this is, whatever the file is called: see `identity`
    identity: str = ""


# what each kind of note means, for a summary that counts them
NOTE_SUMMARY = {
    "no_created_time": "no creation time in the export: dated at the first time it gives "
    "(no SLA outcome is counted for them)",
    "channel": "came by a channel the desk does not have: filed as portal",
    "type": "a ticket type not known here: filed as technical",
    "resolved_before_response": "resolved before their first response: the resolution is "
    "taken as the first response",
    "live_with_resolution": "still live but with a resolution time: kept live",
    "time_before_open": "changes dated before the incident was opened: moved to its opening",
}


class RowError(Exception):
    """A row that cannot be imported: the field and what is wrong with it."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")


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


def parse_time(value: str, zone: tzinfo) -> datetime:
    """ISO 8601 ("2023-06-01 12:15:36", with or without an offset) or a spreadsheet's
    day-first "29-02-2016 01:16"; a time without an offset is in `zone`."""
    text = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        for pattern in ("%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d/%m/%Y %H:%M"):
            try:
                parsed = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"not a time: {value!r}")
    result = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)
    from supportdesk.core.clock import FIRST_YEAR, LAST_YEAR

    try:  # a desk's years only: calendars and the databases overflow near year 1 and 9999
        year = result.astimezone(UTC).year
    except (OverflowError, ValueError):
        year = 0
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"not a time from {FIRST_YEAR} to {LAST_YEAR}: {value!r}")
    return result


def _time(row: dict[str, str], column: str, zone: tzinfo) -> datetime | None:
    value = row.get(column, "")
    if value.lower() in MISSING:
        return None
    try:
        return parse_time(value, zone)
    except ValueError as exc:
        raise RowError(column, str(exc)) from None


def _pick(row: dict[str, str], column: str, table: dict[str, str], what: str) -> str:
    value = row.get(column, "")
    key = value.strip().lower()
    if key not in table:
        known = ", ".join(sorted({k.title() for k in table}))
        raise RowError(column, f"unknown {what} {value!r} (one of: {known})")
    return table[key]


def _present(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() in MISSING else value.strip()


def slug(text: str) -> str:
    """An account id made of `text`: lower case letters, digits, . _ - (at most 64)."""
    out = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")
    return (out or "customer")[:64].rstrip("-._")


def _opened(export: Export, at: datetime, what: str) -> HistoryEntry:
    """The first entry of an imported thread: where it came from."""
    return HistoryEntry(
        EventKind.CREATED,
        at,
        body=f"Imported from {export.name} ({export.format}), {what}",
        new=Status.NEW.value,
    )


def _rows_of(
    export: Export,
    rows: Iterable[tuple[int, dict[str, str]]],
    ref_of: Callable[[dict[str, str]], str],
) -> Iterable[tuple[int, str, dict[str, str]]]:
    """The rows with an id; a row without one is rejected."""
    for line, row in rows:
        ref = ref_of(row)
        if not ref:
            export.rejected.append(Problem(line, "", "no_id", "no ticket id"))
            continue
        yield line, ref, row


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
    for line, ref, row in _rows_of(export, rows, lambda r: r.get("Ticket ID", "")):
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
    priority = Priority(_pick(row, "Ticket Priority", K_PRIORITY, "priority"))
    status_word = _pick(row, "Ticket Status", K_STATUS, "status")
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
    product = _present(row.get("Product Purchased"))
    subject = (row.get("Ticket Subject") or "").strip() or ticket_type or "(no subject)"
    if product:
        subject = f"{subject}: {product}"
    description = row.get("Ticket Description") or ""
    if product:
        description = description.replace("{product_purchased}", product)
    responded = _time(row, "First Response Time", zone)
    resolved = _time(row, "Time to Resolution", zone)
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
    history = [_opened(export, created, f"ticket {ref}")]
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
    resolution = _present(row.get("Resolution"))
    if resolved is not None:
        if resolution:
            history.append(HistoryEntry(EventKind.REPLY, resolved, body=resolution, visible=True))
        history.append(
            HistoryEntry(EventKind.STATUS, resolved, old=Status.OPEN.value, new=status.value)
        )
    rating = _present(row.get("Customer Satisfaction Rating"))
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


# -- servicenow: an incident event log, one row per change ---------------------------------
SN_STATE = {
    "new": "new",
    "active": "open",
    "awaiting user info": "pending_customer",
    "awaiting problem": "open",
    "awaiting vendor": "open",
    "awaiting evidence": "open",
    "resolved": "resolved",
    "closed": "closed",
}
SN_PRIORITY = {"critical": "critical", "high": "high", "moderate": "medium", "low": "low"}
SN_PRIORITY.update({"planning": "low", "medium": "medium"})
SN_CHANNEL = {
    "phone": "phone",
    "ivr": "phone",
    "email": "email",
    "self service": "portal",
    "direct opening": "portal",
    "chat": "chat",
}


def _sn_priority(row: dict[str, str]) -> Priority:
    value = row.get("priority", "")
    word = value.split("-", 1)[-1].strip().lower()  # "3 - Moderate" -> "moderate"
    if word not in SN_PRIORITY:
        known = ", ".join(sorted(k.title() for k in SN_PRIORITY))
        raise RowError("priority", f"unknown priority {value!r} (one of: {known})")
    return Priority(SN_PRIORITY[word])


def _servicenow(
    export: Export, rows: list[tuple[int, dict[str, str]]], zone: tzinfo, now: datetime
) -> None:
    incidents: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, ref, row in _rows_of(export, rows, lambda r: r.get("number", "")):
        incidents.setdefault(ref, []).append((line, row))
    for ref, changes in incidents.items():
        try:
            record = _servicenow_record(export, ref, changes, zone)
        except RowError as exc:
            export.rejected.append(Problem(changes[0][0], ref, "bad_row", str(exc)))
            continue
        export.records.append(record)


def _mod_count(row: dict[str, str]) -> int:
    value = row.get("sys_mod_count", "")
    return int(value) if value.isdigit() else 0


def _servicenow_record(
    export: Export, ref: str, changes: list[tuple[int, dict[str, str]]], zone: tzinfo
) -> Record:
    line = changes[0][0]

    def note(kind: str, text: str) -> None:
        export.notes.append(Problem(line, ref, kind, text))

    changes = sorted(changes, key=lambda c: _mod_count(c[1]))  # stable: file order on ties
    first, final = changes[0][1], changes[-1][1]
    opened = _time(first, "opened_at", zone)
    if opened is None:
        raise RowError("opened_at", "empty")
    priority = _sn_priority(final)
    raw_channel = (final.get("contact_type") or "").lower()
    channel = Channel(SN_CHANNEL.get(raw_channel, "portal"))
    if raw_channel not in SN_CHANNEL:
        note("channel", f"contact type {final.get('contact_type')!r}: filed as portal")
    history = [_opened(export, opened, f"incident {ref}")]
    status = Status.NEW
    raw_state = ""
    group = None
    responded: datetime | None = None
    resolved_seen: datetime | None = None
    last = opened
    early = False
    pauses: list[tuple[datetime, datetime]] = []
    waiting_since: datetime | None = None
    for _line, row in changes:
        word = _pick(row, "incident_state", SN_STATE, "incident state")
        at = _time(row, "sys_updated_at", zone) or opened
        if at < opened:
            early, at = True, opened
        last = max(last, at)
        new_group = _present(row.get("assignment_group"))
        if new_group and new_group != group:
            if group is not None:
                history.append(HistoryEntry(EventKind.NOTE, at, body=f"reassigned to {new_group}"))
            group = new_group
        state = row.get("incident_state", "").strip()
        if Status(word) is status and state == raw_state:
            continue
        if Status(word) is not status:
            history.append(
                HistoryEntry(
                    EventKind.STATUS,
                    at,
                    body=f"{state} (in ServiceNow)",
                    old=status.value,
                    new=word,
                )
            )
        elif raw_state:  # e.g. Active -> Awaiting Vendor: both open here
            history.append(HistoryEntry(EventKind.NOTE, at, body=f"{state} (in ServiceNow)"))
        if status is Status.NEW and word != Status.NEW.value and responded is None:
            responded = at
        if word == Status.PENDING_CUSTOMER.value and waiting_since is None:
            waiting_since = at
        elif word != Status.PENDING_CUSTOMER.value and waiting_since is not None:
            pauses.append((waiting_since, at))
            waiting_since = None
        if word in ("resolved", "closed") and resolved_seen is None:
            resolved_seen = at
        if word not in ("resolved", "closed"):
            resolved_seen = None  # reopened
        status, raw_state = Status(word), state
    if early:
        note(
            "time_before_open", "changes dated before the incident was opened: moved to its opening"
        )
    resolved = None
    if status in (Status.RESOLVED, Status.CLOSED):
        resolved = (
            _time(final, "resolved_at", zone) or resolved_seen or _time(final, "closed_at", zone)
        )
        if resolved is not None and resolved < opened:
            note("time_before_open", "resolved before it was opened: resolved at its opening")
            resolved = opened
        if responded is None or (resolved is not None and resolved < responded):
            responded = resolved
    parts = [
        p for p in (_present(final.get(c)) for c in ("category", "subcategory", "u_symptom")) if p
    ]
    subject = " · ".join(parts) or f"Incident {ref}"
    facts = [
        ("impact", "impact"),
        ("urgency", "urgency"),
        ("priority", "priority"),
        ("assignment group", "assignment_group"),
        ("location", "location"),
        ("made SLA there", "made_sla"),
        ("closed code", "closed_code"),
        ("resolved by", "resolved_by"),
        ("reassignments", "reassignment_count"),
        ("reopened", "reopen_count"),
    ]
    description = "\n".join(
        f"{label}: {value}"
        for label, column in facts
        if (value := _present(final.get(column))) is not None
    )
    caller = _present(first.get("caller_id"))
    return Record(
        ref=ref,
        line=line,
        account_key=slug(caller or "unknown-caller"),
        company=caller or "Unknown caller",
        contact_name=caller,
        contact_email=None,
        subject=f"{ref}: {subject}"[:300],
        description=description,
        category=Category.TECHNICAL,
        request_type="technical",
        priority=priority,
        channel=channel,
        status=status,
        created_at=opened,
        start_known=True,
        first_response_at=responded,
        resolved_at=resolved,
        resolution_code="fixed" if resolved is not None else None,
        last_activity_at=max(last, resolved or last),
        staff_spoke_last=responded is not None,
        history=history,
        pauses=pauses,
    )


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
    "servicenow": _servicenow,
}
