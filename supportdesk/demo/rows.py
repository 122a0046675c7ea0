"""The shape of generated rows: times as integer microseconds, the column lists of the bulk
loaded tables, and event shapes coded as small integers (expanded back to columns by SQL).

Every part of the generator shares these, so they live apart from all of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from supportdesk.rules.sla_engine import CLOCKS
from supportdesk.services.sla.bulk import CLOCK_FIELDS

Row = tuple[Any, ...]
StaffRow = tuple[int, str, int, str, str, str]  # id, login, tier, role, first name, name

DAYS = 90  # tickets span this many days before now
SEC = 1_000_000  # all times are integer microseconds since the epoch while generating
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
LOCAL_OFFSET_US = 2 * HOUR  # times quoted in ticket texts are in SAST (UTC+2)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK = 20_000  # tickets per generation unit (own random numbers) and per progress call
BUSY_WAIT_S = 5.0  # how long settling a file waits for another connection
PARALLEL_MIN = 100_000  # from this many tickets (SQLite) worker processes make them
# Tickets picked to be active: new+open 20 %, awaiting authorization 2 %, pending 3 %,
# scheduled 1 %, plus the stale urgent ones that are then closed instead (STALE_AFTER_US).
ACTIVE_SHARE = 0.28
AUTO_CLOSE_US = 4 * DAY  # resolved tickets close by themselves after this
RECENT_US = 7 * DAY  # done tickets younger than this keep their full thread
ADMIN_REQUESTS = ("password_reset", "contact_change", "cancellation", "billing")

STATUS_SHARES = (
    ("open", 20),
    ("awaiting_authorization", 2),
    ("pending_customer", 3),
    ("scheduled", 1),
)
RESOLUTION_SHARES = (
    ("fixed", 84),
    ("duplicate", 4),
    ("out_of_scope", 3),
    ("no_response", 5),
    ("not_authorized", 2),
    ("unlisted_sender", 2),
)
PRIORITY_SHARES = (3, 12, 45, 40)  # critical, high, medium, low
CHANNEL_SHARES = (("phone", 30), ("email", 35), ("chat", 12), ("portal", 23))
# Local hours at which tickets arrive: busy in office hours, a trickle at night.
HOUR_SHARES = (1, 1, 1, 1, 1, 2, 3, 6, 10, 11, 11, 10, 8, 9, 10, 9, 8, 6, 4, 3, 3, 2, 2, 1)
PRIORITY_NAMES = ("critical", "high", "medium", "low")
FIRST_RESPONSE_US = (12 * MIN, 50 * MIN, 3 * HOUR, 8 * HOUR)  # typical, by priority rank
RESOLVE_US = (2 * HOUR, 8 * HOUR, 30 * HOUR, 60 * HOUR)
STALE_AFTER_US = (2 * DAY, 7 * DAY, 10_000 * DAY, 10_000 * DAY)  # no older active ticket
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

TICKET_COLUMNS = (
    "id",
    "account_id",
    "contact_id",
    "caller_name",
    "caller_phone",
    "service_id",
    "request_type",
    "subject",
    "description",
    "category",
    "priority_rank",
    "channel",
    "status",
    "tier",
    "created_at",
    "updated_at",
    "first_response_at",
    "resolved_at",
    "resolution_code",
    "holder_id",
    "merged_into_id",
    "last_speaker",
    "last_activity_at",
    "tier_since",  # when it reached its tier: created, or its `tier` event (the boards' order)
    # its escalation (numbered like the ticket: escalation.backfill writes the rows) and how
    # many times it went up
    "escalation_id",
    "escalations",
    # the SLA clocks the ticket's history implies (sla_engine.from_history)
    "sla_plan",
    "sla_key",
    *(f"{clock}_{field}" for clock in CLOCKS for field in CLOCK_FIELDS),
    # who stopped the clocks: who answered first, who resolved or closed it (issue 16)
    "responded_by",
    "resolved_by",
)
EVENT_COLUMNS = (  # no id: the database numbers events in insertion order
    "ticket_id",
    "kind",
    "staff_id",
    "from_customer",
    "visible",
    "body",
    "call_outcome",
    "old_value",
    "new_value",
    "created_at",
)

# The generator's rows are compact, because binding values is the slow part of writing
# them (None is the slowest): 0 or "" stand for NULL, `updated_at` is left out (it equals
# `last_activity_at`), and an event's kind, flags and call outcome are one shape code.
# `ticket_row` / `event_row` (or the SQL in `SqliteLoader.copy_part`) expand them.
TICKET_ROW = tuple(c for c in TICKET_COLUMNS if c != "updated_at")
NULL_AS: dict[str, int | str] = {
    "escalation_id": 0,
    "contact_id": 0,
    "caller_name": "",
    "caller_phone": "",
    "service_id": 0,
    "first_response_at": "",
    "resolved_at": "",
    "resolution_code": "",
    "holder_id": 0,
    "merged_into_id": 0,
    "responded_by": 0,
    "resolved_by": 0,
    **{f"{clock}_{field}": "" for clock in CLOCKS for field in ("since", "due", "paused")},
    **{f"{clock}_target_s": 0 for clock in CLOCKS},  # a target is never zero
}
LAST_ACTIVITY = TICKET_ROW.index("last_activity_at")
# How a ticket's resolve clock was held (paused) before it closed or while it stands.
HELD_BY = {"no_response": "pending_customer", "not_authorized": "awaiting_authorization"}
HELD_STATUSES = frozenset({"pending_customer", "awaiting_authorization"})
EVENT_ROW = ("ticket_id", "shape", "staff_id", "body", "old_value", "new_value", "created_at")
# shape code -> (kind, from_customer, visible, call_outcome)
SHAPES: tuple[tuple[str, int, int, str | None], ...] = (
    ("created", 1, 1, None),
    ("reply", 0, 1, None),
    ("reply", 1, 1, None),
    ("status", 0, 0, None),
    ("tier", 0, 0, None),
    ("holder", 0, 0, None),
    ("note", 0, 0, None),
    ("merge", 0, 0, None),
    ("call", 0, 0, "spoke"),
    ("call", 0, 0, "voicemail"),
    ("call", 0, 0, "no_answer"),
)
SHAPE_CODES = {(kind, outcome): code for code, (kind, _c, _v, outcome) in enumerate(SHAPES)}


def shape_case(field: int) -> str:
    """SQL giving one SHAPES field from an event's `shape` code."""
    whens = " ".join(
        f"WHEN {code} THEN {'NULL' if shape[field] is None else repr(shape[field])}"
        for code, shape in enumerate(SHAPES)
    )
    return f"CASE shape {whens} END"


