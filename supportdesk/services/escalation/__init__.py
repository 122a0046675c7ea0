"""Tier escalation: escalate and hand back, the tier boards, claims and their limits, stale
claims, end of shift, the lead's override, console notices, and the figures for leads.

A claim is `tickets.take` (one conditional UPDATE, so of N racing people exactly one wins);
"claim next" picks the top of a tier's board (priority, then time of escalation) and takes
it through the same code, trying the next one if it loses a race. Every change writes its
ticket event and audit row in its own transaction; a failure leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.audit import body_digest
from supportdesk.core.claims import WORKING, check_limit, claim_rules, mark_claimed, open_escalation
from supportdesk.core.desk import Desk
from supportdesk.core.notices import notify, watch
from supportdesk.core.queue import LIVE_TERM, SELECT_SQL, rows_from
from supportdesk.core.staff_lookup import login_of, staff_by_login
from supportdesk.core.tickets import DONE, require_writable
from supportdesk.core.views import JsonMixin, QueueRow, ServiceView, parse_utc_or_none
from supportdesk.enums import EventKind, Role, Status
from supportdesk.errors import (
    InvalidTransition,
    LostRace,
    NotAllowed,
    NotFound,
    NothingToDo,
    UsageError,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Recorder
    from supportdesk.models import Ticket
    from supportdesk.rules.policy import Policy

TOP_TIER = 3
BOARD_LIMIT = 200
CLAIM_ATTEMPTS = 50  # "claim next" tries this many tops before it gives up (PostgreSQL only)


# -- rules ---------------------------------------------------------------------------------


def _reason(text: str | None, what: str = "a reason") -> str:
    from supportdesk.rules import limits

    value = (text or "").strip()
    if not value:
        raise UsageError(f"give {what} (--reason)")
    return limits.check(value, limits.REASON, what=what.removeprefix("a ").removeprefix("an "))


# -- escalate and hand back ----------------------------------------------------------------
@dataclass(frozen=True)
class EscalationResult(JsonMixin):
    ticket_id: int
    escalation_id: int
    from_tier: int
    to_tier: int
    previous_holder: str | None
    holder: str | None


def escalate(
    desk: Desk,
    ticket_id: int,
    *,
    to_tier: int | None = None,
    reason: str,
    tried: str = "",
) -> EscalationResult:
    """Move a ticket up to `to_tier` (default: one up) with why and what was tried.

    The holder is cleared, so it lands unclaimed on the new tier's board; whoever escalated
    watches it. SLA clocks keep running."""
    from supportdesk.core.tickets import add_event, guard, load_ticket
    from supportdesk.models import Escalation
    from supportdesk.rules import limits

    why = _reason(reason)
    tried = limits.check((tried or "").strip(), limits.TRIED, what="--tried")
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.escalate")
        require_writable(t, "escalated")
        target = t.tier + 1 if to_tier is None else to_tier
        if target > TOP_TIER or target < 1:
            raise UsageError(
                f"ticket #{t.id} is at tier {t.tier}; there is no tier {target} "
                f"(tiers 1 to {TOP_TIER})"
            )
        if target <= t.tier:
            raise UsageError(
                f"ticket #{t.id} is already at tier {t.tier}; escalating goes up "
                "(`supportdesk deescalate` hands it back)"
            )
        now = desk.now()
        actor = desk.actor
        previous = open_escalation(session, t)
        if previous is not None and previous.ended_at is None:
            previous.ended_at, previous.ended_how = now, "escalated"
        esc = Escalation(
            ticket_id=t.id,
            kind="tier",
            from_tier=t.tier,
            to_tier=target,
            reason=why,
            tried=tried,
            by_id=actor.staff_id,
            at=now,
        )
        session.add(esc)
        session.flush()
        old_holder = t.holder_id
        old_login = login_of(session, old_holder)
        body = why + (f"\nTried: {tried}" if tried else "")
        add_event(session, desk, t, EventKind.TIER, old=str(t.tier), new=str(target), body=body)
        if old_holder is not None:
            add_event(session, desk, t, EventKind.HOLDER, old=old_login, new=None)
        changes: dict[str, Any] = {
            "tier": [t.tier, target],
            "holder": [old_login, None],
            "reason": [None, body_digest(why)],
            "tried": [None, body_digest(tried) if tried else None],
            "escalation": [None, esc.id],
        }
        from_tier = t.tier
        t.tier = target
        t.tier_since = now
        t.escalation_id = esc.id
        t.escalations = (t.escalations or 0) + 1
        t.holder_id = None
        t.touched_at = None
        t.updated_at = now
        watch(session, desk, t.id, actor.staff_id)
        if old_holder is not None and old_holder != actor.staff_id:
            notify(
                session,
                desk,
                old_holder,
                t.id,
                "escalated",
                f"{actor.login} escalated #{t.id} to tier {target}; you no longer hold it",
            )
        record("ticket.escalate", "ticket", t.id, changes)
        return EscalationResult(t.id, esc.id, from_tier, target, old_login, None)


def deescalate(desk: Desk, ticket_id: int, *, reason: str) -> EscalationResult:
    """Hand a ticket back down to the tier it came from, to whoever escalated it."""
    from sqlalchemy import select

    from supportdesk.core.tickets import add_event, guard, load_ticket
    from supportdesk.models import Escalation, Staff

    why = _reason(reason)
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.escalate")
        if t.status in DONE:
            raise InvalidTransition(f"ticket #{t.id} is {t.status}; it cannot be handed back")
        esc = open_escalation(session, t)
        if esc is None or t.tier <= 1 or esc.kind != "tier":
            raise UsageError(f"ticket #{t.id} was not escalated: there is nothing to hand back")
        now = desk.now()
        actor = desk.actor
        back_to = esc.from_tier
        escalator = session.get(Staff, esc.by_id) if esc.by_id is not None else None
        new_holder = None
        if escalator is not None and escalator.active:
            who = permissions.Actor(
                escalator.id, escalator.login, escalator.name, escalator.tier,
                Role(escalator.role), "", "",
            )  # fmt: skip
            if permissions.may_work_tier(who, back_to):
                new_holder = escalator
        esc.ended_at, esc.ended_how = now, "handed back"
        # the escalation that brought it to the lower tier (if any) is open again
        earlier = session.scalars(
            select(Escalation)
            .where(
                Escalation.ticket_id == t.id,
                Escalation.kind == "tier",
                Escalation.to_tier == back_to,
                Escalation.id < esc.id,
            )
            .order_by(Escalation.id.desc())
        ).first()
        if earlier is not None:
            earlier.ended_at, earlier.ended_how = None, None
        old_login = login_of(session, t.holder_id)
        new_login = new_holder.login if new_holder is not None else None
        add_event(session, desk, t, EventKind.TIER, old=str(t.tier), new=str(back_to), body=why)
        if t.holder_id != (new_holder.id if new_holder else None):
            add_event(session, desk, t, EventKind.HOLDER, old=old_login, new=new_login)
        changes: dict[str, Any] = {
            "tier": [t.tier, back_to],
            "holder": [old_login, new_login],
            "reason": [None, body_digest(why)],
            "escalation": [esc.id, earlier.id if earlier is not None else None],
        }
        from_tier = t.tier
        t.tier = back_to
        t.tier_since = now
        t.escalation_id = earlier.id if earlier is not None else None
        t.holder_id = new_holder.id if new_holder is not None else None
        t.touched_at = now if new_holder is not None else None
        t.updated_at = now
        if new_holder is not None and new_holder.id != actor.staff_id:
            notify(
                session,
                desk,
                new_holder.id,
                t.id,
                "handed back",
                f"{actor.login} handed #{t.id} back to you at tier {back_to}: {why}",
            )
        record("ticket.deescalate", "ticket", t.id, changes)
        return EscalationResult(t.id, esc.id, from_tier, back_to, old_login, new_login)


def to_supervisor(desk: Desk, ticket_id: int, *, reason: str) -> EscalationResult:
    """A complaint goes to a supervisor: the ticket is flagged for the leads, who are told."""
    from sqlalchemy import select

    from supportdesk.core.tickets import add_event, guard, load_ticket
    from supportdesk.models import Escalation, Staff

    why = _reason(reason)
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.escalate")
        require_writable(t, "escalated")
        if t.flagged_at is not None:
            raise NothingToDo(f"ticket #{t.id} is already flagged for the leads")
        now = desk.now()
        actor = desk.actor
        esc = Escalation(
            ticket_id=t.id,
            kind="supervisor",
            from_tier=t.tier,
            to_tier=t.tier,
            reason=why,
            tried="",
            by_id=actor.staff_id,
            at=now,
        )
        session.add(esc)
        session.flush()
        add_event(session, desk, t, EventKind.FLAG, old=None, new="supervisor", body=why)
        t.flagged_at = now
        t.updated_at = now
        watch(session, desk, t.id, actor.staff_id)
        leads = session.scalars(
            select(Staff.id).where(Staff.role == Role.LEAD.value, Staff.active.is_(True))
        )
        for lead in leads:
            if lead != actor.staff_id:
                notify(
                    session,
                    desk,
                    lead,
                    t.id,
                    "complaint",
                    f"{actor.login} escalated a complaint on #{t.id} to a supervisor: {why}",
                )
        record(
            "ticket.complaint",
            "ticket",
            t.id,
            {"flagged": [None, now.isoformat()], "reason": [None, body_digest(why)]},
        )
        return EscalationResult(t.id, esc.id, t.tier, t.tier, None, login_of(session, t.holder_id))


def acknowledge_complaint(desk: Desk, ticket_id: int, *, note: str) -> None:
    """A lead takes note of a flagged complaint; the flag is cleared, the note kept."""
    from sqlalchemy import select

    from supportdesk.core.tickets import add_event, load_ticket
    from supportdesk.models import Escalation

    permissions.require(desk.actor, "ticket.override_holder")
    text = _reason(note, "a note")
    with desk.write() as (session, record):
        t = load_ticket(session, ticket_id, lock=True)
        if t.flagged_at is None:
            raise NothingToDo(f"ticket #{t.id} is not flagged for the leads")
        now = desk.now()
        for esc in session.scalars(
            select(Escalation).where(
                Escalation.ticket_id == t.id,
                Escalation.kind == "supervisor",
                Escalation.ended_at.is_(None),
            )
        ):
            esc.ended_at, esc.ended_how = now, "acknowledged"
            esc.claimed_by_id, esc.claimed_at = desk.actor.staff_id, now
        add_event(session, desk, t, EventKind.FLAG, old="supervisor", new=None, body=text)
        record(
            "ticket.complaint_ack",
            "ticket",
            t.id,
            {"flagged": [t.flagged_at.isoformat(), None], "note": [None, body_digest(text)]},
        )
        t.flagged_at = None
        t.updated_at = now


# -- claims --------------------------------------------------------------------------------


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
    PostgreSQL) moves on to the next ticket; an empty board is NothingToDo (exit 4)."""
    from sqlalchemy import text

    from supportdesk.core.claims import claim_ticket

    actor = desk.actor
    permissions.require(actor, "ticket.take")
    board_tier = default_tier(desk) if tier is None else tier
    if board_tier not in (1, 2, 3):
        raise UsageError(f"--tier must be 1, 2 or 3, not {board_tier}")
    permissions.require_tier(actor, board_tier, f"the tier {board_tier} board")
    pg = desk.store.dialect == "postgresql"
    sql = NEXT_SQL.replace("?", ":tier")
    if pg:
        sql = sql.replace("LIMIT 1", "LIMIT 1 FOR UPDATE SKIP LOCKED")
    for attempt in range(1, CLAIM_ATTEMPTS + 1):
        try:
            with desk.write() as (session, record):
                check_limit(session, desk, actor.staff_id, actor.login, me=True)
                top = session.execute(text(sql), {"tier": board_tier}).scalar()
                if top is None:
                    raise NothingToDo(f"nothing left to claim on the tier {board_tier} board")
                claim_ticket(session, desk, record, int(top), via="claim next")
                return ClaimResult(int(top), board_tier, actor.login, attempt)
        except LostRace:
            continue
    raise LostRace(
        f"lost {CLAIM_ATTEMPTS} races in a row for the top of the tier {board_tier} board; "
        "try again"
    )


