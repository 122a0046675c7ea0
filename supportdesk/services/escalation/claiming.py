"""Claim the top of a tier's board, release, reassign, end a shift, and list held claims.

"Claim next" picks the top of a tier's board (priority, then time of escalation) and takes
it through core's one conditional UPDATE, trying the next one if it loses a race.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.audit import body_digest
from supportdesk.core.claims import WORKING, check_limit, claim_rules, mark_claimed
from supportdesk.core.desk import Desk
from supportdesk.core.notices import notify
from supportdesk.core.queue import LIVE_TERM
from supportdesk.core.staff_lookup import login_of, staff_by_login
from supportdesk.core.tickets import DONE
from supportdesk.core.views import JsonMixin, parse_utc_or_none
from supportdesk.enums import EventKind, Role, Status
from supportdesk.errors import (
    InvalidTransition,
    LostRace,
    NotAllowed,
    NothingToDo,
    UsageError,
)
from supportdesk.services.escalation.moves import reason_given

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Recorder
    from supportdesk.models import Ticket


CLAIM_ATTEMPTS = 50  # "claim next" tries this many tops before it gives up (PostgreSQL only)


@dataclass(frozen=True)
class ClaimResult(JsonMixin):
    ticket_id: int
    tier: int
    holder: str
    attempts: int


NEXT_SQL = (
    "SELECT t.id FROM tickets t WHERE t.view = 'queue' AND " + LIVE_TERM + " AND t.tier = ?"
    " AND t.holder_id IS NULL ORDER BY t.priority_rank, t.tier_since, t.id LIMIT 1"
)


def default_tier(desk: Desk) -> int:
    actor = desk.actor
    return 1 if actor.role is Role.AGENT else actor.tier


def claim_next(desk: Desk, tier: int | None = None) -> ClaimResult:
    """Take the top of a tier's board: priority, then time of escalation. Tickets awaiting
    authorization, waiting on the customer or scheduled are not on offer. A lost race (on
    PostgreSQL) moves on to the next ticket; an empty board is NothingToDo (exit 4). Runs
    on the plain driver, as core's claim does: no SQLAlchemy import."""
    from supportdesk.core.claims import claim_ticket

    actor = desk.actor
    permissions.require(actor, "ticket.take")
    board_tier = default_tier(desk) if tier is None else tier
    if board_tier not in (1, 2, 3):
        raise UsageError(f"--tier must be 1, 2 or 3, not {board_tier}")
    permissions.require_tier(actor, board_tier, f"the tier {board_tier} board")
    sql = NEXT_SQL
    if not desk.store.is_sqlite:
        sql = sql.replace("LIMIT 1", "LIMIT 1 FOR UPDATE SKIP LOCKED")
    for attempt in range(1, CLAIM_ATTEMPTS + 1):
        try:
            with desk.write_plain() as (tx, record):
                check_limit(tx, desk, actor.staff_id, actor.login, me=True)
                top = tx.scalar(sql, (board_tier,))
                if top is None:
                    raise NothingToDo(f"nothing left to claim on the tier {board_tier} board")
                claim_ticket(tx, desk, record, int(top), via="claim next")
                return ClaimResult(int(top), board_tier, actor.login, attempt)
        except LostRace:
            continue
    raise LostRace(
        f"lost {CLAIM_ATTEMPTS} races in a row for the top of the tier {board_tier} board; "
        "try again"
    )


def claim(desk: Desk, ticket_id: int) -> None:
    """Claim a chosen ticket: core's one claim, on the plain driver (`ticket take`)."""
    from supportdesk.core.claims import claim_chosen

    claim_chosen(desk, ticket_id)


def release(desk: Desk, ticket_id: int, *, reason: str) -> None:
    """Put a ticket one holds back on its board, with why."""
    from supportdesk.core.tickets import load_ticket

    why = reason_given(reason)
    actor = desk.actor
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        if t.holder_id != actor.staff_id:
            holder = login_of(session, t.holder_id)
            raise NotAllowed(
                f"you do not hold ticket #{t.id}"
                + (f" ({holder} does)" if holder else " (nobody does)")
            )
        _release(session, desk, record, t, why, "ticket.release")


def _release(
    session: Session, desk: Desk, record: Recorder, t: Ticket, why: str, action: str
) -> None:
    from supportdesk.core.tickets import add_event

    login = login_of(session, t.holder_id)
    add_event(session, desk, t, EventKind.HOLDER, old=login, new=None, body=why)
    t.holder_id = None
    t.touched_at = None
    t.updated_at = desk.now()
    record(action, "ticket", t.id, {"holder": [login, None], "reason": [None, body_digest(why)]})


@dataclass(frozen=True)
class ReassignResult(JsonMixin):
    ticket_id: int
    previous_holder: str | None
    holder: str


