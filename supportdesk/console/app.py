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

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from supportdesk.console.screens.base import DeskScreen
from supportdesk.console.screens.commands import DeskCommands
from supportdesk.console.screens.incident_watch import IncidentWatch
from supportdesk.console.screens.messages import StoreChanged
from supportdesk.console.screens.modals import AskModal, HelpModal
from supportdesk.console.screens.queue import QueueScreen, plans_of
from supportdesk.console.widgets.inert import InertNotify
from supportdesk.console.widgets.notices import (
    StaleClaims,
    StaleCrossing,
    notice_severity,
    notice_title,
    notices_summary,
)
from supportdesk.console.widgets.sla_clock import Crossing, SlaWatch
from supportdesk.core import presence, queue
from supportdesk.core.queue import QueueFilter
from supportdesk.core.views import QueueRow
from supportdesk.enums import View
from supportdesk.errors import DeskError

PRESENCE_DELAY_S = 1.0
AWAY_AFTER_S = 300.0  # no key for this long: "away" on the lead's board
AWAY_CHECK_S = 30.0
WATCH_VIEWS = (View.QUEUE, View.HELD, View.WAITING, View.SCHEDULED)
WATCH_LIMIT = 100  # per view and filter: the tickets due first
SLA_CHECK_S = 5.0  # watched clocks are read from memory this often (a toast may be 5 s late)
WATCH_EVERY_S = 60.0  # the watch list is read again this often, and after every change
WATCH_GAP_S = 2.0  # but at most this often while changes keep coming
MAX_TOASTS = 3  # more crossings at once make one summary toast
CLAIMS_LIMIT = 1000  # held tickets a lead's console watches for going stale

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk
    from supportdesk.core.notices import NoticeView
    from supportdesk.rules.policy import Plan
    from supportdesk.services.escalation import Claim
    from supportdesk.store import ChangeFeed


class WatchLoaded(Message):
    """The tickets whose SLA clocks this console watches, and their plans; for a lead also
    the held tickets (claims), to tell when one goes stale."""

    def __init__(
        self,
        rows: Sequence[QueueRow],
        plans: dict[str | None, Plan],
        claims: Sequence[Claim] | None = None,
        stale_after_s: int = 0,
    ) -> None:
        super().__init__()
        self.rows = rows
        self.plans = plans
        self.claims = claims
        self.stale_after_s = stale_after_s


class NoticesLoaded(Message):
    """Notices for this console's user, read after `cursor` (None: the unseen ones, at
    start); `last` is the newest notice id there was when they were read."""

    def __init__(self, notices: Sequence[NoticeView], cursor: int | None, last: int) -> None:
        super().__init__()
        self.notices = notices
        self.cursor = cursor
        self.last = last


_UNSET = object()