def release(desk: Desk, ticket_id: int, *, reason: str) -> None:
    """Put a ticket one holds back on its board, with why."""
    from supportdesk.core.tickets import load_ticket

    why = _reason(reason)
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


def end_shift(desk: Desk, note: str) -> list[int]:
    """Release every ticket one holds, each with the handover note; the ids released."""
    from sqlalchemy import select

    from supportdesk.models import Ticket

    text = _reason(note, "a handover note")
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
        for t in held:
            _release(session, desk, record, t, f"Handover: {text}", "ticket.handover")
        return [t.id for t in held]


# -- the boards ----------------------------------------------------------------------------
BOARD_EXTRA = (
    ", t.tier_since, t.touched_at, t.flagged_at,"
    " (SELECT x.reason FROM escalations x WHERE x.id = t.escalation_id),"
    " (SELECT x.tried FROM escalations x WHERE x.id = t.escalation_id),"
    " (SELECT s.login FROM escalations x JOIN staff s ON s.id = x.by_id"
    " WHERE x.id = t.escalation_id),"
    " (SELECT x.at FROM escalations x WHERE x.id = t.escalation_id)"
)
BOARD_SELECT = SELECT_SQL.replace(" FROM tickets t", BOARD_EXTRA + " FROM tickets t")
N_EXTRA = 7


