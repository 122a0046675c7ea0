"""Claims handed over at a shift's end, so that no demo engineer holds more than the
holding limit (an engineer can claim on a fresh demo)."""

from __future__ import annotations

import random

from sqlalchemy import Connection
from sqlalchemy import text as sql_text

from .generate import Generator
from .rows import StaffRow

WAITING_CLAIMS_CAP = 40  # held tickets that do not count against the limit, kept per person
SHIFT_END_UTC_H = 16  # 18:00 at the demo desk (SAST, UTC+2): when a shift hands over
HANDOVER_NOTES = (
    "back tomorrow at 08:00; the threads are up to date and nothing is waiting on me",
    "see my last note on each ticket for where I got to",
    "no promises made on timing; pick up from the last reply",
    "customers know someone else may pick these up",
    "nothing here needs me in particular; the board has the details",
)


def _shift_end_sql(sqlite: bool, column: str) -> str:
    """SQL for the end of the shift (SHIFT_END_UTC_H) after a time, but never after :now."""
    hour = SHIFT_END_UTC_H
    if sqlite:  # times are the text of `sqlite_timestamp`
        close = f"{hour:02d}:00:00.000000"
        return (
            f"min(:now, CASE WHEN substr({column}, 12) < '{close}'"
            f" THEN substr({column}, 1, 11) || '{close}'"
            f" ELSE date({column}, '+1 day') || ' {close}' END)"
        )
    day = f"(date_trunc('day', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    return (
        f"LEAST(:now, {day} + CASE WHEN ({column} AT TIME ZONE 'UTC')::time < time '{hour}:00'"
        f" THEN interval '{hour} hours' ELSE interval '{hour + 24} hours' END)"
    )


def hand_over_excess_claims(conn: Connection, gen: Generator, staff: list[StaffRow]) -> int:
    """Release what nobody could really hold: the generator gives each holder hundreds of
    live tickets, and with a holding limit of `max_claims` nobody could claim anything.

    Each holder keeps their `max_claims - 2` most recently active new/open tickets (room to
    claim two more) and WAITING_CLAIMS_CAP of the others (waiting on the customer, scheduled,
    awaiting authorization: they do not count against the limit); the rest are handed over
    as `end_shift` would: a `holder` event by the holder with one handover note, at the end
    of the shift after the ticket's last activity (at most now), which is left as it was
    (a release is no message); no holder, no touched time. Set-based SQL in the load's
    transaction; returns how many tickets were released."""
    sqlite = conn.dialect.name == "sqlite"
    keep = max(0, gen.policy.escalation.max_claims - 2)
    rng = random.Random(f"{gen.seed}:handover")
    notes = [{"holder": s[0], "body": "Handover: " + rng.choice(HANDOVER_NOTES)} for s in staff]
    at_type = "TEXT" if sqlite else "timestamptz"
    working = "CASE WHEN t.view = 'queue' THEN 1 ELSE 0 END"
    statements = (
        f"CREATE TEMP TABLE demo_handover (id INTEGER PRIMARY KEY, holder_id INTEGER NOT NULL,"
        f" at {at_type} NOT NULL)",
        "CREATE TEMP TABLE demo_handover_note (holder_id INTEGER PRIMARY KEY, body TEXT)",
        # the held live tickets past each holder's share, most recently active first
        "INSERT INTO demo_handover (id, holder_id, at) SELECT x.id, x.holder_id, x.at FROM"
        f" (SELECT t.id, t.holder_id, {_shift_end_sql(sqlite, 't.last_activity_at')} AS at,"
        f" {working} AS working, row_number() OVER (PARTITION BY t.holder_id, {working}"
        " ORDER BY t.last_activity_at DESC, t.id DESC) AS n"
        " FROM tickets t WHERE t.view <> 'done' AND t.holder_id IS NOT NULL) x"
        " WHERE x.n > CASE WHEN x.working = 1 THEN :keep ELSE :cap END",
        "INSERT INTO ticket_events (ticket_id, kind, staff_id, from_customer, visible, body,"
        " old_value, new_value, created_at)"
        " SELECT h.id, 'holder', h.holder_id, FALSE, FALSE, n.body, s.login, NULL, h.at"
        " FROM demo_handover h JOIN staff s ON s.id = h.holder_id"
        " JOIN demo_handover_note n ON n.holder_id = h.holder_id ORDER BY h.id",
        # by id (UPDATE ... FROM made SQLite scan every ticket for the few it changes)
        # the last activity stays the customer's or staff's last message, as a real release
        # leaves it (the queue's "Last" column would show a handover as the customer's word)
        "UPDATE tickets SET holder_id = NULL, touched_at = NULL,"
        " updated_at = (SELECT h.at FROM demo_handover h WHERE h.id = tickets.id)"
        " WHERE id IN (SELECT id FROM demo_handover)",
    )
    params = {"now": gen.ts(gen.now), "keep": keep, "cap": WAITING_CLAIMS_CAP}
    for stmt in statements[:3]:
        conn.execute(sql_text(stmt), params)
    if notes:
        conn.execute(
            sql_text("INSERT INTO demo_handover_note (holder_id, body) VALUES (:holder, :body)"),
            notes,
        )
    released = int(conn.execute(sql_text("SELECT count(*) FROM demo_handover")).scalar_one())
    for stmt in statements[3:]:
        conn.execute(sql_text(stmt))
    conn.execute(sql_text("DROP TABLE demo_handover"))
    conn.execute(sql_text("DROP TABLE demo_handover_note"))
    return released
