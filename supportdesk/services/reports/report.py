"""SLA figures for leads and spreadsheets, computed in the database from the outcomes stored
when clocks stop (aggregate queries: no ticket is loaded into Python).

Definitions (the same on the board and in `supportdesk report sla`):

- attainment of a clock = met / (met + breached), counted on the day the clock stopped (its
  `since` once stopped), leaving out clocks whose target is best effort or none and tickets
  closed automatically (mail from an unlisted sender, no response from the customer) and
  merged duplicates, except that a duplicate's clock already breached when merged counts;
- breaches = clocks that stopped breached in the window (both clocks), by category too;
- median first response = the median business time the respond clock ran, over respond
  clocks that stopped in the window (best effort included: it has a time, not a target);
- tier-1 share = tickets solved (`fixed`) in the window that never went up a tier / all
  tickets solved in the window;
- time from escalation to claim: see `escalation.figures`;
- by agent: a respond clock is credited to whoever answered (`responded_by`), a resolve
  clock and a solved ticket to whoever resolved (`resolved_by`), not to the holder.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from supportdesk.core.desk import Desk
from supportdesk.enums import Category
from supportdesk.errors import UsageError

AUTO_CLOSED = ("unlisted_sender", "no_response")
GROUPS = {
    "tier": "t.tier",
    "category": "t.category",
    "plan": "coalesce(t.sla_plan, '-')",
    "agent": "coalesce(t.resolved_by, 0)",  # who solved it (respond clock: AGENT_RESPOND)
}
# --by agent credits whoever stopped the clock (issue 16): the first response to whoever
# answered, the resolution (and the solved count) to whoever resolved; not the holder
AGENT_BY_CLOCK = {"respond": "coalesce(t.responded_by, 0)", "resolve": "coalesce(t.resolved_by, 0)"}
CLOCK_NAMES = ("respond", "resolve")


@dataclass
class Group:
    """The figures of one group (or of everything: key "all")."""

    key: str
    respond_met: int = 0
    respond_breached: int = 0
    resolve_met: int = 0
    resolve_breached: int = 0
    median_first_response_seconds: int | None = None
    resolved: int = 0
    resolved_at_tier1: int = 0

    @property
    def respond_attainment(self) -> float | None:
        total = self.respond_met + self.respond_breached
        return self.respond_met / total if total else None

    @property
    def resolve_attainment(self) -> float | None:
        total = self.resolve_met + self.resolve_breached
        return self.resolve_met / total if total else None

    @property
    def breaches(self) -> int:
        return self.respond_breached + self.resolve_breached

    @property
    def tier1_share(self) -> float | None:
        return self.resolved_at_tier1 / self.resolved if self.resolved else None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "respond_attainment": self.respond_attainment,
            "resolve_attainment": self.resolve_attainment,
            "respond_met": self.respond_met,
            "respond_breached": self.respond_breached,
            "resolve_met": self.resolve_met,
            "resolve_breached": self.resolve_breached,
            "breaches": self.breaches,
            "median_first_response_seconds": self.median_first_response_seconds,
            "resolved": self.resolved,
            "resolved_at_tier1": self.resolved_at_tier1,
            "tier1_share": self.tier1_share,
        }


@dataclass
class SlaReport:
    start: datetime
    end: datetime
    by: str | None
    total: Group
    groups: list[Group] = field(default_factory=list)
    breaches_by_category: dict[str, int] = field(default_factory=dict)
    escalation_to_claim: dict[str, int | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "by": self.by,
            **self.total.to_json(),
            "breaches_by_category": self.breaches_by_category,
            "escalation_to_claim": self.escalation_to_claim,
        }
        out.pop("key")
        if self.by:
            out["groups"] = [g.to_json() for g in self.groups]
        return out

    def to_csv(self) -> str:
        buf = io.StringIO()
        rows = [g.to_json() for g in ([*self.groups, self.total] if self.by else [self.total])]
        writer = csv.DictWriter(buf, fieldnames=[self.by or "scope", *list(rows[0])[1:]])
        writer.writeheader()
        for row in rows:
            key = row.pop("key")
            writer.writerow({self.by or "scope": key, **row})
        return buf.getvalue()


def sla_report(desk: Desk, start: datetime, end: datetime, by: str | None = None) -> SlaReport:
    from supportdesk.services import escalation

    if end <= start:
        raise UsageError("--to must be after --from")
    if by is not None and by not in GROUPS:
        raise UsageError(f"--by must be one of: {', '.join(GROUPS)}")
    store = desk.store
    a, b = store.timestamp_param(start), store.timestamp_param(end)
    g = GROUPS[by] if by else "'all'"  # no GROUP BY without --by (PostgreSQL refuses one
    # on a constant)
    groups: dict[str, Group] = {}
    total = Group("all")
    by_category: dict[str, int] = {}

    def group(key: Any) -> Group:
        name = str(key)
        if name not in groups:
            groups[name] = Group(name)
        return groups[name]

    manual = f"(t.resolution_code IS NULL OR t.resolution_code NOT IN {AUTO_CLOSED!r})"

    def counted(clock: str) -> str:
        """Clocks in the figures: not of tickets closed automatically, nor of merged
        duplicates, except a duplicate's clock that had already breached (it counts)."""
        return (
            f"{manual} AND (t.resolution_code IS NULL OR t.resolution_code <> 'duplicate'"
            f" OR t.{clock}_state = 'breached')"
        )

    def key_of(clock: str) -> str:
        return AGENT_BY_CLOCK[clock] if by == "agent" else g

    categories = [c.value for c in Category]
    counts: dict[str, int] = {}  # respond clocks stopped per group (for the medians)
    for clock in CLOCK_NAMES:
        # one pass over the clock's covering index; categories as sums, not as a GROUP BY,
        # so without --by nothing is sorted
        timed = f"t.{clock}_target_s IS NOT NULL"
        sums = [
            f"sum(CASE WHEN t.{clock}_state = 'met' AND {timed} THEN 1 ELSE 0 END)",
            f"sum(CASE WHEN t.{clock}_state = 'breached' AND {timed} THEN 1 ELSE 0 END)",
            "count(*)",
            *(
                f"sum(CASE WHEN t.{clock}_state = 'breached' AND {timed}"
                f" AND t.category = '{c}' THEN 1 ELSE 0 END)"
                for c in categories
            ),
        ]
        k = key_of(clock)
        rows = store.query(
            f"SELECT {k}, {', '.join(sums)} FROM tickets t"
            f" WHERE t.{clock}_state IN ('met', 'breached')"
            f" AND t.{clock}_since >= ? AND t.{clock}_since < ? AND {counted(clock)}"
            + (f" GROUP BY {k}" if by else ""),
            (a, b),
        )
        for key, met, breached, n, *per_category in rows:
            met, breached = int(met or 0), int(breached or 0)
            for each in (group(key), total):
                setattr(each, f"{clock}_met", getattr(each, f"{clock}_met") + met)
                setattr(each, f"{clock}_breached", getattr(each, f"{clock}_breached") + breached)
            if clock == "respond":
                counts[str(key)] = int(n or 0)
            for cat, value in zip(categories, per_category, strict=True):
                if value:
                    by_category[cat] = by_category.get(cat, 0) + int(value)
    breaches_by_category = dict(sorted(by_category.items()))
    respond_window = (
        " FROM tickets t WHERE t.respond_state IN ('met', 'breached')"
        f" AND t.respond_since >= ? AND t.respond_since < ? AND {counted('respond')}"
    )
    # the median of everything: the middle one or two of the sorted times (a sort, no window)
    n_all = sum(counts.values())
    if n_all:
        middle = store.query(
            "SELECT t.respond_used_s" + respond_window + " ORDER BY t.respond_used_s"
            " LIMIT ? OFFSET ?",
            (a, b, 2 - n_all % 2, (n_all - 1) // 2),
        )
        total.median_first_response_seconds = round(sum(int(m[0]) for m in middle) / len(middle))
    if by:
        # per group: the middle rows of each partition
        k = key_of("respond")
        for key, median in store.query(
            f"SELECT k, avg(s) FROM (SELECT {k} AS k, t.respond_used_s AS s,"
            f" row_number() OVER (PARTITION BY {k} ORDER BY t.respond_used_s) AS rn,"
            f" count(*) OVER (PARTITION BY {k}) AS n"
            + respond_window
            + ") m WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY k",
            (a, b),
        ):
            if median is not None:
                group(key).median_first_response_seconds = round(float(median))
    else:
        group("all").median_first_response_seconds = total.median_first_response_seconds
    for key, solved, at_tier1 in store.query(
        f"SELECT {g}, count(*), coalesce(sum(CASE WHEN t.escalations = 0 THEN 1 ELSE 0 END), 0)"
        " FROM tickets t WHERE t.resolved_at IS NOT NULL AND t.resolved_at >= ?"
        f" AND t.resolved_at < ? AND t.resolution_code = 'fixed'"
        + (f" GROUP BY {g}" if by else ""),
        (a, b),
    ):
        for each in (group(key), total):
            each.resolved += int(solved)
            each.resolved_at_tier1 += int(at_tier1)
    figures = escalation.figures(desk, start, end)
    out = SlaReport(
        start,
        end,
        by,
        total,
        breaches_by_category=breaches_by_category,
        escalation_to_claim={
            "claimed": figures.claimed,
            "median_seconds": figures.median_claim_seconds,
            "mean_seconds": figures.mean_claim_seconds,
            "p90_seconds": figures.p90_claim_seconds,
        },
    )
    if by:
        names = {}
        if by == "agent":
            names = {str(i): login for i, login in store.query("SELECT id, login FROM staff")}
            names["0"] = "(nobody)"
        out.groups = sorted(
            (
                _renamed(grp, names.get(grp.key, grp.key))
                for key, grp in groups.items()
                if key != "all" or by is None
            ),
            key=lambda grp: grp.key,
        )
    return out


def _renamed(group: Group, key: str) -> Group:
    group.key = key
    return group
