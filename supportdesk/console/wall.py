"""The wall display: the lead's SLA board alone, read-only, for `supportdesk serve`.

`supportdesk serve` runs textual-serve, which starts `supportdesk wall` (this app) for each
browser that connects. The app shows only `SlaBoardScreen(read_only=True)`: no command
palette, no global keys, no screen that writes; it registers no presence (a wall is not a
person) and reads the store only. With `redact`, subjects and customer names are hidden.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType

from supportdesk.console.base import DeskApp, run_app
from supportdesk.console.screens.boards.sla import SlaBoardScreen

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk

TRACE_ENV = "SUPPORTDESK_WALL_TRACE"  # a file the board's headline is appended to (tests)


class WallApp(DeskApp):
    """A read-only SLA board."""

    TITLE = "supportdesk · SLA board"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit", show=False)]
    ALLOWED = frozenset({"quit", "help", "back"})

    def __init__(self, desk: Desk, *, redact: bool = False) -> None:
        super().__init__(desk)
        self.redact = redact
        self.trace = os.environ.get(TRACE_ENV)

    def started(self) -> None:
        self.push_screen(SlaBoardScreen(read_only=True, redact=self.redact))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action in self.ALLOWED or action.startswith(("scroll_", "focus_", "cursor_"))

    def traced(self, text: str) -> None:
        """The board tells the trace file what its headline says (for tests)."""
        if self.trace:
            with open(self.trace, "a", encoding="utf-8") as out:
                out.write(text.replace("\n", " ") + "\n")


def run_wall(desk: Desk, *, redact: bool) -> None:
    desk.actor  # noqa: B018 - one line, before the screen takes over
    run_app(WallApp(desk, redact=redact))
