"""Every open ticket's clocks recomputed in bulk under a policy, and clocks rebuilt from a
ticket's recorded history (imports, upgrades), on the DBAPI connection for speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from supportdesk.core.clocks import (
    clock_values,
    describe_clock,
    event_body,
    has_actor,
)
from supportdesk.core.desk import Desk
from supportdesk.enums import EventKind, Priority
from supportdesk.models.timefmt import sqlite_timestamp
from supportdesk.rules.calendar import Calendar
from supportdesk.rules.policy import Policy
from supportdesk.rules.sla_engine import (
    CLOCKS,
    PAUSING_STATUSES,
    ClockState,
    SlaClock,
    TicketClocks,
    retarget,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


CLOCK_FIELDS = ("state", "target_s", "used_s", "paused_s", "since", "due", "paused")


CLOCK_COLUMNS = tuple(f"{n}_{f}" for n in CLOCKS for f in CLOCK_FIELDS)


RECOMPUTE_SQL = (
    "SELECT t.id, t.priority_rank, t.status, t.sla_plan, a.plan, "
    + ", ".join(f"t.{c}" for c in CLOCK_COLUMNS)
    + " FROM tickets t JOIN accounts a ON a.id = t.account_id WHERE t.view <> 'done'"
)


UPDATE_SQL = (
    "UPDATE tickets SET sla_plan = ?, sla_key = ?, "
    + ", ".join(f"{c} = ?" for c in CLOCK_COLUMNS)
    + " WHERE id = ?"
)


EVENT_SQL = (
    "INSERT INTO ticket_events (ticket_id, kind, staff_id, from_customer, visible, body,"
    " old_value, new_value, created_at) VALUES (?, 'sla', ?, ?, ?, ?, ?, ?, ?)"
)


def recompute(
    session: Session,
    desk: Desk,
    policy: Policy,
    *,
    reason: str,
    account_id: str | None = None,
) -> int:
    """Retarget every open ticket (optionally of one account) in bulk, inside the session's
    transaction but on its DBAPI connection: one read, one executemany of the changed rows
    and one of their history events (the ORM's per-row work would triple the time at
    200,000 tickets). Returns how many tickets changed."""
    store = desk.store
    sqlite = store.is_sqlite
    stamp: Any = sqlite_timestamp if sqlite else _same
    parse = _parse_sqlite_time if sqlite else _aware
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None

    def sql(text: str) -> str:
        return text if sqlite else text.replace("?", "%s")

    query, params = RECOMPUTE_SQL, tuple[str, ...]()
    if account_id is not None:
        query, params = query + " AND t.account_id = ?", (account_id,)
    query += " ORDER BY t.id"  # rows and events written in key order: sequential B-tree pages
    cursor = dbapi.cursor()
    cursor.execute(sql(query), params)
    rows = cursor.fetchall()
    now = desk.now()
    now_param = stamp(now)
    staff_id = desk.actor.staff_id if has_actor(desk) else None
    false = 0 if sqlite else False
    targets: dict[tuple[str, int], tuple[tuple[int | None, bool], ...]] = {}
    updates: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    n = len(CLOCK_FIELDS)
    for row in rows:
        tid, rank, status, old_plan, account_plan = row[:5]
        values = row[5:]
        before = TicketClocks(_raw_clock(values[:n], parse), _raw_clock(values[n:], parse))
        plan = policy.plan_for(account_plan)
        pair = targets.get((plan.name, rank))
        if pair is None:
            prio = Priority.from_rank(rank)
            pair = targets[plan.name, rank] = tuple(
                (t.seconds, t.kind != "none") for t in (plan.target(c, prio) for c in CLOCKS)
            )
        after = _retarget_pair(before, plan.calendar, pair, status, now)
        if after == before and old_plan == plan.name:
            continue
        change: list[Any] = [plan.name, after.sort_key]
        for name in CLOCKS:
            old, new = before.get(name), after.get(name)
            change += _clock_params(new, stamp)
            if (old.state, old.due, old.target_s) != (new.state, new.due, new.target_s):
                events.append(
                    (
                        tid,
                        staff_id,
                        false,
                        false,
                        event_body(name, old, new, reason),
                        describe_clock(name, old),
                        describe_clock(name, new),
                        now_param,
                    )
                )
        change.append(tid)
        updates.append(tuple(change))
    if updates:
        cursor.executemany(sql(UPDATE_SQL), updates)
    if events:
        cursor.executemany(sql(EVENT_SQL), events)
    cursor.close()
    return len(updates)


def _clock_params(clock: SlaClock, stamp: Any) -> tuple[Any, ...]:
    """A clock as UPDATE_SQL's seven parameters (CLOCK_FIELDS order, times as stored)."""
    return (
        clock.state.value,
        clock.target_s,
        clock.used_s,
        clock.paused_s,
        stamp(clock.since) if clock.since else None,
        stamp(clock.due) if clock.due else None,
        clock.paused,
    )


def _retarget_pair(
    before: TicketClocks,
    calendar: Calendar,
    pair: tuple[tuple[int | None, bool], ...],
    status: str,
    now: datetime,
) -> TicketClocks:
    out = []
    for name, (seconds, tracked) in zip(CLOCKS, pair, strict=True):
        paused_by = status if status in PAUSING_STATUSES[name] else None
        clock = before.get(name)
        out.append(retarget(clock, calendar, now, seconds, has_target=tracked, paused_by=paused_by))
    return TicketClocks(out[0], out[1])


def _same(value: Any) -> Any:
    return value


def _parse_sqlite_time(value: str) -> datetime:
    return datetime.fromisoformat(value + "+00:00")


