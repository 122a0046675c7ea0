"""The console's watch on incidents and maintenance windows.

After start and after every change of the store (never on a timer, so an idle console runs
no SQL) it reads the open incidents and hands them to the app, which shows them in every
screen's banner (and has the queue mark the accounts they affect); it rings the terminal bell
once for each incident this console has not seen that nobody has acknowledged yet: an
acknowledged one never rings, nor does one already rung. It also knows when the next
scheduled ticket's maintenance window opens and, at that moment, returns the tickets whose
window has opened to the queue (an idempotent change: of several consoles racing, one does
it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from supportdesk.console.base import OpenIncidents

if TYPE_CHECKING:
    from textual.timer import Timer

    from supportdesk.console.base import DeskApp
    from supportdesk.services.incidents import IncidentSummary
    from supportdesk.services.incidents.maintenance import WindowView

MAX_TIMER_S = 6 * 3600.0  # look again at least this often while a window is far off


class IncidentWatch:
    """Open incidents in memory, the bell, and the wake-up of scheduled tickets."""

    def __init__(self, app: DeskApp) -> None:
        self.app = app
        self.desk = app.desk
        self.incidents: tuple[IncidentSummary, ...] = ()
        self.windows: tuple[WindowView, ...] = ()  # upcoming or running when read
        self.loaded = False
        self.generation = 0  # incremented on every read that landed
        self.seen: set[int] = set()  # incidents this console has seen (rung or not)
        self.bells: list[int] = []  # incidents rung for, in order (tests read it)
        self.next_wake: datetime | None = None
        self.woke: list[int] = []  # tickets this console returned to the queue
        self._busy = False
        self._again = False
        self._wake_timer: Timer | None = None
        self._marked: tuple[tuple[int, tuple[str, ...]], ...] = ()  # what the queue marks

    def start(self) -> None:
        self.request()

    def store_changed(self) -> None:
        self.request()

    # -- reading ------------------------------------------------------------------------
    def request(self) -> None:
        """Read again (one read at a time; a change during a read asks for one more)."""
        if self._busy:
            self._again = True
            return
        self._busy = True
        self.app.run_worker(
            self._load,
            thread=True,
            group="incidents",
            name="incidents",
            exit_on_error=False,
        )

    def _load(self) -> None:
        from supportdesk.services import incidents
        from supportdesk.services.incidents import maintenance

        try:
            found = tuple(incidents.open_incidents(self.desk))
            windows = tuple(maintenance.list_windows(self.desk, limit=20))
            wake_at = maintenance.next_wake(self.desk)
        except BaseException:
            with contextlib.suppress(RuntimeError):
                self.app.call_from_thread(self._failed)
            raise
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self.landed, found, wake_at, windows)

    def _failed(self) -> None:
        self._busy = False
        self._again = False

    def landed(
        self,
        found: Sequence[IncidentSummary],
        wake_at: datetime | None,
        windows: Sequence[WindowView] = (),
    ) -> None:
        """A read landed: show it in the banners, ring for what is new, plan the wake-up."""
        self._busy = False
        self.incidents = tuple(found)
        self.windows = tuple(windows)
        self.loaded = True
        self.generation += 1
        fresh = [i for i in found if i.id not in self.seen and not i.acknowledged]
        self.seen.update(i.id for i in found)
        if fresh:
            self.bells.extend(i.id for i in fresh)
            self.app.bell()  # once, however many are new
            for i in fresh:
                self.app.notify(
                    f"#{i.id} on {', '.join(i.servers)}: {i.title} (ctrl+n opens it)",
                    title="New incident",
                    severity="error",
                    markup=False,
                    timeout=10,
                )
        # the queue marks the accounts open incidents affect: again only when the incidents
        # or their servers changed (not on every read)
        marked = tuple((i.id, i.servers) for i in self.incidents)
        servers_changed = marked != self._marked
        self._marked = marked
        self.app.show_incidents(
            OpenIncidents(self.incidents, self.windows, loaded=True),
            servers_changed=servers_changed,
        )
        self._plan_wake(wake_at)
        if self._again:
            self._again = False
            self.request()

    # -- scheduled tickets --------------------------------------------------------------
    def _plan_wake(self, wake_at: datetime | None) -> None:
        self.next_wake = wake_at
        if self._wake_timer is not None:
            self._wake_timer.stop()
            self._wake_timer = None
        if wake_at is None:
            return
        delay = (wake_at - self.desk.now()).total_seconds()
        if delay <= 0:
            self.app.run_worker(
                self._wake, thread=True, group="wake", name="wake", exit_on_error=False
            )
        elif not self.desk.clock.is_frozen:  # a frozen clock never reaches it
            self._wake_timer = self.app.set_timer(min(delay, MAX_TIMER_S), self.request)

    def _wake(self) -> None:
        from supportdesk.services.incidents import maintenance

        woke = maintenance.wake(self.desk)
        if woke:
            with contextlib.suppress(RuntimeError):
                self.app.call_from_thread(self._woken, woke)

    def _woken(self, woke: list[int]) -> None:
        self.woke.extend(woke)
        numbers = ", ".join(f"#{n}" for n in woke[:10]) + (", …" if len(woke) > 10 else "")
        self.app.notify(
            f"{len(woke)} scheduled tickets are back in the queue: {numbers}",
            title="Maintenance window opened",
            markup=False,
            timeout=10,
        )
