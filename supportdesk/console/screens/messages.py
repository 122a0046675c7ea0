"""Messages the console's workers and change feed post; each carries plain dataclasses only.

Screens own their state and change it only in handlers for these messages, so a worker
thread never touches a widget.
"""

from __future__ import annotations

from textual.message import Message

from supportdesk.core.queue import QueueFilter
from supportdesk.core.views import QueueKey, QueuePage, TicketView


class QueuePainted(Message):
    """The queue's first page is on screen: the console starts its watchers."""


class WindowLoaded(Message):
    """A window of the queue, read from `anchor` (None: the top) under `filt`."""

    def __init__(
        self, generation: int, filt: QueueFilter, anchor: QueueKey | None, page: QueuePage
    ) -> None:
        super().__init__()
        self.generation = generation
        self.filt = filt
        self.anchor = anchor
        self.page = page


class TotalCounted(Message):
    """How many tickets match `filt` (counted apart from the window, which paints first)."""

    def __init__(self, filt: QueueFilter, total: int) -> None:
        super().__init__()
        self.filt = filt
        self.total = total


class TicketLoaded(Message):
    """A ticket with its thread, for the ticket screen or the queue's preview pane."""

    def __init__(self, ticket: TicketView) -> None:
        super().__init__()
        self.ticket = ticket


class ActionDone(Message):
    """A write the user asked for went through; `what` says so in words."""

    def __init__(self, what: str, kind: str = "") -> None:
        super().__init__()
        self.what = what
        self.kind = kind
