"""The desk's one time zone and how times are written for people (issue 16, items 8 and 12).

Every console screen and every CLI text line shows times in one zone, with its abbreviation:
the person's `SUPPORTDESK_TZ` if set, else the policy's `[desk] timezone`, else the zone of
the default plan's calendar. JSON keeps ISO 8601 with offsets; people read "14:38 SAST",
never microseconds or "+00:00".

Pure and light: the console's start path resolves the zone from the policy's TOML with
`tomllib` alone (the policy engine loads after the first paint).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from supportdesk.errors import UsageError

TZ_ENV = "SUPPORTDESK_TZ"
MAX_ZONE_TEXT = 64
# an ISO 8601 time with its offset, as the desk writes into its own history values
# ("respond running 2026-11-25T10:00:00+00:00")
ISO_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)")


def zone_named(name: str, *, what: str = TZ_ENV) -> ZoneInfo:
    """The IANA zone `name` ("Africa/Johannesburg", "UTC"); a one-line UsageError if none."""
    text = name.strip()
    if not text or len(text) > MAX_ZONE_TEXT or "\x00" in text:
        raise UsageError(f"{what}: not a time zone (use an IANA name, e.g. Africa/Johannesburg)")
    try:
        return ZoneInfo(text)
    except Exception:  # ZoneInfoNotFoundError, ValueError ("../x"), IsADirectoryError ("Africa")
        raise UsageError(
            f"{what}: unknown time zone {text!r} (use an IANA name, e.g. Africa/Johannesburg)"
        ) from None


def policy_zone_name(data: dict[str, Any]) -> str | None:
    """The desk zone a parsed policy document names: `[desk] timezone`, else the zone of the
    default plan's calendar (None when the document says neither)."""
    desk = data.get("desk")
    if isinstance(desk, dict) and isinstance(desk.get("timezone"), str):
        return str(desk["timezone"])
    try:
        calendar = data["plans"][data["default_plan"]]["calendar"]
        zone = data["calendars"][calendar]["timezone"]
    except (KeyError, TypeError):
        return None
    return zone if isinstance(zone, str) else None


def abbreviation(zone: tzinfo, at: datetime | None = None) -> str:
    """The zone's abbreviation at `at` (now when None): "SAST", "CET"/"CEST", "UTC"."""
    moment = (at or datetime.now(UTC)).astimezone(zone)
    return moment.tzname() or str(getattr(zone, "key", ""))


def _local(at: datetime, zone: tzinfo) -> datetime:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # the store's times are UTC
    return at.astimezone(zone)


def clock_time(at: datetime, zone: tzinfo) -> str:
    """ "14:38 SAST": a time of day with its zone (headers)."""
    local = _local(at, zone)
    return f"{local:%H:%M} {abbreviation(zone, at)}"


def day_time(at: datetime, zone: tzinfo) -> str:
    """ "Fri 20 Nov 14:38 SAST": a moment with its day (the FROZEN header)."""
    local = _local(at, zone)
    return f"{local:%a %d %b %H:%M} {abbreviation(zone, at)}"


def text_time(
    at: datetime | None, zone: tzinfo, *, seconds: bool = False, weekday: bool = False
) -> str:
    """ "2026-11-20 14:38 SAST" (with ":05" when `seconds`, "Fri " first when `weekday`): a
    time in CLI text output; a dash when unset. Never microseconds, never an offset: the
    abbreviation says the zone."""
    if at is None:
        return "-"
    local = _local(at, zone)
    fmt = ("%a " if weekday else "") + ("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{local.strftime(fmt)} {abbreviation(zone, at)}"


def text_date(at: datetime, zone: tzinfo) -> str:
    """ "2026-11-20": the day a moment falls on in the desk's zone (report ranges)."""
    return _local(at, zone).date().isoformat()


def times_in_text(text: str, zone: tzinfo) -> str:
    """`text` with every ISO 8601 time in it (with an offset) written as `text_time` writes
    it: the desk's own history values ("respond running 2026-11-25T10:00:00+00:00") read
    "respond running 2026-11-25 12:00 SAST"."""

    def local(match: re.Match[str]) -> str:
        raw = match.group(0)
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return raw
        return text_time(moment, zone)

    return ISO_TIME.sub(local, text)
