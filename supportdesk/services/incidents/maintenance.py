"""Maintenance windows (issue 6): planned work on servers, announced with a notice (seed 003)
and shown on the accounts it affects while it is upcoming or running.

A ticket whose fix needs server work is scheduled into a window (seed 001: off-peak, usually
the weekend): its status becomes scheduled, which pauses its SLA clocks, and it remembers the
window. When the window opens the ticket returns to the queue without any cron: `wake` is a
conditional change (`status = 'scheduled'` and the window has started) that any console runs
when a window it knows of opens, and `supportdesk maintenance wake` runs from a script; of
several racing, the first does the work and the others find nothing left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.clock import check_year
from supportdesk.core.desk import Desk
from supportdesk.core.notices import notify
from supportdesk.core.views import JsonMixin
from supportdesk.enums import EventKind, Status
from supportdesk.errors import InvalidTransition, NotFound, NothingToDo, UsageError
from supportdesk.rules import limits
from supportdesk.rules.local_time import text_time
from supportdesk.services.incidents.common import known_servers, server_names
from supportdesk.services.incidents.reading import servers_by_id

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import MaintenanceWindow


def body_digest(body: str | None) -> str | None:
    """The audit's hash of a text (imported when needed: the audit module loads SQLAlchemy,
    which the console's first paint must not wait for)."""
    from supportdesk.core.audit import body_digest as digest

    return digest(body)


SCHEDULABLE = (
    Status.NEW.value,
    Status.OPEN.value,
    Status.PENDING_CUSTOMER.value,
    Status.SCHEDULED.value,
)


@dataclass(frozen=True)
class WindowView(JsonMixin):
    id: int
    notice: str
    starts_at: datetime
    ends_at: datetime
    servers: tuple[str, ...]
    created_by: str | None
    scheduled: int  # tickets waiting for it

    def state(self, now: datetime) -> str:
        if now < self.starts_at:
            return "upcoming"
        return "running" if now < self.ends_at else "over"


@dataclass(frozen=True)
class ScheduleResult(JsonMixin):
    ticket_id: int
    window_id: int
    status: str
    paused_until: datetime
    servers: tuple[str, ...]


def _utc(value: Any) -> datetime:
    from supportdesk.core.views import parse_utc as parse

    return parse(value)


def when(value: datetime) -> str:
    """A window's time in thread text: UTC, to the minute."""
    return value.strftime("%a %Y-%m-%d %H:%M UTC")


# -- reading -------------------------------------------------------------------------------
WINDOW_SQL = (
    "SELECT w.id, w.notice, w.starts_at, w.ends_at,"
    " (SELECT s.login FROM staff s WHERE s.id = w.created_by_id),"
    " (SELECT count(*) FROM tickets t WHERE t.window_id = w.id AND t.status = 'scheduled')"
    " FROM maintenance_windows w"
)


def _views(desk: Desk, where: str, params: Sequence[Any]) -> list[WindowView]:
    rows = desk.store.query(WINDOW_SQL + where, params)
    if not rows:
        return []
    ids = [r[0] for r in rows]
    servers = servers_by_id(desk, "window_servers", "window_id", ids)
    return [
        WindowView(
            wid, notice, _utc(start), _utc(end), tuple(servers.get(wid, ())), by, int(waiting)
        )
        for wid, notice, start, end, by, waiting in rows
    ]


def list_windows(desk: Desk, *, include_past: bool = False, limit: int = 100) -> list[WindowView]:
    """Windows upcoming or running (with `include_past`, every one), soonest first."""
    permissions.require(desk.actor, "ticket.read")
    if include_past:
        return _views(desk, " ORDER BY w.starts_at, w.id LIMIT ?", (limit,))
    now = desk.store.timestamp_param(desk.now())
    return _views(desk, " WHERE w.ends_at > ? ORDER BY w.starts_at, w.id LIMIT ?", (now, limit))


def window(desk: Desk, window_id: int) -> WindowView:
    if not limits.fits_id(window_id):
        raise NotFound(f"no maintenance window #{window_id}")
    found = _views(desk, " WHERE w.id = ?", (window_id,))
    if not found:
        raise NotFound(f"no maintenance window #{window_id}")
    return found[0]


