"""Maintenance notices (issue 18, item 4; seed 003, 6: "we'll Inform customers about scheduled
maintenance windows"): when a window is announced, one notice per active contact with an
e-mail address of every account with a service on its servers, due `[mail]
maintenance_notice` before the window opens (at once when that is already past). Only when
the policy sets `maintenance_notice`. A window moved later or earlier moves its notices
that are still queued, and a contact whose notice went out already gets a second one with
the new times; `withdraw` takes back notices not yet sent (state `withdrawn`, never sent).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from supportdesk.core.policy import current_policy
from supportdesk.core.template_context import automatic
from supportdesk.enums import TemplateKind
from supportdesk.services.outbox.customer import queue_once
from supportdesk.services.outbox.threads import contact_addresses, one_line

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk
    from supportdesk.models import MaintenanceWindow

UNSENT = ("queued", "deferred")
WITHDRAWN = "withdrawn"


def _when(value: datetime) -> str:
    return value.strftime("%a %Y-%m-%d %H:%M UTC")


def notice_subject(window: MaintenanceWindow) -> str:
    return f"Scheduled maintenance: {_when(window.starts_at)} to {_when(window.ends_at)}"


def moved_words(previous: tuple[datetime, datetime] | None) -> str:
    """The sentence that says a window moved, from its times before the move (the
    `window.moved` placeholder); "" for a window that did not move."""
    if previous is None:
        return ""
    start, end = previous
    return f"The maintenance window we announced for {_when(start)} to {_when(end)} has moved."


def notice_body(
    window: MaintenanceWindow,
    servers: tuple[str, ...],
    previous: tuple[datetime, datetime] | None = None,
) -> str:
    """The built-in notice; `previous`: the window's times before a move (it moved)."""
    head = moved_words(previous) or "Planned maintenance."
    return (
        f"{head}\n\n"
        f"From {_when(window.starts_at)} to {_when(window.ends_at)} we work on "
        f"{', '.join(servers)}; services on it may be unavailable for part of that time.\n\n"
        f"{window.notice}"
    )


def _contacts(session: Session, servers: tuple[str, ...]) -> list[tuple[int, str]]:
    """(contact id, name) of every active contact of the accounts on these servers."""
    from sqlalchemy import select

    from supportdesk.models import Contact, Service

    accounts = select(Service.account_id).where(Service.server.in_(servers)).distinct()
    return [
        (cid, name)
        for cid, name in session.execute(
            select(Contact.id, Contact.name)
            .where(Contact.account_id.in_(accounts), Contact.active)
            .order_by(Contact.id)
        )
    ]


def queue_notices(
    session: Session,
    desk: Desk,
    window: MaintenanceWindow,
    servers: tuple[str, ...],
    *,
    previous: tuple[datetime, datetime] | None = None,
) -> int:
    """The notices of `window` (see the module's docstring); how many were queued. With
    `previous` (its times before a move: it moved), notices still unsent are moved instead
    and only contacts already told get a new one."""
    from sqlalchemy import select

    from supportdesk.models import OutboxMessage

    rules = current_policy(desk).mail
    if rules.domain is None or rules.maintenance_notice_s is None:
        return 0
    now = desk.now()
    due = max(now, window.starts_at - timedelta(seconds=rules.maintenance_notice_s))
    subject = notice_subject(window)
    body = notice_body(window, servers, previous)
    edited = automatic(
        session,
        desk,
        TemplateKind.MAINTENANCE_NOTICE,
        None,
        {
            "window": {
                "start": _when(window.starts_at),
                "end": _when(window.ends_at),
                "servers": ", ".join(servers),
                "notice": window.notice or "",
                "moved": moved_words(previous),
                "previous_start": _when(previous[0]) if previous else "",
                "previous_end": _when(previous[1]) if previous else "",
            }
        },
    )
    if edited is not None:  # a lead's text for it (greeted and signed as the built-in one)
        subject, body = edited.subject or subject, edited.body
    key = f"maintenance:{window.id}"
    contacts = _contacts(session, servers)
    names = dict(contacts)
    told_unsent: set[int | None] = set()
    if previous is not None:
        epoch = window.starts_at.strftime("%Y%m%dT%H%M")
        key += f":moved:{epoch}-{window.ends_at.strftime('%Y%m%dT%H%M')}"
        unsent = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "maintenance_notice",
                OutboxMessage.dedupe_key.like(f"maintenance:{window.id}:%"),
                OutboxMessage.state.in_(UNSENT),
            )
        ).all()
        for row in unsent:
            name = names.get(row.contact_id or 0, "")
            row.send_after, row.due_at, row.subject = due, due, subject
            row.body = _signed(desk, _greeted(name, body))
            told_unsent.add(row.contact_id)
    queued = 0
    for cid, name in contacts:
        if cid in told_unsent:
            continue
        addresses = contact_addresses(session, cid)
        if not addresses:
            continue
        added = queue_once(
            session,
            desk,
            f"{key}:contact:{cid}",
            kind="maintenance_notice",
            to_addr=addresses[0],
            subject=subject,
            body=_greeted(name, body),
            contact_id=cid,
            automatic="auto-generated",
            send_after=due,
        )
        queued += added is not None
    return queued


def _greeted(name: str, body: str) -> str:
    return f"Hello {one_line(name)},\n\n{body}" if name else f"Hello,\n\n{body}"


def _signed(desk: Desk, body: str) -> str:
    signature = current_policy(desk).mail.signature
    text = body.rstrip("\n")
    if signature:
        text += "\n\n-- \n" + signature.rstrip("\n")
    return text + "\n"


def withdraw(session: Session, desk: Desk, *, why: str, **where: int) -> list[int]:
    """Take back the unsent messages matching `where` (an outbox column and its value, e.g.
    event_id=12): state withdrawn, never sent, `last_error` says why. A message a sender
    holds already (sending) is not touched. Returns the ids withdrawn."""
    from sqlalchemy import update

    from supportdesk.models import OutboxMessage

    conditions = [getattr(OutboxMessage, column) == value for column, value in where.items()]
    done = session.execute(
        update(OutboxMessage)
        .where(*conditions, OutboxMessage.state.in_(UNSENT))
        .values(state=WITHDRAWN, last_error=f"withdrawn: {why}"[:2000], send_after=desk.now())
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(int(r[0]) for r in done)
