"""The queue: tickets of one view in priority-then-arrival order, one keyset page at a time.

Every filter has an index that starts with its equality columns and ends with the order
(`priority_rank, created_at, id`), so the first page is read straight off an index with no
sort (tests read EXPLAIN QUERY PLAN). Names for the page (companies, contacts, holders) are
fetched by primary key afterwards, so the planner never drives the query from a joined table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from ..models import PRIORITY_ORDER, Account, Contact, Presence, Staff, Ticket, UTCDateTime, View
from .desk import Desk
from .errors import UsageError
from .views import QueueKey, QueuePage, QueueRow

MAX_PAGE = 1000


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: a view plus optional narrowing."""

    view: View = View.QUEUE
    tier: int | None = None
    category: str | None = None
    mine: bool = False
    unclaimed: bool = False
    search: str | None = None

    def describe(self) -> str:
        parts = [self.view.value]
        if self.tier is not None:
            parts.append(f"tier {self.tier}")
        if self.category:
            parts.append(self.category)
        if self.mine:
            parts.append("mine")
        if self.unclaimed:
            parts.append("unclaimed")
        if self.search:
            parts.append(f"“{self.search}”")
        return " · ".join(parts)

    def with_(self, **changes: Any) -> QueueFilter:
        return replace(self, **changes)


ORDER = (Ticket.priority_rank, Ticket.created_at, Ticket.id)
COLUMNS = (
    Ticket.id,
    Ticket.priority_rank,
    Ticket.account_id,
    Ticket.subject,
    Ticket.category,
    Ticket.channel,
    Ticket.status,
    Ticket.tier,
    Ticket.created_at,
    Ticket.holder_id,
    Ticket.last_speaker,
    Ticket.last_activity_at,
    Ticket.contact_id,
    Ticket.service_id,
    Ticket.caller_name,
    # Names by primary key as scalar subqueries: the planner still drives from the tickets
    # index (no sort), and a page needs no further round trips.
    select(Account.company)
    .where(Account.id == Ticket.account_id)
    .scalar_subquery()
    .label("company"),
    select(Staff.login).where(Staff.id == Ticket.holder_id).scalar_subquery().label("holder"),
    select(Contact.name).where(Contact.id == Ticket.contact_id).scalar_subquery().label("contact"),
)


def _key_tuple(key: QueueKey) -> Any:
    return tuple_(
        literal(key.priority_rank),
        literal(key.created_at, UTCDateTime()),
        literal(key.id),
    )


def filtered(filt: QueueFilter, staff_id: int | None) -> Select[Any]:
    """The SELECT for a filter, without order or limit (shared by page, count and EXPLAIN)."""
    if filt.mine and filt.unclaimed:
        raise UsageError("--mine and --unclaimed exclude each other")
    stmt: Any = select(*COLUMNS).where(Ticket.view == filt.view.value)
    if filt.tier is not None:
        stmt = stmt.where(Ticket.tier == filt.tier)
    if filt.category:
        stmt = stmt.where(Ticket.category == filt.category)
    if filt.mine:
        stmt = stmt.where(Ticket.holder_id == staff_id)
    if filt.unclaimed:
        stmt = stmt.where(Ticket.holder_id.is_(None))
    if filt.search:
        text = filt.search.strip()
        like = f"%{text.replace('%', '').replace('_', '')}%"
        conds: list[Any] = [Ticket.subject.ilike(like), Ticket.account_id.ilike(like)]
        if text.lstrip("#").isdigit():
            conds.append(Ticket.id == int(text.lstrip("#")))
        stmt = stmt.where(or_(*conds))
    return stmt


def first_page_statement(filt: QueueFilter, staff_id: int | None, limit: int) -> Select[Any]:
    return filtered(filt, staff_id).order_by(*ORDER).limit(limit)


def page(
    desk: Desk,
    filt: QueueFilter,
    *,
    after: QueueKey | None = None,
    start_at: QueueKey | None = None,
    before: QueueKey | None = None,
    limit: int = 200,
    with_total: bool = False,
) -> QueuePage:
    """One window of the queue: from the top, from a row (inclusive), after or before a row."""
    if not 1 <= limit <= MAX_PAGE:
        raise UsageError(f"--limit must be between 1 and {MAX_PAGE}")
    staff_id = desk.actor.staff_id
    stmt = filtered(filt, staff_id)
    order_cols = tuple_(*ORDER)
    backwards = before is not None
    if before is not None:
        stmt = stmt.where(order_cols < _key_tuple(before))
        stmt = stmt.order_by(*(c.desc() for c in ORDER))
    else:
        if after is not None:
            stmt = stmt.where(order_cols > _key_tuple(after))
        elif start_at is not None:
            stmt = stmt.where(order_cols >= _key_tuple(start_at))
        stmt = stmt.order_by(*ORDER)
    stmt = stmt.limit(limit + 1)
    with desk.store.read() as s:
        raw = list(s.connection().execute(stmt).all())
        more = len(raw) > limit
        raw = raw[:limit]
        if backwards:
            raw.reverse()
        rows = _decorate(s, raw, me=staff_id)
        total = (
            s.execute(
                select(func.count()).select_from(filtered(filt, staff_id).subquery())
            ).scalar_one()
            if with_total
            else None
        )
        if backwards:
            more_before, more_after = more, True
        else:
            more_after = more
            more_before = (
                (after is not None or start_at is not None)
                and bool(rows)
                and _exists_before(s, filt, staff_id, rows[0].key)
            )
    return QueuePage(
        tuple(rows), has_more_after=more_after, has_more_before=more_before, total=total
    )


def count(desk: Desk, filt: QueueFilter) -> int:
    staff_id = desk.actor.staff_id
    with desk.store.read() as s:
        sub = filtered(filt, staff_id).subquery()
        return int(s.execute(select(func.count()).select_from(sub)).scalar_one())


def _exists_before(s: Session, filt: QueueFilter, staff_id: int | None, key: QueueKey) -> bool:
    stmt = filtered(filt, staff_id).where(tuple_(*ORDER) < _key_tuple(key)).limit(1)
    return s.execute(stmt).first() is not None


def _decorate(s: Session, raw: Sequence[Any], me: int | None) -> list[QueueRow]:
    """Turn raw rows into QueueRows, adding who else has each ticket open (one small query)."""
    if not raw:
        return []
    ticket_ids = [r.id for r in raw]
    open_by: dict[int, set[str]] = {}
    for tid, sid, login in s.execute(
        select(Presence.ticket_id, Presence.staff_id, Staff.login)
        .join(Staff, Staff.id == Presence.staff_id)
        .where(and_(Presence.ticket_id.in_(ticket_ids), Presence.state != "off"))
    ):
        if sid != me and tid is not None:
            open_by.setdefault(tid, set()).add(login)
    ranks = PRIORITY_ORDER
    return [
        QueueRow(
            r.id,
            ranks[r.priority_rank].value,
            r.account_id,
            r.company or "",
            r.subject,
            r.category,
            r.channel,
            r.status,
            r.tier,
            r.created_at,
            r.holder,
            r.last_speaker,
            r.last_activity_at,
            r.contact if r.contact_id is not None else r.caller_name,
            r.service_id,
            tuple(sorted(open_by[r.id])) if r.id in open_by else (),
        )
        for r in raw
    ]
