"""Type-ahead that is never lost or reordered: keys typed while an earlier key's work is
still resolving wait, in the order typed, until it has resolved.

A headset agent types ahead of the screen (about 50 ms a key): `bright-auto`, Enter, `1`
before the account's results are in. Textual routes each key to the widget focused when the
app reads it, so the `1` would land in the search box the Enter was meant to leave. After a
key that starts work the screen finishes later (the account picked once its results are in,
the caller checked, a ticket filed), the screen holds the gate (`HoldsKeys.holds_after`,
asked before the key is routed); the app keeps the keys read meanwhile, in order, and routes
them once the screen releases it, one at a time: each waits until the one before has been
handled (`KeyRouted`), so that it goes where that one left the focus. The app's own message
loop never waits (a key's bindings run in it), and a gate held longer than `HOLD_LIMIT_S`
lets the keys through anyway.

Every other key is routed the same way, one at a time (`route_one_key`): a key's binding
runs only once the key has bubbled up to the app, so a key that moves the focus (`/` to the
search, `r` to the reply box, `n` to the form) and the letters read with it on a busy
machine would otherwise send the letters to the old widget (`m`: mine, `t`: take).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from textual import events
from textual.message import Message

HOLD_LIMIT_S = 5.0  # a screen that never releases does not freeze the keyboard
ROUTED_LIMIT_S = 2.0  # a key typed ahead whose journey ended nowhere (its screen closed)
# any key: the keys read while it is handled wait for it, at most this long (a key that
# closes its screen may lose its KeyRouted on the way up: the next key waits this long)
KEY_LIMIT_S = 0.5


class KeyRouted(Message):
    """Posted to the widget a waiting key was routed to, right after it: it reaches the
    app after the key itself has been handled there and by every binding on its way up, so
    the next waiting key goes where this one left the focus."""

    def __init__(self, holds: int) -> None:
        super().__init__()
        self.holds = holds


@runtime_checkable
class HoldsKeys(Protocol):
    """A screen whose keys may start work that the keys typed after them depend on."""

    def holds_after(self, event: events.Key) -> bool:
        """Whether keys typed after `event` wait until this screen releases the gate."""
        ...


class KeyGate:
    """Open, or held until released; the keys typed while it is held, oldest first."""

    def __init__(self, released: Callable[[], object]) -> None:
        self._released = released  # called on release: the app routes the waiting keys
        self.held = False
        self.holds = 0  # holds so far: a time limit releases only the hold it was set for
        self.waiting: list[events.Key] = []

    def hold(self) -> int:
        """Hold the gate; returns the number of this hold."""
        self.held = True
        self.holds += 1
        return self.holds

    def release(self, holds: int | None = None) -> None:
        """Open the gate (`holds`: only if it is still that hold, as `hold` numbered it)."""
        if self.held and (holds is None or holds == self.holds):
            self.held = False
            if self.waiting:
                self._released()

    def keeps(self, event: events.Key) -> bool:
        """Keep `event` for later when the gate is held or older keys still wait."""
        if self.held or self.waiting:
            self.waiting.append(event)
            return True
        return False
