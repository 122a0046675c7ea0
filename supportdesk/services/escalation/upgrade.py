"""Escalation rows and tier times from recorded history (migration 0005 and the demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def backfill(conn: Connection) -> None:
    """Escalation rows and tier times from the recorded history: before 0005 the only way
    up a tier was a `tier` event (the demo's), and nothing came back down. Set-based SQL, so
    a million tickets take seconds."""
    from sqlalchemy import text

    # an escalation is numbered like its ticket (the table is empty when this runs, and the
    # demo generator writes tickets.escalation_id that way)
    # a tier event's body is the reason, then "\nTried: ..." (as `escalate` writes it)
    if conn.dialect.name == "postgresql":
        cut = "strpos(e.body, chr(10) || 'Tried: ')"
    else:
        cut = "instr(e.body, char(10) || 'Tried: ')"
    reason = (
        f"CASE WHEN {cut} > 0 THEN substr(e.body, 1, {cut} - 1)"
        " ELSE coalesce(e.body, 'escalated') END"
    )
    tried = f"CASE WHEN {cut} > 0 THEN substr(e.body, {cut} + 8) ELSE '' END"
    # each escalated ticket with its last `tier` event
    if conn.dialect.name == "postgresql":
        # the event found by a LATERAL lookup: PostgreSQL ran the max() subquery twice per
        # ticket and hashed every event for the join (7.3 s at 1M tickets; this 2.2 s)
        tiered = (
            " FROM tickets l LEFT JOIN LATERAL (SELECT x.staff_id, x.created_at, x.body"
            " FROM ticket_events x WHERE x.ticket_id = l.id AND x.kind = 'tier'"
            " ORDER BY x.id DESC LIMIT 1) e ON TRUE"
            " WHERE l.tier > 1"
            " AND NOT EXISTS (SELECT 1 FROM escalations y WHERE y.ticket_id = l.id)"
        )
    else:
        tiered = (
            " FROM (SELECT t.id, t.tier, t.status, t.created_at, t.resolved_at,"
            " (SELECT max(x.id) FROM ticket_events x WHERE x.ticket_id = t.id"
            " AND x.kind = 'tier') AS eid"
            " FROM tickets t WHERE t.tier > 1"
            " AND NOT EXISTS (SELECT 1 FROM escalations y WHERE y.ticket_id = t.id)) l"
            " LEFT JOIN ticket_events e ON e.id = l.eid"
        )
    conn.execute(
        text(
            "INSERT INTO escalations (id, ticket_id, kind, from_tier, to_tier, reason, tried,"
            " by_id, at, ended_at, ended_how)"
            f" SELECT l.id, l.id, 'tier', 1, l.tier, {reason}, {tried},"
            " e.staff_id,"
            " coalesce(e.created_at, l.created_at),"
            " CASE WHEN l.status IN ('resolved', 'closed') THEN l.resolved_at END,"
            " CASE WHEN l.status IN ('resolved', 'closed') THEN 'solved' END"
            f"{tiered} ORDER BY l.id"
        )
    )
    # the first claim after the escalation: a holder event, else the first thing someone
    # other than the escalator did on the ticket after it (found once per escalation, in a
    # scratch table, then copied)
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('escalations', 'id'),"
                " coalesce(max(id), 0) + 1, false) FROM escalations"
            )
        )
    conn.execute(text("CREATE TEMPORARY TABLE first_claims (esc INTEGER PRIMARY KEY, ev INTEGER)"))
    conn.execute(
        text(
            "INSERT INTO first_claims (esc, ev) SELECT x.id, (SELECT y.id FROM ticket_events y"
            " WHERE y.ticket_id = x.ticket_id AND y.created_at >= x.at"
            " AND y.staff_id IS NOT NULL AND (x.by_id IS NULL OR y.staff_id <> x.by_id)"
            " AND y.kind IN ('holder', 'reply', 'call', 'note', 'status')"
            " ORDER BY y.created_at, y.id LIMIT 1)"
            " FROM escalations x WHERE x.claimed_at IS NULL AND x.kind = 'tier'"
        )
    )
    conn.execute(text("DELETE FROM first_claims WHERE ev IS NULL"))
    conn.execute(
        text(
            "UPDATE escalations SET"
            " claimed_at = (SELECT e.created_at FROM first_claims f"
            " JOIN ticket_events e ON e.id = f.ev WHERE f.esc = escalations.id),"
            " claimed_by_id = (SELECT e.staff_id FROM first_claims f"
            " JOIN ticket_events e ON e.id = f.ev WHERE f.esc = escalations.id)"
            " WHERE id IN (SELECT esc FROM first_claims)"
        )
    )
    conn.execute(text("DROP TABLE first_claims"))
    # tickets point at their escalation (by primary key: no scan of every ticket)
    conn.execute(
        text(
            "UPDATE tickets SET escalation_id = (SELECT max(x.id) FROM escalations x"
            " WHERE x.ticket_id = tickets.id), escalations = 1"
            " WHERE id IN (SELECT ticket_id FROM escalations WHERE kind = 'tier')"
            " AND escalation_id IS NULL"
        )
    )
    # when live tickets reached their tier (a reopened one gets it when it reopens), and
    # when held ones were last touched; `view <> 'done'` lets both read a live-ticket index
    conn.execute(
        text(
            "UPDATE tickets SET tier_since = coalesce((SELECT x.at FROM escalations x"
            " WHERE x.id = tickets.escalation_id), created_at)"
            " WHERE view <> 'done' AND tier_since IS NULL"
        )
    )
    conn.execute(
        text(
            "UPDATE tickets SET touched_at = last_activity_at"
            " WHERE view <> 'done' AND holder_id IS NOT NULL AND touched_at IS NULL"
        )
    )
