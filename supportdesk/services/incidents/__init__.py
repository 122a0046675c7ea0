"""Incidents (issue 6): one record for an outage on one or more servers, instead of a ticket
per caller (seed 001: no duplicate tickets for one problem).

An incident has an owner (the on-call engineer), a state (investigating, identified,
monitoring, resolved), a customer-update cadence and the time the next update is due, and a
script agents read to callers. The accounts it affects are found through their services
(`services.server`). Tickets are linked to it (a note on the ticket; with the caller on the
line also a logged call, which is the customer's response); a caller with no ticket is
recorded as an incident call, with no new ticket. An update is posted as a customer-visible
reply on every live linked ticket; resolving the incident resolves them (fixed), except the
ones chosen to stay open. Every write is one transaction with its audit rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.clocks import on_first_response
from supportdesk.core.desk import Desk
from supportdesk.core.staff_lookup import login_of, staff_by_login
from supportdesk.core.views import JsonMixin
from supportdesk.enums import CallOutcome, EventKind, ResolutionCode, Role, Speaker, Status
from supportdesk.errors import InvalidTransition, NotAllowed, NotFound, NothingToDo, UsageError
from supportdesk.rules import limits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import Incident, Ticket


def body_digest(body: str | None) -> str | None:
    """The audit's hash of a text (imported when needed: the audit module loads SQLAlchemy,
    which the console's first paint must not wait for)."""
    from supportdesk.core.audit import body_digest as digest

    return digest(body)


STATES = ("investigating", "identified", "monitoring", "resolved")
OPEN_STATES = STATES[:-1]
DEFAULT_CADENCE = "30m"
MIN_CADENCE_S = 5 * 60
MAX_CADENCE_S = 24 * 3600
DONE = (Status.RESOLVED.value, Status.CLOSED.value)
AFFECTED_LIMIT = 200


# -- input ---------------------------------------------------------------------------------
def parse_cadence(text: str | None) -> int:
    """Seconds between customer updates: "30m", "1h", "1h30m" (5 minutes to 24 hours)."""
    from supportdesk.rules.policy import parse_duration

    value = (text or DEFAULT_CADENCE).strip().lower()
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"--cadence: {exc}") from None
    if not MIN_CADENCE_S <= seconds <= MAX_CADENCE_S:
        raise UsageError(f"--cadence: between 5m and 24h, not {value}")
    return seconds


def _text(value: str | None, what: str, limit: int = 4000) -> str:
    out = (value or "").strip()
    if not out:
        raise UsageError(f"give {what}")
    if len(out) > limit:
        raise UsageError(f"{what} is too long ({len(out)} characters; at most {limit})")
    return limits.check(out, limits.Limit(what, limit))


MAX_SERVERS = 100  # named by one incident or maintenance window


