"""What every console screen shares: the desk, live reloads, write workers, failures, help.

One place handles worker failures (`on_worker_state_changed`), so a DeskError raised by any
service in any worker becomes a red notification instead of a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, cast

from textual import events, on, work
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from supportdesk.console.screens.messages import ActionDone
from supportdesk.console.screens.modals import HelpModal
from supportdesk.console.widgets.incident_banner import IncidentBanner

if TYPE_CHECKING:
    from supportdesk.console.app import SupportDeskApp
    from supportdesk.core.desk import Desk


HELP_BINDING = Binding("question_mark", "help", "Help", key_display="?")


class DeskScreen(Screen[None]):
    """A screen that reads the desk in workers and reloads itself when the store changes."""

    HELP: ClassVar[str] = ""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.stale = False

    @property
    def desk_app(self) -> SupportDeskApp:
        return cast("SupportDeskApp", self.app)

    @property
    def desk(self) -> Desk:
        return self.desk_app.desk

    @on(events.Mount)
    def _mount_incident_banner(self) -> None:
        """Every screen's first line, while an incident is open: the banner (it never takes
        the focus, and reads nothing itself)."""
        if not self.query(IncidentBanner):
            self.mount(IncidentBanner(id="incident-banner"), before=0)

    # -- live ---------------------------------------------------------------------------
    def store_changed(self, *, visible: bool) -> None:
        """Reload now if this screen is on top, else remember to reload when it comes back."""
        if visible:
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

    # -- writes -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="write", name="write")
    def run_write(self, what: str, write: Callable[[], object], kind: str = "") -> None:
        """Run one service write off the UI thread and report it; failures go to the one
        worker-failure handler below."""
        write()
        self.post_message(ActionDone(what, kind))

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
