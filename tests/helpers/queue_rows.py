"""The queue's rows as core/queue.py built them before its conversion was made cheaper:
the timestamps read as timestamptz (PostgreSQL) or UTC text (SQLite), every value through
parse_utc and every clock through SlaClock's and TicketClocks' own constructors. A reference
the faster conversion is compared with, row by row (tests/services/test_queue_rows.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from supportdesk.core.desk import Desk
from supportdesk.core.presence import marker_cutoff
from supportdesk.core.queue import PRIORITY_NAMES
from supportdesk.core.views import QueueRow, parse_utc
from supportdesk.rules.sla_engine import ClockState, SlaClock, TicketClocks

COLUMNS = (
    "SELECT t.id, t.priority_rank, t.account_id, t.subject, t.category, t.channel, t.status,"
    " t.tier, t.created_at, t.last_speaker, t.last_activity_at, t.contact_id, t.service_id,"
    " t.caller_name, t.holder_id, t.sla_plan, t.sla_key,"
    " t.respond_state, t.respond_target_s, t.respond_used_s, t.respond_paused_s,"
    " t.respond_since, t.respond_due, t.respond_paused,"
    " t.resolve_state, t.resolve_target_s, t.resolve_used_s, t.resolve_paused_s,"
    " t.resolve_since, t.resolve_due, t.resolve_paused,"
)
SQLITE_SQL = (
    COLUMNS + " (SELECT a.company FROM accounts a WHERE a.id = t.account_id),"
    " (SELECT c.name FROM contacts c WHERE c.id = t.contact_id) FROM tickets t"
)
PG_SQL = COLUMNS + " t.company_name, t.contact_name FROM tickets t"
# who has which ticket open, and the staff's logins: two statements of their own (the queue
# reads both in one)
PRESENCE_SQL = (
    "SELECT p.ticket_id, p.staff_id, s.login FROM presence p JOIN staff s ON s.id = p.staff_id"
    " WHERE p.ticket_id IS NOT NULL AND p.state <> 'off' AND p.seen_at >= ?"
)
STAFF_SQL = "SELECT id, login FROM staff"


def reference_sql(desk: Desk) -> str:
    return SQLITE_SQL if desk.store.is_sqlite else PG_SQL


def _clock(values: Sequence[Any]) -> SlaClock:
    state, target, used, paused_s, since, due, paused = values
    if state == "none":
        return SlaClock()
    return SlaClock(
        ClockState(state),
        target,
        used or 0,
        paused_s or 0,
        None if since is None else parse_utc(since),
        None if due is None else parse_utc(due),
        paused,
    )


def reference_rows(desk: Desk, raw: list[tuple[Any, ...]]) -> list[QueueRow]:
    me = desk.actor.staff_id
    open_by: dict[int, set[str]] = {}
    cutoff = desk.store.timestamp_param(marker_cutoff(datetime.now(UTC)))
    for tid, sid, login in desk.store.query(PRESENCE_SQL, (cutoff,)):
        if sid != me:
            open_by.setdefault(tid, set()).add(login)
    logins = dict(desk.store.query(STAFF_SQL))
    out = []
    for row in raw:
        (tid, rank, account, subject, category, channel, status, tier, created, speaker) = row[:10]
        activity, contact_id, service, caller, holder_id, plan, sla_key = row[10:17]
        clocks, company, contact = row[17:31], row[31], row[32]
        out.append(
            QueueRow(
                id=tid,
                priority=PRIORITY_NAMES[rank],
                account=account,
                company=company or "",
                subject=subject,
                category=category,
                channel=channel,
                status=status,
                tier=tier,
                created_at=parse_utc(created),
                holder=logins.get(holder_id) if holder_id is not None else None,
                last_speaker=speaker,
                last_activity_at=parse_utc(activity),
                contact=contact if contact_id is not None else caller,
                service=service,
                open_by=tuple(sorted(open_by.get(tid, ()))),
                sla_plan=plan,
                sla_key=sla_key,
                clocks=TicketClocks(_clock(clocks[:7]), _clock(clocks[7:])),
            )
        )
    return out
