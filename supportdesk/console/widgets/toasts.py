"""Toasts that never bury the screen (issue 17, item 3): a burst of them (SLA warnings, stale
claims, notices, an incident's update) used to stack bottom-right over the call screen's
incident script and the thread being answered, for as long as they lasted.

Every notification is kept: the app's list holds them all until they time out (the tests
read it) and every toast stays mounted, so its own timer still ends it. What changes is what
is shown: the newest toasts that fit in `SCREEN_SHARE` of the screen's height, one line
above them saying how many older ones are not shown ("+5 more · ctrl+b for all"), each
toast compact (no blank line inside it, `TOAST_LINES` lines at most). When a shown toast
ends (it times out, or a click dismisses it) the next older one still running takes its
place. `ctrl+b` lists the last `KEPT` notifications, newest first, whether or not they are
still on screen.

Textual (8.x) has no setting for this. The app below takes over `App._refresh_notifications`
(Textual asks it to show the toasts whenever one is added or removed and when a screen comes
back) and `App._unnotify` (a toast that ended asks it to forget its notification); the
tests in tests/console/test_toasts.py fail if a Textual upgrade changes either.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult, ScreenStackError
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical, VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.notifications import Notification, SeverityLevel
from textual.screen import ModalScreen
from textual.widgets import Label, Static
from textual.widgets._toast import (  # noqa: PLC2701 - the rack Textual docks on every screen
    ToastHolder,
    ToastRack,
)

from supportdesk.console.widgets.closing import SkipsMountWhenClosing
from supportdesk.console.widgets.format import local
from supportdesk.console.widgets.inert import InertNotify
from supportdesk.safe_text import clean

SCREEN_SHARE = 0.4  # of the screen's height the toasts may take, "+N more" line included
TOAST_WIDTH = 60  # Textual's toast: 60 cells wide, at most half the rack's width
TOAST_LINES = 5  # a toast shows its title and at most this many lines in all
KEPT = 50  # notifications the list (ctrl+b) keeps
KEY = "ctrl+b"
SEVERITY_STYLE = {"information": "bold #5faf5f", "warning": "bold #ffaf00", "error": "bold #ff5f5f"}


@dataclass(frozen=True)
class Told:
    """One notification as the list shows it: when (the desk's zone), its words (clean)."""

    at: datetime
    title: str
    message: str
    severity: SeverityLevel


def toast_budget(height: int) -> int:
    """The rows the toasts may take on a screen `height` rows high (never fewer than a
    one-line toast)."""
    return max(2, int(height * SCREEN_SHARE))


def toast_text_width(width: int) -> int:
    """The cells a toast's text has on a screen `width` cells wide: the rack keeps room for
    its (hidden) scrollbar, a toast is at most half of the rest, less its left border and
    padding; one cell less again, so that a wrap never comes out a line longer than thought."""
    return max(8, min(TOAST_WIDTH, (width - 2) // 2) - 4)


def toast_rows(n: Notification, text_width: int) -> int:
    """The rows a toast takes: the blank line above it, its title and its wrapped text."""
    lines = (1 if n.title else 0) + len(Content(n.message).wrap(text_width))
    return 1 + min(TOAST_LINES, max(1, lines))


def newest_that_fit(rows: Sequence[int], budget: int) -> int:
    """How many of the newest toasts (`rows`, oldest first) to show in `budget` rows, with a
    row for "+N more" when some are left out; the newest one always."""
    count = used = 0
    for r in reversed(rows):
        if count and used + r > budget:
            break
        count, used = count + 1, used + r
    while 1 < count < len(rows) and used + 1 > budget:
        used -= rows[len(rows) - count]
        count -= 1
    return count


def more_text(hidden: Sequence[Notification]) -> str:
    """The line over the toasts shown: how many are not, and how many of those are errors."""
    errors = sum(n.severity == "error" for n in hidden)
    those = f" ({errors} error{'s' if errors > 1 else ''})" if errors else ""
    return f"+{len(hidden)} more{those} · {KEY} for all"


def worst(hidden: Sequence[Notification]) -> SeverityLevel:
    severities = {n.severity for n in hidden}
    if "error" in severities:
        return "error"
    return "warning" if "warning" in severities else "information"


class MoreLine(Static):
    """The words of `MoreToasts` (a click lists the notifications)."""

    DEFAULT_CSS = f"""
    MoreLine {{
        width: {TOAST_WIDTH};
        max-width: 50%;
        height: 1;
        padding: 0 1;
        visibility: visible;
        background: $panel-lighten-1;
        color: $text-muted;
        border-left: outer $primary;
    }}
    MoreLine.-warning {{ border-left: outer $warning; }}
    MoreLine.-error {{ border-left: outer $error; }}
    """

    async def on_click(self) -> None:
        await self.app.run_action("recent_toasts")


class MoreToasts(Container):
    """The rack's first line, above the toasts shown: how many older ones are not. Like
    Textual's ToastHolder, it holds its line to the right and is itself invisible."""

    DEFAULT_CSS = """
    MoreToasts {
        align-horizontal: right;
        width: 1fr;
        height: auto;
        visibility: hidden;
        display: none;
    }
    """

    def __init__(self) -> None:
        self.line = MoreLine(markup=False)
        super().__init__(self.line, classes="-textual-system")

    def count(self, hidden: Sequence[Notification]) -> None:
        """Say how many toasts are not shown, its border in the colour of the worst."""
        self.line.update(more_text(hidden))
        self.line.set_classes(f"-{worst(hidden)}")
        self.display = bool(hidden)


def fit_toasts(rack: ToastRack, live: Sequence[Notification], size: Size) -> None:
    """Show the newest toasts of `live` (oldest first) that fit on a screen of `size`, and
    count the others on the rack's first line."""
    budget = toast_budget(size.height)
    width = toast_text_width(size.width)
    shown = newest_that_fit([toast_rows(n, width) for n in live], budget)
    keep = {ToastRack._toast_id(n) for n in live[len(live) - shown :]}  # noqa: SLF001
    for holder in rack.query_children(ToastHolder):
        holder.display = holder.id in keep  # a toast ending is not live: it goes anyway
    for more in rack.query_children(MoreToasts):
        more.count(live[: len(live) - shown])
    rack.styles.max_height = budget  # whatever a wrap does, never more rows than that
    rack.call_after_refresh(rack.scroll_end, animate=False, force=True)


class HoldsToasts:
    """A screen over which no toast is shown: those raised meanwhile wait until it closes
    (FittedToasts.notify)."""


class FittedToasts(InertNotify):
    """An App whose toasts (literal, see InertNotify) take at most `SCREEN_SHARE` of the
    screen, newest first, and which lists the last `KEPT` of them on `KEY`."""

    CSS = f"""
    Toast {{ padding: 0 1; max-height: {TOAST_LINES}; }}
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(KEY, "recent_toasts", "Recent notifications", priority=True, show=False),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.told: deque[Told] = deque(maxlen=KEPT)
        self._held: list[dict[str, Any]] = []  # raised while a screen holds toasts
        self._held_lock = threading.Lock()  # notify may be called from any thread

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A toast; while the screen on top holds toasts (`HoldsToasts`: the demo's welcome
        panel, whose PINs are shown once) it is kept and raised, with its whole timeout,
        when that screen closes. The list on `KEY` has it from the start."""
        toast: dict[str, Any] = {
            "message": message,
            "title": title,
            "severity": severity,
            "timeout": timeout,
            "markup": markup,
        }
        with self._held_lock:
            hold = self._screen_holds_toasts()
            if hold:  # a panel left open all day keeps the newest (the list has them all)
                self._held = [*self._held[-(KEPT - 1) :], toast]
        if not hold:
            super().notify(**toast)
        at = local(datetime.now(UTC))
        self.told.append(Told(at, clean(title), clean(message, multiline=True), severity))

    def _screen_holds_toasts(self) -> bool:
        try:
            return isinstance(self.screen, HoldsToasts)
        except ScreenStackError:
            return False

    # -- what Textual asks of the app ------------------------------------------------------
    def _refresh_notifications(self) -> None:
        with self._held_lock:
            held = [] if self._screen_holds_toasts() else self._held
            if held:  # the screen that held them closed
                self._held = []
        if held:
            for toast in held:
                super().notify(**toast)  # each asks for this again, with nothing held
            return
        rack = self._toast_rack()
        if rack is not None:
            self.call_later(self._show_toasts, rack)

    def _unnotify(self, notification: Notification, refresh: bool = True) -> None:
        super()._unnotify(notification, refresh=refresh)
        if not refresh:  # a toast ended and removes itself: an older one may take its place
            rack = self._toast_rack()
            if rack is not None:
                self.call_later(self._fit_toasts, rack)

    def on_resize(self, _event: events.Resize) -> None:
        rack = self._toast_rack()
        if rack is not None:
            self.call_later(self._fit_toasts, rack)

    def _toast_rack(self) -> ToastRack | None:
        """The current screen's rack (none on the list of them)."""
        try:
            screen = self.screen
            return None if isinstance(screen, RecentToasts) else screen.get_child_by_type(ToastRack)
        except (ScreenStackError, NoMatches):
            return None  # no screen yet, or notifications are off (tests)

    def _show_toasts(self, rack: ToastRack) -> None:
        if not rack.is_attached:
            return
        if not rack.query_children(MoreToasts):
            rack.mount(MoreToasts(), before=0 if rack.children else None)
        rack.show(self._notifications)
        self._fit_toasts(rack)

    def _fit_toasts(self, rack: ToastRack) -> None:
        if rack.is_attached:
            fit_toasts(rack, list(self._notifications), self.size)

    # -- the list ------------------------------------------------------------------------
    def action_recent_toasts(self) -> None:
        if isinstance(self.screen, RecentToasts):
            self.screen.dismiss(None)
        elif not isinstance(self.screen, ModalScreen):
            self.push_screen(RecentToasts(self.told))


class RecentToasts(SkipsMountWhenClosing, ModalScreen[None]):
    """The last notifications, newest first, shown or not: the time and the title, the text
    under it; Esc (or the key again) closes. No toasts over it: it lists them all."""

    DEFAULT_CSS = """
    RecentToasts .told-head { height: auto; }
    RecentToasts .told-text { height: auto; padding-left: 10; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, told: Sequence[Told]) -> None:
        super().__init__(classes="desk-modal")
        self.told = tuple(reversed(told))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label("Recent notifications · newest first", classes="dialog-title")
            with VerticalScroll():
                for t in self.told:
                    head, _, rest = (
                        (t.title, "", t.message) if t.title else t.message.partition("\n")
                    )
                    yield Static(
                        Text.assemble(
                            (f"{t.at:%H:%M:%S}  ", "dim"),
                            (head, SEVERITY_STYLE.get(t.severity, "bold")),
                        ),
                        classes="told-head",
                    )
                    if rest:
                        yield Static(Text(rest), classes="told-text")
                if not self.told:
                    yield Static("No notifications yet.", markup=False)
            yield Static(f"Esc or {KEY} closes", classes="dialog-hint", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
