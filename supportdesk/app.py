"""The Textual app: screens, global keys, the change feed, presence and the failure handler.

Thin on purpose: screens own their data; the app only routes the change feed to the
visible screen, keeps this console's presence row current, and turns any failure into a
notification so that no DeskError ever ends the program.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from .screens.base import DeskScreen
from .screens.commands import DeskCommands
from .screens.messages import StoreChanged
from .screens.modals import AskModal, HelpModal
from .screens.queue import QueueScreen
from .services import presence
from .services.errors import DeskError

PRESENCE_DELAY_S = 1.0

if TYPE_CHECKING:
    from .services.desk import Desk
    from .store import ChangeFeed

_UNSET = object()


class SupportDeskApp(App[None]):
    """The support desk console, constructible as `SupportDeskApp(desk)` (also in tests)."""

    CSS_PATH = "app.tcss"
    TITLE = "supportdesk"
    COMMANDS = App.COMMANDS | {DeskCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+g", "goto_ticket", "Go to ticket # (anywhere)", priority=True, show=False),
        Binding("ctrl+f", "search", "Search the queue", priority=True, show=False),
        Binding("ctrl+o", "help", "Help", priority=True, show=False),
        Binding("ctrl+r", "reload", "Reload now", priority=True, show=False),
    ]

    def __init__(self, desk: Desk, *, live: bool = True) -> None:
        super().__init__()
        self.desk = desk
        self.live = live
        self.console_id: str | None = None
        self.last_error: str | None = None
        self._feed: ChangeFeed | None = None
        self._presence_lock = threading.Lock()
        self._presence_wanted: int | None = None
        self._presence_written: object = _UNSET
        self._presence_closed = False

    # -- start and stop -----------------------------------------------------------------
    def on_mount(self) -> None:
        if self.live:
            self._feed = self.desk.store.change_feed(self._on_store_change).start()
        self.push_screen(QueueScreen())
        # Register this console a moment after start: the write imports SQLAlchemy (~0.4 s
        # of CPU), which would otherwise compete with the first paint for the GIL.
        self.set_timer(PRESENCE_DELAY_S, self.sync_presence)

    def on_unmount(self) -> None:
        if self._feed is not None:
            self._feed.stop()
            self._feed = None
        with self._presence_lock:
            self._presence_closed = True
            if self.console_id is not None:
                # leaving anyway: a dead console is marked off by the next one to start
                with contextlib.suppress(DeskError):
                    presence.end_console(self.desk, self.console_id)

    def _on_store_change(self) -> None:
        """Called by the change feed from its thread: post one message, nothing else."""
        self.post_message(StoreChanged())

    def on_store_changed(self, _message: StoreChanged) -> None:
        top = self.screen
        for screen in self.screen_stack:
            if isinstance(screen, DeskScreen):
                screen.store_changed(visible=screen is top)

    # -- presence -----------------------------------------------------------------------
    def set_presence(self, ticket_id: int | None) -> None:
        """Tell other consoles which ticket this one has open (None: none)."""
        self._presence_wanted = ticket_id
        if self.is_running:
            self.sync_presence()

    @work(thread=True, exclusive=True, exit_on_error=False, group="presence", name="presence")
    def sync_presence(self) -> None:
        """Write the wanted open ticket; serialized, and always the latest wish wins."""
        with self._presence_lock:
            if self._presence_closed:
                return
            if self.console_id is None:
                self.console_id = presence.start_console(self.desk)
                self._presence_written = None
            wanted = self._presence_wanted
            if wanted != self._presence_written:
                presence.set_open_ticket(self.desk, self.console_id, wanted)
                self._presence_written = wanted

    # -- failures -----------------------------------------------------------------------
    def report_failure(self, error: BaseException) -> None:
        """The one place failures become messages: a DeskError in its own words, anything
        else as an internal error (logged) so the console keeps running."""
        if isinstance(error, DeskError):
            message = str(error)
        else:
            message = f"internal error: {type(error).__name__}: {error}"
            self.log.error(repr(error))
        self.last_error = message
        self.notify(message, severity="error", markup=False, timeout=8)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.report_failure(event.worker.error)

    # -- navigation ---------------------------------------------------------------------
    def queue_screen(self) -> QueueScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                return screen
        return None

    def open_ticket(self, ticket_id: int) -> None:
        from .screens.ticket import TicketScreen  # imported when first needed: fast start

        if isinstance(self.screen, TicketScreen):
            self.screen.show_ticket(ticket_id)
        else:
            self.push_screen(TicketScreen(ticket_id))

    def neighbour(self, ticket_id: int, step: int) -> int | None:
        queue = self.queue_screen()
        return queue.neighbour(ticket_id, step) if queue else None

    def _back_to_queue(self) -> QueueScreen | None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, QueueScreen):
            self.pop_screen()
        return self.queue_screen()

    # -- global actions -----------------------------------------------------------------
    def action_goto_ticket(self) -> None:
        if isinstance(self.screen, AskModal):
            return

        def picked(value: str | None) -> None:
            if value and value.isdigit():
                self.open_ticket(int(value))

        self.push_screen(AskModal("Go to ticket #", "ticket number", digits=True), picked)

    def action_search(self) -> None:
        queue = self._back_to_queue()
        if queue is not None:
            queue.focus_search()

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, HelpModal):
            screen.dismiss(None)
        elif isinstance(screen, DeskScreen):
            screen.action_help()
        else:
            self.push_screen(HelpModal(screen, ""))

    def action_reload(self) -> None:
        if isinstance(self.screen, DeskScreen):
            self.screen.reload()


def run_console(desk: Desk) -> None:
    """Run the console until the agent quits (the CLI's `supportdesk` with no command)."""
    SupportDeskApp(desk).run()