@dataclass(slots=True)
class BoardRow:
    """One ticket on a tier board: the queue line plus its escalation and claim."""

    section: str  # mine | unclaimed | waiting | others
    row: QueueRow
    tier_since: datetime | None
    escalated_at: datetime | None
    escalated_by: str | None
    reason: str | None
    tried: str | None
    touched_at: datetime | None
    stale: bool
    flagged: bool

    @property
    def ticket_id(self) -> int:
        return self.row.id

    def waited_s(self, now: datetime) -> int:
        start = self.escalated_at or self.tier_since or self.row.created_at
        return max(0, int((now - start).total_seconds()))

    def to_json(self, now: datetime | None = None, policy: Policy | None = None) -> dict[str, Any]:
        r = self.row
        out: dict[str, Any] = {
            "ticket_id": r.id,
            "section": self.section,
            "priority": r.priority,
            "status": r.status,
            "tier": r.tier,
            "account": r.account,
            "subject": r.subject,
            "holder": r.holder,
            "escalated_at": self.escalated_at.isoformat() if self.escalated_at else None,
            "escalated_by": self.escalated_by,
            "reason": self.reason,
            "tried": self.tried,
            "at_tier_since": self.tier_since.isoformat() if self.tier_since else None,
            "touched_at": self.touched_at.isoformat() if self.touched_at else None,
            "stale": self.stale,
            "flagged": self.flagged,
        }
        if now is not None:
            out["waited_seconds"] = self.waited_s(now)
            if r.clocks is not None and policy is not None:
                from supportdesk.services.sla import clock_view

                plan = policy.plan_for(r.sla_plan)
                for name in ("respond", "resolve"):
                    out[name] = clock_view(name, r.clocks.get(name), plan, now).to_json()
        return out


