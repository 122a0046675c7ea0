"""The claim primitive: one conditional UPDATE that only an unheld, claimable ticket passes
(so of N racing people exactly one wins), the tier check and the holding limit counted under
a lock on the claimer's staff row, and the end of an escalation's wait.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from supportdesk.core import permissions
from supportdesk.core.desk import Desk, Recorder
from supportdesk.core.queue import LIVE_TERM
from supportdesk.core.staff_lookup import login_of
from supportdesk.core.tickets import add_event, load_ticket
from supportdesk.enums import EventKind, Status
from supportdesk.errors import InvalidTransition, LostRace, NotAllowed, NotFound, NothingToDo
from supportdesk.models import Ticket
from supportdesk.rules import limits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# statuses that count against the holding limit: the ones work can be done on now
WORKING = (Status.NEW.value, Status.OPEN.value)


def claim_rules(desk: Desk) -> tuple[int, int]:
    """(max tickets held at once, seconds before an untouched claim is stale)."""
    from supportdesk.core.policy import current_policy

    r = current_policy(desk).escalation
    return r.max_claims, r.stale_after_s


def open_escalation(session: Session, ticket: Ticket) -> Any:
    from supportdesk.models import Escalation

    if ticket.escalation_id is None:
        return None
    return session.get(Escalation, ticket.escalation_id)


def holding(session: Session, staff_id: int) -> int:
    """How many tickets one can work on now (new or open) this person holds."""
    from sqlalchemy import text

    return int(
        session.execute(
            text(
                "SELECT count(*) FROM tickets t WHERE t.view = 'queue' AND "
                f"{LIVE_TERM} AND t.holder_id = :me"
            ),
            {"me": staff_id},
        ).scalar_one()
    )


def lock_staff(session: Session, staff_id: int) -> None:
    """On PostgreSQL, lock the staff row so one person's concurrent claims are counted in
    turn (SQLite's write lock already serializes every claim). Taken before any ticket row,
    so two claims never wait on each other in opposite orders."""
    from sqlalchemy import text

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT id FROM staff WHERE id = :me FOR UPDATE"), {"me": staff_id})


def check_limit(
    session: Session,
    desk: Desk,
    staff_id: int,
    login: str,
    *,
    me: bool,
    including: int = 0,
) -> None:
    """Refuse a claim that would take someone past the policy's holding limit (`including`:
    how many of the counted tickets this very transaction has just claimed)."""
    lock_staff(session, staff_id)
    limit, _stale = claim_rules(desk)
    held = holding(session, staff_id) - including
    if held >= limit:
        who = "you hold" if me else f"{login} holds"
        raise NotAllowed(
            f"{who} {held} tickets to work on, the limit is {limit}: release one "
            "(`supportdesk release`) or hand over (`supportdesk end-shift`) first"
        )


def mark_claimed(session: Session, desk: Desk, ticket: Ticket, staff_id: int) -> None:
    """The first claim after an escalation ends its wait (the time-to-claim figure)."""
    esc = open_escalation(session, ticket)
    if esc is not None and esc.claimed_at is None and esc.kind == "tier":
        esc.claimed_at = desk.now()
        esc.claimed_by_id = staff_id


CLAIMABLE = (
    Status.NEW.value,
    Status.OPEN.value,
    Status.PENDING_CUSTOMER.value,
    Status.SCHEDULED.value,
)


def claim_ticket(
    session: Session, desk: Desk, record: Recorder, ticket_id: int, *, via: str | None = None
) -> Ticket:
    """The one claim, inside the caller's transaction (`take` and "claim next"): a
    conditional UPDATE that only an unheld, claimable ticket passes, then the tier and the
    holding limit; any refusal rolls the whole transaction back."""
    if not limits.fits_id(ticket_id):  # PostgreSQL: "integer out of range" in the UPDATE
        raise NotFound(f"no ticket #{ticket_id}")
    actor = desk.actor
    now = desk.now()
    lock_staff(session, actor.staff_id)
    won = session.execute(
        update(Ticket)
        .where(
            Ticket.id == ticket_id,
            Ticket.holder_id.is_(None),
            Ticket.status.in_(CLAIMABLE),
        )
        .values(holder_id=actor.staff_id, updated_at=now, touched_at=now)
        .returning(Ticket.id, Ticket.tier, Ticket.status)
    ).first()
    if won is None:
        t = load_ticket(session, ticket_id)
        if t.holder_id == actor.staff_id:
            raise NothingToDo(f"you already hold ticket #{t.id}")
        if t.holder_id is not None:
            raise LostRace(f"ticket #{t.id} is held by {login_of(session, t.holder_id)}")
        if t.status == Status.AWAITING_AUTHORIZATION.value:
            raise InvalidTransition(
                f"ticket #{t.id} is awaiting authorization and cannot be claimed until an "
                "authorized contact confirms it"
            )
        raise InvalidTransition(f"ticket #{t.id} is {t.status} and cannot be taken")
    if not permissions.may_work_tier(actor, won.tier):
        # roll back the claim: the whole transaction is discarded by the raise
        raise NotAllowed(
            f"{actor.login} ({actor.role.value}, tier {actor.tier}) cannot take ticket "
            f"#{ticket_id} at tier {won.tier}"
        )
    if won.status in WORKING:
        check_limit(session, desk, actor.staff_id, actor.login, me=True, including=1)
    t = load_ticket(session, ticket_id)
    changes: dict[str, Any] = {"holder": [None, actor.login]}
    if via:
        changes["via"] = [None, via]
    if t.status == Status.NEW.value:
        t.status = Status.OPEN.value
        changes["status"] = [Status.NEW.value, Status.OPEN.value]
    mark_claimed(session, desk, t, actor.staff_id)
    add_event(session, desk, t, EventKind.HOLDER, old=None, new=actor.login)
    record("ticket.take", "ticket", ticket_id, changes)
    return t
