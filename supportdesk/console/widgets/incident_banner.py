"""Outages and planned work on screen: the banner every console shows while an incident is
open, and the notices on an affected account (its incidents with the script to read, first;
its maintenance windows).

Neither reads the database: the banner re-renders once a second from the incidents the
console's watch (console/watch/incidents.py) last handed it, so the countdown to the next
customer update ticks without a query; the account's notices show what their screen read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import Static

from supportdesk.console.widgets.format import ago, local, one_line, truncate
from supportdesk.console.widgets.quiet import show
from supportdesk.rules.sla_engine import format_left
from supportdesk.safe_text import clean

if TYPE_CHECKING:
    from supportdesk.services.incidents import IncidentSummary
    from supportdesk.services.incidents.maintenance import WindowView

INCIDENT_STYLE = "bold #ffffff on #c00000"
ACKED_STYLE = "bold #ffffff on #875f00"
OVERDUE_STYLE = "bold #ffff00 on #c00000"
WINDOW_STYLE = "bold #000000 on #5fafd7"
MAX_LINES = 2  # incidents shown one a line; more are counted on the last
OPEN_KEY = "ctrl+n"


def when(at: datetime, now: datetime) -> str:
    """A time in the agent's zone and how far off it is: "Sat 22:00 (in 2 d)"."""
    there = local(at)
    same_day = there.date() == local(now).date()
    text = there.strftime("%H:%M" if same_day else "%a %d %b %H:%M")
    seconds = int((at - now).total_seconds())
    if seconds <= 0:
        return f"{text} ({ago(at, now)})"
    if seconds < 3600:
        return f"{text} (in {max(1, seconds // 60)} min)"
    if seconds < 48 * 3600:
        return f"{text} (in {seconds // 3600} h)"
    return f"{text} (in {seconds // 86400} d)"


def clock_time(at: datetime, now: datetime) -> str:
    """Just the time (with the day when it is not today)."""
    return when(at, now).split(" (")[0]


def update_due_text(inc: IncidentSummary, now: datetime) -> str:
    """ "update in 0:24:13", or "update OVERDUE 0:03:10" once the customers wait."""
    left = inc.update_left_s(now)
    if left is None:
        return ""
    if left < 0:
        return f"update OVERDUE {format_left(-left)}"
    return f"update in {format_left(left)}"


def incident_line(inc: IncidentSummary, now: datetime, width: int) -> Text:
    """One incident in `width` cells: what and where on the left (cut to fit), the update
    countdown and whether anyone has acknowledged it on the right (never cut)."""
    left = inc.update_left_s(now)
    style = ACKED_STYLE if inc.acknowledged else INCIDENT_STYLE
    wide = width >= 120
    right = Text()
    due = update_due_text(inc, now)
    if due:
        right.append(f" {due} ", style=OVERDUE_STYLE if left is not None and left < 0 else style)
    if not inc.acknowledged:
        right.append(" NOT ACKNOWLEDGED " if wide else " UNACKED ", style=style)
    elif wide:
        right.append(f" ack {one_line(inc.acknowledged_by)} ", style=style)
    if wide:
        right.append(f" {OPEN_KEY} ", style=style)
    state = one_line(inc.state)
    head = f" ▲ INCIDENT #{inc.id} {state} ·" if wide else f" ▲ #{inc.id} {state} ·"
    what = f"{', '.join(inc.servers)} · {inc.title}"
    if wide and inc.owner:
        what += f" · owner {inc.owner}"
    room = max(0, width - right.cell_len - len(head) - 1)
    body = Text(head + " " + truncate(what.lstrip(" ·"), room), style=style)
    pad = width - body.cell_len - right.cell_len
    if pad > 0:
        body.append(" " * pad, style=style)
    out = Text.assemble(body, right)
    out.truncate(width)
    return out


def window_span(w: WindowView, now: datetime, *, wide: bool = True) -> str:
    """ "Sat 28 Nov 22:00 (in 6 d) to 02:00", or narrow "Sat 28 Nov 22:00–02:00"; while it
    runs "until 02:00"."""
    end = clock_time(w.ends_at, now)
    if local(w.ends_at).date() == local(w.starts_at).date():
        end = local(w.ends_at).strftime("%H:%M")
    if w.starts_at <= now:
        return f"until {clock_time(w.ends_at, now)}"
    if wide:
        return f"{when(w.starts_at, now)} to {end}"
    return f"{clock_time(w.starts_at, now)}–{end}"


