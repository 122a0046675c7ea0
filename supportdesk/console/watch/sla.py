"""The SLA clocks this console watches: its user's tickets (a lead's: also the unclaimed
ones), due first, in every live view. A toast says when one passes a warning threshold or
breaches; a level already reached when the clock is first seen is known, not told.

The watch list is read in a worker after start, every READ_EVERY_S and after every change of
the store (at most every READ_GAP_S while changes keep coming); a lead's held tickets ride on
the same read (the claims watcher's). Between reads the clocks are checked from memory every
CHECK_S. `SlaWatch` is the pure part (bench_tick.py times its check alone).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from textual.worker import get_current_worker

from supportdesk.console.watch import MAX_TOASTS
from supportdesk.console.widgets.format import one_line, truncate
from supportdesk.console.widgets.sla_clock import CLOCK_LABEL
from supportdesk.enums import View
from supportdesk.rules.sla_engine import CLOCKS, ClockReading, Countdown, Reading, format_left

if TYPE_CHECKING:
    from textual.timer import Timer

    from supportdesk.console.base import DeskApp
    from supportdesk.console.watch.claims import ClaimsWatcher
    from supportdesk.core.views import QueueRow
    from supportdesk.rules.policy import Plan
    from supportdesk.services.escalation import Claim

WATCH_VIEWS = (View.QUEUE, View.HELD, View.WAITING, View.SCHEDULED)
WATCH_LIMIT = 100  # per view and filter: the tickets due first
CHECK_S = 5.0  # watched clocks are read from memory this often (a toast may be 5 s late)
READ_EVERY_S = 60.0  # the watch list is read again this often, and after every change
READ_GAP_S = 2.0  # but at most this often while changes keep coming

BREACH_LEVEL = 1000


@dataclass(frozen=True)
class Crossing:
    """A clock of a watched ticket went past a threshold (or breached) while watched."""

    ticket_id: int
    clock: str
    level: int  # warn level reached, or BREACH_LEVEL
    percent: int  # the threshold passed (100 for a breach)
    remaining_s: int
    account: str
    subject: str
    holder: str | None

    @property
    def breached(self) -> bool:
        return self.level >= BREACH_LEVEL

    def message(self) -> str:
        name = CLOCK_LABEL.get(self.clock, self.clock).lower()
        if self.breached:
            head = f"#{self.ticket_id} {name} clock BREACHED ({format_left(self.remaining_s)})"
        else:
            head = (
                f"#{self.ticket_id} {name} clock past {self.percent}% · "
                f"{format_left(self.remaining_s)} left"
            )
        return f"{head}\n{one_line(self.account)} · {truncate(self.subject, 40)}"

    def title(self) -> str:
        what = "SLA breached" if self.breached else "SLA warning"
        return what if self.holder else f"{what} · unclaimed"


def level_of(r: ClockReading) -> int:
    if r.reading is Reading.BREACHED:
        return BREACH_LEVEL
    return r.warn_level if r.reading is Reading.WARNING else 0


@dataclass
class _Watched:
    row: QueueRow
    clock: str
    countdown: Countdown
    plan: Plan


class SlaWatch:
    """The clocks a console keeps an eye on (its user's tickets; a lead's also the unclaimed
    ones), read from memory every second to spot crossings. A clock's level when it is first
    seen is taken as known, so opening the console does not replay every old warning; each
    (ticket, clock, level) is told once."""

    def __init__(self) -> None:
        self._watched: dict[tuple[int, str], _Watched] = {}
        self._seen: dict[tuple[int, str], int] = {}
        self._told: set[tuple[int, str, int]] = set()

    def __len__(self) -> int:
        return len(self._watched)

    def replace(
        self, rows: Sequence[QueueRow], plans: Mapping[str | None, Plan], now: datetime
    ) -> list[Crossing]:
        """Watch `rows` from now on; returns crossings the new data itself shows (a priority
        raised past a threshold) for clocks that were already watched."""
        watched: dict[tuple[int, str], _Watched] = {}
        for row in rows:
            plan = plans.get(row.sla_plan)
            if row.clocks is None or plan is None:
                continue
            for name in CLOCKS:
                clock = row.clocks.get(name)
                if clock.state.value not in ("running", "paused") or clock.target_s is None:
                    continue
                key = (row.id, name)
                old = self._watched.get(key)
                if old is not None and old.countdown.clock == clock and old.plan is plan:
                    countdown = old.countdown  # keeps its calendar work between boundaries
                else:
                    countdown = Countdown(clock, plan.calendar, plan.warn)
                watched[key] = _Watched(row, name, countdown, plan)
        self._seen = {k: v for k, v in self._seen.items() if k in watched}
        self._told = {t for t in self._told if (t[0], t[1]) in watched}
        self._watched = watched
        return self.check(now)

    def check(self, now: datetime) -> list[Crossing]:
        """The crossings since the last check (each told once)."""
        out: list[Crossing] = []
        for key, w in self._watched.items():
            r = w.countdown.at(now)
            level = level_of(r)
            seen = self._seen.get(key)
            self._seen[key] = level
            if seen is None or level <= seen:
                continue
            told = (key[0], key[1], level)
            if told in self._told:
                continue
            self._told.add(told)
            warn = w.plan.warn
            percent = 100 if level >= BREACH_LEVEL else warn[min(level, len(warn)) - 1]
            out.append(
                Crossing(
                    key[0],
                    key[1],
                    level,
                    percent,
                    r.remaining_s or 0,
                    w.row.account,
                    w.row.subject,
                    w.row.holder,
                )
            )
        return out


class SlaWatcher:
    """Reads the watch list, checks its clocks and tells of crossings (`told` keeps every
    one); `claims`, for a lead, gets the held tickets read along with it."""

    def __init__(self, app: DeskApp, claims: ClaimsWatcher | None = None) -> None:
        self.app = app
        self.claims = claims
        self.clocks = SlaWatch()
        self.told: list[Crossing] = []  # every crossing told, oldest first
        self._read_timer: Timer | None = None
        self._read_at = -READ_GAP_S
        self._timers: list[Timer] = []

    def __len__(self) -> int:
        """The clocks watched."""
        return len(self.clocks)

    @property
    def pending(self) -> bool:
        """A read is due (waiting out READ_GAP_S)."""
        return self._read_timer is not None

    def start(self) -> None:
        self.request()
        self._timers = [
            self.app.set_interval(READ_EVERY_S, self.request),
            self.app.set_interval(CHECK_S, self.check),
        ]

    def store_changed(self) -> None:
        self.request()

    def stop(self) -> None:
        for timer in [*self._timers, self._read_timer]:
            if timer is not None:
                timer.stop()
        self._timers, self._read_timer = [], None

    # -- reading --------------------------------------------------------------------------
    def request(self) -> None:
        """Read the watch list again, at most once per READ_GAP_S during a burst."""
        if self._read_timer is not None:
            return  # a read is already due
        wait = READ_GAP_S - (time.monotonic() - self._read_at)
        if wait <= 0:
            self._due()
        else:
            self._read_timer = self.app.set_timer(wait, self._due)

    def _due(self) -> None:
        self._read_timer = None
        self._read_at = time.monotonic()
        self.app.run_worker(
            self._read,
            thread=True,
            exclusive=True,
            group="sla-watch",
            name="sla-watch",
            exit_on_error=False,
        )

    def _read(self) -> None:
        """The tickets this console's user holds, due first, in every live view; for a lead
        also the ones nobody holds, and the held tickets (the claims watcher's)."""
        from supportdesk.console.screens.queue import plans_of
        from supportdesk.console.watch.claims import read_claims
        from supportdesk.core import queue
        from supportdesk.core.queue import QueueFilter

        desk = self.app.desk
        # "mine" in priority order: that filter has its own index (holder first), while the
        # due order's index would scan every live ticket to find the few this user holds
        filters = [QueueFilter(view=v, mine=True) for v in WATCH_VIEWS]
        lead = desk.actor.is_lead
        if lead:
            filters += [QueueFilter(view=v, sort="due", unclaimed=True) for v in WATCH_VIEWS]
        rows: dict[int, QueueRow] = {}
        for filt in filters:
            for row in queue.page(desk, filt, limit=WATCH_LIMIT).rows:
                rows[row.id] = row
        plans = plans_of(desk, list(rows.values()))
        claims = read_claims(desk) if lead and self.claims is not None else None
        if not get_current_worker().is_cancelled:
            with contextlib.suppress(RuntimeError):  # the app is closing
                self.app.call_from_thread(self.landed, tuple(rows.values()), plans, claims)

    def landed(
        self,
        rows: Sequence[QueueRow],
        plans: Mapping[str | None, Plan],
        claims: tuple[Sequence[Claim], int] | None = None,
    ) -> None:
        """The watch list was read: watch it from now on (and hand the claims over)."""
        self._tell(self.clocks.replace(rows, plans, self.app.desk.now()))
        if claims is not None and self.claims is not None:
            self.claims.landed(*claims)

    # -- telling --------------------------------------------------------------------------
    def check(self) -> None:
        """Every CHECK_S, from memory: did a watched clock pass a threshold or breach?"""
        self._tell(self.clocks.check(self.app.desk.now()))

    def _tell(self, crossings: list[Crossing]) -> None:
        """Toasts (they never take the focus): one per crossing, or one for many."""
        if not crossings:
            return
        self.told.extend(crossings)
        if len(crossings) <= MAX_TOASTS:
            for c in crossings:
                self.app.notify(
                    c.message(),
                    title=c.title(),
                    severity="error" if c.breached else "warning",
                    markup=False,
                    timeout=20 if c.breached else 12,
                )
            return
        breached = [c for c in crossings if c.breached]
        numbers = ", ".join(f"#{c.ticket_id}" for c in crossings[:12])
        if len(crossings) > 12:
            numbers += ", …"
        what = f"{len(breached)} breached, " if breached else ""
        self.app.notify(
            f"{len(crossings)} SLA clocks crossed a threshold ({what}"
            f"{len(crossings) - len(breached)} warnings): {numbers}",
            title="SLA breached" if breached else "SLA warning",
            severity="error" if breached else "warning",
            markup=False,
            timeout=20,
        )
