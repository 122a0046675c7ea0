"""A person sets or changes a ticket's request type (issue 19), and the ticket is checked
again: a restricted type its requester may not ask for (or that no verified call proved)
holds it awaiting authorization, as `ticket new` would have; a type that needs nothing lifts
the hold, unless something else holds it (an unverified caller, an unlisted sender). A ticket
waiting on the customer or scheduled keeps its status: the block on replies and resolution
(core/request_block.py) stands on its own until an allowed contact confirms.
"""

from __future__ import annotations

from typing import Any

from supportdesk.core.desk import Desk, Recorder
from supportdesk.core.request_block import hold_reason
from supportdesk.core.tickets import DONE, add_event, change_status
from supportdesk.enums import EventKind, Status
from supportdesk.errors import InvalidTransition
from supportdesk.models import Ticket
from supportdesk.rules.request_types import check_request_type, words

HOLDS_FROM = (Status.NEW.value, Status.OPEN.value)


def apply_request_type(session: Any, desk: Desk, record: Recorder, t: Ticket, new: str) -> bool:
    """Set `t`'s request type to `new` inside the caller's write (its history event, its
    audit row, a hold put on or lifted). False when it already had that type."""
    check_request_type(new)
    old = t.request_type
    if new == old:
        return False
    if t.status in DONE:
        raise InvalidTransition(
            f"ticket #{t.id} is {t.status}; its request type stays {words(old)} (reopen it first)"
        )
    add_event(session, desk, t, EventKind.REQUEST, old=old, new=new)
    t.request_type = new
    t.updated_at = desk.now()
    record("ticket.request_type", "ticket", t.id, {"request_type": [old, new]})
    why = hold_reason(session, desk, t)
    held = t.status == Status.AWAITING_AUTHORIZATION.value
    if why is not None and t.status in HOLDS_FROM:
        change_status(
            session, desk, record, t, Status.AWAITING_AUTHORIZATION, extra={"why": [None, why]}
        )
        add_event(session, desk, t, EventKind.NOTE, body=f"Held: {why}")
    elif why is None and held:
        lifted = f"request type {words(new)}: nothing holds it any more"
        change_status(session, desk, record, t, Status.OPEN, extra={"why": [None, lifted]})
    return True
