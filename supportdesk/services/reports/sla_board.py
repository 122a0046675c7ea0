"""The lead's SLA board as plain data: what is breached and what breaches next, who is at
their desk and what they hold, what needs a lead, and how the desk is doing.

Every part is a bounded read off an index (the live-due index for the clocks, the claims
index for holders, small partial indexes for locked contacts, complaints and SLA events), so
the board's first read stays fast at a million tickets. Figures come from
`services.report` (the same definitions as `supportdesk report sla`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from supportdesk.core import permissions
from supportdesk.core.claims import claim_rules
from supportdesk.core.desk import Desk
from supportdesk.core.presence import marker_cutoff
from supportdesk.core.queue import LIVE_TERM, rows_where
from supportdesk.core.views import MailAlarmView, QueueRow, parse_utc_or_none
from supportdesk.services import escalation
from supportdesk.services.outbox.views import mail_alarm
from supportdesk.services.reports.common import HELD_TOO_LONG, day_start, epoch_of
from supportdesk.services.reports.drill import drill  # noqa: F401 - re-exported
from supportdesk.services.reports.sla_figures import (  # noqa: F401 - re-exported
    QUARTER,
    Figures,
    figures,
)

URGENT_WINDOW = 120  # rows of "breached and due within the hour" read at once
HOUR = 3600
URGENT_END = (-(2**62), 0)  # an anchor past the last row: `urgent_page(before=URGENT_END)`
PAUSED_LIMIT = 20
ATTENTION_LIMIT = 30
NO_ACTIVITY = timedelta(hours=4)
NEAR_BREACH = timedelta(hours=1)  # a downgrade this close to a breach is flagged


@dataclass(frozen=True)
class Headline:
    breached: int
    due_15: int
    due_60: int
    unclaimed: dict[int, int]  # tier -> claimable escalations nobody holds
    oldest_wait: dict[int, datetime | None]
    held: int
    present: int


@dataclass(frozen=True)
class Urgent:
    row: QueueRow
    clock: str  # respond | resolve: the clock that is due first
    why: tuple[str, ...]  # unclaimed, holder away, holder off, no activity


@dataclass(frozen=True)
class Moved:
    ticket_id: int
    at: datetime
    who: str | None
    clock: str
    why: str
    old_due: datetime | None
    new_due: datetime | None
    downgrade_near_breach: bool


@dataclass(frozen=True)
class Person:
    login: str
    name: str
    role: str
    tier: int
    presence: str  # available | away | off
    holds: int
    stale: int
    nearest_due: datetime | None
    oldest_touch: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True)
class Locked:
    contact_id: int
    account: str
    name: str
    locked_until: datetime
    attempts: tuple[tuple[datetime, str | None, str, str], ...]  # at, who, method, result
    failures: int = 0  # consecutive failures that locked it (the one that locked counts)


@dataclass(frozen=True)
class Attention:
    locked: tuple[Locked, ...]
    unlisted: tuple[QueueRow, ...]  # held mail from unlisted senders
    unlisted_closed_today: int
    held_old: tuple[QueueRow, ...]
    complaints: tuple[QueueRow, ...]
    stale: tuple[escalation.Claim, ...]


@dataclass(frozen=True)
class UrgentPage:
    """One window of "breached and due within the hour", in the lead's order: what can
    still be saved (due within the hour, soonest first), then the breaches, freshest first."""

    rows: tuple[Urgent, ...]
    more_before: bool
    more_after: bool


@dataclass(frozen=True)
class SlaBoard:
    at: datetime
    headline: Headline
    urgent: tuple[Urgent, ...]  # one window of the list (urgent_page)
    paused: tuple[QueueRow, ...]
    moved: tuple[Moved, ...]
    people: tuple[Person, ...]
    attention: Attention
    urgent_more_before: bool = False
    urgent_more_after: bool = False
    max_ticket_id: int = 0  # a ticket above it is new since this snapshot (the board's bell)
    mail_alarm: MailAlarmView | None = None  # the mail transport fails: nothing goes out

    @property
    def urgent_total(self) -> int:
        """Every ticket of the list, shown or not: breached, and due within the hour."""
        return self.headline.breached + self.headline.due_60


def presence_of(desk: Desk, now: datetime) -> dict[int, tuple[str, datetime | None]]:
    """Each staff member's presence from their running consoles: available beats away;
    nobody running (or only long-dead markers) is off. Presence is kept in real time, so a
    board under a frozen clock still sees who is here now."""
    del now
    cutoff = desk.store.timestamp_param(marker_cutoff(desk.clock.real_now()))
    rank = {"available": 2, "away": 1}
    out: dict[int, tuple[str, datetime | None]] = {}
    for sid, state, seen in desk.store.query(
        "SELECT staff_id, state, seen_at FROM presence WHERE state <> 'off' AND seen_at >= ?",
        (cutoff,),
    ):
        seen_at = parse_utc_or_none(seen)
        have = out.get(sid)
        if have is None or rank.get(state, 0) > rank.get(have[0], 0):
            out[sid] = (state if state in rank else "available", seen_at)
    return out


# Paused clocks, least time left first, read in order off ix_tickets_paused: the WHERE and
# the expression are the index's own, word for word (models/tickets.py PAUSED_WHERE and
# PAUSED_LEFT, whose import would cost SQLAlchemy's; tests/services/test_pg_plans.py holds
# them equal), or SQLite would not match them to it.
PAUSED_WHERE = (
    "t.view <> 'queue' AND t.view <> 'done'"
    " AND (t.respond_state = 'paused' OR t.resolve_state = 'paused')"
)
PAUSED_LEFT = (
    "CASE WHEN t.respond_state = 'paused' AND t.respond_target_s IS NOT NULL"
    " THEN t.respond_target_s - t.respond_used_s"
    " WHEN t.resolve_target_s IS NOT NULL THEN t.resolve_target_s - t.resolve_used_s"
    " ELSE 999999999 END"
)


def snapshot(desk: Desk, urgent_from: Anchor | None = None) -> SlaBoard:
    """Everything on the board except the figures (see `figures`); the urgent list's window
    from the row `urgent_from` (None: from the top)."""
    permissions.require(desk.actor, "board.sla")
    store = desk.store
    now = desk.now()
    epoch = epoch_of(now)
    due_count = (
        "SELECT count(*) FROM tickets t WHERE t.view = ? AND " + LIVE_TERM + " AND t.sla_key <= ?"
    )
    views = VIEWS

    def count_due(until: int) -> int:
        return sum(int(store.query(due_count, (v, until))[0][0]) for v in views)

    breached = count_due(epoch)
    unclaimed: dict[int, int] = {}
    oldest: dict[int, datetime | None] = {}
    for tier in (2, 3):
        n, first = store.query(
            "SELECT count(*), min(t.tier_since) FROM tickets t WHERE t.view = 'queue' AND "
            f"{LIVE_TERM} AND t.tier = ? AND t.holder_id IS NULL",
            (tier,),
        )[0]
        unclaimed[tier] = int(n)
        oldest[tier] = parse_utc_or_none(first)
    held = int(
        store.query(f"SELECT count(*) FROM tickets t WHERE t.view = 'held' AND {LIVE_TERM}")[0][0]
    )
    present = presence_of(desk, now)
    headline = Headline(
        breached,
        count_due(epoch + 15 * 60) - breached,
        count_due(epoch + 60 * 60) - breached,
        unclaimed,
        oldest,
        held,
        sum(1 for state, _seen in present.values() if state == "available"),
    )
    # breached and due within the hour: one window, from `urgent_from` (None: the top)
    page = urgent_page(desk, start_at=urgent_from, present=present)
    # paused clocks, apart: the least time left first
    paused = rows_where(
        desk, f" WHERE {PAUSED_WHERE} ORDER BY {PAUSED_LEFT}, t.id LIMIT ?", [PAUSED_LIMIT]
    )
    moved = _moved_today(desk, now)
    people = _people(desk, now, present)
    attention = _attention(desk, now)
    return SlaBoard(
        now,
        headline,
        page.rows,
        tuple(paused),
        moved,
        people,
        attention,
        page.more_before,
        page.more_after,
        int(store.query("SELECT coalesce(max(id), 0) FROM tickets")[0][0]),
        mail_alarm(desk),
    )


VIEWS = ("queue", "held", "waiting", "scheduled")
Anchor = tuple[int, int]  # (sla_key, id) of a row of the urgent list


def _due_rows(
    desk: Desk, cond: str, params: list[Any], *, desc: bool, limit: int
) -> list[QueueRow]:
    """Live rows whose due key meets `cond`, in due order (descending with `desc`): each view
    read off its part of the live-due index (view, sla_key, id), then merged."""
    if limit <= 0:
        return []
    order = " ORDER BY t.sla_key DESC, t.id DESC" if desc else " ORDER BY t.sla_key, t.id"
    rows: list[QueueRow] = []
    for view in VIEWS:
        rows += rows_where(
            desk,
            f" WHERE t.view = ? AND {LIVE_TERM} AND {cond}{order} LIMIT ?",
            [view, *params, limit],
        )
    rows.sort(key=lambda r: (r.sla_key, r.id), reverse=desc)
    return rows[:limit]


def urgent_page(
    desk: Desk,
    *,
    start_at: Anchor | None = None,
    before: Anchor | None = None,
    limit: int = URGENT_WINDOW,
    present: dict[int, tuple[str, datetime | None]] | None = None,
) -> UrgentPage:
    """One window of the urgent list: from the top, from a row (inclusive), or the `limit`
    rows before a row (`URGENT_END`: the last rows). Savable clocks (due within the hour,
    not yet breached) come first, soonest first; then the breaches, freshest first. A keyset
    window: its cost is the window's, however many tickets have breached."""
    permissions.require(desk.actor, "board.sla")
    now = desk.now()
    epoch = epoch_of(now)
    savable, saved_p = "t.sla_key > ? AND t.sla_key <= ?", [epoch, epoch + HOUR]
    breached, breached_p = "t.sla_key <= ?", [epoch]
    # with an anchor, its row value is the bound on its side (the anchor lies within the
    # part it is in), so the index's range starts at the anchor, not at the part's edge
    savable_after = "(t.sla_key, t.id) >= (?, ?) AND t.sla_key <= ?"
    savable_before = "t.sla_key > ? AND (t.sla_key, t.id) < (?, ?)"
    rows: list[QueueRow]
    if before is not None:
        if before[0] <= epoch:  # in the breaches: the fresher ones, then the savable end
            got = _due_rows(
                desk,
                f"{breached} AND (t.sla_key, t.id) > (?, ?)",
                [*breached_p, *before],
                desc=False,
                limit=limit + 1,
            )
            rows = got[:limit][::-1]
            more = len(got) > limit
            if not more:
                got_s = _due_rows(desk, savable, saved_p, desc=True, limit=limit - len(rows) + 1)
                more = len(got_s) > limit - len(rows)
                rows = got_s[: limit - len(rows)][::-1] + rows
        else:
            got = _due_rows(desk, savable_before, [epoch, *before], desc=True, limit=limit + 1)
            rows, more = got[:limit][::-1], len(got) > limit
        return UrgentPage(_urgent(desk, rows, now, present), more, before != URGENT_END)
    if start_at is None or start_at[0] > epoch:  # the savable part, then the breaches
        cond, params = savable, list(saved_p)
        if start_at is not None:
            cond, params = savable_after, [*start_at, epoch + HOUR]
        got = _due_rows(desk, cond, params, desc=False, limit=limit + 1)
        rows, more = got[:limit], len(got) > limit
        if not more:
            got_b = _due_rows(desk, breached, breached_p, desc=True, limit=limit - len(rows) + 1)
            more = len(got_b) > limit - len(rows)
            rows += got_b[: limit - len(rows)]
        above = start_at is not None and bool(
            _due_rows(desk, savable_before, [epoch, *start_at], desc=True, limit=1)
        )
    else:  # within the breaches
        got = _due_rows(
            desk, "(t.sla_key, t.id) <= (?, ?)", list(start_at), desc=True, limit=limit + 1
        )
        rows, more = got[:limit], len(got) > limit
        above = bool(
            _due_rows(
                desk,
                f"{breached} AND (t.sla_key, t.id) > (?, ?)",
                [*breached_p, *start_at],
                desc=False,
                limit=1,
            )
            or _due_rows(desk, savable, saved_p, desc=False, limit=1)
        )
    return UrgentPage(_urgent(desk, rows, now, present), above, more)