def window_line(windows: Sequence[WindowView], now: datetime, width: int) -> Text | None:
    """The soonest maintenance window still to come or running, in one line (the queue's
    and the boards' banner); None when there is none."""
    live = [w for w in windows if w.ends_at > now]
    if not live:
        return None
    w = min(live, key=lambda x: (x.starts_at, x.id))
    running = w.starts_at <= now
    word = "MAINTENANCE NOW" if running else "MAINTENANCE"
    span = window_span(w, now, wide=width >= 120)
    more = f" +{len(live) - 1} more" if len(live) > 1 else ""
    head = f" ◷ {word} #{w.id} · {one_line(', '.join(w.servers))} · {span}"
    tail = f"{more} "
    room = max(0, width - len(head) - len(tail))
    text = Text(head + " · " + truncate(w.notice, room - 3) + tail, style=WINDOW_STYLE)
    text.pad_right(max(0, width - text.cell_len))
    text.truncate(width)
    return text


def banner_text(
    incidents: Sequence[IncidentSummary],
    now: datetime,
    width: int,
    windows: Sequence[WindowView] = (),
) -> Text:
    """The banner: one line per open incident, at most MAX_LINES (the last then counts the
    rest); then, where asked, the next maintenance window."""
    shown = list(incidents[:MAX_LINES])
    lines = [incident_line(i, now, width) for i in shown]
    more = len(incidents) - len(shown)
    if more > 0:
        tail = Text(f" +{more} more incidents ({OPEN_KEY}) ", style=INCIDENT_STYLE)
        last = lines[-1]
        last.truncate(max(0, width - tail.cell_len))
        lines[-1] = Text.assemble(last, tail)
    window = window_line(windows, now, width)
    if window is not None:
        lines.append(window)
    return Text("\n").join(lines)


class IncidentBanner(Static, can_focus=False):
    """Every screen's top line while an incident is open; hidden otherwise."""

    DEFAULT_CSS = """
    IncidentBanner { height: auto; width: 1fr; display: none; }
    IncidentBanner.-on { display: block; }
    """

    def __init__(self, now: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.now = now  # the desk's clock: the countdowns tick from it
        self.incidents: tuple[IncidentSummary, ...] = ()
        self.windows: tuple[WindowView, ...] = ()
        self._shown: tuple[Any, ...] = ()

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)

    def show(self, incidents: Sequence[IncidentSummary], windows: Sequence[WindowView]) -> None:
        """The incidents to show (and, on the queue and the boards, the maintenance
        windows), as the incident watch read them last."""
        self.incidents, self.windows = tuple(incidents), tuple(windows)
        if self.is_mounted:
            self.tick()

    def tick(self) -> None:
        """From memory, once a second: the incidents and windows last shown, and the
        countdowns."""
        incidents = self.incidents
        now = self.now()
        windows = [w for w in self.windows if w.ends_at > now]
        if not incidents and not windows:
            if self.has_class("-on"):
                self._shown = ()
                self.set_class(False, "-on")
                self.update("")
            return
        if self.screen is not self.app.screen and self.has_class("-on"):
            return  # not on top: nothing to draw until it is
        width = self.size.width or self.app.size.width
        text = banner_text(incidents, now, width, windows)
        key = (text.plain, width, tuple(i.acknowledged for i in incidents))
        if key != self._shown:
            self._shown = key
            self.set_class(True, "-on")
            self.update(text)

    def on_resize(self) -> None:
        self._shown = ()
        self.tick()


