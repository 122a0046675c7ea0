"""The claim primitive: one conditional UPDATE that only an unheld, claimable ticket passes
(so of N racing people exactly one wins), the tier check and the holding limit counted under
a lock on the claimer's staff row, and the end of an escalation's wait.

The claim runs on the plain driver (`Desk.write_plain()`): with its history event, the
escalation's claimed_at, the watchers' notices and its audit row it needs no SQLAlchemy, so
`supportdesk claim --next` starts in a fraction of the time. Every statement is written
against a `Transaction`, so the writers still built on the ORM (a lead's reassignment) run
the same limit check and the same end of the wait inside their session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.queue import LIVE_TERM
from supportdesk.core.tickets import add_event_on
from supportdesk.enums import EventKind, Status
from supportdesk.errors import InvalidTransition, LostRace, NotAllowed, NotFound, NothingToDo
from supportdesk.rules import limits
from supportdesk.store import on_transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import PlainRecorder, Recorder
    from supportdesk.models import Ticket
    from supportdesk.store import Transaction

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


HOLDING_SQL = (
    f"SELECT count(*) FROM tickets t WHERE t.view = 'queue' AND {LIVE_TERM} AND t.holder_id = ?"
)


def holding(where: Session | Transaction, staff_id: int) -> int:
    """How many tickets one can work on now (new or open) this person holds."""
    return int(on_transaction(where).scalar(HOLDING_SQL, (staff_id,)))


def lock_staff(where: Session | Transaction, staff_id: int) -> None:
    """On PostgreSQL, lock the staff row so one person's concurrent claims are counted in
    turn (SQLite's write lock already serializes every claim). Taken before any ticket row,
    so two claims never wait on each other in opposite orders."""
    tx = on_transaction(where)
    if not tx.is_sqlite:
        tx.run("SELECT id FROM staff WHERE id = ? FOR UPDATE", (staff_id,))


def check_limit(
    where: Session | Transaction,
    desk: Desk,
    staff_id: int,
    login: str,
    *,
    me: bool,
    including: int = 0,
) -> None:
    """Refuse a claim that would take someone past the policy's holding limit (`including`:
    how many of the counted tickets this very transaction has just claimed)."""
    tx = on_transaction(where)
    lock_staff(tx, staff_id)
    limit, _stale = claim_rules(desk)
    held = holding(tx, staff_id) - including
    if held >= limit:
        who = "you hold" if me else f"{login} holds"
        raise NotAllowed(
            f"{who} {held} tickets to work on, the limit is {limit}: release one "
            "(`supportdesk release`) or hand over (`supportdesk end-shift`) first"
        )


MARK_CLAIMED_SQL = (
    "UPDATE escalations SET claimed_at = ?, claimed_by_id = ?"
    " WHERE id = ? AND kind = 'tier' AND claimed_at IS NULL"
)


def end_wait(where: Session | Transaction, desk: Desk, escalation_id: int | None, by: int) -> None:
    """The first claim after an escalation ends its wait (the time-to-claim figure)."""
    if escalation_id is not None:
        tx = on_transaction(where)
        tx.run(MARK_CLAIMED_SQL, (tx.timestamp(desk.now()), by, escalation_id))


def mark_claimed(session: Session, desk: Desk, ticket: Ticket, staff_id: int) -> None:
    """`end_wait` for a ticket loaded in an ORM session."""
    end_wait(session, desk, ticket.escalation_id, staff_id)


CLAIMABLE = (
    Status.NEW.value,
    Status.OPEN.value,
    Status.PENDING_CUSTOMER.value,
    Status.SCHEDULED.value,
)
CLAIM_SQL = (
    "UPDATE tickets SET holder_id = ?, updated_at = ?, touched_at = ?"
    " WHERE id = ? AND holder_id IS NULL"
    f" AND status IN ({', '.join('?' * len(CLAIMABLE))})"
    " RETURNING tier, status, escalation_id"
)


@dataclass(frozen=True)
class Claimed:
    """What a claim took: the ticket, its tier and its status before the claim."""

    ticket_id: int
    tier: int
    status: str


def claim_ticket(
    tx: Transaction,
    desk: Desk,
    record: Recorder | PlainRecorder,
    ticket_id: int,
    *,
    via: str | None = None,
) -> Claimed:
    """The one claim, inside the caller's transaction (`take` and "claim next"): a
    conditional UPDATE that only an unheld, claimable ticket passes, then the tier and the
    holding limit; any refusal rolls the whole transaction back."""
    if not limits.fits_id(ticket_id):  # PostgreSQL: "integer out of range" in the UPDATE
        raise NotFound(f"no ticket #{ticket_id}")
    actor = desk.actor
    now = tx.timestamp(desk.now())
    lock_staff(tx, actor.staff_id)
    won = tx.first(CLAIM_SQL, (actor.staff_id, now, now, ticket_id, *CLAIMABLE))
    if won is None:
        raise _why_not(tx, desk, ticket_id)
    tier, status, escalation_id = won
    if not permissions.may_work_tier(actor, tier):
        # roll back the claim: the whole transaction is discarded by the raise
        raise NotAllowed(
            f"{actor.login} ({actor.role.value}, tier {actor.tier}) cannot take ticket "
            f"#{ticket_id} at tier {tier}"
        )
    if status in WORKING:
        check_limit(tx, desk, actor.staff_id, actor.login, me=True, including=1)
    changes: dict[str, Any] = {"holder": [None, actor.login]}
    if via:
        changes["via"] = [None, via]
    if status == Status.NEW.value:
        tx.run("UPDATE tickets SET status = ? WHERE id = ?", (Status.OPEN.value, ticket_id))
        changes["status"] = [Status.NEW.value, Status.OPEN.value]
    end_wait(tx, desk, escalation_id, actor.staff_id)
    add_event_on(tx, desk, ticket_id, actor.staff_id, EventKind.HOLDER, new=actor.login)
    record("ticket.take", "ticket", ticket_id, changes)
    return Claimed(ticket_id, tier, status)


def _why_not(tx: Transaction, desk: Desk, ticket_id: int) -> Exception:
    """Why the conditional UPDATE passed nothing: no such ticket, yours already, someone
    else's (a lost race), or a status that cannot be taken."""
    row = tx.first(
        "SELECT t.holder_id, t.status, s.login FROM tickets t"
        " LEFT JOIN staff s ON s.id = t.holder_id WHERE t.id = ?",
        (ticket_id,),
    )
    if row is None:
        return NotFound(f"no ticket #{ticket_id}")
    holder_id, status, holder = row
    if holder_id == desk.actor.staff_id:
        return NothingToDo(f"you already hold ticket #{ticket_id}")
    if holder_id is not None:
        return LostRace(f"ticket #{ticket_id} is held by {holder}")
    if status == Status.AWAITING_AUTHORIZATION.value:
        return InvalidTransition(
            f"ticket #{ticket_id} is awaiting authorization and cannot be claimed until an "
            "authorized contact confirms it"
        )
    return InvalidTransition(f"ticket #{ticket_id} is {status} and cannot be taken")


def claim_chosen(desk: Desk, ticket_id: int) -> Claimed:
    """Claim a chosen ticket in a plain-driver transaction of its own."""
    permissions.require(desk.actor, "ticket.take")
    with desk.write_plain() as (tx, record):
        return claim_ticket(tx, desk, record, ticket_id)