def _urgent(
    desk: Desk,
    rows: list[QueueRow],
    now: datetime,
    present: dict[int, tuple[str, datetime | None]] | None,
) -> tuple[Urgent, ...]:
    """Each row with the clock that is due first and why it needs a look."""
    if present is None:
        present = presence_of(desk, now)
    logins = {login: sid for sid, login in desk.store.query("SELECT id, login FROM staff")}
    quiet_before = now - NO_ACTIVITY
    urgent = []
    for r in rows:
        why = []
        if r.holder is None:
            why.append("unclaimed")
        else:
            state = present.get(logins.get(r.holder, -1), ("off", None))[0]
            if state != "available":
                why.append(f"holder {state}")
        if r.last_activity_at < quiet_before:
            why.append("no activity")
        clock = "respond"
        if r.clocks is not None:
            due_r, due_s = r.clocks.respond.due, r.clocks.resolve.due
            running = [
                (due, name)
                for name, due, c in (
                    ("respond", due_r, r.clocks.respond),
                    ("resolve", due_s, r.clocks.resolve),
                )
                if due is not None and c.state.value == "running"
            ]
            if running:
                clock = min(running)[1]
        urgent.append(Urgent(r, clock, tuple(why)))
    return tuple(urgent)


def _parse_due(value: str | None) -> datetime | None:
    """An SLA event's value ("respond running 2026-11-23T10:00:00+00:00") -> its due time."""
    if not value:
        return None
    last = value.rsplit(" ", 1)[-1]
    try:
        return datetime.fromisoformat(last)
    except ValueError:
        return None


