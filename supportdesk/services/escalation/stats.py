"""Escalation figures for a window, computed in the database: tier-1 resolution, escalations
per tier, complaints, and the time from escalation to first claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from supportdesk.core.desk import Desk
from supportdesk.core.views import JsonMixin
from supportdesk.errors import (
    UsageError,
)

if TYPE_CHECKING:
    pass


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