@dataclass(frozen=True)
class Board:
    tier: int
    rows: tuple[BoardRow, ...]
    unclaimed: int  # claimable tickets waiting for someone, all of them
    waiting: int  # unclaimed but not claimable now (customer, scheduled, authorization)
    oldest_wait_since: datetime | None
    mine: int  # my claims on this tier's board, waiting ones included
    limit: int
    stale_after_s: int
    at: datetime
    policy: Policy | None = None
    working: int = 0  # what counts against `limit`: my new/open claims on every tier

    def to_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "unclaimed": self.unclaimed,
            "waiting": self.waiting,
            "oldest_wait_since": (
                self.oldest_wait_since.isoformat() if self.oldest_wait_since else None
            ),
            "mine": self.mine,
            "working": self.working,
            "max_claims": self.limit,
            "stale_after_seconds": self.stale_after_s,
            "rows": [row.to_json(self.at, self.policy) for row in self.rows],
        }


def visible_tiers(desk: Desk) -> tuple[int, ...]:
    """The boards one may see: engineers their tier and below, leads all, agents tier 1."""
    actor = desk.actor
    if actor.role is Role.LEAD:
        return (1, 2, 3)
    if actor.role is Role.ENGINEER:
        return tuple(range(1, actor.tier + 1))
    return (1,)


