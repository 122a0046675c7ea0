"""The Textual app: screens, global keys, the change feed, presence, SLA alerts and the
failure handler.

Thin on purpose: screens own their data; the app only routes the change feed to the
visible screen, keeps this console's presence row current, watches the SLA clocks of this
user's tickets (a lead's: also the unclaimed ones) to raise a toast when one passes a warning
threshold or breaches, and turns any failure into a notification so that no DeskError ever
ends the program.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from .models.enums import View
from .screens.base import DeskScreen
from .screens.commands import DeskCommands
from .screens.messages import StoreChanged
from .screens.modals import AskModal, HelpModal
from .screens.queue import QueueScreen, plans_of
from .services import presence, queue
from .services.errors import DeskError
from .services.queue import QueueFilter
from .services.views import QueueRow
from .widgets.sla_clock import Crossing, SlaWatch

PRESENCE_DELAY_S = 1.0
WATCH_VIEWS = (View.QUEUE, View.HELD, View.WAITING, View.SCHEDULED)
WATCH_LIMIT = 100  # per view and filter: the tickets due first
SLA_CHECK_S = 5.0  # watched clocks are read from memory this often (a toast may be 5 s late)
WATCH_EVERY_S = 60.0  # the watch list is read again this often, and after every change
WATCH_GAP_S = 2.0  # but at most this often while changes keep coming
MAX_TOASTS = 3  # more crossings at once make one summary toast

if TYPE_CHECKING:
    from .services.desk import Desk
    from .services.policy import Plan
    from .store import ChangeFeed


class WatchLoaded(Message):
    """The tickets whose SLA clocks this console watches, and their plans."""

    def __init__(self, rows: Sequence[QueueRow], plans: dict[str | None, Plan]) -> None:
        super().__init__()
        self.rows = rows
        self.plans = plans


_UNSET = object()


class SupportDeskApp(App[None]):
    """The support desk console, constructible as `SupportDeskApp(desk)` (also in tests)."""

    CSS_PATH = "app.tcss"
    TITLE = "supportdesk"
    COMMANDS = App.COMMANDS | {DeskCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+g", "goto_ticket", "Go to ticket # (anywhere)", priority=True, show=False),
        Binding("ctrl+k", "call", "Call: find and verify a caller", priority=True, show=False),
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
        self.sla_watch = SlaWatch()
        self.sla_notices: list[Crossing] = []  # every crossing told, oldest first
        self._watch_timer: Timer | None = None
        self._watched_at = -WATCH_GAP_S

    # -- start and stop -----------------------------------------------------------------
    def on_mount(self) -> None:
        if self.live:
            self._feed = self.desk.store.change_feed(self._on_store_change).start()
        self.push_screen(QueueScreen())
        # Register this console a moment after start: the write imports SQLAlchemy (~0.4 s
        # of CPU), which would otherwise compete with the first paint for the GIL.
        self.set_timer(PRESENCE_DELAY_S, self.sync_presence)
        self.set_timer(PRESENCE_DELAY_S, self.request_watch)
        self.set_interval(WATCH_EVERY_S, self.request_watch)
        self.set_interval(SLA_CHECK_S, self._check_sla)

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
        self.request_watch()

    # -- SLA alerts ---------------------------------------------------------------------
    def request_watch(self) -> None:
        """Read the watch list again, at most once per WATCH_GAP_S during a burst."""
        if self._watch_timer is not None:
            return  # a read is already due
        wait = WATCH_GAP_S - (time.monotonic() - self._watched_at)
        if wait <= 0:
            self._watch_due()
        else:
            self._watch_timer = self.set_timer(wait, self._watch_due)

    def _watch_due(self) -> None:
        self._watch_timer = None
        self._watched_at = time.monotonic()
        self.load_watch()

    @property
    def watch_pending(self) -> bool:
        return self._watch_timer is not None

    @work(thread=True, exclusive=True, exit_on_error=False, group="sla-watch", name="sla-watch")
    def load_watch(self) -> None:
        """The tickets this console's user holds, due first, in every live view; for a lead
        also the ones nobody holds. Their clocks are then read from memory every second."""
        desk = self.desk
        # "mine" in priority order: that filter has its own index (holder first), while the
        # due order's index would scan every live ticket to find the few this user holds
        filters = [QueueFilter(view=v, mine=True) for v in WATCH_VIEWS]
        if desk.actor.is_lead:
            filters += [QueueFilter(view=v, sort="due", unclaimed=True) for v in WATCH_VIEWS]
        rows: dict[int, QueueRow] = {}
        for filt in filters:
            for row in queue.page(desk, filt, limit=WATCH_LIMIT).rows:
                rows[row.id] = row
        plans = plans_of(desk, list(rows.values()))
        if not get_current_worker().is_cancelled:
            self.post_message(WatchLoaded(tuple(rows.values()), plans))

    def on_watch_loaded(self, message: WatchLoaded) -> None:
        self._tell(self.sla_watch.replace(message.rows, message.plans, self.desk.now()))

    def _check_sla(self) -> None:
        """Every SLA_CHECK_S, from memory: did a watched clock pass a threshold or breach?"""
        self._tell(self.sla_watch.check(self.desk.now()))

    def _tell(self, crossings: list[Crossing]) -> None:
        """Toasts (they never take the focus): one per crossing, or one for many."""
        if not crossings:
            return
        self.sla_notices.extend(crossings)
        if len(crossings) <= MAX_TOASTS:
            for c in crossings:
                self.notify(
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
        self.notify(
            f"{len(crossings)} SLA clocks crossed a threshold ({what}"
            f"{len(crossings) - len(breached)} warnings): {numbers}",
            title="SLA breached" if breached else "SLA warning",
            severity="error" if breached else "warning",
            markup=False,
            timeout=20,
        )

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
    def action_call(self) -> None:
        """A phone call: the call screen, from anywhere (again on it: a new call)."""
        from .screens.call import CallScreen  # imported when first needed: fast start

        if isinstance(self.screen, CallScreen):
            self.screen.new_call()
        else:
            self.push_screen(CallScreen())

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