def for_account(desk: Desk, account_id: str) -> list[WindowView]:
    """Windows upcoming or running on a server one of the account's services runs on."""
    now = desk.store.timestamp_param(desk.now())
    rows = desk.store.query(
        "SELECT DISTINCT ws.window_id FROM services sv"
        " JOIN window_servers ws ON ws.server = sv.server"
        " WHERE sv.account_id = ? AND ws.ends_at > ?",
        (account_id, now),
    )
    ids = sorted(int(r[0]) for r in rows)
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return _views(desk, f" WHERE w.id IN ({marks}) ORDER BY w.starts_at, w.id", ids)


def windows_among(desk: Desk, account_ids: Sequence[str]) -> dict[str, int]:
    """Of these accounts (a queue window), those with maintenance upcoming or running:
    account -> the soonest window's number (the queue's marker)."""
    if not account_ids:
        return {}
    ids = sorted(set(account_ids))
    marks = ", ".join("?" * len(ids))
    now = desk.store.timestamp_param(desk.now())
    return {
        str(account): int(wid)
        for account, wid in desk.store.query(
            "SELECT sv.account_id, min(ws.window_id) FROM services sv"
            " JOIN window_servers ws ON ws.server = sv.server"
            f" WHERE sv.account_id IN ({marks}) AND ws.ends_at > ? GROUP BY sv.account_id",
            [*ids, now],
        )
    }


def window_of_ticket(desk: Desk, ticket_id: int) -> WindowView | None:
    """The window a scheduled ticket waits for (its clocks are paused until it opens)."""
    rows = desk.store.query(
        "SELECT window_id FROM tickets WHERE id = ? AND window_id IS NOT NULL", (ticket_id,)
    )
    return window(desk, int(rows[0][0])) if rows else None


def next_wake(desk: Desk) -> datetime | None:
    """When the next scheduled ticket is due back in the queue (its window's start); a time
    already past means now. Read through the index of tickets with a window."""
    rows = desk.store.query(
        "SELECT min(w.starts_at) FROM tickets t JOIN maintenance_windows w ON w.id = t.window_id"
        " WHERE t.window_id IS NOT NULL AND t.status = 'scheduled'"
    )
    return _utc(rows[0][0]) if rows and rows[0][0] is not None else None


# -- writing -------------------------------------------------------------------------------
def _lock_windows(session: Session) -> None:
    """Serialize window writers on PostgreSQL (SQLite's BEGIN IMMEDIATE already does), so
    two overlapping windows cannot both pass the overlap check."""
    from sqlalchemy import text

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('supportdesk.windows'))"))


def add_window(
    desk: Desk, servers: Iterable[str], start: datetime, end: datetime, notice: str
) -> WindowView:
    """Announce planned work on `servers` from `start` to `end`. Refused: a window that
    does not end after it starts, one already over, an unknown server, and one that overlaps
    a window on the same server."""
    from sqlalchemy import select

    from supportdesk.models import MaintenanceWindow, WindowServer

    permissions.require(desk.actor, "maintenance.manage")
    names = server_names(servers)
    words = (notice or "").strip()
    if not words:
        raise UsageError("give the notice customers and agents read (--notice)")
    if len(words) > 2000:
        raise UsageError(f"the notice is too long ({len(words)} characters; at most 2000)")
    limits.check(words, limits.NOTICE, what="--notice")
    check_year(start, "--from")
    check_year(end, "--to")
    if end <= start:
        raise UsageError(
            f"the window ends ({text_time(end, desk.zone)}) before it starts "
            f"({text_time(start, desk.zone)})"
        )
    if end <= desk.now():
        raise UsageError(f"the window ended already ({text_time(end, desk.zone)})")
    with desk.write() as (session, record):
        _lock_windows(session)
        known_servers(session, names)
        clash = session.execute(
            select(WindowServer.window_id, WindowServer.server, WindowServer.starts_at,
                   WindowServer.ends_at)
            .where(
                WindowServer.server.in_(names),
                WindowServer.ends_at > start,
                WindowServer.starts_at < end,
            )
            .order_by(WindowServer.starts_at)
        ).first()  # fmt: skip
        if clash is not None:
            wid, server, s, e = clash
            raise UsageError(
                f"overlaps maintenance window #{wid} on {server} ({when(s)} to {when(e)})"
            )
        w = MaintenanceWindow(
            notice=words,
            starts_at=start,
            ends_at=end,
            created_by_id=desk.actor.staff_id,
            created_at=desk.now(),
        )
        session.add(w)
        session.flush()
        for name in names:
            session.add(WindowServer(window_id=w.id, server=name, starts_at=start, ends_at=end))
        record(
            "maintenance.add",
            "maintenance_window",
            w.id,
            {
                "servers": [None, list(names)],
                "starts_at": [None, start.isoformat()],
                "ends_at": [None, end.isoformat()],
                "notice": [None, body_digest(words)],
            },
        )
        from supportdesk.services.outbox.notices import queue_notices

        queue_notices(session, desk, w, names)
        wid = w.id
    return window(desk, wid)