def board(desk: Desk, tier: int, *, limit: int = BOARD_LIMIT) -> Board:
    """A tier's board: my claims (by priority too, each with when it was last touched), the
    claimable unclaimed
    tickets by priority then time of escalation, the unclaimed ones waiting on something,
    and for leads the claims of others (stalest first)."""
    actor = desk.actor
    if tier not in (1, 2, 3):
        raise UsageError(f"--tier must be 1, 2 or 3, not {tier}")
    if tier not in visible_tiers(desk):
        raise NotAllowed(
            f"{actor.login} ({actor.role.value}, tier {actor.tier}) cannot see the tier "
            f"{tier} board"
        )
    from supportdesk.core.policy import current_policy

    max_claims, stale_s = claim_rules(desk)
    now = desk.now()
    store = desk.store
    me = actor.staff_id
    stale_before = now - timedelta(seconds=stale_s)
    order = " ORDER BY t.priority_rank, t.tier_since, t.id LIMIT ?"
    sections: list[tuple[str, str, list[Any]]] = [
        (
            "mine",
            f" WHERE {LIVE_TERM} AND t.holder_id = ? AND t.tier = ?" + order,
            [me, tier, limit],
        ),
        (
            "unclaimed",
            f" WHERE t.view = 'queue' AND {LIVE_TERM} AND t.tier = ? AND t.holder_id IS NULL"
            + order,
            [tier, limit],
        ),
    ]
    for view in ("held", "waiting", "scheduled"):
        sections.append(
            (
                "waiting",
                f" WHERE t.view = '{view}' AND {LIVE_TERM} AND t.tier = ? AND t.holder_id IS NULL"
                + order,
                [tier, limit],
            )
        )
    if actor.is_lead:
        sections.append(
            (
                "others",
                f" WHERE {LIVE_TERM} AND t.holder_id IS NOT NULL AND t.holder_id <> ?"
                " AND t.tier = ? ORDER BY t.touched_at, t.id LIMIT ?",
                [me, tier, limit],
            )
        )
    rows: list[BoardRow] = []
    for section, where, params in sections:
        raw = store.query(BOARD_SELECT + where, params)
        base = rows_from(desk, [r[:-N_EXTRA] for r in raw], me)
        for qrow, r in zip(base, raw, strict=True):
            since, touched, flagged, reason, tried, by, at = r[-N_EXTRA:]
            touched_at = parse_utc_or_none(touched)
            rows.append(
                BoardRow(
                    section,
                    qrow,
                    parse_utc_or_none(since),
                    parse_utc_or_none(at),
                    by,
                    reason,
                    tried or None,
                    touched_at,
                    qrow.holder is not None and (touched_at is None or touched_at < stale_before),
                    flagged is not None,
                )
            )
    waiting_rows = [r for r in rows if r.section == "waiting"]
    others = [r for r in rows if r.section != "waiting"]
    waiting_rows.sort(key=lambda r: (r.row.key.priority_rank, r.tier_since or now, r.row.id))
    rows = [r for r in others if r.section in ("mine", "unclaimed")]
    rows += waiting_rows[:limit] + [r for r in others if r.section == "others"]
    count_sql = (
        "SELECT count(*), min(t.tier_since) FROM tickets t WHERE t.view = ? AND "
        f"{LIVE_TERM} AND t.tier = ? AND t.holder_id IS NULL"
    )
    unclaimed, oldest = store.query(count_sql, ("queue", tier))[0]
    waiting = sum(
        int(store.query(count_sql, (view, tier))[0][0]) for view in ("held", "waiting", "scheduled")
    )
    mine = sum(1 for r in rows if r.section == "mine")
    working = store.query(
        f"SELECT count(*) FROM tickets t WHERE t.view = 'queue' AND {LIVE_TERM}"
        " AND t.holder_id = ?",
        (me,),
    )[0][0]
    return Board(
        tier,
        tuple(rows),
        int(unclaimed),
        waiting,
        parse_utc_or_none(oldest),
        mine,
        max_claims,
        stale_s,
        now,
        current_policy(desk),
        int(working),
    )


# -- stale claims --------------------------------------------------------------------------
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


# -- notices -------------------------------------------------------------------------------


