"""What the console and the wall display share: one base app that holds the desk, runs the
change feed and hands each change to every live screen, keeps the open incidents every
screen's banner shows, and turns failures into messages.

Screens reach the app through `DeskScreen.desk_app`, typed as `DeskApp`: what a screen may
ask of its app is declared here, and a display that goes nowhere (the wall) keeps the
defaults. The app below never imports a screen: it talks to them through `LiveScreen`.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from textual import events
from textual.message import Message
from textual.worker import Worker, WorkerState

from supportdesk.console.escape_key import read_keys_by_read
from supportdesk.console.key_gate import (
    HOLD_LIMIT_S,
    KEY_LIMIT_S,
    ROUTED_LIMIT_S,
    HoldsKeys,
    KeyGate,
    KeyRouted,
)
from supportdesk.console.widgets.format import show_times_in
from supportdesk.console.widgets.toasts import FittedToasts
from supportdesk.errors import DeskError

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from supportdesk.core.desk import Desk
    from supportdesk.services.incidents import IncidentSummary
    from supportdesk.services.incidents.maintenance import WindowView
    from supportdesk.store import ChangeFeed

T = TypeVar("T")


class StoreChanged(Message):
    """Another connection committed: the visible screen reloads its window."""

    def can_replace(self, message: Message) -> bool:
        # a burst of commits collapses into one reload
        return isinstance(message, StoreChanged)


@dataclass(frozen=True)
class OpenIncidents:
    """The open incidents and the maintenance windows (upcoming or running) last read, for
    the banners; `loaded` once a read has landed (the wall reads none)."""

    incidents: tuple[IncidentSummary, ...] = ()
    windows: tuple[WindowView, ...] = ()
    loaded: bool = False

    @property
    def quiet(self) -> bool:
        """Read, and nothing open anywhere: an account's notices need no read."""
        return self.loaded and not self.incidents and not self.windows


@runtime_checkable
class LiveScreen(Protocol):
    """A screen the app tells about changes (DeskScreen is one)."""

    def store_changed(self, *, visible: bool) -> None: ...

    def incidents_changed(self, *, servers_changed: bool) -> None: ...


