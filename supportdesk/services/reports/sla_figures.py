"""The lead's SLA board's figures: attainment today, over 7 and 30 days (the same definitions
as `supportdesk report sla`), breaches per day, and tickets in and solved per quarter hour
beside the same weekday's usual."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.services.reports import report
from supportdesk.services.reports.common import day_start

QUARTER = 15 * 60
USUAL_WEEKS = 4  # "the same weekday's usual": the mean of the last four


@dataclass(frozen=True)
class Figures:
    at: datetime
    today: report.SlaReport
    week: report.SlaReport
    month: report.SlaReport
    days: tuple[datetime, ...]  # the last 30 local days, oldest first
    breaches_per_day: tuple[int, ...]
    attainment_per_day: tuple[float | None, ...]  # respond and resolve together
    quarters: tuple[datetime, ...]  # today's quarter hours so far
    tickets_in: tuple[int, ...]
    tickets_solved: tuple[int, ...]
    usual_in: tuple[float, ...]  # the same weekday's usual, per quarter hour
    usual_solved: tuple[float, ...]
    extra: dict[str, Any] = field(default_factory=dict)


LONG_FIGURES_EVERY = timedelta(minutes=5)  # 7 and 30 days move slowly: read them this often


def figures(desk: Desk, previous: Figures | None = None) -> Figures:
    """Today, 7 and 30 days (report.sla_report), and the series the board draws. With the
    `previous` figures of the same day from less than LONG_FIGURES_EVERY ago, the 7- and
    30-day figures and the daily series are kept and only today is read again."""
    permissions.require(desk.actor, "board.sla")
    now = desk.now()
    today = day_start(desk, now)
    month_start = today - timedelta(days=29)
    out_today = report.sla_report(desk, today, now + timedelta(seconds=1))
    days = tuple(month_start + timedelta(days=i) for i in range(30))
    n_quarters = max(1, int((now - today).total_seconds()) // QUARTER + 1)
    quarters = tuple(today + timedelta(seconds=QUARTER * i) for i in range(n_quarters))
    tickets_in = _per_quarter(desk, "created_at", today, now)
    solved = _per_quarter(desk, "resolved_at", today, now)
    if (
        previous is not None
        and previous.days == days
        and timedelta(0) <= now - previous.at < LONG_FIGURES_EVERY
        and len(previous.usual_in) <= n_quarters
    ):
        usual_in, usual_solved = _usual(desk, today)
        return Figures(
            previous.at,
            out_today,
            previous.week,
            previous.month,
            days,
            previous.breaches_per_day,
            previous.attainment_per_day,
            quarters,
            tuple(tickets_in[:n_quarters]),
            tuple(solved[:n_quarters]),
            tuple(usual_in[:n_quarters]),
            tuple(usual_solved[:n_quarters]),
        )
    out_week = report.sla_report(desk, today - timedelta(days=6), now + timedelta(seconds=1))
    out_month = report.sla_report(desk, month_start, now + timedelta(seconds=1))
    offset = int((today.astimezone(_zone(desk)).utcoffset() or timedelta()).total_seconds())
    met = [0] * 30
    breached = [0] * 30
    store = desk.store
    for clock in ("respond", "resolve"):
        for day, state, n in store.query(
            _bucket_sql(store.is_sqlite, f"{clock}_since", 86400, offset, f"t.{clock}_state")
            + f" FROM tickets t WHERE t.{clock}_state IN ('met', 'breached')"
            f" AND t.{clock}_since >= ? AND t.{clock}_since < ?"
            f" AND t.{clock}_target_s IS NOT NULL"
            f" AND (t.resolution_code IS NULL OR t.resolution_code NOT IN"
            f" {report.AUTO_CLOSED!r}) GROUP BY 1, 2",
            (store.timestamp_param(month_start), store.timestamp_param(now)),
        ):
            i = _index(day, month_start, 86400)
            if 0 <= i < 30:
                (met if state == "met" else breached)[i] += int(n)
    attainment = tuple(
        (m / (m + b)) if (m + b) else None for m, b in zip(met, breached, strict=True)
    )
    usual_in, usual_solved = _usual(desk, today)
    return Figures(
        now,
        out_today,
        out_week,
        out_month,
        days,
        tuple(b for b in breached),
        attainment,
        quarters,
        tuple(tickets_in[:n_quarters]),
        tuple(solved[:n_quarters]),
        tuple(usual_in[:n_quarters]),
        tuple(usual_solved[:n_quarters]),
    )


def _usual(desk: Desk, today: datetime) -> tuple[list[float], list[float]]:
    """Tickets in and solved per quarter hour on the same weekday, averaged over the last
    USUAL_WEEKS weeks."""
    usual_in = [0.0] * 96
    usual_solved = [0.0] * 96
    for week in range(1, USUAL_WEEKS + 1):
        day = today - timedelta(days=7 * week)
        for i, n in enumerate(_per_quarter(desk, "created_at", day, day + timedelta(days=1))):
            usual_in[i] += n / USUAL_WEEKS
        for i, n in enumerate(_per_quarter(desk, "resolved_at", day, day + timedelta(days=1))):
            usual_solved[i] += n / USUAL_WEEKS
    return usual_in, usual_solved


def _zone(desk: Desk) -> Any:
    from supportdesk.core.policy import current_policy

    return current_policy(desk).plan_for(None).calendar.zone


def _bucket_sql(sqlite: bool, column: str, size: int, offset: int, extra: str) -> str:
    """SELECT of (bucket start as epoch seconds, extra) for a time column, in buckets of
    `size` seconds aligned to the local zone (`offset` seconds east of UTC)."""
    if sqlite:
        epoch = f"CAST(strftime('%s', t.{column}) AS INTEGER)"
    else:
        epoch = f"CAST(extract(epoch FROM t.{column}) AS BIGINT)"
    bucket = f"(({epoch} + {offset}) / {size}) * {size} - {offset}"
    return f"SELECT {bucket}, {extra}, count(*)"


def _index(bucket: Any, start: datetime, size: int) -> int:
    return (int(bucket) - int(start.timestamp())) // size


def _per_quarter(desk: Desk, column: str, start: datetime, end: datetime) -> list[int]:
    store = desk.store
    counts = [0] * 96
    where = f" FROM tickets t WHERE t.{column} >= ? AND t.{column} < ? GROUP BY 1, 2"
    if column == "resolved_at":
        where = (
            " FROM tickets t WHERE t.resolved_at IS NOT NULL AND t.resolved_at >= ?"
            " AND t.resolved_at < ? GROUP BY 1, 2"
        )
    for bucket, _x, n in store.query(
        _bucket_sql(store.is_sqlite, column, QUARTER, 0, "0") + where,
        (store.timestamp_param(start), store.timestamp_param(end)),
    ):
        i = _index(bucket, start, QUARTER)
        if 0 <= i < 96:
            counts[i] += int(n)
    return counts
