"""What an export becomes before it is imported: records, their history and problems, and the
field readers every format shares (times in the export's zone, mapped values, blanks)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import IO, Any

from supportdesk.core.views import JsonMixin
from supportdesk.enums import Category, Channel, EventKind, Priority, Status

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
    call_outcome: str | None = None
    redacted_at: datetime | None = None  # the desk's own export: a text a lead redacted


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
    # the desk's own export: its files (import_desk.FileRef, bytes left in the file) and how
    # to open that file again to read them one at a time
    files: list[Any] = field(default_factory=list)
    reopen: Callable[[], IO[bytes]] | None = None


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


def time_of(row: dict[str, str], column: str, zone: tzinfo) -> datetime | None:
    value = row.get(column, "")
    if value.lower() in MISSING:
        return None
    try:
        return parse_time(value, zone)
    except ValueError as exc:
        raise RowError(column, str(exc)) from None


def pick(row: dict[str, str], column: str, table: dict[str, str], what: str) -> str:
    value = row.get(column, "")
    key = value.strip().lower()
    if key not in table:
        known = ", ".join(sorted({k.title() for k in table}))
        raise RowError(column, f"unknown {what} {value!r} (one of: {known})")
    return table[key]


def present(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() in MISSING else value.strip()


def slug(text: str) -> str:
    """An account id made of `text`: lower case letters, digits, . _ - (at most 64)."""
    out = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")
    return (out or "customer")[:64].rstrip("-._")


def opened_entry(export: Export, at: datetime, what: str) -> HistoryEntry:
    """The first entry of an imported thread: where it came from."""
    return HistoryEntry(
        EventKind.CREATED,
        at,
        body=f"Imported from {export.name} ({export.format}), {what}",
        new=Status.NEW.value,
    )


def rows_of(
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