# -- an affected account ----------------------------------------------------------------------
def account_notice_lines(
    incidents: Sequence[IncidentSummary],
    windows: Sequence[WindowView],
    now: datetime,
    width: int,
    *,
    key_hint: str = "",
    waiting_for: int | None = None,
) -> list[Text]:
    """What an agent reads first about an account: each open incident affecting it with the
    script to read to the caller, then each maintenance window upcoming or running (the one
    a scheduled ticket waits for says so: its clocks are paused until it opens)."""
    width = max(20, width)
    lines: list[Text] = []
    for inc in incidents:
        style = ACKED_STYLE if inc.acknowledged else INCIDENT_STYLE
        head = f" ▲ INCIDENT #{inc.id} {inc.state} on {', '.join(inc.servers)}: {inc.title} "
        lines.append(Text(truncate(head, width), style=style))
        due = update_due_text(inc, now)
        read = Text.assemble(("Read to the caller", "bold"), (f" · {due}" if due else "", "dim"))
        if key_hint:
            read.append(f" · {key_hint}", style="dim")
        lines.append(read)
        for paragraph in inc.script.splitlines() or [""]:
            lines.append(Text(f"  {clean(paragraph)}", style="#ffd7d7"))
    for w in windows:
        state = w.state(now)
        span = window_span(w, now, wide=width >= 60)
        word = "MAINTENANCE NOW" if state == "running" else "MAINTENANCE"
        head = f" ◷ {word} #{w.id} on {one_line(', '.join(w.servers))} · {span} "
        lines.append(Text(truncate(head, width), style=WINDOW_STYLE))
        if w.id == waiting_for and state == "upcoming":
            lines.append(
                Text(
                    f"  This ticket is scheduled into it: SLA clocks paused until "
                    f"{clock_time(w.starts_at, now)}, then back in the queue",
                    style="bold #87d7ff",
                )
            )
        lines.append(Text(f"  {clean(w.notice, multiline=True)}", style="#87d7ff"))
    for line in lines:
        line.no_wrap = False
    return lines


class AccountNotices(Static, can_focus=False):
    """The incidents and maintenance of the account on screen, above everything else; its
    screen reads them (`DeskScreen.read_account_notices`) and hands them over."""

    DEFAULT_CSS = """
    AccountNotices { height: auto; max-height: 12; width: 1fr; display: none; }
    AccountNotices.-on { display: block; }
    """

    def __init__(
        self, now: Callable[[], datetime], *, id: str | None = None, key_hint: str = ""
    ) -> None:
        super().__init__(id=id, markup=False)
        self.now = now  # the desk's clock: the update countdowns tick from it
        self.account: str | None = None
        self.incidents: tuple[IncidentSummary, ...] = ()
        self.windows: tuple[WindowView, ...] = ()
        self.key_hint = key_hint
        self.waiting_for: int | None = None  # the window the ticket on screen waits for
        self._asked = 0  # reads asked for; only the last one's answer is shown
        self._lines = 0  # lines shown (a change moves what is under them)

    def on_mount(self) -> None:
        self.set_interval(1.0, self._retick)

    def _retick(self) -> None:
        """The update countdowns, from memory."""
        if self.incidents and self.screen is self.app.screen:
            self._paint(self.incidents, self.windows)

    def expect(self, account: str | None, *, waiting_for: int | None = None) -> int:
        """The screen reads `account`'s notices (every reload of the screen does);
        `waiting_for` is the window the ticket on screen is scheduled into. Returns the
        number of this read: only the last one's answer is shown."""
        self.account = account
        self.waiting_for = waiting_for
        self._asked += 1
        return self._asked

    def landed(
        self, asked: int, found: tuple[IncidentSummary, ...], windows: tuple[WindowView, ...]
    ) -> None:
        """A read landed: show it if it is the last one asked for."""
        if asked == self._asked and self.is_attached:
            self._paint(found, windows)

    def clear(self) -> None:
        """No account on screen."""
        self.landed(self.expect(None), (), ())

    def _paint(self, found: tuple[IncidentSummary, ...], windows: tuple[WindowView, ...]) -> None:
        self.incidents, self.windows = found, windows
        if not found and not windows:
            text: Text | None = None
        else:
            now = self.now()
            width = (self.size.width or self.app.size.width) - 1
            lines = account_notice_lines(
                found, windows, now, width, key_hint=self.key_hint, waiting_for=self.waiting_for
            )
            text = Text("\n").join(lines)
        lines_before = self._lines
        self._lines = len(text.plain.splitlines()) if text is not None else 0
        if self._lines != lines_before:
            self._keep_threads_at_end()
        self.set_class(text is not None, "-on")
        show(self, text if text is not None else "")  # nothing new (every reload): no layout

    def _keep_threads_at_end(self) -> None:
        """The notices grow or shrink the thread under them: a thread that showed its
        latest entry goes on showing it once the layout has changed."""
        from supportdesk.console.widgets.ticket_view import ThreadView

        following = [t for t in self.screen.query(ThreadView) if t.is_vertical_scroll_end]
        for thread in following:
            self.call_after_refresh(thread.scroll_end, animate=False)
