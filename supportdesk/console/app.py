"""The Textual app: screens, global keys and navigation; the watchers, wired and started.

Thin on purpose: screens own their data, the base app (console/base.py) routes the change
feed and turns failures into notifications, and the watchers (console/watch/) keep this
console's presence row current, tell of SLA clocks passing a threshold, of claims going stale
and of notices for this user, and read the open incidents. They start once the queue has
painted its first page, so that none of them delays it: the incident watch at once (the banner
and the bell), the others a moment later (their first writes import the ORM).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen

from supportdesk.console.base import DeskApp, run_app
from supportdesk.console.screens.base import DeskScreen
from supportdesk.console.screens.commands import DeskCommands
from supportdesk.console.screens.messages import QueuePainted
from supportdesk.console.screens.modals import AskModal, HelpModal
from supportdesk.console.screens.queue import QueueScreen
from supportdesk.console.screens.welcome import WelcomeModal
from supportdesk.console.watch import Watcher
from supportdesk.console.watch.claims import ClaimsWatcher
from supportdesk.console.watch.incidents import IncidentWatch
from supportdesk.console.watch.notices import NoticesWatcher
from supportdesk.console.watch.presence import Presence
from supportdesk.console.watch.sla import SlaWatcher

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk
    from supportdesk.demo import Welcome

S = TypeVar("S", bound=Screen[Any])

LATER_S = 1.0  # after the first page: presence, the SLA watch and the notices start


class SupportDeskApp(DeskApp):
    """The support desk console, constructible as `SupportDeskApp(desk)` (also in tests)."""

    CSS_PATH = "app.tcss"
    TITLE = "supportdesk"
    COMMANDS = App.COMMANDS | {DeskCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("q", "quit_hint", "How to quit (ctrl+q)", show=False),  # many tools quit on q
        Binding("ctrl+g", "goto_ticket", "Go to ticket # (anywhere)", priority=True, show=False),
        Binding("ctrl+k", "call", "Call: find and verify a caller", priority=True, show=False),
        Binding("ctrl+t", "tier_board", "Tier board (escalations)", priority=True, show=False),
        Binding("ctrl+l", "sla_board", "SLA board (leads)", priority=True, show=False),
        Binding("ctrl+f", "search", "Search the queue", priority=True, show=False),
        Binding("ctrl+n", "incident", "Incident (outage) screen", priority=True, show=False),
        Binding("ctrl+e", "templates", "Templates (canned replies)", show=False),
        Binding("ctrl+o", "help", "Help", priority=True, show=False),
        Binding("ctrl+r", "reload", "Reload now", priority=True, show=False),
    ]

    def __init__(self, desk: Desk, *, live: bool = True, welcome: Welcome | None = None) -> None:
        super().__init__(desk, live=live)
        self.welcome = welcome  # dropped once shown: the PINs live nowhere else
        self.incident_watch = IncidentWatch(self)  # banners, the bell, windows
        self.presence = Presence(self)
        self.stale_claims = ClaimsWatcher(self)  # a lead's: fed by the SLA watch's read
        self.sla_watch = SlaWatcher(self, claims=self.stale_claims)
        self.notices = NoticesWatcher(self)
        self.later: tuple[Watcher, ...] = (
            self.presence,
            self.sla_watch,
            self.stale_claims,
            self.notices,
        )
        self.watching: list[Watcher] = []  # the watchers started, in order

    @property
    def console_id(self) -> str | None:
        """This console's presence row (None until it is written)."""
        return self.presence.console_id

    # -- start and stop -----------------------------------------------------------------
    def started(self) -> None:
        self.push_screen(QueueScreen())
        if self.welcome is not None:
            self.push_screen(WelcomeModal(self.welcome, self.desk.login))
            self.welcome = None

    def on_queue_painted(self, _message: QueuePainted) -> None:
        """The first page is on screen: now the watchers may read and write."""
        if not self.watching:
            self._start(self.incident_watch)
            self.set_timer(LATER_S, self._start_later)

    def _start_later(self) -> None:
        for watcher in self.later:
            self._start(watcher)

    def _start(self, watcher: Watcher) -> None:
        self.watching.append(watcher)
        watcher.start()

    def stopping(self) -> None:
        self.presence.end()

    def store_changed(self) -> None:
        for watcher in self.watching:
            watcher.store_changed()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self.presence.input_seen()
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self.key_gate.keeps(event):  # typed ahead of an earlier key's work
                return
            await self.route_one_key(event)
            return
        await super().on_event(event)

    # -- navigation ---------------------------------------------------------------------
    def set_presence(self, ticket_id: int | None) -> None:
        self.presence.open_ticket(ticket_id)

    def queue_screen(self) -> QueueScreen | None:
        return self._in_stack(QueueScreen)

    def _in_stack(self, kind: type[S]) -> S | None:
        return next((s for s in self.screen_stack if isinstance(s, kind)), None)

    def _back_to(self, screen: Screen[Any]) -> None:
        while self.screen is not screen:
            self.pop_screen()

    def open_ticket(self, ticket_id: int) -> None:
        from supportdesk.console.screens.ticket import TicketScreen  # when needed: fast start

        if isinstance(self.screen, TicketScreen):
            self.screen.show_ticket(ticket_id)
        else:
            self.push_screen(TicketScreen(ticket_id))

    def neighbour(self, ticket_id: int, step: int) -> int | None:
        queue = self.queue_screen()
        return queue.neighbour(ticket_id, step) if queue else None

    # -- global actions -----------------------------------------------------------------
    def action_call(self) -> None:
        """A phone call: the call screen, from anywhere (again on it: a new call)."""
        from supportdesk.console.screens.call import CallScreen  # when needed: fast start

        if isinstance(self.screen, CallScreen):
            self.screen.new_call()
        else:
            self.hold_keys()  # keys typed next go into its search box (it releases)
            self.push_screen(CallScreen())

    def action_tier_board(self, tier: int | None = None) -> None:
        """The tier board (at the user's home tier), from anywhere; on it already: stay."""
        from supportdesk.console.screens.boards.tier import (
            TierBoardScreen,  # when needed: fast start
        )

        if isinstance(self.screen, ModalScreen):
            return  # finish or cancel the dialog first
        if isinstance(self.screen, TierBoardScreen):
            if tier is not None:
                self.screen.action_tier(tier)
            return
        board = self._in_stack(TierBoardScreen)
        if board is not None:
            self._back_to(board)
        else:
            self.push_screen(TierBoardScreen(tier))

    def _show(self, kind: type[S]) -> None:
        """`kind`'s screen from anywhere: back to it when it is open, else a new one; on it
        already, or in a dialog: stay."""
        if isinstance(self.screen, ModalScreen | kind):
            return
        found = self._in_stack(kind)
        if found is not None:
            self._back_to(found)
        else:
            self.push_screen(kind())

    def action_sla_board(self) -> None:
        """The lead's SLA board, from anywhere (leads only); on it already: stay."""
        from supportdesk.console.screens.boards.sla import SlaBoardScreen  # when needed

        if not self.desk.actor.is_lead and not isinstance(self.screen, ModalScreen):
            self.notify("the SLA board is for leads", severity="warning", timeout=4)
            return
        self._show(SlaBoardScreen)

    def action_incident(self) -> None:
        """The incident screen (the first open incident), from anywhere; on it: stay."""
        from supportdesk.console.screens.incident import IncidentScreen  # when needed

        self._show(IncidentScreen)

    def action_templates(self) -> None:
        """The templates (leads keep them, everyone reads them), from anywhere; on it: stay."""
        from supportdesk.console.screens.templates import TemplatesScreen  # when needed

        self._show(TemplatesScreen)

    def action_goto_ticket(self) -> None:
        if isinstance(self.screen, AskModal):
            return

        def picked(value: str | None) -> None:
            if value and value.isdigit():
                self.open_ticket(int(value))

        self.push_screen(AskModal("Go to ticket #", "ticket number", digits=True), picked)

    def action_search(self) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, QueueScreen):
            self.pop_screen()
        queue = self.queue_screen()
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

    def action_quit_hint(self) -> None:
        self.notify("ctrl+q quits supportdesk", timeout=3)

    def action_reload(self) -> None:
        if isinstance(self.screen, DeskScreen):
            self.screen.reload()


def run_console(desk: Desk, welcome: Welcome | None = None) -> None:
    """Run the console until the agent quits (the CLI's `supportdesk` with no command); an
    unexpected error ends it with a non-zero exit status. `welcome`: a demo just built, shown
    in a first-run panel."""
    run_app(SupportDeskApp(desk, welcome=welcome))