class SupportDeskApp(InertNotify):
    """The support desk console, constructible as `SupportDeskApp(desk)` (also in tests)."""

    CSS_PATH = "app.tcss"
    TITLE = "supportdesk"
    COMMANDS = App.COMMANDS | {DeskCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+g", "goto_ticket", "Go to ticket # (anywhere)", priority=True, show=False),
        Binding("ctrl+k", "call", "Call: find and verify a caller", priority=True, show=False),
        Binding("ctrl+t", "board", "Tier board (escalations)", priority=True, show=False),
        Binding("ctrl+l", "sla_board", "SLA board (leads)", priority=True, show=False),
        Binding("ctrl+f", "search", "Search the queue", priority=True, show=False),
        Binding("ctrl+n", "incident", "Incident (outage) screen", priority=True, show=False),
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
        self._last_input = time.monotonic()
        self._away = False
        self._state_written = "available"  # start_console registers the console available
        self.sla_watch = SlaWatch()
        self.sla_notices: list[Crossing] = []  # every crossing told, oldest first
        self._watch_timer: Timer | None = None
        self._watched_at = -WATCH_GAP_S
        self.stale_claims = StaleClaims()
        self.stale_notices: list[str] = []  # every stale-claim toast, oldest first
        self.notice_cursor: int | None = None  # the newest notice id already told
        self.notices_told: list[NoticeView] = []
        self._notices_busy = False
        self._notices_again = False
        self.incident_watch = IncidentWatch(self, desk)  # banners, the bell, windows
        self._watching = False  # the watchers start after the queue's first paint
        self._mounted_at = time.monotonic()

    # -- start and stop -----------------------------------------------------------------
    def on_mount(self) -> None:
        self._mounted_at = time.monotonic()
        if self.live:
            self._feed = self.desk.store.change_feed(self._on_store_change).start()
        self.push_screen(QueueScreen())
        self.set_interval(WATCH_EVERY_S, self.request_watch)
        self.set_interval(SLA_CHECK_S, self._check_sla)
        self.set_interval(AWAY_CHECK_S, self._check_away)

    def on_queue_screen_painted(self, _message: QueueScreen.Painted) -> None:
        """The queue's first page is on screen: now the watchers (their services import the
        policy engine and SQLAlchemy, which the first paint does without)."""
        self._watching = True
        self.incident_watch.request()
        # Register this console a moment after start (and never before this): the write
        # imports SQLAlchemy (~0.4 s of CPU), which would compete with the first page.
        elapsed = time.monotonic() - self._mounted_at
        delay = max(0.01, PRESENCE_DELAY_S - elapsed)  # (a Textual timer of 0 s fails)
        self.set_timer(delay, self.sync_presence)
        self.set_timer(delay, self.request_watch)
        self.set_timer(delay, self.request_notices)

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
        if not self.screen_stack:
            return  # a change that arrived while the console was closing
        top = self.screen
        for screen in self.screen_stack:
            if isinstance(screen, DeskScreen):
                screen.store_changed(visible=screen is top)
        if not self._watching:
            return  # they start after the first paint, and read the store then
        self.request_watch()
        self.request_notices()
        self.incident_watch.request()

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
        claims: list[Claim] | None = None
        stale_after_s = 0
        if desk.actor.is_lead:
            from supportdesk.core.claims import claim_rules
            from supportdesk.services import escalation

            claims = escalation.claims(desk, limit=CLAIMS_LIMIT)
            stale_after_s = claim_rules(desk)[1]
        if not get_current_worker().is_cancelled:
            self.post_message(WatchLoaded(tuple(rows.values()), plans, claims, stale_after_s))

    def on_watch_loaded(self, message: WatchLoaded) -> None:
        now = self.desk.now()
        self._tell(self.sla_watch.replace(message.rows, message.plans, now))
        if message.claims is not None:
            stale, crossings = self.stale_claims.replace(message.claims, message.stale_after_s, now)
            self._tell_stale_at_start(stale)
            self._tell_stale(crossings)

    def _check_sla(self) -> None:
        """Every SLA_CHECK_S, from memory: did a watched clock pass a threshold or breach?
        (a lead's console: did a claim go stale?)"""
        now = self.desk.now()
        self._tell(self.sla_watch.check(now))
        if self.stale_claims.loaded:
            self._tell_stale(self.stale_claims.check(now))

    # -- stale claims (leads) -----------------------------------------------------------
    def _stale_toast(self, message: str, title: str) -> None:
        self.stale_notices.append(message)
        self.notify(message, title=title, severity="warning", markup=False, timeout=15)

    def _tell_stale_at_start(self, stale: Sequence[Claim]) -> None:
        """One toast for the claims already stale when the console starts, not one each."""
        if not stale:
            return
        holders = sorted({c.holder for c in stale})
        who = ", ".join(holders[:6]) + (", …" if len(holders) > 6 else "")
        minutes = self.stale_claims.stale_after_s // 60
        self._stale_toast(
            f"{len(stale)} claims untouched for {minutes} min or more (held by {who}); "
            "ctrl+t opens the tier boards",
            "Stale claims",
        )

    def _tell_stale(self, crossings: Sequence[StaleCrossing]) -> None:
        if not crossings:
            return
        if len(crossings) <= MAX_TOASTS:
            for c in crossings:
                self._stale_toast(c.message(), f"Claim went stale · #{c.claim.ticket_id}")
            return
        numbers = ", ".join(f"#{c.claim.ticket_id}" for c in crossings[:12])
        self._stale_toast(
            f"{len(crossings)} claims went stale: {numbers}"
            + (", …" if len(crossings) > 12 else ""),
            "Claims went stale",
        )

    # -- notices ------------------------------------------------------------------------
    def request_notices(self) -> None:
        """Read the notices written for this user since the last read (at start: the unseen
        ones), one read at a time; a change during a read asks for one more."""
        if self._notices_busy:
            self._notices_again = True
            return
        self._notices_busy = True
        self.load_notices(self.notice_cursor)

    @work(thread=True, exclusive=False, exit_on_error=False, group="notices", name="notices")
    def load_notices(self, cursor: int | None) -> None:
        """Not exclusive: `request_notices` runs one at a time already, and the next one may
        start while this one's thread is still returning (exclusive would cancel it)."""
        from supportdesk.core import notices

        desk = self.desk
        last = notices.last_notice_id(desk) if cursor is None else cursor
        found = notices.notices(desk, after=cursor)
        if found:
            notices.mark_seen(desk, [n.id for n in found])
        self.post_message(NoticesLoaded(found, cursor, last))

    def on_notices_loaded(self, message: NoticesLoaded) -> None:
        self._notices_busy = False
        told = self.notice_cursor
        fresh = [n for n in message.notices if told is None or n.id > told]
        newest = max([message.last, *(n.id for n in message.notices)])
        self.notice_cursor = newest if told is None else max(told, newest)
        self._tell_notices(fresh)
        if self._notices_again:
            self._notices_again = False
            self.request_notices()

    def _tell_notices(self, fresh: Sequence[NoticeView]) -> None:
        """Toasts (they never take the focus): one per notice, or one for many."""
        if not fresh:
            return
        self.notices_told.extend(fresh)
        if len(fresh) <= MAX_TOASTS:
            for n in fresh:
                by = f"\n— {n.by}" if n.by and n.by not in n.body else ""
                self.notify(
                    n.body + by,
                    title=notice_title(n),
                    severity=notice_severity(n),  # type: ignore[arg-type]
                    markup=False,
                    timeout=20,
                )
            return
        self.notify(
            notices_summary(fresh),
            title="Notices",
            severity="warning",
            markup=False,
            timeout=20,
        )

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

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._last_input = time.monotonic()
            if self._away:
                self._away = False
                self.sync_presence()  # back at the desk
        await super().on_event(event)

    def _check_away(self) -> None:
        """No key for AWAY_AFTER_S: tell the lead's board this person is away (one write)."""
        if not self._away and time.monotonic() - self._last_input >= AWAY_AFTER_S:
            self._away = True
            self.sync_presence()

    @work(thread=True, exclusive=True, exit_on_error=False, group="presence", name="presence")
    def sync_presence(self) -> None:
        """Write the wanted open ticket and whether the user is at the desk; serialized, and
        always the latest wish wins."""
        with self._presence_lock:
            if self._presence_closed or self.desk.store.read_only:  # a read-only copy: no one
                return
            if self.console_id is None:
                self.console_id = presence.start_console(self.desk)
                self._presence_written = None
            state = "away" if self._away else "available"
            if state != self._state_written:
                presence.set_state(self.desk, self.console_id, state)
                self._state_written = state
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
        if event.worker.name == "notices" and event.state in (
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self._notices_busy = False
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.report_failure(event.worker.error)

    # -- navigation ---------------------------------------------------------------------
    def queue_screen(self) -> QueueScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                return screen
        return None

    def open_ticket(self, ticket_id: int) -> None:
        from supportdesk.console.screens.ticket import (
            TicketScreen,  # imported when first needed: fast start
        )

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
        from supportdesk.console.screens.call import (
            CallScreen,  # imported when first needed: fast start
        )

        if isinstance(self.screen, CallScreen):
            self.screen.new_call()
        else:
            self.push_screen(CallScreen())

    def action_board(self, tier: int | None = None) -> None:
        """The tier board (at the user's home tier), from anywhere; on it already: stay."""
        from supportdesk.console.screens.board import (
            BoardScreen,  # imported when first needed: fast start
        )

        if isinstance(self.screen, ModalScreen):
            return  # finish or cancel the dialog first
        if isinstance(self.screen, BoardScreen):
            if tier is not None:
                self.screen.action_tier(tier)
            return
        for screen in self.screen_stack:
            if isinstance(screen, BoardScreen):
                while self.screen is not screen:
                    self.pop_screen()
                return
        self.push_screen(BoardScreen(tier))

    def action_sla_board(self) -> None:
        """The lead's SLA board, from anywhere (leads only); on it already: stay."""
        from supportdesk.console.screens.lead_board import (
            LeadBoardScreen,  # imported when first needed
        )

        if isinstance(self.screen, ModalScreen | LeadBoardScreen):
            return
        if not self.desk.actor.is_lead:
            self.notify("the SLA board is for leads", severity="warning", timeout=4)
            return
        for screen in self.screen_stack:
            if isinstance(screen, LeadBoardScreen):
                while self.screen is not screen:
                    self.pop_screen()
                return
        self.push_screen(LeadBoardScreen())

    def action_incident(self) -> None:
        """The incident screen (the first open incident), from anywhere; on it: stay."""
        from supportdesk.console.screens.incident import (
            IncidentScreen,  # imported when first needed
        )

        if isinstance(self.screen, ModalScreen | IncidentScreen):
            return
        for screen in self.screen_stack:
            if isinstance(screen, IncidentScreen):
                while self.screen is not screen:
                    self.pop_screen()
                return
        self.push_screen(IncidentScreen())

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
    """Run the console until the agent quits (the CLI's `supportdesk` with no command).

    A console that ended on an unexpected error exits with its non-zero code (Textual sets
    one), never with 0 as if the agent had quit."""
    app = SupportDeskApp(desk)
    app.run()
    if app.return_code:
        raise SystemExit(app.return_code)
