"""SLA clocks on screen: the queue's countdown cells and the ticket screen's clock panel (the
console's watch on them, which tells of a threshold passed, is console/watch/sla.py).

Everything here reads clocks from memory. A `Countdown` per clock, built when the page or the
ticket was loaded (with the calendar of the ticket's plan), gives a reading every second with
no calendar arithmetic between two calendar boundaries, so ticking never touches the
database.

Each state has a symbol AND a colour, so neither colour blindness nor a monochrome terminal
hides a breach, and a breach never looks like a critical priority (which is red):

    running   3h 10m         plain          (☾ 3h 10m: running, calendar closed now; dim)
    warning   ⚠ 0:42:10      bold yellow
    breached  ✖ -0:05:00     bold white on magenta
    paused    ⏸ cust         dim            (cust / sched / auth: why it is paused)
    met, missed, — (no target), best eff.   dim
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from supportdesk.console.widgets.format import local, one_line, truncate
from supportdesk.console.widgets.quiet import show
from supportdesk.rules.sla_engine import (
    CLOCKS,
    PAUSE_REASONS,
    ClockReading,
    Countdown,
    Reading,
    SlaClock,
    TicketClocks,
    format_left,
    format_span,
)

if TYPE_CHECKING:
    from supportdesk.rules.policy import Plan
    from supportdesk.services.sla import SlaView

WARNING_GLYPH = "⚠"
BREACHED_GLYPH = "✖"
PAUSED_GLYPH = "⏸"
CLOSED_GLYPH = "☾"

WARNING_STYLE = "bold #ffd700"
BREACHED_STYLE = "bold #ffffff on #af00af"  # magenta, never the red of "critical"
QUIET_STYLE = "#8a8a8a"  # paused, closed, stopped and untimed clocks
MISSED_STYLE = "#d787d7"

CELL_WIDTH = 10  # "✖ -23h 59m", "⚠☾ 0:42:10"
PAUSE_SHORT = {"pending_customer": "cust", "scheduled": "sched", "awaiting_authorization": "auth"}
CLOCK_LABEL = {"respond": "Respond", "resolve": "Resolve"}

_URGENCY = {  # which clock a one-column layout shows: lower first, then less time left
    Reading.BREACHED: 0,
    Reading.WARNING: 0,
    Reading.RUNNING: 0,
    Reading.PAUSED: 1,
    Reading.TRACKING: 2,
    Reading.MISSED: 3,
    Reading.MET: 4,
    Reading.NONE: 5,
}


# -- one clock as a short cell ---------------------------------------------------------------
def _short_reason(status: str | None) -> str:
    return PAUSE_SHORT.get(status or "", one_line((status or "paused")[:5]))


def cell_parts(r: ClockReading) -> tuple[str, str]:
    """The text and style of a clock's queue cell (at most CELL_WIDTH cells wide)."""
    kind = r.reading
    if kind is Reading.NONE:
        return "—", QUIET_STYLE
    if kind is Reading.MET:
        return "met", QUIET_STYLE
    if kind is Reading.MISSED:
        return "missed", MISSED_STYLE
    if kind is Reading.TRACKING:
        if r.paused:
            return f"{PAUSED_GLYPH} {_short_reason(r.paused)}", QUIET_STYLE
        return "best eff.", QUIET_STYLE
    if kind is Reading.PAUSED:
        return f"{PAUSED_GLYPH} {_short_reason(r.paused)}", QUIET_STYLE
    left = format_left(r.remaining_s or 0)
    if kind is Reading.BREACHED:
        if r.paused:
            return f"{BREACHED_GLYPH} {PAUSED_GLYPH} {_short_reason(r.paused)}", BREACHED_STYLE
        return f"{BREACHED_GLYPH} {left}", BREACHED_STYLE
    closed = CLOSED_GLYPH if r.closed_until is not None else ""
    if kind is Reading.WARNING:
        return f"{WARNING_GLYPH}{closed} {left}", WARNING_STYLE
    if closed:
        return f"{closed} {left}", QUIET_STYLE
    return left, ""


