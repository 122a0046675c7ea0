"""Screens that may still be opening when the console closes.

A key that opens a screen and a quit (ctrl+q, a closed terminal, a signal) can land
together. Textual takes an app down as soon as it is told to exit: it removes the
screens' children, and only then may the screen pushed just before get its Mount. Its
`on_mount` (or `on_resize`, which reads them to fit itself) would then look for children
that are gone (NoMatches) and the console would end with a traceback. Every screen of the
console is a `SkipsMountWhenClosing`: once the app is closing, the events that set a
screen up and lay it out are dropped (nothing done then is ever shown); the ones that take
it down (Unmount, Hide) still run.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.screen import Screen

# what a screen does to show itself: none of it matters once the app closes
SET_UP = (events.Mount, events.Resize, events.Show, events.ScreenResume)


class SkipsMountWhenClosing(Screen[Any]):
    """A screen that is not set up or laid out once the app began to close."""

    async def on_event(self, event: events.Event) -> None:
        # is_attached is False from the moment the app is told to exit (App.exit)
        if isinstance(event, SET_UP) and not (self.app.is_running and self.is_attached):
            return
        await super().on_event(event)