def ticket_row(row: Row) -> Row:
    """A generated ticket row as TICKET_COLUMNS (NULLs back, `updated_at` added)."""
    full = [
        None if name in NULL_AS and value == NULL_AS[name] else value
        for name, value in zip(TICKET_ROW, row, strict=True)
    ]
    full.insert(TICKET_COLUMNS.index("updated_at"), row[LAST_ACTIVITY])
    return tuple(full)


def event_row(row: Row) -> Row:
    """A generated event row as EVENT_COLUMNS."""
    ticket_id, shape, staff_id, body, old, new, at = row
    kind, from_customer, visible, outcome = SHAPES[shape]
    return (
        ticket_id, kind, staff_id or None, from_customer, visible, body or None, outcome,
        old or None, new or None, at,
    )  # fmt: skip


ACCOUNT_COLUMNS = (
    "id",
    "company",
    "plan",
    "status",
    "suspended_reason",
    "notes",
    "reseller_id",
    "created_at",
)
SERVICE_COLUMNS = ("id", "account_id", "kind", "label", "domains", "server", "created_at")
CONTACT_COLUMNS = ("id", "account_id", "name", "role", "active", "created_at")
POINT_COLUMNS = ("id", "contact_id", "kind", "value")

DIRECTORY_TABLES = ("accounts", "services", "contacts", "contact_points")
TICKET_TABLES = ("tickets", "ticket_events")
BULK_TABLES = (*DIRECTORY_TABLES, *TICKET_TABLES)