def clock_cell(r: ClockReading) -> Text:
    text, style = cell_parts(r)
    return Text(text, style=style, justify="right")


def nearer(a: ClockReading, b: ClockReading) -> ClockReading:
    """The reading a single "next due" column shows: the running clock with less time left,
    else a paused one (a breached one first), else whatever says most."""

    def key(r: ClockReading) -> tuple[int, int, int]:
        rank = _URGENCY[r.reading]
        if r.reading is Reading.BREACHED and r.paused:
            rank = 1
        return rank, 0 if r.reading is Reading.BREACHED else 1, r.remaining_s or 0

    return a if key(a) <= key(b) else b


# -- a row's pair of countdowns --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RowClocks:
    """The countdowns of one queue row, and what they were built from (to reuse them when a
    live reload brings the same clocks on the same plan)."""

    clocks: TicketClocks | None
    plan: Plan | None
    respond: Countdown | None
    resolve: Countdown | None

    @classmethod
    def build(cls, clocks: TicketClocks | None, plan: Plan | None) -> RowClocks:
        if clocks is None or plan is None:
            return cls(clocks, plan, None, None)
        calendar, warn = plan.calendar, plan.warn
        return cls(
            clocks,
            plan,
            Countdown(clocks.respond, calendar, warn),
            Countdown(clocks.resolve, calendar, warn),
        )

    def same(self, clocks: TicketClocks | None, plan: Plan | None) -> bool:
        return self.clocks == clocks and self.plan is plan


NO_READING = ClockReading(Reading.NONE, None, 0, 0, 0, None, None)


def row_readings(rc: RowClocks, now: datetime) -> tuple[ClockReading, ClockReading]:
    if rc.respond is None or rc.resolve is None:
        return NO_READING, NO_READING
    return rc.respond.at(now), rc.resolve.at(now)


# -- the ticket screen's panel ---------------------------------------------------------------
def local_time(at: datetime, fmt: str = "%a %d %b %H:%M %Z") -> str:
    """A moment in the desk's zone, as every time on screen ("Mon 23 Nov 08:30 SAST"): not
    the calendar's own, which put a due time in SAST beside a creation time in UTC."""
    return local(at).strftime(fmt)


def closed_text(until: datetime, now: datetime, plan: Plan) -> str:
    """ "closed until Mon 08:00" (with the date when it is a week or more away)."""
    fmt = "%a %H:%M" if until - now < timedelta(days=6) else "%a %d %b %H:%M"
    return f"closed until {local_time(until, fmt)}"


def state_words(r: ClockReading, plan: Plan, now: datetime) -> Text:
    """What a clock is doing, in words, with its symbol and colour."""
    reason = one_line(PAUSE_REASONS.get(r.paused or "", (r.paused or "").replace("_", " ")))
    kind = r.reading
    if kind is Reading.WARNING:
        passed = plan.warn[min(r.warn_level, len(plan.warn)) - 1] if plan.warn else 0
        text = Text(f"{WARNING_GLYPH} warning: past {passed}%", style=WARNING_STYLE)
    elif kind is Reading.BREACHED:
        text = Text(f"{BREACHED_GLYPH} BREACHED", style=BREACHED_STYLE)
        if r.paused:
            text.append(f" · {PAUSED_GLYPH} paused: {reason}", style=QUIET_STYLE)
    elif kind is Reading.PAUSED:
        text = Text(f"{PAUSED_GLYPH} paused: {reason}", style=QUIET_STYLE)
    elif kind is Reading.RUNNING:
        text = Text("running")
    elif kind is Reading.TRACKING:
        text = Text("best effort (never breached)", style=QUIET_STYLE)
        if r.paused:
            text.append(f" · {PAUSED_GLYPH} paused: {reason}")
    elif kind is Reading.MET:
        text = Text("met", style=QUIET_STYLE)
    elif kind is Reading.MISSED:
        text = Text("missed (breached)", style=MISSED_STYLE)
    else:
        text = Text("not tracked", style=QUIET_STYLE)  # no target, or (imported) no start
    if r.closed_until is not None:
        text.append(f" · {CLOSED_GLYPH} {closed_text(r.closed_until, now, plan)}", style="dim")
    return text


