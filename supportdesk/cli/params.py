"""What a command reads: parameter types that refuse bad values in one line (ids, tiers,
logins, --db) and bounded text from standard input."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Any

import click

from supportdesk.errors import UsageError
from supportdesk.rules import limits
from supportdesk.rules.limits import MAX_CLI_ID

MAX_DB_TEXT = 4096
MAX_STDIN_TEXT = 4 * 200_000 + 4  # bytes: the longest body in UTF-8 (limits.BODY)


def choice(enum: type[Enum]) -> click.Choice[str]:
    """A case-insensitive choice of an enum's values."""
    return click.Choice([e.value for e in enum], case_sensitive=False)


class IdType(click.ParamType):
    """A row id: a positive whole number below 2^63 (the services find nothing beyond the
    columns' range), refused in one line otherwise: never an overflow further in."""

    name = "id"

    def __init__(self, what: str) -> None:
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip().lstrip("#")
            if not (text.isascii() and text.isdigit()) or len(text) > 19:
                self.fail(f"{self.what}: must be a positive number below 2^63", param, ctx)
            number = int(text)
        if not 1 <= number <= MAX_CLI_ID:
            self.fail(f"{self.what}: must be a positive number below 2^63", param, ctx)
        return number


TICKET_ID = IdType("ticket id")
INCIDENT_ID = IdType("incident id")
VERIFICATION_ID = IdType("verification id")
CONTACT_ID = IdType("contact id")
SERVICE_ID = IdType("service id")
WINDOW_ID = IdType("window id")
EVENT_ID = IdType("event id")


class TierType(click.ParamType):
    """A tier number: small numbers go on to the service (which names the tiers it has);
    anything else is refused here, before it can overflow a SMALLINT."""

    name = "tier"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).strip()
        digits = text[1:] if text.startswith("-") else text
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 3:
            self.fail(f"tier: must be 1, 2 or 3, not {text[:20]!r}", param, ctx)
        return int(text)


TIER = TierType()


class LoginType(click.ParamType):
    """A staff login as typed for --as: bounded text, no NUL (the lookup says who is unknown)."""

    name = "login"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return limits.check(str(value), limits.LOGIN, what="--as")
        except UsageError as exc:
            self.fail(str(exc), param, ctx)


class DbType(click.ParamType):
    """--db: a path or URL of bounded length without NUL (a path with one cannot be opened)."""

    name = "db"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return limits.check(str(value), limits.Limit("--db", MAX_DB_TEXT))
        except UsageError as exc:
            self.fail(str(exc), param, ctx)


def read_body(text: str | None) -> str:
    """Message text from the argument, or from stdin when it is `-` or missing: at most
    MAX_STDIN_TEXT bytes of UTF-8, else one line (the service then checks its length)."""
    if text is None or text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("give the text as an argument or on standard input")
        return stdin_text("standard input", MAX_STDIN_TEXT).strip()
    return text


def stdin_text(what: str, limit: int, *, line: bool = False) -> str:
    """Standard input (its first line if `line`) as UTF-8, read with a limit."""
    stream = getattr(sys.stdin, "buffer", sys.stdin)
    if line:
        raw = stream.readline(limit + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > limit:
            raise UsageError(f"{what}: longer than {limit} bytes")
    else:
        raw = limits.read_stream_bounded(stream, what, limit)
    return limits.decode_utf8(bytes(raw), what)
