"""The console's watchers: helper objects the app creates, wires and starts once the queue
has painted its first page.

Each owns its timers, the results of its workers and its state, and says what it found in
toasts (they never take the focus): the SLA clocks of this user's tickets (`sla`), claims
gone stale (`claims`, leads), notices written for this user (`notices`), this console's
presence row (`presence`), open incidents and maintenance windows (`incidents`). They read
the desk in thread workers of the app, so a failure reaches the app's one failure handler.
"""

from __future__ import annotations

from typing import Protocol

MAX_TOASTS = 3  # more news at once make one summary toast


class Watcher(Protocol):
    """What the app does with every watcher."""

    def start(self) -> None:
        """Read for the first time and start the timers."""

    def store_changed(self) -> None:
        """Another connection committed: read again if what is watched may have changed."""