def left_cell(r: ClockReading) -> Text:
    """Business time left for the panel, coloured by state (the symbol is the state's), and
    kept while paused: it is what the clock resumes with."""
    if r.remaining_s is None or r.reading in (Reading.MET, Reading.MISSED, Reading.NONE):
        return Text("—", style=QUIET_STYLE)
    if r.reading is Reading.BREACHED:
        style = BREACHED_STYLE
    elif r.reading is Reading.WARNING:
        style = WARNING_STYLE
    elif r.reading is Reading.PAUSED or r.closed_until is not None:
        style = QUIET_STYLE
    else:
        style = "bold"
    return Text(f" {format_left(r.remaining_s)} ", style=style)


def _due_text(clock: SlaClock, r: ClockReading, plan: Plan) -> Text:
    if clock.due is None:
        if r.reading in (Reading.PAUSED, Reading.BREACHED) and r.paused:
            return Text("— while paused", style=QUIET_STYLE)
        return Text("—", style=QUIET_STYLE)
    style = QUIET_STYLE if r.reading in (Reading.MET, Reading.MISSED) else ""
    return Text(local_time(clock.due), style=style)


@dataclass(frozen=True)
class PanelData:
    """What the panel shows, loaded by the ticket screen's worker."""

    view: SlaView
    clocks: TicketClocks
    plan: Plan


HISTORY_SHORT = 3
HISTORY_LONG = 12


