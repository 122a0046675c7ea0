"""SLA policy in force and the per-ticket clocks in the database.

The policy (TOML text) lives in the `settings` table under `sla_policy`; every process parses
it once per distinct text. Ticket writes call the hooks here inside their transaction, so a
clock's stored state always matches the ticket's status, priority and plan. Every change of
a clock's state or due time adds an `sla` event to the ticket's history (who, old, new).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.clocks import (
    clock_values,
    clocks_of,
    describe_clock,
    event_body,
    has_actor,
)
from supportdesk.core.desk import Desk
from supportdesk.core.policy import POLICY_KEY, current_policy, policy_from_text
from supportdesk.enums import EventKind, Priority
from supportdesk.errors import NotFound, UsageError
from supportdesk.models.timefmt import sqlite_timestamp
from supportdesk.rules.calendar import Calendar, CalendarError
from supportdesk.rules.policy import Plan, Policy, PolicyError
from supportdesk.rules.sla_engine import (
    CLOCKS,
    PAUSING_STATUSES,
    Clock,
    ClockReading,
    ClockState,
    TicketClocks,
    format_left,
    read,
    retarget,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


CLOCK_FIELDS = ("state", "target_s", "used_s", "paused_s", "since", "due", "paused")


@dataclass(frozen=True)
class LoadResult:
    policy: Policy
    changed: bool
    recomputed: int  # open tickets whose clocks changed
    backfilled: int = 0  # tickets that had no clocks yet (an upgraded database)
    moved: tuple[tuple[str, str, int], ...] = ()  # (old plan, new plan, accounts moved)


def load_policy(
    desk: Desk,
    policy: Policy,
    *,
    require_lead: bool = True,
    move_plans: Mapping[str, str] | None = None,
) -> LoadResult:
    """Put `policy` in force and recompute the clocks of open tickets (stopped clocks keep
    their outcome). All in one transaction: a failure leaves the old policy and clocks.

    A plan that accounts still use may be dropped only when `move_plans` says where its
    accounts go (old name -> a plan of `policy`); otherwise their clocks would silently run
    on the default plan while the accounts still name the old one."""
    from supportdesk.models import Setting

    if require_lead:
        permissions.require(desk.actor, "sla.policy")
    moves = dict(move_plans or {})
    for old, new in moves.items():
        if new not in policy.plans:
            raise UsageError(
                f"--move-plan {old}={new}: the new policy has no plan {new!r} "
                f"(plans: {', '.join(sorted(policy.plans))})"
            )
        if old == new:
            raise UsageError(f"--move-plan {old}={new}: a plan cannot move to itself")
    with desk.write(actor_required=require_lead) as (session, record):
        setting = session.get(Setting, POLICY_KEY)
        old_text = setting.value if setting else None
        if old_text == policy.text and not moves:
            return LoadResult(policy, False, 0)
        moved = _move_plans(session, record, policy, moves)
        if setting is None:
            session.add(Setting(key=POLICY_KEY, value=policy.text))
        else:
            setting.value = policy.text
        old_digest = policy_from_text(old_text).digest if old_text else None
        session.flush()
        filled = backfill(session, desk, policy)  # tickets from before SLA clocks existed
        count = recompute(session, desk, policy, reason=f"policy {policy.digest}")
        record(
            "sla.policy",
            "desk",
            "sla_policy",
            {
                "policy": [old_digest, policy.digest],
                "name": [None, policy.name],
                "tickets_recomputed": [None, count],
                "tickets_backfilled": [None, filled],
                **({"plans_moved": [None, [list(m) for m in moved]]} if moved else {}),
            },
        )
    return LoadResult(policy, True, count, filled, moved)


def _move_plans(
    session: Session, record: Any, policy: Policy, moves: dict[str, str]
) -> tuple[tuple[str, str, int], ...]:
    """Refuse a policy that drops a plan accounts use, unless `moves` says where they go;
    move them (one `account.plan` audit row each). Returns (old, new, count) per move."""
    from sqlalchemy import func, select, update

    from supportdesk.models import Account

    used: dict[str, int] = {
        plan: int(n)
        for plan, n in session.execute(select(Account.plan, func.count()).group_by(Account.plan))
    }
    dropped = sorted(p for p in used if p not in policy.plans and p not in moves)
    if dropped:
        plan, n = dropped[0], used[dropped[0]]
        others = f" (and {len(dropped) - 1} more plans in use)" if len(dropped) > 1 else ""
        raise UsageError(
            f"the new policy drops plan {plan!r}, which {n} account{'s' if n != 1 else ''} "
            f"use{'' if n != 1 else 's'}{others}: say where they go with "
            f"--move-plan {plan}=PLAN (plans: {', '.join(sorted(policy.plans))}); "
            "nothing was changed"
        )
    out = []
    for old, new in sorted(moves.items()):
        ids = sorted(session.scalars(select(Account.id).where(Account.plan == old)))
        if ids:
            session.execute(update(Account).where(Account.plan == old).values(plan=new))
            record.many(
                [
                    ("account.plan", "account", i, {"plan": [old, new], "by": [None, "policy"]})
                    for i in ids
                ]
            )
        out.append((old, new, len(ids)))
    return tuple(out)


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


def _clock_params(clock: Clock, stamp: Any) -> tuple[Any, ...]:
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


def _raw_clock(values: Any, parse: Any) -> Clock:
    state, target, used, paused_s, since, due, paused = values
    return Clock(
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
            body = event_body(name, Clock(), clock, "imported history")
        elif not start_known:
            body = f"{name} clock not tracked: the export does not say when the ticket began"
        else:
            continue
        events.append(
            {
                "kind": EventKind.SLA.value,
                "body": body,
                "old_value": describe_clock(name, Clock()),
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


# -- views for the CLI and the screens -----------------------------------------------------
@dataclass(frozen=True)
class ClockView:
    name: str
    target: str  # "4h", "best effort", "none"
    target_s: int | None
    state: str  # a Reading value
    due: datetime | None
    remaining_s: int | None
    used_s: int
    paused_s: int
    warn_level: int
    paused: str | None
    closed_until: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "target_seconds": self.target_s,
            "state": self.state,
            "due": self.due.isoformat() if self.due else None,
            "remaining_seconds": self.remaining_s,
            "elapsed_seconds": self.used_s,
            "paused_seconds": self.paused_s,
            "warning_level": self.warn_level,
            "paused_reason": self.paused,
            "closed_until": self.closed_until.isoformat() if self.closed_until else None,
        }


@dataclass(frozen=True)
class SlaView:
    ticket_id: int
    plan: str
    calendar: str
    zone: str
    warn: tuple[int, ...]
    clocks: tuple[ClockView, ...]
    history: tuple[tuple[datetime, str | None, str], ...]  # (when, who, what)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ticket": self.ticket_id,
            "plan": self.plan,
            "calendar": self.calendar,
            "timezone": self.zone,
        }
        for clock in self.clocks:
            out[clock.name] = clock.to_json()
        out["history"] = [
            {"at": at.isoformat(), "by": who, "what": what} for at, who, what in self.history
        ]
        return out


def target_text(clock: Clock) -> str:
    if clock.state is ClockState.NONE:
        return "none"
    if clock.target_s is None:
        return "best effort"
    from supportdesk.rules.policy import format_duration

    return format_duration(clock.target_s)


def clock_view(name: str, clock: Clock, plan: Plan, now: datetime) -> ClockView:
    reading: ClockReading = read(clock, plan.calendar, plan.warn, now)
    return ClockView(
        name,
        target_text(clock),
        clock.target_s,
        reading.reading.value,
        clock.due,
        reading.remaining_s,
        reading.used_s,
        reading.paused_s,
        reading.warn_level,
        clock.paused,
        reading.closed_until,
    )


MARKS = {"warning": "!", "breached": "✖", "paused": "⏸"}
SHORT_PAUSE = {"pending_customer": "cust", "scheduled": "sched", "awaiting_authorization": "auth"}


def next_due_text(clocks: TicketClocks | None, plan: Plan, now: datetime) -> str:
    """The nearer running clock as plain text for the CLI ("3h 10m", "! 0:42:10",
    "✖ -1h 05m", "⏸ cust"), or "-"."""
    if clocks is None:
        return "-"
    best: ClockReading | None = None
    for name in CLOCKS:
        r = read(clocks.get(name), plan.calendar, plan.warn, now)
        if r.remaining_s is None or r.reading.value not in ("running", "warning", "breached"):
            continue
        if best is None or (best.remaining_s or 0) > r.remaining_s:
            best = r
    if best is None:
        for name in CLOCKS:
            r = read(clocks.get(name), plan.calendar, plan.warn, now)
            if r.reading.value == "paused" and r.paused:
                return "⏸ " + SHORT_PAUSE.get(r.paused, r.paused[:5])
        return "-"
    mark = MARKS.get(best.reading.value, "")
    text = format_left(best.remaining_s or 0)
    return f"{mark} {text}" if mark else text


def show(desk: Desk, ticket_id: int) -> SlaView:
    from sqlalchemy import select

    from supportdesk.models import Staff, Ticket, TicketEvent
    from supportdesk.rules.limits import fits_id

    permissions.require(desk.actor, "ticket.read")
    policy = current_policy(desk)
    with desk.store.read() as session:
        ticket = session.get(Ticket, ticket_id) if fits_id(ticket_id) else None
        if ticket is None:
            raise NotFound(f"no ticket #{ticket_id}")
        plan = policy.plan_for(ticket.sla_plan)
        clocks = clocks_of(ticket)
        now = desk.now()
        views = tuple(clock_view(name, clocks.get(name), plan, now) for name in CLOCKS)
        rows = session.execute(
            select(TicketEvent.created_at, Staff.login, TicketEvent.body)
            .outerjoin(Staff, Staff.id == TicketEvent.staff_id)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == EventKind.SLA.value)
            .order_by(TicketEvent.id)
        ).all()
    return SlaView(
        ticket_id,
        plan.name,
        plan.calendar.name,
        plan.calendar.zone.key,
        plan.warn,
        views,
        tuple((at, who, body or "") for at, who, body in rows),
    )


def due(policy: Policy, calendar_name: str, moment: datetime, duration: str) -> datetime:
    """When `duration` of business time after `moment` ends on the named calendar."""
    from supportdesk.rules.policy import parse_duration

    calendar = policy.calendars.get(calendar_name)
    if calendar is None:
        known = ", ".join(sorted(policy.calendars)) or "none"
        raise UsageError(f"no calendar {calendar_name!r} in the policy (known: {known})")
    try:
        seconds = parse_duration(duration)
    except ValueError:
        raise UsageError(f"--add: not a duration: {duration!r} (use 30m, 4h, 1h30m, 2d)") from None
    try:
        return calendar.add(moment, timedelta(seconds=seconds))
    except CalendarError as exc:
        raise UsageError(str(exc)) from None


__all__ = [
    "POLICY_KEY",
    "LoadResult",
    "PolicyError",
    "SlaView",
    "current_policy",
    "due",
    "format_left",
    "load_policy",
    "show",
]
