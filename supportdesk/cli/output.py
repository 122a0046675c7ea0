"""What a command prints and how the process ends: inert text, JSON, one-line errors and the
exit codes every command shares.

Outside text (subjects, names, bodies) reaches the terminal only through `inert` /
`inert_lines` (safe_text), so it can neither break a line nor drive the terminal; `--json`
keeps the exact strings.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any, NoReturn, TypeVar

import click

from supportdesk.rules.local_time import text_date, text_time, times_in_text
from supportdesk.safe_text import clean, json_escape

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_RACE, EXIT_NOTHING = 0, 1, 2, 3, 4
EXIT_INTERNAL = 70  # EX_SOFTWARE: an exception no service turned into a message (a bug)
MAX_ERROR_LINE = 500  # characters of an error message on stderr


def inert(value: Any) -> str:
    """One field of outside text for a one-line printer: line breaks, controls and bidi
    overrides shown as visible escapes (safe_text), so a subject can neither break the line
    nor drive the terminal."""
    return clean(value)


def inert_lines(value: Any) -> list[str]:
    """A body of outside text as lines, each made inert (tabs become spaces)."""
    return clean(value, multiline=True).split("\n")


def say(text: str) -> None:
    """Echo human-readable output; whatever outside text a printer let through is shown as
    visible escapes (the printers clean their fields already: this is the net)."""
    click.echo(clean(text, multiline=True))


def emit(value: Any, as_json: bool, text: Callable[[], str] | str | None = None) -> None:
    """Print a result as JSON (ISO 8601 times with offset; exact strings, with controls and
    lone surrogates written as JSON escapes) or as inert text."""
    if as_json:
        click.echo(json_text(jsonable(value)))
    elif text is not None:
        say(text() if callable(text) else text)


def json_text(value: Any) -> str:
    """JSON of plain values (see `jsonable`), indented, with the escapes `emit` promises."""
    return json_escape(json.dumps(value, indent=2, ensure_ascii=False))


def jsonable(value: Any) -> Any:
    """`value` in the types `json.dumps` takes: results by their `to_json()`, times in ISO 8601."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


_zone_of_desk: list[Callable[[], tzinfo]] = []  # the desk of this process (Env.desk)


def times_from(zone: Callable[[], tzinfo]) -> None:
    """Text output shows times in the zone `zone()` gives (the desk's, read on first use)."""
    _zone_of_desk[:] = [zone]


def text_zone() -> tzinfo:
    """The zone text output shows times in, and a time typed without an offset is read in."""
    return _zone_of_desk[-1]() if _zone_of_desk else UTC


def when(value: datetime | None, *, seconds: bool = False, weekday: bool = False) -> str:
    """A time in text output: "2026-11-20 11:00 SAST" in the desk's zone (SUPPORTDESK_TZ,
    the policy's `[desk] timezone`, else the default plan's calendar), never microseconds
    or "+00:00"; "-" when unset. JSON keeps ISO 8601 with the offset."""
    return text_time(value, text_zone(), seconds=seconds, weekday=weekday)


def times_in(text: str) -> str:
    """`text` with the ISO 8601 times in it written as `when` writes them."""
    return times_in_text(text, text_zone())


def day(value: datetime) -> str:
    """The date a moment falls on in the desk's zone: "2026-11-20"."""
    return text_date(value, text_zone())


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


def age(then: datetime, now: datetime) -> str:
    """How long ago, in its largest unit: 3d, 5h, 12m, 40s (the queue's and boards' columns)."""
    secs = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def fail(message: str, code: int) -> NoReturn:
    """One line on stderr: outside text in a message shows its controls as escapes."""
    line = " ".join(clean(part) for part in message.split("\n") if part.strip())
    if len(line) > MAX_ERROR_LINE:  # a message that echoes a megabyte of input
        line = line[: MAX_ERROR_LINE - 1] + "…"
    click.echo(f"supportdesk: {line}", err=True)
    sys.exit(code)


def alarm_line(alarm: Any) -> str:
    """The open mail alarm in one line, as the lead's board says it: "Mail is not going out
    since 10:02: 535 authentication failed — 14 messages waiting" (the server's words made
    inert)."""
    waiting = f"{alarm.waiting} message{'' if alarm.waiting == 1 else 's'} waiting"
    return (
        f"MAIL ALARM: Mail is not going out since {when(alarm.raised_at, seconds=True)}: "
        f"{clean(alarm.reason)[:200]} — {waiting} ({alarm.count} failed tries)"
    )