def move_window(desk: Desk, window_id: int, start: datetime, end: datetime) -> WindowView:
    """Move a window that has not started to new times (the same checks as announcing one):
    its scheduled tickets wait for the new start, its notices still queued move with it, and
    contacts already told get a new notice."""
    from sqlalchemy import select, update

    from supportdesk.models import WindowServer

    permissions.require(desk.actor, "maintenance.manage")
    check_year(start, "--from")
    check_year(end, "--to")
    if end <= start:
        raise UsageError(
            f"the window ends ({text_time(end, desk.zone)}) before it starts "
            f"({text_time(start, desk.zone)})"
        )
    with desk.write() as (session, record):
        _lock_windows(session)
        w = _window(session, window_id)
        now = desk.now()
        if w.starts_at <= now:
            raise InvalidTransition(f"maintenance window #{w.id} started already; it stays")
        if start <= now:
            raise UsageError(f"the new start ({text_time(start, desk.zone)}) is past")
        if (w.starts_at, w.ends_at) == (start, end):
            raise NothingToDo(f"maintenance window #{w.id} is at those times already")
        names = _window_servers(session, w.id)
        clash = session.execute(
            select(WindowServer.window_id, WindowServer.server, WindowServer.starts_at,
                   WindowServer.ends_at)
            .where(
                WindowServer.server.in_(names),
                WindowServer.window_id != w.id,
                WindowServer.ends_at > start,
                WindowServer.starts_at < end,
            )
            .order_by(WindowServer.starts_at)
        ).first()  # fmt: skip
        if clash is not None:
            wid, server, s, e = clash
            raise UsageError(
                f"overlaps maintenance window #{wid} on {server} ({when(s)} to {when(e)})"
            )
        record(
            "maintenance.move",
            "maintenance_window",
            w.id,
            {
                "starts_at": [w.starts_at.isoformat(), start.isoformat()],
                "ends_at": [w.ends_at.isoformat(), end.isoformat()],
            },
        )
        previous = (w.starts_at, w.ends_at)
        w.starts_at, w.ends_at = start, end
        session.execute(
            update(WindowServer)
            .where(WindowServer.window_id == w.id)
            .values(starts_at=start, ends_at=end)
        )
        from supportdesk.services.outbox.notices import queue_notices

        queue_notices(session, desk, w, names, previous=previous)
    return window(desk, window_id)


def _window(session: Session, window_id: int) -> MaintenanceWindow:
    from supportdesk.models import MaintenanceWindow

    w = session.get(MaintenanceWindow, window_id) if limits.fits_id(window_id) else None
    if w is None:
        raise NotFound(f"no maintenance window #{window_id}")
    return w


def _window_servers(session: Session, window_id: int) -> tuple[str, ...]:
    from sqlalchemy import select

    from supportdesk.models import WindowServer

    return tuple(
        session.scalars(
            select(WindowServer.server)
            .where(WindowServer.window_id == window_id)
            .order_by(WindowServer.server)
        )
    )