# -- what the next person needs ------------------------------------------------------------
@dataclass(frozen=True)
class EscalationView(JsonMixin):
    id: int
    kind: str
    from_tier: int
    to_tier: int
    reason: str
    tried: str
    by: str | None
    at: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    ended_at: datetime | None
    ended_how: str | None


@dataclass(frozen=True)
class Authorizer(JsonMixin):
    name: str
    role: str
    scope: str  # "all services" or the services they are limited to


@dataclass(frozen=True)
class Neighbour(JsonMixin):
    ticket_id: int
    server: str
    account: str
    subject: str
    status: str
    priority: str
    holder: str | None


@dataclass(frozen=True)
class Brief(JsonMixin):
    """Everything the next person needs to work an escalated ticket."""

    ticket_id: int
    account: str
    company: str
    account_notes: str
    reported_at: datetime
    reported: str
    services: tuple[ServiceView, ...]
    escalations: tuple[EscalationView, ...]
    authorizers: tuple[Authorizer, ...]
    same_server: tuple[Neighbour, ...]
    watchers: tuple[str, ...]
    flagged_at: datetime | None


def brief(desk: Desk, ticket_id: int, *, neighbours: int = 10) -> Brief:
    from sqlalchemy import select

    from supportdesk.core.queue import PRIORITY_NAMES
    from supportdesk.models import Account, Contact, Escalation, Service, Staff, Ticket, Watcher
    from supportdesk.rules.limits import fits_id

    permissions.require(desk.actor, "ticket.read")
    with desk.store.read() as s:
        t = s.get(Ticket, ticket_id) if fits_id(ticket_id) else None
        if t is None:
            raise NotFound(f"no ticket #{ticket_id}")
        logins = dict(s.execute(select(Staff.id, Staff.login)).all())
        acct = s.get(Account, t.account_id)
        services = list(
            s.scalars(
                select(Service).where(Service.account_id == t.account_id).order_by(Service.id)
            )
        )
        # the ticket's own service first; the servers that matter are its server, or all
        # of the account's when the ticket names no service
        services.sort(key=lambda sv: (sv.id != t.service_id, sv.id))
        servers = sorted(
            {
                sv.server
                for sv in services
                if sv.server and (t.service_id is None or sv.id == t.service_id)
            }
        )
        labels = {sv.id: sv.label for sv in services}
        authorizers = tuple(
            Authorizer(
                c.name,
                c.role,
                ", ".join(labels.get(int(x), f"service {x}") for x in c.services.split())
                or "all services",
            )
            for c in s.scalars(
                select(Contact)
                .where(
                    Contact.account_id == t.account_id,
                    Contact.active.is_(True),
                    Contact.role.in_(("primary", "secondary", "authorized")),
                )
                .order_by(Contact.id)
            )
        )
        escalations = tuple(
            EscalationView(
                e.id,
                e.kind,
                e.from_tier,
                e.to_tier,
                e.reason,
                e.tried,
                logins.get(e.by_id) if e.by_id else None,
                e.at,
                logins.get(e.claimed_by_id) if e.claimed_by_id else None,
                e.claimed_at,
                e.ended_at,
                e.ended_how,
            )
            for e in s.scalars(
                select(Escalation).where(Escalation.ticket_id == t.id).order_by(Escalation.id)
            )
        )
        near: list[Neighbour] = []
        if servers:
            rows = s.execute(
                select(
                    Ticket.id,
                    Service.server,
                    Ticket.account_id,
                    Ticket.subject,
                    Ticket.status,
                    Ticket.priority_rank,
                    Ticket.holder_id,
                )
                .join(Service, Service.id == Ticket.service_id)
                .where(
                    Service.server.in_(servers),
                    Ticket.view != "done",
                    Ticket.service_id.is_not(None),
                    Ticket.id != t.id,
                )
                .order_by(Ticket.priority_rank, Ticket.created_at)
                .limit(neighbours)
            ).all()
            near = [
                Neighbour(
                    tid,
                    server or "",
                    account,
                    subject,
                    status,
                    PRIORITY_NAMES[rank],
                    logins.get(holder) if holder else None,
                )
                for tid, server, account, subject, status, rank, holder in rows
            ]
        watchers = tuple(
            sorted(
                logins.get(sid, "?")
                for sid in s.scalars(select(Watcher.staff_id).where(Watcher.ticket_id == t.id))
            )
        )
        return Brief(
            t.id,
            t.account_id,
            acct.company if acct else "",
            acct.notes if acct else "",
            t.created_at,
            t.description,
            tuple(ServiceView.of(sv) for sv in services),
            escalations,
            authorizers,
            tuple(near),
            watchers,
            t.flagged_at,
        )


