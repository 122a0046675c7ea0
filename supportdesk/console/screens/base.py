"""What every console screen shares: the desk, live reloads, write workers, failures, help.

One place handles worker failures (`on_worker_state_changed`), so a DeskError raised by any
service in any worker becomes a red notification instead of a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from supportdesk.console.base import DeskApp, forget_closed_watchers
from supportdesk.console.screens.messages import ActionDone
from supportdesk.console.screens.modals import HelpModal
from supportdesk.console.widgets.closing import SkipsMountWhenClosing
from supportdesk.console.widgets.header_bar import DeskTime, HeaderBar
from supportdesk.console.widgets.incident_banner import AccountNotices, IncidentBanner

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk


HELP_BINDING = Binding("question_mark", "help", "Help", key_display="?")


def desk_app_of(app: object) -> DeskApp:
    """The app as a DeskApp (every console screen and dialog runs in one)."""
    if not isinstance(app, DeskApp):
        raise TypeError(f"a console screen runs in a DeskApp, not in {type(app).__name__}")
    return app


class DeskScreen(SkipsMountWhenClosing, Screen[None]):
    """A screen that reads the desk in workers and reloads itself when the store changes."""

    HELP: ClassVar[str] = ""
    SHOWS_INCIDENT_BANNER: ClassVar[bool] = True  # False: the screen says it all itself
    SHOWS_MAINTENANCE: ClassVar[bool] = False  # the banner names the next window too

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.stale = False

    @property
    def desk_app(self) -> DeskApp:
        return desk_app_of(self.app)

    @property
    def desk(self) -> Desk:
        return self.desk_app.desk

    def header_bar(self, id: str) -> HeaderBar:
        """The screen's title line, with the desk's time (and FROZEN under --at) at its end."""
        desk = self.desk
        return HeaderBar(DeskTime(desk.now, desk.zone, frozen=desk.clock.is_frozen), id=id)

    @on(events.Mount)
    def _mount_incident_banner(self) -> None:
        """Every screen's first line, while an incident is open: the banner (it never takes
        the focus, and reads nothing itself: the app's incident watch hands it the news)."""
        if not self.query(IncidentBanner):
            banner = IncidentBanner(self.desk.now, id="incident-banner")
            self._show_incidents(banner)
            self.mount(banner, before=0)

    @on(events.Unmount)
    def _forget_watchers(self) -> None:
        """What this screen's widgets watched on the app goes with them (console/base.py)."""
        forget_closed_watchers(self.app)

    # -- live ---------------------------------------------------------------------------
    def store_changed(self, *, visible: bool) -> None:
        """Reload now if this screen is on top, else remember to reload when it comes back.
        A screen pushed but not mounted yet has no widgets to reload into: it reloads when it
        resumes, after its mount (a change that landed then crashed the call screen)."""
        if visible and self.is_mounted:
            self.stale = False
            self.reload()
        else:
            self.stale = True

    def on_screen_resume(self) -> None:
        if self.stale:
            self.stale = False
            self.reload()

    def reload(self) -> None:
        """Read this screen's data again (only what it shows)."""

    def incidents_changed(self, *, servers_changed: bool) -> None:
        """The incident watch read again: the banner shows what it found."""
        del servers_changed
        for banner in self.query(IncidentBanner):
            self._show_incidents(banner)

    def _show_incidents(self, banner: IncidentBanner) -> None:
        news = self.desk_app.incidents
        banner.show(
            news.incidents if self.SHOWS_INCIDENT_BANNER else (),
            news.windows if self.SHOWS_MAINTENANCE else (),
        )

    def read_account_notices(
        self, notices: AccountNotices, account: str | None, *, waiting_for: int | None = None
    ) -> None:
        """Fill `notices` with the incidents and maintenance of `account` (None: nothing),
        read in a worker; `waiting_for` is the window the ticket on screen is scheduled into.
        Nothing open anywhere (the incident watch says so): nothing to read."""
        asked = notices.expect(account, waiting_for=waiting_for)
        if account is None or self.desk_app.incidents.quiet:
            notices.landed(asked, (), ())
            return
        desk = self.desk

        def read() -> None:
            from supportdesk.services import incidents
            from supportdesk.services.incidents import maintenance

            found = tuple(incidents.for_account(desk, account))
            windows = tuple(maintenance.for_account(desk, account))
            self.app.call_from_thread(notices.landed, asked, found, windows)

        # not exclusive (a cancelled read would only be read again); the last asked wins
        self.run_worker(
            read,
            thread=True,
            group="account-notices",
            name="account-notices",
            exit_on_error=False,
        )

    # -- writes -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="write", name="write")
    def run_write(
        self, what: str | Callable[[Any], str], write: Callable[[], object], kind: str = ""
    ) -> None:
        """Run one service write off the UI thread and report it (`what`, or what it says of
        the write's result); failures go to the one worker-failure handler below."""
        result = write()
        self.post_message(ActionDone(what if isinstance(what, str) else what(result), kind))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.what, markup=False, timeout=3)
        self.reload()

    # -- failures -----------------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.desk_app.report_failure(event.worker.error)
            self.on_failure(event.worker.name, event.worker.error)

    def on_failure(self, worker_name: str, error: BaseException) -> None:
        """Screen-specific clean-up after a failed worker (the user was already told)."""

    # -- help ---------------------------------------------------------------------------
    def action_help(self) -> None:
        self.app.push_screen(HelpModal(self, self.HELP))