def reassign(desk: Desk, ticket_id: int, to_login: str) -> ReassignResult:
    """A lead gives a ticket to someone (or takes it over: `to_login` is the lead's own).
    The previous holder is told in their console; the new one too."""
    from supportdesk.core.tickets import add_event, load_ticket

    actor = desk.actor
    permissions.require(actor, "ticket.override_holder")
    with desk.write() as (session, record):
        person = staff_by_login(session, to_login)
        t = load_ticket(session, ticket_id, lock=True)
        if t.status in DONE:
            raise InvalidTransition(f"ticket #{t.id} is {t.status}; it cannot be reassigned")
        if t.holder_id == person.id:
            raise NothingToDo(f"{person.login} already holds ticket #{t.id}")
        who = permissions.Actor(
            person.id, person.login, person.name, person.tier, Role(person.role), "", ""
        )
        if not permissions.may_work_tier(who, t.tier):
            raise NotAllowed(
                f"{person.login} ({person.role}, tier {person.tier}) cannot work ticket "
                f"#{t.id} at tier {t.tier}"
            )
        if t.status in WORKING:
            check_limit(session, desk, person.id, person.login, me=person.id == actor.staff_id)
        old = t.holder_id
        old_login = login_of(session, old)
        now = desk.now()
        verb = "took over" if person.id == actor.staff_id else f"reassigned to {person.login}"
        add_event(session, desk, t, EventKind.HOLDER, old=old_login, new=person.login, body=verb)
        t.holder_id = person.id
        t.touched_at = now
        t.updated_at = now
        if t.status == Status.NEW.value:
            t.status = Status.OPEN.value
        mark_claimed(session, desk, t, person.id)
        if old is not None and old != actor.staff_id:
            notify(
                session,
                desk,
                old,
                t.id,
                "reassigned",
                f"{actor.login} {verb} ticket #{t.id}; you no longer hold it",
            )
        if person.id != actor.staff_id:
            notify(
                session,
                desk,
                person.id,
                t.id,
                "assigned",
                f"{actor.login} assigned ticket #{t.id} to you: {t.subject}",
            )
        record(
            "ticket.reassign",
            "ticket",
            t.id,
            {"holder": [old_login, person.login]},
        )
        return ReassignResult(t.id, old_login, person.login)


@dataclass(frozen=True)
class Handover(JsonMixin):
    """What an end of shift did: the tickets released with the note, and the ones kept."""

    released: tuple[int, ...]
    kept: tuple[int, ...]  # held but not workable now (waiting, scheduled): still the holder's


def end_shift(desk: Desk, note: str, *, everything: bool = False) -> Handover:
    """Release the tickets one holds that count toward the holding limit (new or open: the
    ones someone can work on now), each with the handover note. Tickets waiting on the
    customer, a schedule or an authorization stay with their holder, who knows their
    story, unless `everything`."""
    from sqlalchemy import select

    from supportdesk.models import Ticket

    text = reason_given(note, "a handover note", "--note")
    actor = desk.actor
    with desk.write() as (session, record):
        held = list(
            session.scalars(
                select(Ticket)
                .where(
                    Ticket.holder_id == actor.staff_id,
                    Ticket.status.not_in(DONE),
                )
                .order_by(Ticket.id)
            )
        )
        if not held:
            raise NothingToDo(f"{actor.login} holds no tickets: nothing to hand over")
        going = [t for t in held if everything or t.status in WORKING]
        kept = tuple(t.id for t in held if not (everything or t.status in WORKING))
        if not going:
            raise NothingToDo(
                f"{actor.login} holds nothing to work on now: the {len(kept)} waiting or "
                "scheduled stay with them unless all are released"
            )
        for t in going:
            _release(session, desk, record, t, f"Handover: {text}", "ticket.handover")
        return Handover(tuple(t.id for t in going), kept)


@dataclass(frozen=True)
class Claim(JsonMixin):
    ticket_id: int
    holder: str
    tier: int
    priority: str
    subject: str
    touched_at: datetime | None
    stale: bool


STALE_SQL = (
    "SELECT t.id, s.login, t.tier, t.priority_rank, t.subject, t.touched_at FROM tickets t"
    " JOIN staff s ON s.id = t.holder_id"
    f" WHERE {LIVE_TERM} AND t.holder_id IS NOT NULL"
)


def claims(desk: Desk, *, stale_only: bool = False, limit: int = 200) -> list[Claim]:
    """Held live tickets, least recently touched first (read off the claims index)."""
    from supportdesk.core.queue import PRIORITY_NAMES

    _max, stale_s = claim_rules(desk)
    stale_before = desk.now() - timedelta(seconds=stale_s)
    sql = STALE_SQL
    params: list[Any] = []
    if stale_only:
        sql += " AND (t.touched_at IS NULL OR t.touched_at < ?)"
        params.append(desk.store.timestamp_param(stale_before))
    sql += " ORDER BY t.touched_at, t.id LIMIT ?"
    params.append(limit)
    out = []
    for tid, login, tier, rank, subject, touched in desk.store.query(sql, params):
        at = parse_utc_or_none(touched)
        out.append(
            Claim(
                tid,
                login,
                tier,
                PRIORITY_NAMES[rank],
                subject,
                at,
                at is None or at < stale_before,
            )
        )
    return out