# -- figures -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figures(JsonMixin):
    start: datetime
    end: datetime
    resolved: int
    resolved_at_tier1: int
    tier1_share: float | None
    escalations_by_tier: dict[str, int]
    complaints: int
    claimed: int
    unclaimed: int
    median_claim_seconds: int | None
    mean_claim_seconds: int | None
    p90_claim_seconds: int | None


def figures(desk: Desk, start: datetime, end: datetime) -> Figures:
    """Escalation figures for [start, end), computed in the database: the share of tickets
    resolved in the window that never went up a tier (tier-1 resolution), escalations per
    tier made in the window, and the time from escalation to first claim for those claimed
    in it (median, mean and 90th percentile)."""
    if end <= start:
        raise UsageError("--to must be after --from")
    store = desk.store
    ts = store.timestamp_param
    a, b = ts(start), ts(end)
    resolved, tier1 = store.query(
        "SELECT count(*), coalesce(sum(CASE WHEN t.escalations = 0 THEN 1 ELSE 0 END), 0)"
        " FROM tickets t WHERE t.resolved_at >= ? AND t.resolved_at < ?"
        " AND t.resolution_code = 'fixed'",
        (a, b),
    )[0]
    by_tier = {
        str(tier): int(n)
        for tier, n in store.query(
            "SELECT to_tier, count(*) FROM escalations WHERE kind = 'tier' AND at >= ?"
            " AND at < ? GROUP BY to_tier ORDER BY to_tier",
            (a, b),
        )
    }
    complaints = int(
        store.query(
            "SELECT count(*) FROM escalations WHERE kind = 'supervisor' AND at >= ? AND at < ?",
            (a, b),
        )[0][0]
    )
    if store.is_sqlite:
        span = "CAST(round((julianday(claimed_at) - julianday(at)) * 86400) AS INTEGER)"
    else:
        span = "CAST(round(extract(epoch FROM claimed_at - at)) AS INTEGER)"
    where = " FROM escalations WHERE kind = 'tier' AND claimed_at >= ? AND claimed_at < ?"
    claimed, mean = store.query(f"SELECT count(*), avg({span})" + where, (a, b))[0]
    unclaimed = int(
        store.query(
            "SELECT count(*) FROM escalations WHERE kind = 'tier' AND claimed_at IS NULL"
            " AND ended_at IS NULL AND at < ?",
            (b,),
        )[0][0]
    )

    def nth(fraction: float) -> int | None:
        if not claimed:
            return None
        offset = min(int(claimed) - 1, int(fraction * (int(claimed) - 1) + 0.5))
        rows = store.query(
            f"SELECT {span} AS s" + where + " ORDER BY s LIMIT 1 OFFSET ?", (a, b, offset)
        )
        return int(rows[0][0]) if rows else None

    return Figures(
        start,
        end,
        int(resolved),
        int(tier1),
        (int(tier1) / int(resolved)) if resolved else None,
        by_tier,
        complaints,
        int(claimed),
        unclaimed,
        nth(0.5),
        None if mean is None else round(float(mean)),
        nth(0.9),
    )


