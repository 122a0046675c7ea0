"""Hostile strings: what a customer (or an export, or a mail) may put in any field we show.

`HOSTILE_STRINGS` is the one list every display test runs through the console and the CLI
printers (import it; do not copy it). Each must come out literally: never parsed as Rich
markup, never obeyed by the terminal (title, screen clear, colours, hyperlinks, bidi), and
never crash an encoder (a lone surrogate is what invalid UTF-8 decodes to with
surrogateescape).

`storable` fits one to a field's length limit and drops what a database cannot hold (NUL on
PostgreSQL), so the same list feeds both databases.
"""

from __future__ import annotations

import unicodedata

ONE_MB = 1_000_000

HOSTILE_STRINGS: list[str] = [
    "[/x]",
    "Permission denied writing to [/var/www/html]",
    "[bold red]X[/] [link=file:///etc/passwd]click[/link]",
    "[@click=app.quit]x[/]",
    "\x1b]0;pwned\x07",
    "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "\x1b[2J",
    "\x1b[31mred\x1b[0m",
    "\x9b2J",
    "abc\u202edcba",
    "zero\u200bwidth",
    "line\u2028separator",
    "nul\x00byte",
    "bell\x07ring",
    "back\x08space",
    "A" * ONE_MB,
    "bad utf-8 \udcff here",
    "dev \U0001f469\u200d\U0001f4bb family \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\u5bbd\u5b57\u7b26\u6d4b\u8bd5 wide CJK",
    "e\u0301\u0302\u0303 combining",
    "{} {0} {name} %s %d %(x)s",
    "$(rm -rf /)",
]

# What must never reach a terminal: C0/C1 controls, format characters (bidi overrides,
# zero-width characters), line/paragraph separators and lone surrogates.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def unsafe_chars(text: str) -> set[str]:
    """Every character of `text` a terminal could obey (a newline between lines is fine)."""
    return {ch for ch in text if ch != "\n" and unicodedata.category(ch) in UNSAFE_CATEGORIES}


def storable(value: str, limit: int, *, postgres: bool) -> str:
    """`value` cut to `limit` characters, without NUL (the services refuse it on both
    databases, since PostgreSQL cannot store one; `postgres` is kept for the callers) and
    with lone surrogates as U+FFFD (neither driver can encode one to UTF-8: such text comes
    only from outside and is tested on the display paths that take it straight)."""
    value = value.replace("\x00", "")
    value = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value[:limit])
    return value


def short_ones() -> list[str]:
    """The hostile strings short enough to show whole in a table cell."""
    return [s for s in HOSTILE_STRINGS if len(s) <= 60]
