"""Text from outside (subjects, bodies, names, addresses, imported fields) made inert for display.

Customers write what they like: `[/x]` would be parsed as Rich markup, `\\x1b]0;...\\x07` would
retitle the terminal, a right-to-left override would reverse what follows. Every widget and
every CLI printer shows outside text through `clean()` / `safe_text()`: never as markup, and
with every control character, format character (bidi overrides, zero-width characters), line
or paragraph separator and lone surrogate shown as a visible escape. `--json` keeps the exact
string; only what reaches a terminal is made visible.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Rich only for safe_text(): the CLI's printers use clean() without it
    from rich.text import Text

# ESC gets its own picture: it starts every terminal control sequence, so it is the one a
# reader most needs to see. Other C0 controls use the Unicode "control pictures" block.
_ESC = "\x1b"
_PICTURES = {i: chr(0x2400 + i) for i in range(0x20)}
_PICTURES[0x1B] = "␛"
_PICTURES[0x7F] = "␡"
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


@lru_cache(maxsize=4096)
def _escape_char(ch: str) -> str:
    code = ord(ch)
    picture = _PICTURES.get(code)
    if picture is not None:
        return picture
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _needs_escape(ch: str) -> bool:
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def clean(value: object, *, multiline: bool = False) -> str:
    """`value` as a string a terminal shows literally and never obeys.

    With `multiline`, line breaks stay (CR LF and lone CR become LF) and tabs become four
    spaces; otherwise they are shown as escapes too, so a one-line cell stays one line.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case, at C speed
        return text
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    out: list[str] = []
    append = out.append
    for ch in text:
        if (ch == "\n" and multiline) or ch.isprintable() or not _needs_escape(ch):
            append(ch)
        else:
            append(_escape_char(ch))
    return "".join(out)


def safe_text(value: object, style: str = "", *, multiline: bool = False) -> Text:
    """A Rich `Text` of outside data: never parsed as markup, controls shown as escapes."""
    from rich.text import Text

    return Text(clean(value, multiline=multiline), style=style, end="")


def json_escape(dumped: str) -> str:
    """JSON text (from `json.dumps`) with every character `clean` would escape written as a
    JSON `\\uXXXX` escape: the same JSON value (a reader gets the exact string back), but
    nothing in it a terminal obeys (json.dumps leaves DEL, C1 controls such as CSI `\\x9b`,
    bidi overrides and zero-width characters raw), and a lone surrogate (what invalid UTF-8
    decodes to) no longer makes writing it to a UTF-8 stream fail."""
    if dumped.isprintable():
        return dumped
    out: list[str] = []
    for ch in dumped:
        if ch.isprintable() or ch == "\n" or not _needs_escape(ch):
            out.append(ch)
            continue
        code = ord(ch)
        if code > 0xFFFF:  # JSON escapes only 16-bit units: a surrogate pair
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


def has_controls(value: str) -> bool:
    """True when `value` holds anything `clean` would escape (for tests and checks)."""
    return not value.isprintable() and any(_needs_escape(ch) for ch in value if ch != "\n")


__all__ = ["clean", "has_controls", "json_escape", "safe_text"]


ELLIPSIS = "…"
_BLANKS = re.compile(r"[ \t\r\n]+")


def one_line(text: object) -> str:
    """Outside text for one line: runs of spaces, tabs and line breaks become one space, and
    whatever a terminal would obey (controls, bidi overrides, other line separators) is shown
    as a visible escape (see safe_text)."""
    return clean(_BLANKS.sub(" ", "" if text is None else str(text)).strip())


def truncate(text: str, width: int) -> str:
    """Fit `text` into `width` cells, cutting at a word boundary and ending with an ellipsis.

    The text is made inert first (`one_line`), so what comes back is safe to show and its
    visible escapes count in the width. A word is cut inside only when going back to its
    start would throw away more than a third of the room (a long domain after "Backups for"
    says more cut than dropped).
    """
    from rich.cells import cell_len  # here: the CLI's plain commands never load rich

    text = one_line(text)
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    if width == 1:
        return ELLIPSIS
    room = width - 1
    cut = ""
    for ch in text:
        if cell_len(cut + ch) > room:
            break
        cut += ch
    next_char = text[len(cut)] if len(cut) < len(text) else " "
    if next_char != " ":
        space = cut.rfind(" ")
        if space > 0 and space * 3 >= room * 2:
            cut = cut[:space]
    return cut.rstrip(" ,.;:-–—/") + ELLIPSIS