class FreshContextExecutor(ThreadPoolExecutor):
    """The loop's default executor, where thread workers run: each job in an empty context.

    `run_in_executor` runs a job in its pool thread's own context, and Textual's thread worker
    sets its `active_worker` there; that context outlives the job, so an idle pool thread kept
    the last worker it ran, and with it the worker's screen, long after the screen closed (a
    few SLA boards at any time). A context of the job's own goes with the job."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(contextvars.Context().run, fn, *args, **kwargs)


class DeskApp(FittedToasts):
    """The base of `SupportDeskApp` (the console) and `WallApp` (the SLA board alone)."""

    def __init__(self, desk: Desk, *, live: bool = True) -> None:
        super().__init__()
        read_keys_by_read()  # Esc then a key typed 50 ms later: two keys (console/escape_key.py)
        self.desk = desk
        self.live = live  # False: no change feed (tests and benchmarks drive the reads)
        self.last_error: str | None = None
        self.incidents = OpenIncidents()
        self._feed: ChangeFeed | None = None
        # type-ahead waits here while a screen resolves a key (console/key_gate.py)
        self.key_gate = KeyGate(lambda: self.call_later(self.route_waiting_keys))

    # -- type-ahead (console/key_gate.py) ------------------------------------------------
    async def _route_key(self, event: events.Key) -> None:
        """A key as Textual routes it, after asking the screen whether the keys typed next
        must wait for what this one starts (console/key_gate.py)."""
        screen = self.screen
        if isinstance(screen, HoldsKeys) and screen.holds_after(event):
            self.hold_keys()
        await super().on_event(event)

    async def route_waiting_keys(self) -> None:
        """The gate was released: the oldest key typed meanwhile, and the next once it has
        been handled (`KeyRouted`)."""
        gate = self.key_gate
        if not gate.waiting or gate.held:
            return
        await self.route_one_key(gate.waiting.pop(0), ROUTED_LIMIT_S)

    async def route_one_key(self, event: events.Key, limit: float = KEY_LIMIT_S) -> None:
        """A key, and the keys read after it wait until it has been handled (`KeyRouted`):
        each goes where the one before left the focus. Textual picks a key's widget when the
        app reads it, and a key's binding runs only once the key has bubbled up to the app:
        on a busy machine `r` and the reply's first letter are read together, and the letter
        went to the thread (`t`: take) instead of the reply box `r` was about to focus."""
        holds = self.hold_keys(limit)
        target = self.focused or self.screen
        await self._route_key(event)
        if not target.post_message(KeyRouted(holds)):  # its widget has closed meanwhile
            self.key_gate.release(holds)

    def on_key_routed(self, message: KeyRouted) -> None:
        self.key_gate.release(message.holds)

    def hold_keys(self, limit: float = HOLD_LIMIT_S) -> int:
        """Keys typed from now on wait until the gate is released, or at most `limit`."""
        holds = self.key_gate.hold()
        # in an empty context: a timer made while a screen handles a key would keep that
        # screen's context (and the screen) alive until it fires, long after it closed
        asyncio.get_running_loop().call_later(
            limit, self.key_gate.release, holds, context=contextvars.Context()
        )
        return holds

    # -- start, the change feed, stop ----------------------------------------------------
    # Textual calls a message's handler of EVERY class along the MRO (DeskApp's on_mount,
    # then App's): a subclass must not define on_mount or on_unmount again, nor call
    # super()'s, or this runs twice (two change feeds, the first never stopped: a polling
    # thread, or a LISTEN connection, and the whole closed console kept alive by it). It
    # says what it does in `started` and `stopping` instead.
    def on_mount(self) -> None:
        # before any worker starts: no pool thread keeps a closed screen (see the executor)
        asyncio.get_running_loop().set_default_executor(FreshContextExecutor())
        show_times_in(self.desk.zone)  # one zone on every screen, named in every header
        if self.live:
            self._feed = self.desk.store.change_feed(self._on_store_change).start()
        self.started()

    def started(self) -> None:
        """The app is mounted, its change feed running: push the first screens."""

    def on_unmount(self) -> None:
        self.stopping()
        if self._feed is not None:
            self._feed.stop()
            self._feed = None

    def stopping(self) -> None:
        """The app is closing, before its change feed stops."""

    def _on_store_change(self) -> None:
        """Called by the change feed from its thread: post one message, nothing else."""
        self.post_message(StoreChanged())

    def on_store_changed(self, _message: StoreChanged) -> None:
        if not self.is_running or not self.screen_stack:
            return  # the app is closing: its screens may be half taken apart already
        top = self.screen
        for screen in self.screen_stack:
            if isinstance(screen, LiveScreen):
                screen.store_changed(visible=screen is top)
        self.store_changed()

    def store_changed(self) -> None:
        """After the screens: what else reads again on a change (the console's watchers)."""

    def show_incidents(self, incidents: OpenIncidents, *, servers_changed: bool) -> None:
        """Keep what the incident watch read and tell every screen (its banner, the queue's
        marks when the incidents or their servers changed)."""
        self.incidents = incidents
        for screen in self.screen_stack:
            if isinstance(screen, LiveScreen):
                screen.incidents_changed(servers_changed=servers_changed)

    # -- failures -----------------------------------------------------------------------
    def report_failure(self, error: BaseException) -> None:
        """The one place failures become messages: a DeskError in its own words, anything
        else as an internal error (logged) so the app keeps running. An exception outside a
        worker still ends the app, with a non-zero return code (`run_console`, `run_wall`)."""
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

    # -- what screens may ask (the wall: nothing happens) -------------------------------
    def open_ticket(self, ticket_id: int) -> None:
        """Show a ticket's screen."""
        del ticket_id

    def set_presence(self, ticket_id: int | None) -> None:
        """Tell other consoles which ticket this one has open (None: none)."""
        del ticket_id

    def neighbour(self, ticket_id: int, step: int) -> int | None:
        """The ticket `step` rows away from `ticket_id` in the queue, if it is there."""
        del ticket_id, step
        return None

    def action_goto_ticket(self) -> None:
        """Ask for a ticket number and open it."""

    def action_tier_board(self, tier: int | None = None) -> None:
        """The tier board."""
        del tier

    def traced(self, text: str) -> None:
        """A screen's headline, for a trace file (the wall's, in tests)."""
        del text


def forget_closed_watchers(node: DOMNode) -> None:
    """Drop the watches that closed widgets keep on `node`'s reactives. Textual forgets them
    only when that reactive next changes: the composer's TextArea watches the app's theme,
    which never changes, so every ticket screen ever closed would stay in memory."""
    watchers: dict[str, list[tuple[DOMNode, object]]] = getattr(node, "__watchers", {})
    for kept in watchers.values():
        # the test Textual itself uses when it forgets them (reactive._check_watchers)
        kept[:] = [(w, call) for w, call in kept if not w._closing]  # noqa: SLF001


def run_app(app: DeskApp) -> None:
    """Run until the user quits; an app that ended on an unexpected error exits with its
    non-zero code (Textual sets one), never with 0 as if the user had quit."""
    app.run()
    if app.return_code:
        raise SystemExit(app.return_code)
