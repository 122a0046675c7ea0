"""Esc is Esc, however soon the next key follows.

A terminal sends Alt+x as the two bytes Esc, x, and sends the keys that have no character
(arrows, F-keys) as sequences that begin with Esc; so when Textual reads an Esc it waits
for more (its escape delay, 100 ms), and whatever arrives meanwhile is read as part of
one sequence. A headset agent types a key every 50 ms: Esc, then `andile` into the next
screen's search, was read as Alt+a and then `ndile` as the screen's keys (`n`: a new
ticket for the caller just verified), and Esc then Enter or ctrl+s lost the Esc outright.

What tells the two apart is not time but the read: a terminal writes a key's bytes at
once (Alt+x, an arrow's sequence: one write, one read here), and two keys a person typed
arrive in two reads, however close. So an Esc that is the last byte of what one read got,
followed by more bytes in a later read, is a key of its own: the reader says so to the
parser as soon as the later bytes arrive, before parsing them. An Esc with nothing after it
is still an Esc after the escape delay, as before; Alt+x typed as one chord is still Alt+x.
Inside a bracketed paste the reader changes nothing (the paste's text is the paste's).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.drivers import linux_driver
from textual.drivers.linux_driver import XTermParser  # the parser the driver reads with

ESC = "\x1b"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


class KeyReadParser(XTermParser):
    """Textual's parser, told when an Esc ended a read and the next read has begun."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._esc_ended_read = False
        self._in_paste = False

    def feed(self, data: str) -> Iterable[Any]:
        if data and self._esc_ended_read and self._timeout_time is not None:
            # the Esc the parser holds was typed alone: its wait is over (Parser.tick)
            self._timeout_time = 0.0
            yield from self.tick()
        self._esc_ended_read = False
        yield from super().feed(data)
        start, end = data.rfind(PASTE_START), data.rfind(PASTE_END)
        if start != end:  # the later of the two markers this read holds, if any
            self._in_paste = start > end
        self._esc_ended_read = data.endswith(ESC) and not self._in_paste


def read_keys_by_read() -> None:
    """Textual's Linux driver reads the terminal with KeyReadParser (it makes its parser
    when the app starts reading input: call this before `App.run`)."""
    linux_driver.XTermParser = KeyReadParser  # type: ignore[misc]
