"""What a delivery's outcome does to the desk (issue 18, item 5), called by the sender inside
its own short write transaction, after the SMTP conversation (never during it).

- `message_failed`: a message failed for good (a 5xx to RCPT or DATA, a bounce tied to it by
  its VERP address, deferred past `max_defer`). The row is marked failed with the reason.
  (To be completed: a failed reply flags the ticket for its holder and the leads and stops
  counting as the first response; the respond clock runs again and the history says why.)
- `transport_fault`: the transport itself failed (AUTH refused, TLS failure, relay refused):
  an open alarm is raised or its count bumped, for the lead's board.
- `transport_ok`: a delivery succeeded: an open alarm is cleared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk
    from supportdesk.models import OutboxMessage


def message_failed(session: Session, desk: Desk, message: OutboxMessage, reason: str) -> None:
    now = desk.now()
    message.state = "failed"
    message.failed_at = now
    message.last_error = reason[:2000]
    message.lease_owner = None
    message.lease_until = None
    session.flush()


def transport_fault(session: Session, desk: Desk, reason: str) -> None:
    from supportdesk.models import MailAlarm

    now = desk.now()
    open_alarm = session.scalars(
        select(MailAlarm).where(MailAlarm.cleared_at.is_(None)).order_by(MailAlarm.id).limit(1)
    ).first()
    if open_alarm is None:
        session.add(MailAlarm(raised_at=now, last_seen_at=now, reason=reason[:2000], count=1))
    else:
        open_alarm.last_seen_at = now
        open_alarm.reason = reason[:2000]
        open_alarm.count += 1
    session.flush()


def transport_ok(session: Session, desk: Desk) -> None:
    from supportdesk.models import MailAlarm

    session.execute(
        update(MailAlarm).where(MailAlarm.cleared_at.is_(None)).values(cleared_at=desk.now())
    )