def schedule(desk: Desk, ticket_id: int, window_id: int) -> ScheduleResult:
    """Schedule a ticket's server work into a window: status scheduled (its clocks pause
    until the window opens, when it returns to the queue). The ticket's account must have a
    service on one of the window's servers; the window must not have started."""
    from sqlalchemy import select

    from supportdesk.core.tickets import add_event, change_status, guard, load_ticket
    from supportdesk.models import Service

    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.update")
        if t.status not in SCHEDULABLE:
            raise InvalidTransition(
                f"ticket #{t.id} is {t.status.replace('_', ' ')}; it cannot be scheduled"
            )
        w = _window(session, window_id)
        now = desk.now()
        if w.starts_at <= now:
            raise UsageError(
                f"maintenance window #{w.id} started at {when(w.starts_at)}: "
                "schedule into one that has not started"
            )
        servers = _window_servers(session, w.id)
        on_it = session.scalar(
            select(Service.id)
            .where(Service.account_id == t.account_id, Service.server.in_(servers))
            .limit(1)
        )
        if on_it is None:
            raise UsageError(
                f"account {t.account_id} has no service on {', '.join(servers)} "
                f"(maintenance window #{w.id})"
            )
        if t.status == Status.SCHEDULED.value and t.window_id == w.id:
            raise NothingToDo(f"ticket #{t.id} is already scheduled into window #{w.id}")
        old_window = t.window_id
        extra = {"window": [old_window, w.id], "paused_until": [None, w.starts_at.isoformat()]}
        if t.status == Status.SCHEDULED.value:
            record("ticket.schedule", "ticket", t.id, extra)
            t.updated_at = now
        else:
            change_status(session, desk, record, t, Status.SCHEDULED, extra=extra)
        t.window_id = w.id
        add_event(
            session,
            desk,
            t,
            EventKind.NOTE,
            body=(
                f"Scheduled into maintenance window #{w.id} on {', '.join(servers)} "
                f"({when(w.starts_at)} to {when(w.ends_at)}): SLA clocks paused until "
                f"{when(w.starts_at)}, when it returns to the queue.\n{w.notice}"
            ),
        )
        return ScheduleResult(t.id, w.id, Status.SCHEDULED.value, w.starts_at, servers)


def wake(desk: Desk) -> list[int]:
    """Return to the queue every scheduled ticket whose window has opened (status open,
    clocks resumed, a note saying why, the holder told); idempotent, so racing consoles do
    it once. Returns the tickets this call woke."""
    from sqlalchemy import select

    from supportdesk.core.tickets import add_event, change_status
    from supportdesk.models import MaintenanceWindow, Ticket

    due = next_wake(desk)
    if due is None or due > desk.now():
        return []
    if desk.clock.is_frozen and not (desk.is_demo or desk.actor.is_lead):
        return []  # a frozen console on a real desk only looks
    woke: list[int] = []
    with desk.write() as (session, record):
        now = desk.now()
        stmt = (
            select(Ticket, MaintenanceWindow)
            .join(MaintenanceWindow, MaintenanceWindow.id == Ticket.window_id)
            .where(
                Ticket.window_id.is_not(None),
                Ticket.status == Status.SCHEDULED.value,
                MaintenanceWindow.starts_at <= now,
            )
            .order_by(Ticket.id)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=Ticket)
        for t, w in session.execute(stmt).all():
            change_status(
                session,
                desk,
                record,
                t,
                Status.OPEN,
                extra={"via": [None, f"maintenance window #{w.id} opened"]},
            )
            add_event(
                session,
                desk,
                t,
                EventKind.NOTE,
                body=f"Maintenance window #{w.id} opened ({when(w.starts_at)}): back in the "
                "queue, SLA clocks running again.",
            )
            if t.holder_id is not None and t.holder_id != desk.actor.staff_id:
                notify(
                    session,
                    desk,
                    t.holder_id,
                    t.id,
                    "window",
                    f"#{t.id} is back in the queue: maintenance window #{w.id} opened",
                )
            woke.append(t.id)
    return woke
