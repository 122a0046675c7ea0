"""The queue: tickets of one view in priority-then-arrival order, one keyset page at a time.

Every filter has an index that starts with its equality columns and ends with the order
(`priority_rank, created_at, id`), so the first page is read straight off an index with no
sort (tests read EXPLAIN QUERY PLAN). Names for the page (companies, contacts, holders) are
fetched by primary key afterwards, so the planner never drives the query from a joined table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session

from ..models import PRIORITY_ORDER, Account, Contact, Presence, Staff, Ticket, UTCDateTime, View
from .desk import Desk
from .errors import UsageError
from .presence import marker_cutoff
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
# Times come back raw (SQLite text or PostgreSQL datetimes) and are parsed by `_utc`: the
# TypeDecorator's per-value work was a third of a 500-row page.
CREATED_RAW = type_coerce(Ticket.created_at, String).label("created_raw")
ACTIVITY_RAW = type_coerce(Ticket.last_activity_at, String).label("activity_raw")
COLUMNS = (
    Ticket.id,
    Ticket.priority_rank,
    Ticket.account_id,
    Ticket.subject,
    Ticket.category,
    Ticket.channel,
    Ticket.status,
    Ticket.tier,
    CREATED_RAW,
    Ticket.holder_id,
    Ticket.last_speaker,
    ACTIVITY_RAW,
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
# The literal term that lets SQLite use the partial queue indexes (see models.tickets).
LIVE = Ticket.view != literal_column("'done'")
SEARCH_COUNT_CAP = 10_000


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _key_tuple(key: QueueKey) -> Any:
    return tuple_(
        literal(key.priority_rank),
        literal(key.created_at, UTCDateTime()),
        literal(key.id),
    )


def conditions(filt: QueueFilter, staff_id: int | None) -> list[Any]:
    """The WHERE terms of a filter (shared by page, count and EXPLAIN)."""
    if filt.mine and filt.unclaimed:
        raise UsageError("--mine and --unclaimed exclude each other")
    if filt.view is View.DONE:
        raise UsageError("the queue shows live tickets only (queue, held, waiting, scheduled)")
    terms: list[Any] = [Ticket.view == filt.view.value, LIVE]
    if filt.tier is not None:
        terms.append(Ticket.tier == filt.tier)
    if filt.category:
        terms.append(Ticket.category == filt.category)
    if filt.mine:
        terms.append(Ticket.holder_id == staff_id)
    if filt.unclaimed:
        terms.append(Ticket.holder_id.is_(None))
    if filt.search:
        text = filt.search.strip()
        if text.lstrip("#").isdigit():
            terms.append(Ticket.id == int(text.lstrip("#")))  # a number finds that ticket
        else:
            like = f"%{text.replace('%', '').replace('_', '')}%"
            terms.append(or_(Ticket.subject.ilike(like), Ticket.account_id.ilike(like)))
    return terms


def filtered(filt: QueueFilter, staff_id: int | None) -> Select[Any]:
    """The SELECT for a filter, without order or limit."""
    return select(*COLUMNS).where(*conditions(filt, staff_id))


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
        total = _count(s, filt, staff_id) if with_total else None
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


def _count(s: Session, filt: QueueFilter, staff_id: int | None) -> int:
    stmt = select(Ticket.id).where(*conditions(filt, staff_id))
    if filt.search:  # a substring search scans: stop counting at the cap
        stmt = stmt.limit(SEARCH_COUNT_CAP)
    return int(s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())


def count(desk: Desk, filt: QueueFilter) -> int:
    """How many tickets the filter shows (at most SEARCH_COUNT_CAP while searching)."""
    staff_id = desk.actor.staff_id
    with desk.store.read() as s:
        return _count(s, filt, staff_id)


def _exists_before(s: Session, filt: QueueFilter, staff_id: int | None, key: QueueKey) -> bool:
    stmt = (
        select(Ticket.id)
        .where(*conditions(filt, staff_id), tuple_(*ORDER) < _key_tuple(key))
        .limit(1)
    )
    return s.execute(stmt).first() is not None


PRIORITY_NAMES = tuple(p.value for p in PRIORITY_ORDER)


def _decorate(s: Session, raw: Sequence[Any], me: int | None) -> list[QueueRow]:
    """Turn raw rows into QueueRows, adding who else has each ticket open.

    Presence is a few rows per running console, so all open markers are read at once
    rather than with an IN list of the page's ids.
    """
    if not raw:
        return []
    open_by: dict[int, set[str]] = {}
    for tid, sid, login in s.execute(
        select(Presence.ticket_id, Presence.staff_id, Staff.login)
        .join(Staff, Staff.id == Presence.staff_id)
        .where(
            and_(
                Presence.ticket_id.is_not(None),
                Presence.state != "off",
                Presence.seen_at >= marker_cutoff(datetime.now(UTC)),
            )
        )
    ):
        if sid != me and tid is not None:
            open_by.setdefault(tid, set()).add(login)
    names = PRIORITY_NAMES
    return [
        QueueRow(
            tid,
            names[rank],
            account,
            company or "",
            subject,
            category,
            channel,
            status,
            tier,
            _utc(created),
            holder,
            speaker,
            _utc(activity),
            contact if contact_id is not None else caller,
            service,
            tuple(sorted(open_by[tid])) if tid in open_by else (),
        )
        for (
            tid,
            rank,
            account,
            subject,
            category,
            channel,
            status,
            tier,
            created,
            _holder_id,
            speaker,
            activity,
            contact_id,
            service,
            caller,
            company,
            holder,
            contact,
        ) in raw
    ]
