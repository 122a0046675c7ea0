"""A tier's board: my claims, the claimable unclaimed tickets by priority then time of
escalation, the ones waiting on something, and for leads the claims of others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from supportdesk.core.claims import claim_rules
from supportdesk.core.desk import Desk
from supportdesk.core.queue import LIVE_TERM, rows_from, select_sql
from supportdesk.core.views import QueueRow, parse_utc_or_none
from supportdesk.enums import Role
from supportdesk.errors import (
    NotAllowed,
    UsageError,
)

if TYPE_CHECKING:
    from supportdesk.rules.policy import Policy


BOARD_LIMIT = 200


BOARD_EXTRA = (
    ", t.tier_since, t.touched_at, t.flagged_at,"
    " (SELECT x.reason FROM escalations x WHERE x.id = t.escalation_id),"
    " (SELECT x.tried FROM escalations x WHERE x.id = t.escalation_id),"
    " (SELECT s.login FROM escalations x JOIN staff s ON s.id = x.by_id"
    " WHERE x.id = t.escalation_id),"
    " (SELECT x.at FROM escalations x WHERE x.id = t.escalation_id)"
)


# the queue's columns plus the board's, by database (True: PostgreSQL, see queue.select_sql)
BOARD_SELECT = {
    pg: select_sql(pg=pg).replace(" FROM tickets t", BOARD_EXTRA + " FROM tickets t")
    for pg in (False, True)
}


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
                from supportdesk.services.sla.views import clock_view

                plan = policy.plan_for(r.sla_plan)
                for name in ("respond", "resolve"):
                    out[name] = clock_view(name, r.clocks.get(name), plan, now).to_json()
        return out


@dataclass(frozen=True)
class TierBoard:
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


def tier_board(desk: Desk, tier: int, *, limit: int = BOARD_LIMIT) -> TierBoard:
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
        raw = store.query(BOARD_SELECT[not store.is_sqlite] + where, params)
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
    return TierBoard(
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