def _moved_today(desk: Desk, now: datetime) -> tuple[Moved, ...]:
    start = desk.store.timestamp_param(day_start(desk, now))
    rows = desk.store.query(
        "SELECT e.ticket_id, e.created_at, s.login, e.body, e.old_value, e.new_value"
        " FROM ticket_events e LEFT JOIN staff s ON s.id = e.staff_id"
        " WHERE e.kind = 'sla' AND e.created_at >= ? AND e.body LIKE ?"
        " ORDER BY e.created_at DESC, e.id DESC LIMIT 200",
        (start, "% target changed (%"),
    )
    out = []
    for tid, at, who, body, old, new in rows:
        clock = body.split(" ", 1)[0]
        why = body[body.find("(") + 1 : body.rfind(")")] if "(" in body else body
        old_due, new_due = _parse_due(old), _parse_due(new)
        at_time = parse_utc_or_none(at) or now
        downgrade = _is_downgrade(why)
        near = (
            downgrade
            and old_due is not None
            and old_due - at_time <= NEAR_BREACH
            and (new_due is None or new_due > old_due)
        )
        out.append(Moved(tid, at_time, who, clock, why, old_due, new_due, bool(near)))
    return tuple(out)


def _is_downgrade(why: str) -> bool:
    """ "priority high → low" is a downgrade; plan changes count when the due time moved
    later, which the caller checks with the due times."""
    from supportdesk.core.queue import PRIORITY_NAMES

    if why.startswith("priority ") and "→" in why:
        old, new = (p.strip() for p in why[len("priority ") :].split("→", 1))
        if old in PRIORITY_NAMES and new in PRIORITY_NAMES:
            return PRIORITY_NAMES.index(new) > PRIORITY_NAMES.index(old)
    return why.startswith("plan ")