def server_names(names: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for name in names:
        limits.check_chars(name, "--server")
        for part in name.replace(",", " ").split():
            if part not in out:
                out.append(part)
    if not out:
        raise UsageError("name at least one server (--server NAME)")
    if len(out) > MAX_SERVERS:
        raise UsageError(f"--server: {len(out)} servers, at most {MAX_SERVERS}")
    for part in out:
        limits.check(part, limits.SERVER, what="--server")
    return tuple(out)


def known_servers(session: Session, servers: Sequence[str]) -> None:
    """Every server must be named by some account's service: else it is not ours."""
    from sqlalchemy import select

    from supportdesk.models import Service

    found = set(
        session.scalars(select(Service.server).where(Service.server.in_(servers)).distinct())
    )
    unknown = [s for s in servers if s not in found]
    if unknown:
        raise NotFound(
            f"no service runs on {', '.join(unknown)}: check the server name "
            "(`supportdesk account show` lists an account's servers)"
        )


def _incident(session: Session, incident_id: int, *, lock: bool = False) -> Incident:
    from sqlalchemy import select

    from supportdesk.models import Incident

    if not limits.fits_id(incident_id):  # beyond every id column: nothing to find
        raise NotFound(f"no incident #{incident_id}")
    stmt = select(Incident).where(Incident.id == incident_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    inc = session.scalars(stmt).first()
    if inc is None:
        raise NotFound(f"no incident #{incident_id}")
    return inc


def _open(inc: Incident, verb: str) -> None:
    if inc.state == "resolved":
        raise InvalidTransition(f"incident #{inc.id} is resolved; it cannot be {verb}")


def _manager(desk: Desk, inc: Incident | None = None) -> None:
    """Customer updates and resolution: engineers, leads, and the incident's owner."""
    actor = desk.actor
    if inc is not None and inc.owner_id == actor.staff_id:
        return
    permissions.require(actor, "incident.manage")


# -- plain data ----------------------------------------------------------------------------
@dataclass(frozen=True)
class IncidentSummary(JsonMixin):
    """What every console's banner shows of an incident."""

    id: int
    title: str
    state: str
    servers: tuple[str, ...]
    owner: str | None
    opened_at: datetime
    opened_by: str | None
    cadence_s: int
    next_update_due: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    script: str
    linked: int = 0
    calls: int = 0

    @property
    def is_open(self) -> bool:
        return self.state != "resolved"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    def update_left_s(self, now: datetime) -> int | None:
        """Seconds until the next customer update is due (negative: overdue)."""
        if self.next_update_due is None or not self.is_open:
            return None
        return int((self.next_update_due - now).total_seconds())


@dataclass(frozen=True)
class UpdateView(JsonMixin):
    id: int
    kind: str
    state: str
    body: str
    by: str | None
    at: datetime
    tickets_posted: int


@dataclass(frozen=True)
class LinkedTicket(JsonMixin):
    ticket_id: int
    account: str
    subject: str
    status: str
    priority: str
    holder: str | None
    linked_by: str | None
    linked_at: datetime
    reason: str | None
    keep_open: bool


@dataclass(frozen=True)
class AffectedAccount(JsonMixin):
    account: str
    company: str
    servers: tuple[str, ...]
    open_tickets: int


@dataclass(frozen=True)
class CallView(JsonMixin):
    id: int
    account: str
    ticket_id: int | None
    caller: str | None
    by: str | None
    at: datetime
    note: str


@dataclass(frozen=True)
class IncidentView(JsonMixin):
    """Everything the incident screen and `incident show` show."""

    incident: IncidentSummary
    updates: tuple[UpdateView, ...]
    tickets: tuple[LinkedTicket, ...]
    affected: tuple[AffectedAccount, ...]
    affected_total: int
    calls: tuple[CallView, ...] = field(default=())


@dataclass(frozen=True)
class UpdateResult(JsonMixin):
    incident_id: int
    update_id: int
    state: str
    tickets_posted: tuple[int, ...]
    next_update_due: datetime | None


@dataclass(frozen=True)
class LinkResult(JsonMixin):
    incident_id: int
    ticket_id: int
    account: str
    affected: bool
    responded: bool  # the link (a call with the customer) was the ticket's first response


@dataclass(frozen=True)
class CallResult(JsonMixin):
    incident_id: int
    call_id: int
    account: str
    affected: bool


@dataclass(frozen=True)
class ResolveResult(JsonMixin):
    incident_id: int
    resolved: tuple[int, ...]
    left_open: tuple[int, ...]
    tickets_posted: tuple[int, ...]


# -- reading -------------------------------------------------------------------------------
def _utc(value: Any) -> datetime | None:
    from supportdesk.core.views import parse_utc as parse

    return None if value is None else parse(value)


SUMMARY_SQL = (
    "SELECT i.id, i.title, i.state, i.opened_at, i.cadence_s, i.next_update_due,"
    " i.acknowledged_at, i.resolved_at, i.script,"
    " (SELECT s.login FROM staff s WHERE s.id = i.owner_id),"
    " (SELECT s.login FROM staff s WHERE s.id = i.opened_by_id),"
    " (SELECT s.login FROM staff s WHERE s.id = i.acknowledged_by_id),"
    " (SELECT count(*) FROM incident_links l WHERE l.incident_id = i.id),"
    " (SELECT count(*) FROM incident_calls c WHERE c.incident_id = i.id)"
    " FROM incidents i"
)


def servers_by_id(desk: Desk, table: str, column: str, ids: Sequence[int]) -> dict[int, list[str]]:
    """The servers of each incident or window in `ids`, from `table` (incident_servers or
    window_servers, keyed by `column`), in one read."""
    marks = ", ".join("?" * len(ids))
    servers: dict[int, list[str]] = {}
    for key, server in desk.store.query(
        f"SELECT {column}, server FROM {table} WHERE {column} IN ({marks})"
        f" ORDER BY {column}, server",
        list(ids),
    ):
        servers.setdefault(key, []).append(server)
    return servers


def _summaries(desk: Desk, where: str, params: Sequence[Any]) -> list[IncidentSummary]:
    rows = desk.store.query(SUMMARY_SQL + where, params)
    if not rows:
        return []
    ids = [r[0] for r in rows]
    servers = servers_by_id(desk, "incident_servers", "incident_id", ids)
    out = []
    for r in rows:
        iid, title, state, opened, cadence, due, acked, resolved, script = r[:9]
        owner, opener, acker, linked, calls = r[9:]
        out.append(
            IncidentSummary(
                id=iid,
                title=title,
                state=state,
                servers=tuple(servers.get(iid, ())),
                owner=owner,
                opened_at=_utc(opened) or desk.now(),
                opened_by=opener,
                cadence_s=int(cadence),
                next_update_due=_utc(due),
                acknowledged_at=_utc(acked),
                acknowledged_by=acker,
                resolved_at=_utc(resolved),
                script=script or "",
                linked=int(linked),
                calls=int(calls),
            )
        )
    return out


def open_incidents(desk: Desk) -> list[IncidentSummary]:
    """The incidents every console shows (oldest first); read after each change."""
    return _summaries(desk, " WHERE i.state <> 'resolved' ORDER BY i.id", ())


def list_incidents(
    desk: Desk, *, include_resolved: bool = False, limit: int = 50
) -> list[IncidentSummary]:
    permissions.require(desk.actor, "ticket.read")
    if include_resolved:
        return _summaries(desk, " ORDER BY i.id DESC LIMIT ?", (limit,))
    return open_incidents(desk)[:limit]


def summary(desk: Desk, incident_id: int) -> IncidentSummary:
    found = _summaries(desk, " WHERE i.id = ?", (incident_id,))
    if not found:
        raise NotFound(f"no incident #{incident_id}")
    return found[0]


AFFECTED_SQL = (
    "SELECT sv.account_id, a.company, sv.server FROM services sv"
    " JOIN accounts a ON a.id = sv.account_id"
    " WHERE sv.server IN ({marks}) ORDER BY sv.account_id, sv.server"
)


def affected_accounts(
    desk: Desk, servers: Sequence[str], limit: int = AFFECTED_LIMIT
) -> tuple[list[AffectedAccount], int]:
    """Accounts with a service on one of `servers` (the first `limit`), and how many."""
    if not servers:
        return [], 0
    marks = ", ".join("?" * len(servers))
    total = int(
        desk.store.query(
            f"SELECT count(DISTINCT account_id) FROM services WHERE server IN ({marks})",
            list(servers),
        )[0][0]
    )
    by_account: dict[str, tuple[str, list[str]]] = {}
    for account, company, server in desk.store.query(
        AFFECTED_SQL.format(marks=marks), list(servers)
    ):
        if account not in by_account:
            if len(by_account) >= limit:
                break
            by_account[account] = (company, [])
        if server not in by_account[account][1]:
            by_account[account][1].append(server)
    counts: dict[str, int] = {}
    if by_account:
        ids = list(by_account)
        amarks = ", ".join("?" * len(ids))
        counts = {
            str(a): int(n)
            for a, n in desk.store.query(
                f"SELECT account_id, count(*) FROM tickets WHERE account_id IN ({amarks})"
                " AND view <> 'done' GROUP BY account_id",
                ids,
            )
        }
    return [
        AffectedAccount(a, company, tuple(srv), counts.get(a, 0))
        for a, (company, srv) in by_account.items()
    ], total


def show(desk: Desk, incident_id: int) -> IncidentView:
    """An incident with its updates, linked tickets, calls and affected accounts."""
    from supportdesk.core.queue import PRIORITY_NAMES

    permissions.require(desk.actor, "ticket.read")
    inc = summary(desk, incident_id)
    updates = tuple(
        UpdateView(uid, kind, state, body, by, _utc(at) or desk.now(), int(n))
        for uid, kind, state, body, by, at, n in desk.store.query(
            "SELECT u.id, u.kind, u.state, u.body, s.login, u.at, u.tickets_posted"
            " FROM incident_updates u LEFT JOIN staff s ON s.id = u.by_id"
            " WHERE u.incident_id = ? ORDER BY u.id",
            (incident_id,),
        )
    )
    rows = desk.store.query(
        "SELECT t.id, t.account_id, t.subject, t.status, t.priority_rank,"
        " (SELECT s.login FROM staff s WHERE s.id = t.holder_id),"
        " (SELECT s.login FROM staff s WHERE s.id = l.by_id), l.at, l.reason, l.keep_open"
        " FROM incident_links l JOIN tickets t ON t.id = l.ticket_id"
        " WHERE l.incident_id = ? ORDER BY l.at, t.id",
        (incident_id,),
    )
    linked = tuple(
        LinkedTicket(
            r[0], r[1], r[2], r[3], PRIORITY_NAMES[r[4]], r[5], r[6],
            _utc(r[7]) or desk.now(), r[8], bool(r[9]),
        )
        for r in rows
    )  # fmt: skip
    calls = tuple(
        CallView(cid, account, tid, caller, by, _utc(at) or desk.now(), note or "")
        for cid, account, tid, caller, by, at, note in desk.store.query(
            "SELECT c.id, c.account_id, c.ticket_id,"
            " coalesce((SELECT ct.name FROM contacts ct WHERE ct.id = c.contact_id),"
            " c.caller_name), s.login, c.at, c.note"
            " FROM incident_calls c LEFT JOIN staff s ON s.id = c.staff_id"
            " WHERE c.incident_id = ? ORDER BY c.id",
            (incident_id,),
        )
    )
    affected, total = affected_accounts(desk, inc.servers)
    return IncidentView(inc, updates, linked, tuple(affected), total, calls)


def for_account(desk: Desk, account_id: str) -> list[IncidentSummary]:
    """The open incidents on a server one of the account's services runs on."""
    rows = desk.store.query(
        "SELECT DISTINCT x.incident_id FROM services sv"
        " JOIN incident_servers x ON x.server = sv.server"
        " JOIN incidents i ON i.id = x.incident_id"
        " WHERE sv.account_id = ? AND i.state <> 'resolved'",
        (account_id,),
    )
    ids = sorted(int(r[0]) for r in rows)
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return _summaries(desk, f" WHERE i.id IN ({marks}) ORDER BY i.id", ids)


def linked_to(desk: Desk, ticket_id: int) -> list[int]:
    """The incidents a ticket is linked to."""
    return [
        int(r[0])
        for r in desk.store.query(
            "SELECT incident_id FROM incident_links WHERE ticket_id = ? ORDER BY incident_id",
            (ticket_id,),
        )
    ]


def affected_among(desk: Desk, account_ids: Sequence[str]) -> dict[str, int]:
    """Of these accounts (a queue window), those an open incident affects: account ->
    the incident's number (the queue's marker)."""
    if not account_ids:
        return {}
    ids = sorted(set(account_ids))
    marks = ", ".join("?" * len(ids))
    out: dict[str, int] = {}
    for account, iid in desk.store.query(
        "SELECT sv.account_id, min(x.incident_id) FROM services sv"
        " JOIN incident_servers x ON x.server = sv.server"
        " JOIN incidents i ON i.id = x.incident_id"
        f" WHERE sv.account_id IN ({marks}) AND i.state <> 'resolved'"
        " GROUP BY sv.account_id",
        ids,
    ):
        out[str(account)] = int(iid)
    return out


def _affects(session: Session, incident_id: int, account_id: str) -> bool:
    from sqlalchemy import select

    from supportdesk.models import IncidentServer, Service

    return (
        session.scalar(
            select(Service.id)
            .join(IncidentServer, IncidentServer.server == Service.server)
            .where(IncidentServer.incident_id == incident_id, Service.account_id == account_id)
            .limit(1)
        )
        is not None
    )


# -- writing -------------------------------------------------------------------------------
def default_script(title: str, servers: Sequence[str]) -> str:
    return (
        f"We know about a problem on {', '.join(servers)}: {title}. Our engineers are on it; "
        "you do not need to open a ticket. We will update you as soon as we know more."
    )


def open_incident(
    desk: Desk,
    servers: Iterable[str],
    title: str,
    *,
    cadence: str | None = None,
    script: str | None = None,
    owner: str | None = None,
) -> IncidentSummary:
    """Open an incident on `servers`; its owner is the on-call engineer (`owner`, else the
    engineer or lead opening it). The first customer update is due one cadence from now."""
    from supportdesk.models import Incident, IncidentServer, IncidentUpdate

    actor = desk.actor
    permissions.require(actor, "incident.open")
    names = server_names(servers)
    what = _text(title, "a title (--title)", 300)
    every = parse_cadence(cadence)
    words = (script or "").strip() or default_script(what, names)
    if len(words) > 4000:
        raise UsageError(f"the script is too long ({len(words)} characters; at most 4000)")
    limits.check(words, limits.SCRIPT, what="--script")
    with desk.write() as (session, record):
        known_servers(session, names)
        if owner:
            person = staff_by_login(session, owner)
            if person.role == Role.AGENT.value:
                raise UsageError(
                    f"{person.login} is an agent: an incident's owner is the on-call engineer "
                    "or a lead"
                )
            owner_id, owner_login = person.id, person.login
        elif actor.role is Role.AGENT:
            raise UsageError("name the on-call engineer who owns the incident (--owner LOGIN)")
        else:
            owner_id, owner_login = actor.staff_id, actor.login
        now = desk.now()
        due = now + timedelta(seconds=every)
        inc = Incident(
            title=what,
            state="investigating",
            script=words,
            owner_id=owner_id,
            opened_by_id=actor.staff_id,
            opened_at=now,
            updated_at=now,
            cadence_s=every,
            next_update_due=due,
        )
        session.add(inc)
        session.flush()
        for name in names:
            session.add(IncidentServer(incident_id=inc.id, server=name))
        if owner_id != actor.staff_id:  # the on-call engineer hears it on their console
            from supportdesk.core.notices import notify

            notify(
                session,
                desk,
                owner_id,
                None,
                "incident",
                f"{actor.login} opened incident #{inc.id} on {', '.join(names)} and made you "
                f"its owner: {what}",
            )
        session.add(
            IncidentUpdate(
                incident_id=inc.id,
                kind="opened",
                state="investigating",
                body=what,
                by_id=actor.staff_id,
                at=now,
                tickets_posted=0,
            )
        )
        record(
            "incident.open",
            "incident",
            inc.id,
            {
                "title": [None, what],
                "servers": [None, list(names)],
                "owner": [None, owner_login],
                "state": [None, "investigating"],
                "cadence_s": [None, every],
                "next_update_due": [None, due.isoformat()],
                "script": [None, body_digest(words)],
            },
        )
        iid = inc.id
    return summary(desk, iid)


def _post_reply(
    session: Session, desk: Desk, record: Any, ticket: Ticket, body: str, incident_id: int
) -> None:
    """The update as a customer-visible reply on one linked ticket (its first response when
    it had none), with its audit row."""
    from supportdesk.core.tickets import add_event, first_response

    now = desk.now()
    add_event(session, desk, ticket, EventKind.REPLY, body=body, visible=True)
    changes: dict[str, Any] = {
        "body": [None, body_digest(body)],
        "incident": [None, incident_id],
    }
    first_response(ticket, now, changes)
    on_first_response(session, desk, ticket, f"incident #{incident_id} update")
    ticket.last_speaker = Speaker.STAFF.value
    ticket.last_activity_at = now
    ticket.updated_at = now
    record("ticket.reply", "ticket", ticket.id, changes)


def _linked_tickets(session: Session, incident_id: int, *, lock: bool = False) -> list[Any]:
    from sqlalchemy import select

    from supportdesk.models import IncidentLink, Ticket

    stmt = (
        select(Ticket, IncidentLink)
        .join(IncidentLink, IncidentLink.ticket_id == Ticket.id)
        .where(IncidentLink.incident_id == incident_id)
        .order_by(Ticket.id)
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Ticket)
    return list(session.execute(stmt).all())


def update_text(inc: Incident, body: str) -> str:
    return f"Update on the incident affecting your service ({inc.title}): {body}"


def post_update(
    desk: Desk,
    incident_id: int,
    body: str,
    *,
    state: str | None = None,
    script: str | None = None,
) -> UpdateResult:
    """A customer update: posted as a reply on every live linked ticket, in one transaction;
    the next update is then due one cadence later. May move the state (not to resolved:
    `resolve` does that) and replace the script agents read."""
    from supportdesk.models import IncidentUpdate

    words = _text(body, "the update's text")
    if state is not None:
        state = state.strip().lower()
        if state not in STATES:
            raise UsageError(f"unknown state {state!r} (one of: {', '.join(STATES)})")
        if state == "resolved":
            raise UsageError("resolve an incident with `supportdesk incident resolve`")
    new_script = (script or "").strip() or None
    if new_script is not None:
        _text(new_script, "--script")
    with desk.write() as (session, record):
        inc = _incident(session, incident_id, lock=True)
        _manager(desk, inc)
        _open(inc, "updated")
        now = desk.now()
        posted: list[int] = []
        reply = update_text(inc, words)
        for ticket, _link in _linked_tickets(session, inc.id, lock=True):
            if ticket.status in DONE:
                continue
            _post_reply(session, desk, record, ticket, reply, inc.id)
            posted.append(ticket.id)
        changes: dict[str, Any] = {
            "body": [None, body_digest(words)],
            "tickets_posted": [None, posted],
            "next_update_due": [
                inc.next_update_due.isoformat() if inc.next_update_due else None,
                (now + timedelta(seconds=inc.cadence_s)).isoformat(),
            ],
        }
        new_state = state or inc.state
        if new_state != inc.state:
            changes["state"] = [inc.state, new_state]
            inc.state = new_state
        if new_script is not None and new_script != inc.script:
            changes["script"] = [body_digest(inc.script), body_digest(new_script)]
            inc.script = new_script
        inc.next_update_due = now + timedelta(seconds=inc.cadence_s)
        inc.updated_at = now
        update = IncidentUpdate(
            incident_id=inc.id,
            kind="update",
            state=inc.state,
            body=words,
            by_id=desk.actor.staff_id,
            at=now,
            tickets_posted=len(posted),
        )
        session.add(update)
        session.flush()
        record("incident.update", "incident", inc.id, changes)
        return UpdateResult(inc.id, update.id, inc.state, tuple(posted), inc.next_update_due)


def acknowledge(desk: Desk, incident_id: int) -> IncidentSummary:
    """A lead or the on-call engineer (the owner) takes it on: no console rings for it again."""
    from supportdesk.models import IncidentUpdate

    with desk.write() as (session, record):
        inc = _incident(session, incident_id, lock=True)
        actor = desk.actor
        if not (actor.is_lead or inc.owner_id == actor.staff_id):
            owner = login_of(session, inc.owner_id)
            raise NotAllowed(
                f"only a lead or the on-call engineer ({owner}) acknowledges incident #{inc.id}"
            )
        _open(inc, "acknowledged")
        if inc.acknowledged_at is not None:
            who = login_of(session, inc.acknowledged_by_id)
            raise NothingToDo(f"incident #{inc.id} was already acknowledged by {who}")
        now = desk.now()
        inc.acknowledged_at = now
        inc.acknowledged_by_id = actor.staff_id
        inc.updated_at = now
        session.add(
            IncidentUpdate(
                incident_id=inc.id,
                kind="ack",
                state=inc.state,
                body=f"acknowledged by {actor.login}",
                by_id=actor.staff_id,
                at=now,
                tickets_posted=0,
            )
        )
        record(
            "incident.ack",
            "incident",
            inc.id,
            {"acknowledged_at": [None, now.isoformat()], "acknowledged_by": [None, actor.login]},
        )
    return summary(desk, incident_id)


def link_ticket(
    desk: Desk,
    incident_id: int,
    ticket_id: int,
    *,
    reason: str | None = None,
    call: bool = False,
) -> LinkResult:
    """Link a ticket to the incident instead of working it on its own: a note on the ticket
    names the incident. With `call` (the customer is on the line and was told) the call is
    logged too, which is the customer's response (the respond clock stops). A ticket of an
    account the incident does not affect is linked only with a reason."""
    from sqlalchemy import select

    from supportdesk.core.tickets import add_event, first_response, guard, load_ticket
    from supportdesk.models import IncidentCall, IncidentLink

    why = limits.check((reason or "").strip(), limits.REASON, what="--reason") or None
    with desk.write() as (session, record):
        inc = _incident(session, incident_id, lock=True)
        _open(inc, "linked to")
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.note")
        if t.status == Status.CLOSED.value:
            raise InvalidTransition(f"ticket #{t.id} is closed; it cannot be linked")
        have = session.scalar(
            select(IncidentLink.ticket_id).where(
                IncidentLink.incident_id == inc.id, IncidentLink.ticket_id == t.id
            )
        )
        if have is not None:
            raise NothingToDo(f"ticket #{t.id} is already linked to incident #{inc.id}")
        affected = _affects(session, inc.id, t.account_id)
        if not affected and why is None:
            raise UsageError(
                f"account {t.account_id} has no service on {_server_text(session, inc.id)}: "
                f"give a reason to link ticket #{t.id} anyway (--reason)"
            )
        now = desk.now()
        session.add(
            IncidentLink(
                incident_id=inc.id,
                ticket_id=t.id,
                by_id=desk.actor.staff_id,
                at=now,
                reason=why,
                keep_open=False,
            )
        )
        note = f"Linked to incident #{inc.id}: {inc.title}" + (f"\nWhy: {why}" if why else "")
        add_event(session, desk, t, EventKind.NOTE, body=note)
        changes: dict[str, Any] = {"incident": [None, inc.id]}
        if why:
            changes["reason"] = [None, body_digest(why)]
        responded = False
        if call:
            told = f"Caller told about incident #{inc.id} ({inc.title}) from the script."
            add_event(
                session,
                desk,
                t,
                EventKind.CALL,
                body=told,
                visible=True,
                call_outcome=CallOutcome.SPOKE.value,
            )
            responded = t.first_response_at is None
            first_response(t, now, changes)
            on_first_response(session, desk, t, "call: spoke")
            t.last_speaker = Speaker.STAFF.value
            t.last_activity_at = now
            session.add(
                IncidentCall(
                    incident_id=inc.id,
                    account_id=t.account_id,
                    ticket_id=t.id,
                    contact_id=t.contact_id,
                    caller_name=t.caller_name,
                    caller_phone=t.caller_phone,
                    note="",
                    staff_id=desk.actor.staff_id,
                    at=now,
                )
            )
            changes["call"] = [None, CallOutcome.SPOKE.value]
        t.updated_at = now
        record("incident.link", "ticket", t.id, changes)
        return LinkResult(inc.id, t.id, t.account_id, affected, responded)


def _server_text(session: Session, incident_id: int) -> str:
    from sqlalchemy import select

    from supportdesk.models import IncidentServer

    names = session.scalars(
        select(IncidentServer.server)
        .where(IncidentServer.incident_id == incident_id)
        .order_by(IncidentServer.server)
    )
    return ", ".join(names)


def log_call(
    desk: Desk,
    incident_id: int,
    account: str,
    *,
    contact_id: int | None = None,
    caller_name: str | None = None,
    caller_phone: str | None = None,
    verification_id: int | None = None,
    note: str = "",
    reason: str | None = None,
) -> CallResult:
    """A caller about the incident who has no ticket: the call is recorded against the
    incident and the account (who called, who took it, when), and no ticket is opened."""
    from supportdesk.models import Account, Contact, IncidentCall, Verification

    permissions.require(desk.actor, "ticket.call")
    why = limits.check((reason or "").strip(), limits.REASON, what="--reason") or None
    limits.check(account, limits.ACCOUNT_ID, what="--account")
    limits.check_optional(caller_name, limits.CALLER_NAME, what="--caller-name")
    limits.check_optional(caller_phone, limits.PHONE, what="--caller-phone")
    limits.check(note or "", limits.BODY, what="--note")
    with desk.write() as (session, record):
        inc = _incident(session, incident_id, lock=True)
        _open(inc, "called about")
        if session.get(Account, account) is None:
            raise NotFound(f"no account {account!r}")
        if contact_id is not None:
            contact = session.get(Contact, contact_id) if limits.fits_id(contact_id) else None
            if contact is None or contact.account_id != account:
                raise NotFound(f"no contact {contact_id} on account {account}")
        if verification_id is not None:
            v = (
                session.get(Verification, verification_id)
                if limits.fits_id(verification_id)
                else None
            )
            if v is None or v.account_id != account:
                raise NotFound(f"no verification {verification_id} for account {account}")
        affected = _affects(session, inc.id, account)
        if not affected and why is None:
            raise UsageError(
                f"account {account} has no service on {_server_text(session, inc.id)}: "
                "give a reason to record the call against this incident anyway (--reason)"
            )
        text = (note or "").strip()
        if why:
            text = (text + "\n" if text else "") + f"Why: {why}"
        call = IncidentCall(
            incident_id=inc.id,
            account_id=account,
            contact_id=contact_id,
            caller_name=(caller_name or "").strip() or None,
            caller_phone=(caller_phone or "").strip() or None,
            verification_id=verification_id,
            note=text,
            staff_id=desk.actor.staff_id,
            at=desk.now(),
        )
        session.add(call)
        session.flush()
        record(
            "incident.call",
            "incident",
            inc.id,
            {
                "call": [None, call.id],
                "account": [None, account],
                "contact": [None, contact_id],
                "caller_name": [None, call.caller_name],
                "note": [None, body_digest(text) if text else None],
            },
        )
        return CallResult(inc.id, call.id, account, affected)


def resolve(
    desk: Desk, incident_id: int, body: str, *, keep_open: Sequence[int] = ()
) -> ResolveResult:
    """The outage is over: the last update goes to every live linked ticket, which is then
    resolved (fixed), except those in `keep_open` (and any awaiting authorization, which
    cannot be resolved); the incident is resolved and leaves every console's banner."""
    from supportdesk.core.tickets import add_event, change_status
    from supportdesk.models import IncidentUpdate

    words = _text(body, "what fixed it (the resolution's text)")
    keep = set(keep_open)
    with desk.write() as (session, record):
        inc = _incident(session, incident_id, lock=True)
        _manager(desk, inc)
        _open(inc, "resolved again")
        rows = _linked_tickets(session, inc.id, lock=True)
        unknown = keep - {t.id for t, _ in rows}
        if unknown:
            raise UsageError(
                f"not linked to incident #{inc.id}: " + ", ".join(f"#{n}" for n in sorted(unknown))
            )
        now = desk.now()
        reply = f"Resolved: the incident affecting your service ({inc.title}) is over. {words}"
        posted: list[int] = []
        resolved: list[int] = []
        left: list[int] = []
        for ticket, link in rows:
            if ticket.status in DONE:
                continue
            _post_reply(session, desk, record, ticket, reply, inc.id)
            posted.append(ticket.id)
            if ticket.id in keep or ticket.status == Status.AWAITING_AUTHORIZATION.value:
                link.keep_open = True
                add_event(
                    session,
                    desk,
                    ticket,
                    EventKind.NOTE,
                    body=f"Incident #{inc.id} resolved; this ticket stays open for its own work.",
                )
                left.append(ticket.id)
                continue
            change_status(
                session,
                desk,
                record,
                ticket,
                Status.RESOLVED,
                ResolutionCode.FIXED,
                extra={"incident": [None, inc.id]},
            )
            resolved.append(ticket.id)
        record(
            "incident.resolve",
            "incident",
            inc.id,
            {
                "state": [inc.state, "resolved"],
                "body": [None, body_digest(words)],
                "tickets_resolved": [None, resolved],
                "tickets_left_open": [None, left],
            },
        )
        inc.state = "resolved"
        inc.resolved_at = now
        inc.next_update_due = None
        inc.updated_at = now
        session.add(
            IncidentUpdate(
                incident_id=inc.id,
                kind="resolved",
                state="resolved",
                body=words,
                by_id=desk.actor.staff_id,
                at=now,
                tickets_posted=len(posted),
            )
        )
        return ResolveResult(inc.id, tuple(resolved), tuple(left), tuple(posted))
