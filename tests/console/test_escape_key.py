"""Esc is a key of its own when the next key arrives in a later read, however soon
(supportdesk/console/escape_key.py): the parser the console reads its terminal with, fed the
reads a terminal makes, against Textual's own parser fed the same."""

from __future__ import annotations

import time
from typing import Any

import pytest
from textual.drivers import linux_driver

from supportdesk.console.escape_key import KeyReadParser, XTermParser, read_keys_by_read

WAIT_S = 0.15  # past Textual's escape delay (0.1 s): what is still held comes out


def keys(parser: XTermParser, reads: list[str]) -> list[str]:
    """What the parser makes of `reads`, each a read of its own, then of the wait after."""
    out: list[Any] = []
    for data in reads:
        out += parser.feed(data)
    time.sleep(WAIT_S)
    out += parser.tick()
    return [getattr(e, "key", type(e).__name__) for e in out]


# (reads, as the console reads them, as Textual alone read them)
TYPED = [
    (["\x1b", "a", "n"], ["escape", "a", "n"], ["alt+a", "n"]),  # Esc, then a search typed
    (["\x1b", "/"], ["escape", "slash"], ["slash"]),  # the Esc was lost
    (["\x1b", "\r"], ["escape", "enter"], ["enter"]),
    (["\x1b", "\x13"], ["escape", "ctrl+s"], ["ctrl+s"]),
    (["\x1b", "1"], ["escape", "1"], ["inverted_exclamation_mark"]),
    (["x\x1b", "r"], ["x", "escape", "r"], ["x", "alt+r"]),
]
# one read: a chord or a key's sequence, read as before
SAME = [
    ["\x1ba"],  # Alt+a
    ["\x1b[A"],  # up
    ["\x1b"],  # Esc alone
    ["\x1b", "\x1b"],  # Esc twice
    ["\x1b[200~abc\x1b", "def\x1b[201~"],  # a paste holding an Esc, split across reads
    ["\x1b[200~x", "\x1b", "y\x1b[201~"],
]


@pytest.mark.parametrize(("reads", "console", "textual"), TYPED)
def test_an_esc_that_ended_its_read_is_a_key_of_its_own(
    reads: list[str], console: list[str], textual: list[str]
) -> None:
    assert keys(KeyReadParser(False), reads) == console
    assert keys(XTermParser(False), reads) == textual  # why: Textual alone reads it so


@pytest.mark.parametrize("reads", SAME)
def test_what_came_in_one_read_and_a_paste_are_read_as_before(reads: list[str]) -> None:
    assert keys(KeyReadParser(False), reads) == keys(XTermParser(False), reads)


def test_the_console_reads_its_terminal_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linux_driver, "XTermParser", XTermParser)
    read_keys_by_read()
    assert linux_driver.XTermParser is KeyReadParser