def _people(
    desk: Desk, now: datetime, present: dict[int, tuple[str, datetime | None]]
) -> tuple[Person, ...]:
    _limit, stale_s = claim_rules(desk)
    stale_before = desk.store.timestamp_param(now - timedelta(seconds=stale_s))
    held = {
        sid: (int(n), int(stale or 0), key, parse_utc_or_none(touch))
        for sid, n, stale, key, touch in desk.store.query(
            "SELECT t.holder_id, count(*),"
            " sum(CASE WHEN t.touched_at IS NULL OR t.touched_at < ? THEN 1 ELSE 0 END),"
            " min(CASE WHEN t.sla_key < ? THEN t.sla_key END), min(t.touched_at)"
            f" FROM tickets t WHERE {LIVE_TERM} AND t.holder_id IS NOT NULL"
            " GROUP BY t.holder_id",
            (stale_before, 10**12),
        )
    }
    out = []
    for sid, login, name, role, tier in desk.store.query(
        "SELECT id, login, name, role, tier FROM staff WHERE active ORDER BY login"
    ):
        n, stale, key, touch = held.get(sid, (0, 0, None, None))
        state, seen = present.get(sid, ("off", None))
        nearest = datetime.fromtimestamp(key, tz=now.tzinfo) if key is not None else None
        out.append(Person(login, name, role, tier, state, n, stale, nearest, touch, seen))
    rank = {"available": 0, "away": 1, "off": 2}
    out.sort(key=lambda p: (rank[p.presence], -p.holds, p.login))
    return tuple(out)