# -- upgrading an existing database (migration 0005) and the demo --------------------------
def backfill(conn: Connection) -> None:
    """Escalation rows and tier times from the recorded history: before 0005 the only way
    up a tier was a `tier` event (the demo's), and nothing came back down. Set-based SQL, so
    a million tickets take seconds."""
    from sqlalchemy import text

    # an escalation is numbered like its ticket (the table is empty when this runs, and the
    # demo generator writes tickets.escalation_id that way)
    # a tier event's body is the reason, then "\nTried: ..." (as `escalate` writes it)
    if conn.dialect.name == "postgresql":
        cut = "strpos(e.body, chr(10) || 'Tried: ')"
    else:
        cut = "instr(e.body, char(10) || 'Tried: ')"
    reason = (
        f"CASE WHEN {cut} > 0 THEN substr(e.body, 1, {cut} - 1)"
        " ELSE coalesce(e.body, 'escalated') END"
    )
    tried = f"CASE WHEN {cut} > 0 THEN substr(e.body, {cut} + 8) ELSE '' END"
    conn.execute(
        text(
            "INSERT INTO escalations (id, ticket_id, kind, from_tier, to_tier, reason, tried,"
            " by_id, at, ended_at, ended_how)"
            f" SELECT l.id, l.id, 'tier', 1, l.tier, {reason}, {tried},"
            " e.staff_id,"
            " coalesce(e.created_at, l.created_at),"
            " CASE WHEN l.status IN ('resolved', 'closed') THEN l.resolved_at END,"
            " CASE WHEN l.status IN ('resolved', 'closed') THEN 'solved' END"
            " FROM (SELECT t.id, t.tier, t.status, t.created_at, t.resolved_at,"
            " (SELECT max(x.id) FROM ticket_events x WHERE x.ticket_id = t.id"
            " AND x.kind = 'tier') AS eid"
            " FROM tickets t WHERE t.tier > 1"
            " AND NOT EXISTS (SELECT 1 FROM escalations y WHERE y.ticket_id = t.id)) l"
            " LEFT JOIN ticket_events e ON e.id = l.eid ORDER BY l.id"
        )
    )
    # the first claim after the escalation: a holder event, else the first thing someone
    # other than the escalator did on the ticket after it (found once per escalation, in a
    # scratch table, then copied)
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('escalations', 'id'),"
                " coalesce(max(id), 0) + 1, false) FROM escalations"
            )
        )
    conn.execute(text("CREATE TEMPORARY TABLE first_claims (esc INTEGER PRIMARY KEY, ev INTEGER)"))
    conn.execute(
        text(
            "INSERT INTO first_claims (esc, ev) SELECT x.id, (SELECT y.id FROM ticket_events y"
            " WHERE y.ticket_id = x.ticket_id AND y.created_at >= x.at"
            " AND y.staff_id IS NOT NULL AND (x.by_id IS NULL OR y.staff_id <> x.by_id)"
            " AND y.kind IN ('holder', 'reply', 'call', 'note', 'status')"
            " ORDER BY y.created_at, y.id LIMIT 1)"
            " FROM escalations x WHERE x.claimed_at IS NULL AND x.kind = 'tier'"
        )
    )
    conn.execute(text("DELETE FROM first_claims WHERE ev IS NULL"))
    conn.execute(
        text(
            "UPDATE escalations SET"
            " claimed_at = (SELECT e.created_at FROM first_claims f"
            " JOIN ticket_events e ON e.id = f.ev WHERE f.esc = escalations.id),"
            " claimed_by_id = (SELECT e.staff_id FROM first_claims f"
            " JOIN ticket_events e ON e.id = f.ev WHERE f.esc = escalations.id)"
            " WHERE id IN (SELECT esc FROM first_claims)"
        )
    )
    conn.execute(text("DROP TABLE first_claims"))
    # tickets point at their escalation (by primary key: no scan of every ticket)
    conn.execute(
        text(
            "UPDATE tickets SET escalation_id = (SELECT max(x.id) FROM escalations x"
            " WHERE x.ticket_id = tickets.id), escalations = 1"
            " WHERE id IN (SELECT ticket_id FROM escalations WHERE kind = 'tier')"
            " AND escalation_id IS NULL"
        )
    )
    # when live tickets reached their tier (a reopened one gets it when it reopens), and
    # when held ones were last touched; `view <> 'done'` lets both read a live-ticket index
    conn.execute(
        text(
            "UPDATE tickets SET tier_since = coalesce((SELECT x.at FROM escalations x"
            " WHERE x.id = tickets.escalation_id), created_at)"
            " WHERE view <> 'done' AND tier_since IS NULL"
        )
    )
    conn.execute(
        text(
            "UPDATE tickets SET touched_at = last_activity_at"
            " WHERE view <> 'done' AND holder_id IS NOT NULL AND touched_at IS NULL"
        )
    )


# the claim rules and notices live in core; the escalation API still names them
from supportdesk.core.claims import holding  # noqa: E402, F401
from supportdesk.core.notices import notices  # noqa: E402, F401

rules = claim_rules
