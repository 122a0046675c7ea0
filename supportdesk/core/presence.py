"""Which consoles are running and which ticket each has open (the "someone else has it
open" marker). Ephemeral and not customer data, so not audited; rows are never deleted.

A console that dies on another host cannot be seen to die (and an idle console runs no
SQL, so there is no heartbeat): markers older than MARKER_TTL are ignored by readers.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from supportdesk.core.desk import Desk
from supportdesk.errors import NotFound

MARKER_TTL = timedelta(hours=12)


def marker_cutoff(now: datetime) -> datetime:
    """Markers set before this are treated as left over from a console that died."""
    return now - MARKER_TTL


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_console(desk: Desk) -> str:
    """Register this console; mark consoles of this host whose process died as off."""
    from sqlalchemy import select

    from supportdesk.models import Presence

    host = socket.gethostname()
    now = desk.clock.real_now()
    sid = uuid.uuid4().hex
    with desk.store.write() as s:
        for row in s.scalars(
            select(Presence).where(Presence.host == host, Presence.state != "off")
        ):
            if not _alive(row.pid):
                row.state = "off"
                row.ticket_id = None
        s.add(
            Presence(
                id=sid,
                staff_id=desk.actor.staff_id,
                host=host,
                pid=os.getpid(),
                state="available",
                started_at=now,
                seen_at=now,
            )
        )
    return sid


def set_open_ticket(desk: Desk, console_id: str, ticket_id: int | None) -> None:
    """Record which ticket this console shows (None: none)."""
    from sqlalchemy import update

    from supportdesk.models import Presence, Ticket

    with desk.store.write() as s:
        if ticket_id is not None and s.get(Ticket, ticket_id) is None:
            raise NotFound(f"no ticket #{ticket_id}")
        s.execute(
            update(Presence)
            .where(Presence.id == console_id)
            .values(ticket_id=ticket_id, seen_at=desk.clock.real_now())
        )


def end_console(desk: Desk, console_id: str) -> None:
    from sqlalchemy import update

    from supportdesk.models import Presence

    with desk.store.write() as s:
        s.execute(
            update(Presence)
            .where(Presence.id == console_id)
            .values(state="off", ticket_id=None, seen_at=desk.clock.real_now())
        )


PRESENCE_STATES = ("available", "away")


def set_state(desk: Desk, console_id: str, state: str) -> None:
    """A running console reports whether its user is at the desk (the lead's board shows
    it): `available`, or `away` after a while without a key press."""
    from sqlalchemy import update

    from supportdesk.errors import UsageError
    from supportdesk.models import Presence

    if state not in PRESENCE_STATES:
        raise UsageError(f"presence is one of: {', '.join(PRESENCE_STATES)}")
    with desk.store.write() as s:
        s.execute(
            update(Presence)
            .where(Presence.id == console_id, Presence.state != "off")
            .values(state=state, seen_at=desk.clock.real_now())
        )