def panel_renderable(
    data: PanelData,
    readings: Mapping[str, ClockReading],
    now: datetime,
    width: int,
    history: int,
) -> RenderableType:
    """The clocks as a table (one line each when wide, two when narrow) and the history."""
    view, plan = data.view, data.plan
    warn = "/".join(str(w) for w in view.warn) or "none"
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append("SLA", style="bold")
    head.append(
        f"  {one_line(view.plan)} plan · {one_line(view.calendar)} calendar ({one_line(view.zone)})"
    )
    head.append(f" · warns at {warn}%", style="dim")
    wide = width >= 110
    rows: list[RenderableType] = []
    grid = Table.grid(padding=(0, 2), expand=True)
    if wide:
        grid.add_column(no_wrap=True, style="bold")  # clock
        grid.add_column(no_wrap=True, justify="right")  # left
        for _ in range(4):  # due, target, elapsed, paused
            grid.add_column(no_wrap=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")  # state
        grid.add_row(*(Text(h, style="dim") for h in WIDE_HEADER))
        rows.append(grid)
    for name in CLOCKS:
        r = readings[name]
        clock = data.clocks.get(name)
        cv = next((c for c in view.clocks if c.name == name), None)
        target = one_line(cv.target) if cv is not None else "—"
        label = CLOCK_LABEL.get(name, name)
        state = state_words(r, plan, now)
        due = _due_text(clock, r, plan)
        if wide:
            grid.add_row(  # Texts only: a str in a Rich table is parsed as markup
                Text(label),
                left_cell(r),
                due,
                Text(target),
                Text(format_span(r.used_s)),
                Text(format_span(r.paused_s)),
                state,
            )
            continue
        # narrow: the clock, its time left and state; then due, target, elapsed, paused
        first = Text(no_wrap=True, overflow="ellipsis")
        first.append(f"{label:<8}", style="bold")
        left = left_cell(r)
        left.pad_left(max(0, 10 - left.cell_len))
        first.append_text(left)
        first.append("  ")
        first.append_text(state)
        second = Text("   ", no_wrap=True, overflow="ellipsis", style="dim")
        if clock.due is not None:
            second.append("due ")
            second.append_text(due)
            second.append(" · ")
        second.append(f"target {target} · elapsed {format_span(r.used_s)}")
        second.append(f" · paused {format_span(r.paused_s)}")
        rows += [first, second]
    parts: list[RenderableType] = [head, *rows]
    parts.extend(_history_lines(view, plan, history, width))
    return Group(*parts)


WIDE_HEADER = ("Clock", "Left", "Due", "Target", "Elapsed", "Paused", "State")


def _history_lines(view: SlaView, plan: Plan, limit: int, width: int) -> Iterable[Text]:
    entries = view.history
    if not entries:
        yield Text("History  no clock changes yet", style="dim")
        return
    shown = entries[-limit:] if limit > 0 else ()
    hidden = len(entries) - len(shown)
    for i, (at, who, what) in enumerate(shown):
        line = Text("History  " if i == 0 else "         ", style="dim")
        line.append(local_time(at, "%d %b %H:%M"), style="dim")
        line.append(f"  {one_line(who or 'system'):<8} ", style="bold")
        line.append(truncate(what, max(10, width - len(line))))
        yield line
    if hidden:
        more = Text("History  " if not shown else "         ", style="dim")
        more.append(f"{hidden} earlier change{'s' if hidden != 1 else ''}", style="dim")
        more.append(" · l shows " + ("fewer" if limit >= HISTORY_LONG else "all"), style="dim")
        yield more
    elif limit >= HISTORY_LONG or len(entries) > HISTORY_SHORT:
        yield Text("         l shows fewer", style="dim")


class SlaPanel(Static):
    """A ticket's clocks, ticking once a second from memory, and their history."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.data: PanelData | None = None
        self.expanded = False
        self._countdowns: dict[str, Countdown] = {}
        self._key: tuple[object, ...] = ()
        self._drawn: PanelData | None = None  # the data and shape of the lines on screen
        self._shape: tuple[int, int] = (0, 0)

    def show(self, data: PanelData | None, now: datetime) -> None:
        if data != self.data:
            self._key = ()  # else a reload of the same clocks: redrawn only if a reading moved
        self.data = data
        if data is None:
            self._countdowns = {}
            self._drawn = None
            show(self, "")
            return
        calendar, warn = data.plan.calendar, data.plan.warn
        self._countdowns = {
            name: Countdown(data.clocks.get(name), calendar, warn) for name in CLOCKS
        }
        self.tick(now)

    def toggle_history(self, now: datetime) -> None:
        self.expanded = not self.expanded
        self._key = ()
        self.tick(now)

    def history_limit(self) -> int:
        if self.expanded:
            return HISTORY_LONG
        return HISTORY_SHORT if self.app.size.height >= 30 else 1

    def tick(self, now: datetime) -> bool:
        """Redraw if anything shown changed; returns whether it did."""
        data = self.data
        if data is None:
            return False
        readings = {name: cd.at(now) for name, cd in self._countdowns.items()}
        width = max(40, (self.size.width or self.app.size.width) - 2)
        key = (
            width,
            self.history_limit(),
            *(
                (r.reading, r.remaining_s, r.used_s, r.paused_s, r.warn_level, r.closed_until)
                for r in readings.values()
            ),
        )
        if key == self._key:
            return False
        self._key = key
        # its lines are one per clock (two when narrow) and the history's: a tick that moved
        # only a reading keeps the height, and needs a repaint, not a layout of the screen
        shape = (width, self.history_limit())
        layout = (self._drawn is not data and self._drawn != data) or shape != self._shape
        self._drawn, self._shape = data, shape
        self.update(panel_renderable(data, readings, now, width, shape[1]), layout=layout)
        return True
