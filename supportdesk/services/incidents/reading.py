"""Reading incidents: the open ones, one in full, the accounts and tickets they touch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.errors import NotFound
from supportdesk.services.incidents.common import AFFECTED_LIMIT
from supportdesk.services.incidents.views import (
    AffectedAccount,
    CallView,
    IncidentSummary,
    IncidentView,
    LinkedTicket,
    UpdateView,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


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


def affects(session: Session, incident_id: int, account_id: str) -> bool:
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
