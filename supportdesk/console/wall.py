"""The wall display: the lead's SLA board alone, read-only, for `supportdesk serve`.

`supportdesk serve` runs textual-serve, which starts `supportdesk wall` (this app) for each
browser that connects. The app shows only `LeadBoardScreen(read_only=True)`: no command
palette, no global keys, no screen that writes; it registers no presence (a wall is not a
person) and reads the store only. With `redact`, subjects and customer names are hidden.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType

from supportdesk.console.screens.lead_board import LeadBoardScreen
from supportdesk.console.screens.messages import StoreChanged
from supportdesk.console.widgets.inert import InertNotify
from supportdesk.errors import DeskError

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk
    from supportdesk.store import ChangeFeed

TRACE_ENV = "SUPPORTDESK_WALL_TRACE"  # a file the board's headline is appended to (tests)


class WallApp(InertNotify):
    """A read-only SLA board."""

    TITLE = "supportdesk · SLA board"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit", show=False)]
    ALLOWED = frozenset({"quit", "help", "back"})

    def __init__(self, desk: Desk, *, redact: bool = False) -> None:
        super().__init__()
        self.desk = desk
        self.redact = redact
        self.last_error: str | None = None
        self._feed: ChangeFeed | None = None
        self.trace = os.environ.get(TRACE_ENV)

    def on_mount(self) -> None:
        self._feed = self.desk.store.change_feed(self._on_store_change).start()
        self.push_screen(LeadBoardScreen(read_only=True, redact=self.redact))

    def on_unmount(self) -> None:
        if self._feed is not None:
            self._feed.stop()
            self._feed = None

    def _on_store_change(self) -> None:
        self.post_message(StoreChanged())

    def on_store_changed(self, _message: StoreChanged) -> None:
        if not self.screen_stack:
            return  # the wall is closing
        screen = self.screen
        if isinstance(screen, LeadBoardScreen):
            screen.store_changed(visible=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action in self.ALLOWED or action.startswith(("scroll_", "focus_", "cursor_"))

    def report_failure(self, error: BaseException) -> None:
        message = str(error) if isinstance(error, DeskError) else f"internal error: {error!r}"
        self.last_error = message
        self.notify(message, severity="error", markup=False, timeout=8)

    def traced(self, text: str) -> None:
        """The board tells the trace file what its headline says (for tests)."""
        if self.trace:
            with open(self.trace, "a", encoding="utf-8") as out:
                out.write(text.replace("\n", " ") + "\n")

    def open_ticket(self, ticket_id: int) -> None:  # never from the wall
        del ticket_id


def run_wall(desk: Desk, *, redact: bool) -> None:
    desk.actor  # noqa: B018 - one line, before the screen takes over
    app = WallApp(desk, redact=redact)
    app.run()
    if app.return_code:  # an unexpected error ended it: say so in the exit status
        raise SystemExit(app.return_code)