def _aware(value: datetime) -> datetime:
    return value.astimezone(UTC)


_STATES = {s.value: s for s in ClockState}


def _raw_clock(values: Any, parse: Any) -> SlaClock:
    state, target, used, paused_s, since, due, paused = values
    return SlaClock(
        _STATES[state],
        target,
        used or 0,
        paused_s or 0,
        None if since is None else parse(since),
        None if due is None else parse(due),
        paused,
    )


BACKFILL_SQL = (
    "SELECT t.id, t.priority_rank, t.status, t.created_at, t.first_response_at,"
    " t.resolved_at, t.resolution_code, t.last_activity_at, a.plan"
    " FROM tickets t JOIN accounts a ON a.id = t.account_id"
    " WHERE t.sla_plan IS NULL ORDER BY t.id"
)


HELD_BY_CODE = {"no_response": "pending_customer", "not_authorized": "awaiting_authorization"}


def history_clocks(
    policy: Policy,
    account_plan: str | None,
    priority: Priority,
    *,
    status: str,
    created: int,
    first_response: int | None,
    resolved: int | None,
    code: str | None,
    last_activity: int,
    start_known: bool = True,
    pauses: Sequence[tuple[int, int]] = (),
) -> tuple[str, TicketClocks]:
    """The plan and the clocks a ticket's recorded history implies (times in microseconds
    since the epoch; `sla_engine.from_history`).

    `start_known=False`: `created` is not when the ticket really began (an export without
    creation times gives only later ones), so nothing measured from it is an outcome: the
    respond clock is not tracked, and the resolve clock only while the ticket is still
    live (it counts from `created`, the start the desk has)."""
    from supportdesk.rules.sla_engine import from_history

    plan = policy.plan_for(account_plan)
    respond, resolve = (plan.target(c, priority) for c in CLOCKS)
    held = HELD_BY_CODE.get(code or "") or (
        status if status in ("pending_customer", "awaiting_authorization") else None
    )
    live = resolved is None
    clocks = from_history(
        plan.calendar,
        (respond.seconds, respond.kind != "none" and start_known),
        (resolve.seconds, resolve.kind != "none" and (start_known or live)),
        status=status,
        created=created,
        first_response=first_response,
        resolved=resolved,
        held=held,
        last_activity=last_activity,
        pauses=pauses,
    )
    return plan.name, clocks


def imported_clocks(
    policy: Policy,
    account_plan: str | None,
    priority: Priority,
    *,
    status: str,
    created_at: datetime,
    first_response_at: datetime | None,
    resolved_at: datetime | None,
    code: str | None,
    last_activity_at: datetime,
    start_known: bool,
    pauses: Sequence[tuple[datetime, datetime]] = (),
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An imported ticket's clocks from its history (`history_clocks`) as its column values
    (sla_plan, sla_key and each clock's fields), and the history events saying so (column
    values of `ticket_events` but the ticket, the author and the time)."""
    from supportdesk.rules.sla_engine import to_us

    def us(value: datetime | None) -> int | None:
        return None if value is None else to_us(value)

    plan_name, clocks = history_clocks(
        policy,
        account_plan,
        priority,
        status=status,
        created=to_us(created_at),
        first_response=us(first_response_at),
        resolved=us(resolved_at),
        code=code,
        last_activity=to_us(last_activity_at),
        start_known=start_known,
        pauses=[(to_us(a), to_us(b)) for a, b in pauses],
    )
    columns: dict[str, Any] = {"sla_plan": plan_name, "sla_key": clocks.sort_key}
    events = []
    for name in CLOCKS:
        clock = clocks.get(name)
        for field, value in clock_values(clock).items():
            columns[f"{name}_{field}"] = value
        if clock.state is not ClockState.NONE:
            body = event_body(name, SlaClock(), clock, "imported history")
        elif not start_known:
            body = f"{name} clock not tracked: the export does not say when the ticket began"
        else:
            continue
        events.append(
            {
                "kind": EventKind.SLA.value,
                "body": body,
                "old_value": describe_clock(name, SlaClock()),
                "new_value": describe_clock(name, clock),
            }
        )
    return columns, events


def backfill(session: Session, desk: Desk, policy: Policy) -> int:
    """Clocks for tickets that never had any (a database upgraded from before SLA clocks):
    what their recorded history implies (`sla_engine.from_history`), done tickets included,
    so the reports see their outcomes. Returns how many tickets were filled."""
    from supportdesk.rules.sla_engine import to_us

    store = desk.store
    sqlite = store.is_sqlite
    stamp: Any = sqlite_timestamp if sqlite else _same
    parse = _parse_sqlite_time if sqlite else _aware
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    cursor.execute(BACKFILL_SQL)
    rows = cursor.fetchall()

    def us(value: Any) -> int | None:
        return None if value is None else to_us(parse(value))

    updates = []
    for tid, rank, status, created, first, resolved, code, last, account_plan in rows:
        created_us = us(created)
        assert created_us is not None
        plan_name, clocks = history_clocks(
            policy,
            account_plan,
            Priority.from_rank(rank),
            status=status,
            created=created_us,
            first_response=us(first),
            resolved=us(resolved),
            code=code,
            last_activity=us(last) or created_us,
        )
        change: list[Any] = [plan_name, clocks.sort_key]
        for clock in (clocks.respond, clocks.resolve):
            change += _clock_params(clock, stamp)
        change.append(tid)
        updates.append(tuple(change))
    if updates:
        cursor.executemany(UPDATE_SQL if sqlite else UPDATE_SQL.replace("?", "%s"), updates)
    cursor.close()
    return len(updates)
