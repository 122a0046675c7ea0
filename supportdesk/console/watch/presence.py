"""This console's presence row: which ticket it has open (the queue's ● for everyone else)
and whether its user is at the desk (the lead's board says "away" after AWAY_AFTER_S
without a key or a click).

The row is written in a worker, one write at a time, and always the latest wish wins; a
read-only store gets no row (a copy has no one at it), and the row ends when the console
does (a console that died is marked off by the next one to start).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING

from supportdesk.errors import DeskError

if TYPE_CHECKING:
    from textual.timer import Timer

    from supportdesk.console.base import DeskApp

AWAY_AFTER_S = 300.0  # no key for this long: "away" on the lead's board
AWAY_CHECK_S = 30.0

_UNSET = object()


class Presence:
    """Registers the console when started, then keeps its row current."""

    def __init__(self, app: DeskApp) -> None:
        self.app = app
        self.console_id: str | None = None  # the row, once written
        self.last_input = time.monotonic()
        self.away = False
        self._lock = threading.Lock()
        self._wanted: int | None = None
        self._written: object = _UNSET
        self._state_written = "available"  # start_console registers the console available
        self._closed = False
        self._timer: Timer | None = None

    def start(self) -> None:
        self.sync()
        self._timer = self.app.set_interval(AWAY_CHECK_S, self.check_away)

    def store_changed(self) -> None:
        """Nothing to read: the row is this console's own."""

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def open_ticket(self, ticket_id: int | None) -> None:
        """Tell other consoles which ticket this one has open (None: none)."""
        self._wanted = ticket_id
        if self.app.is_running:
            self.sync()

    def input_seen(self) -> None:
        """A key or a click: the user is at the desk (back, if they were away)."""
        self.last_input = time.monotonic()
        if self.away:
            self.away = False
            self.sync()

    def check_away(self) -> None:
        """No key for AWAY_AFTER_S: tell the lead's board this person is away (one write)."""
        if not self.away and time.monotonic() - self.last_input >= AWAY_AFTER_S:
            self.away = True
            self.sync()

    def sync(self) -> None:
        self.app.run_worker(
            self._write,
            thread=True,
            exclusive=True,
            group="presence",
            name="presence",
            exit_on_error=False,
        )

    def _write(self) -> None:
        """Write the wanted open ticket and whether the user is at the desk; serialized, and
        always the latest wish wins."""
        from supportdesk.core import presence

        desk = self.app.desk
        with self._lock:
            if self._closed or desk.store.read_only:  # a read-only copy: no one is at it
                return
            if self.console_id is None:
                self.console_id = presence.start_console(desk)
                self._written = None
            state = "away" if self.away else "available"
            if state != self._state_written:
                presence.set_state(desk, self.console_id, state)
                self._state_written = state
            wanted = self._wanted
            if wanted != self._written:
                presence.set_open_ticket(desk, self.console_id, wanted)
                self._written = wanted

    def end(self) -> None:
        """The console is closing: no more writes, and its row ends."""
        with self._lock:
            self._closed = True
            if self.console_id is not None:
                from supportdesk.core import presence

                # leaving anyway: a dead console is marked off by the next one to start
                with contextlib.suppress(DeskError):
                    presence.end_console(self.app.desk, self.console_id)
