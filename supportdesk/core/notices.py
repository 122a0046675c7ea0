"""Watchers and notices: a notice for one person's console is written in the transaction of
the change it tells about; watchers hear of every change of a ticket they follow; a console
reads its unseen notices and marks them seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from supportdesk.core.desk import Desk
from supportdesk.core.views import JsonMixin, parse_utc
from supportdesk.store import on_transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import Ticket
    from supportdesk.store import Transaction


NOTICE_INSERT = (
    "INSERT INTO notices (staff_id, ticket_id, kind, body, by_id, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
WATCHERS_SQL = "SELECT staff_id FROM watchers WHERE ticket_id = ? ORDER BY staff_id"


def notify_on(
    tx: Transaction, desk: Desk, staff_id: int, ticket_id: int | None, kind: str, body: str
) -> None:
    """A notice for one person's console, in the transaction of the change it tells about
    (a plain-driver transaction, or an ORM session's through `notify`)."""
    tx.run(
        NOTICE_INSERT,
        (
            staff_id,
            ticket_id,
            kind,
            body,
            desk.actor.staff_id,
            tx.timestamp(desk.clock.real_now()),
        ),
    )


def notify(
    session: Session,
    desk: Desk,
    staff_id: int,
    ticket_id: int | None,
    kind: str,
    body: str,
) -> None:
    """A notice for one person's console, in the transaction of the change it tells about."""
    notify_on(on_transaction(session), desk, staff_id, ticket_id, kind, body)


def watch(session: Session, desk: Desk, ticket_id: int, staff_id: int) -> None:
    from sqlalchemy import select

    from supportdesk.models import Watcher

    have = session.scalar(
        select(Watcher.staff_id).where(Watcher.ticket_id == ticket_id, Watcher.staff_id == staff_id)
    )
    if have is None:
        session.add(Watcher(ticket_id=ticket_id, staff_id=staff_id, since=desk.now()))


def tell_watchers_on(
    tx: Transaction, desk: Desk, ticket_id: int, holder_id: int | None, text: str
) -> None:
    """Watchers (not the actor, not the holder) hear of each change of a ticket they follow."""
    me = desk.actor.staff_id
    for (sid,) in tx.run(WATCHERS_SQL, (ticket_id,)):
        if sid != me and sid != holder_id:
            notify_on(tx, desk, sid, ticket_id, "watch", f"#{ticket_id} {text}")


def tell_watchers(session: Session, desk: Desk, ticket: Ticket, text: str) -> None:
    """`tell_watchers_on` inside an ORM session (the ticket's pending changes flushed)."""
    tell_watchers_on(on_transaction(session), desk, ticket.id, ticket.holder_id, text)


@dataclass(frozen=True)
class NoticeView(JsonMixin):
    id: int
    ticket_id: int | None
    kind: str
    body: str
    by: str | None
    at: datetime


NOTICE_SQL = (
    "SELECT n.id, n.ticket_id, n.kind, n.body, s.login, n.created_at FROM notices n"
    " LEFT JOIN staff s ON s.id = n.by_id WHERE n.staff_id = ?"
)


def notices(desk: Desk, *, after: int | None = None, limit: int = 50) -> list[NoticeView]:
    """This person's notices: the unseen ones (`after` None), or every one after an id."""
    sql = NOTICE_SQL + (" AND n.seen_at IS NULL" if after is None else " AND n.id > ?")
    params: list[Any] = [desk.actor.staff_id]
    if after is not None:
        params.append(after)
    rows = desk.store.query(sql + " ORDER BY n.id LIMIT ?", [*params, limit])
    return [NoticeView(i, t, k, b, by, parse_utc(at) or desk.now()) for i, t, k, b, by, at in rows]


def last_notice_id(desk: Desk) -> int:
    rows = desk.store.query(
        "SELECT max(id) FROM notices WHERE staff_id = ?", (desk.actor.staff_id,)
    )
    return int(rows[0][0] or 0)


def mark_seen(desk: Desk, ids: Sequence[int]) -> None:
    """Notices shown in a console are not shown again at the next start."""
    from sqlalchemy import update

    from supportdesk.models import Notice

    if not ids:
        return
    with desk.store.write() as s:
        s.execute(
            update(Notice)
            .where(Notice.id.in_(list(ids)), Notice.staff_id == desk.actor.staff_id)
            .values(seen_at=desk.clock.real_now())
        )
