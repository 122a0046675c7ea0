"""Screens that may still be opening, or still hearing news, when the console closes.

A key that opens a screen and a quit (ctrl+q, a closed terminal, a signal) can land
together. Textual takes an app down as soon as it is told to exit: it removes the
screens' children, and only then may the screen pushed just before get its Mount. Its
`on_mount` (or `on_resize`, which reads them to fit itself) would then look for children
that are gone (NoMatches) and the console would end with a traceback. The same holds for
the console's own news arriving then: a worker's result read off the store (an account's
card, a page of the queue) handled by a screen whose list is already gone. Every screen of
the console is a `SkipsMountWhenClosing`: once the app is closing, the events that set a
screen up and lay it out, and the console's own messages, are dropped (nothing done then
is ever shown); the ones that take it down (Unmount, Hide) and Textual's own messages
still run.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.message import Message
from textual.screen import Screen

# what a screen does to show itself: none of it matters once the app closes
SET_UP = (events.Mount, events.Resize, events.Show, events.ScreenResume)
# the console's own messages (news from its workers and widgets), by their module
CONSOLE_MESSAGES = "supportdesk."


class SkipsMountWhenClosing(Screen[Any]):
    """A screen that is not set up, laid out or told the console's news once the app began
    to close."""

    async def _on_message(self, message: Message) -> None:
        # Events come here too (MessagePump.on_event). is_attached is False from the
        # moment the app is told to exit (App.exit); is_running from App._shutdown's start.
        if not (self.app.is_running and self.is_attached) and (
            isinstance(message, SET_UP) or type(message).__module__.startswith(CONSOLE_MESSAGES)
        ):
            return
        await super()._on_message(message)
