"""Which ticket an incoming message answers (issue 18, item 3): the ticket of a Message-ID it
names in In-Reply-To or References that the desk sent (the outbox) or filed (mail it took in
on a ticket), else the `[#N]` of its subject (never a bare #N, never the body). A merged
ticket leads to the one it went into. Who may thread onto it is mail.py's check, the same
whichever way the ticket was found.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from supportdesk.services.intake.mail_parse import ticket_id_limit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import Ticket

TICKET_REF = re.compile(r"\[#([0-9]{1,19})\]")
MERGE_HOPS = 5
MAX_LOOKED_UP = 20  # Message-IDs of References looked up, the newest first


def referenced_ticket(session: Session, subject: str, refs: tuple[str, ...]) -> Ticket | None:
    """The ticket `refs` (In-Reply-To first, then References newest first) or the subject
    names; None when neither names one."""
    from supportdesk.models import Ticket

    ticket = None
    number = _by_header(session, refs)
    if number is None:
        match = TICKET_REF.search(subject)
        if match is not None:
            number = int(match.group(1))
    if number is not None and 1 <= number <= ticket_id_limit():
        ticket = session.get(Ticket, number)
    hops = 0
    while ticket is not None and ticket.merged_into_id is not None and hops < MERGE_HOPS:
        ticket = session.get(Ticket, ticket.merged_into_id)
        hops += 1
    return ticket


def _by_header(session: Session, refs: tuple[str, ...]) -> int | None:
    from sqlalchemy import select

    from supportdesk.models import MailMessage, OutboxMessage

    wanted = [r for r in dict.fromkeys(refs) if r][:MAX_LOOKED_UP]
    if not wanted:
        return None
    found: dict[str, int] = {}
    rows = list(
        session.execute(
            select(OutboxMessage.message_id, OutboxMessage.ticket_id).where(
                OutboxMessage.message_id.in_(wanted), OutboxMessage.ticket_id.is_not(None)
            )
        )
    )
    rows += session.execute(
        select(MailMessage.message_id, MailMessage.ticket_id).where(
            MailMessage.message_id.in_(wanted), MailMessage.ticket_id.is_not(None)
        )
    )
    for mid, tid in rows:
        if mid is not None and tid is not None:
            found.setdefault(mid, tid)
    for ref in wanted:
        if ref in found:
            return found[ref]
    return None
