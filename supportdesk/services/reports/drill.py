"""The lead board's drill-downs: the tickets behind each of its figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.queue import LIVE_TERM, rows_where
from supportdesk.core.views import QueueRow
from supportdesk.errors import UsageError
from supportdesk.services.reports import report
from supportdesk.services.reports.common import HELD_TOO_LONG, day_start, epoch_of

DRILLS = ("breached", "due15", "due60", "unclaimed2", "unclaimed3", "held", "held_old",
          "complaints", "unlisted", "breaches:today", "breaches:7d", "breaches:30d")  # fmt: skip


WINDOWS = {"today": 0, "7d": 6, "30d": 29}


def _breaches(desk: Desk, what: str, now: datetime, limit: int) -> list[QueueRow]:
    """The tickets behind a breach count: clocks that stopped breached in the window
    ("breaches:7d"), optionally of one category ("breaches:30d:billing")."""
    parts = what.split(":")
    if len(parts) not in (2, 3) or parts[1] not in WINDOWS:
        raise UsageError("breaches:WINDOW[:CATEGORY] with WINDOW today, 7d or 30d")
    start = day_start(desk, now) - timedelta(days=WINDOWS[parts[1]])
    ts = desk.store.timestamp_param
    rows: dict[int, QueueRow] = {}
    for clock in ("respond", "resolve"):
        where = (
            f" WHERE t.{clock}_state IN ('met', 'breached') AND t.{clock}_since >= ?"
            f" AND t.{clock}_state = 'breached' AND t.{clock}_target_s IS NOT NULL"
            f" AND (t.resolution_code IS NULL OR t.resolution_code NOT IN"
            f" {report.AUTO_CLOSED!r})"
        )
        params: list[Any] = [ts(start)]
        if len(parts) == 3:
            where += " AND t.category = ?"
            params.append(parts[2])
        for row in rows_where(
            desk, where + f" ORDER BY t.{clock}_since DESC LIMIT ?", [*params, limit]
        ):
            rows.setdefault(row.id, row)
    return sorted(rows.values(), key=lambda r: r.id, reverse=True)[:limit]


def drill(desk: Desk, what: str, *, limit: int = 200) -> list[QueueRow]:
    """The tickets behind a headline figure or list ("person:LOGIN" for one person's)."""
    permissions.require(desk.actor, "board.sla")
    now = desk.now()
    epoch = epoch_of(now)
    ts = desk.store.timestamp_param
    if what.startswith("breaches:"):
        return _breaches(desk, what, now, limit)
    if what.startswith("person:"):
        login = what.split(":", 1)[1]
        rows = desk.store.query("SELECT id FROM staff WHERE login = ?", (login,))
        if not rows:
            raise UsageError(f"no staff member {login!r}")
        return rows_where(
            desk,
            f" WHERE {LIVE_TERM} AND t.holder_id = ? ORDER BY t.sla_key, t.id LIMIT ?",
            [rows[0][0], limit],
        )
    due = {"breached": epoch, "due15": epoch + 900, "due60": epoch + 3600}
    if what in due:
        out: list[QueueRow] = []
        for view in ("queue", "held", "waiting", "scheduled"):
            out += rows_where(
                desk,
                f" WHERE t.view = ? AND {LIVE_TERM} AND t.sla_key <= ?"
                + (" AND t.sla_key > ?" if what != "breached" else "")
                + " ORDER BY t.sla_key, t.id LIMIT ?",
                [view, due[what], *([epoch] if what != "breached" else []), limit],
            )
        return sorted(out, key=lambda r: (r.sla_key, r.id))[:limit]
    if what in ("unclaimed2", "unclaimed3"):
        return rows_where(
            desk,
            f" WHERE t.view = 'queue' AND {LIVE_TERM} AND t.tier = ? AND t.holder_id IS NULL"
            " ORDER BY t.priority_rank, t.tier_since, t.id LIMIT ?",
            [int(what[-1]), limit],
        )
    if what == "held":
        return rows_where(
            desk,
            f" WHERE t.view = 'held' AND {LIVE_TERM} ORDER BY t.priority_rank, t.created_at,"
            " t.id LIMIT ?",
            [limit],
        )
    if what == "held_old":
        return rows_where(
            desk,
            f" WHERE t.view = 'held' AND {LIVE_TERM} AND t.created_at < ?"
            " ORDER BY t.priority_rank, t.created_at, t.id LIMIT ?",
            [ts(now - HELD_TOO_LONG), limit],
        )
    if what == "complaints":
        return rows_where(
            desk, " WHERE t.flagged_at IS NOT NULL ORDER BY t.flagged_at, t.id LIMIT ?", [limit]
        )
    if what == "unlisted":
        return rows_where(
            desk,
            f" WHERE t.view = 'held' AND {LIVE_TERM} AND t.sender IS NOT NULL"
            " ORDER BY t.priority_rank, t.created_at, t.id LIMIT ?",
            [limit],
        )
    raise UsageError(f"nothing to drill into called {what!r} (one of: {', '.join(DRILLS)})")
