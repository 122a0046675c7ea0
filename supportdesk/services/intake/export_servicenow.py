"""ServiceNow's incident event log: one row per change, folded into one record per incident."""

from __future__ import annotations

from datetime import datetime, tzinfo

from supportdesk.enums import Category, Channel, EventKind, Priority, Status
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


def servicenow_export(
    export: Export, rows: list[tuple[int, dict[str, str]]], zone: tzinfo, now: datetime
) -> None:
    incidents: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, ref, row in rows_of(export, rows, lambda r: r.get("number", "")):
        incidents.setdefault(ref, []).append((line, row))
    for ref, changes in incidents.items():
        try:
            record = servicenow_record(export, ref, changes, zone)
        except RowError as exc:
            export.rejected.append(Problem(changes[0][0], ref, "bad_row", str(exc)))
            continue
        export.records.append(record)


def _mod_count(row: dict[str, str]) -> int:
    value = row.get("sys_mod_count", "")
    return int(value) if value.isdigit() else 0


def servicenow_record(
    export: Export, ref: str, changes: list[tuple[int, dict[str, str]]], zone: tzinfo
) -> Record:
    line = changes[0][0]

    def note(kind: str, text: str) -> None:
        export.notes.append(Problem(line, ref, kind, text))

    changes = sorted(changes, key=lambda c: _mod_count(c[1]))  # stable: file order on ties
    first, final = changes[0][1], changes[-1][1]
    opened = time_of(first, "opened_at", zone)
    if opened is None:
        raise RowError("opened_at", "empty")
    priority = _sn_priority(final)
    raw_channel = (final.get("contact_type") or "").lower()
    channel = Channel(SN_CHANNEL.get(raw_channel, "portal"))
    if raw_channel not in SN_CHANNEL:
        note("channel", f"contact type {final.get('contact_type')!r}: filed as portal")
    history = [opened_entry(export, opened, f"incident {ref}")]
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
        word = pick(row, "incident_state", SN_STATE, "incident state")
        at = time_of(row, "sys_updated_at", zone) or opened
        if at < opened:
            early, at = True, opened
        last = max(last, at)
        new_group = present(row.get("assignment_group"))
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
            time_of(final, "resolved_at", zone)
            or resolved_seen
            or time_of(final, "closed_at", zone)
        )
        if resolved is not None and resolved < opened:
            note("time_before_open", "resolved before it was opened: resolved at its opening")
            resolved = opened
        if responded is None or (resolved is not None and resolved < responded):
            responded = resolved
    parts = [
        p for p in (present(final.get(c)) for c in ("category", "subcategory", "u_symptom")) if p
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
        if (value := present(final.get(column))) is not None
    )
    caller = present(first.get("caller_id"))
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