def _attention(desk: Desk, now: datetime) -> Attention:
    store = desk.store
    ts = store.timestamp_param
    locked = []
    for cid, account, name, until, failures in store.query(
        "SELECT c.id, c.account_id, c.name, c.locked_until, c.failed_attempts FROM contacts c"
        " WHERE c.locked_until IS NOT NULL AND c.locked_until > ? ORDER BY c.locked_until",
        (ts(now),),
    ):
        attempts = tuple(
            (parse_utc_or_none(at) or now, who, method, result)
            for at, who, method, result in store.query(
                "SELECT v.created_at, s.login, v.method, v.result FROM verifications v"
                " LEFT JOIN staff s ON s.id = v.staff_id WHERE v.contact_id = ?"
                " ORDER BY v.id DESC LIMIT 8",
                (cid,),
            )
        )
        until_at = parse_utc_or_none(until) or now
        locked.append(Locked(cid, account, name, until_at, attempts, int(failures or 0)))
    unlisted = rows_where(
        desk,
        f" WHERE t.view = 'held' AND {LIVE_TERM} AND t.sender IS NOT NULL"
        " ORDER BY t.priority_rank, t.created_at, t.id LIMIT ?",
        [ATTENTION_LIMIT],
    )
    closed_today = int(
        store.query(
            "SELECT count(*) FROM tickets t WHERE t.resolved_at IS NOT NULL"
            " AND t.resolved_at >= ? AND t.resolution_code = 'unlisted_sender'",
            (ts(day_start(desk, now)),),
        )[0][0]
    )
    held_old = rows_where(
        desk,
        f" WHERE t.view = 'held' AND {LIVE_TERM} AND t.created_at < ?"
        " ORDER BY t.priority_rank, t.created_at, t.id LIMIT ?",
        [ts(now - HELD_TOO_LONG), ATTENTION_LIMIT],
    )
    complaints = rows_where(
        desk,
        " WHERE t.flagged_at IS NOT NULL ORDER BY t.flagged_at, t.id LIMIT ?",
        [ATTENTION_LIMIT],
    )
    stale = escalation.claims(desk, stale_only=True, limit=ATTENTION_LIMIT)
    return Attention(
        tuple(locked),
        tuple(unlisted),
        closed_today,
        tuple(held_old),
        tuple(complaints),
        tuple(stale),
    )


# -- figures -------------------------------------------------------------------------------
