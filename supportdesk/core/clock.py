"""The one clock of the process: real time, or a frozen "now" from `--at` / SUPPORTDESK_NOW.

Freezing affects what the desk believes the time is (ages, clocks, new rows' times); the
audit always records the real time beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from supportdesk.errors import UsageError

FIRST_YEAR, LAST_YEAR = 1970, 2999  # the years a desk can mean; calendars work within them
MAX_TIME_TEXT = 64


def parse_time(text: str, *, what: str = "--at", zone: tzinfo | None = None) -> datetime:
    """An ISO 8601 time (a date alone is its midnight); without an offset it is read in
    `zone` (the desk's, where a command has a desk), else the machine's local zone. Years
    outside FIRST_YEAR..LAST_YEAR are refused: business-time arithmetic near the ends of
    `datetime`'s range overflows, and no ticket is due in year 9999."""
    raw = text.strip()
    if len(raw) > MAX_TIME_TEXT or "\x00" in raw:
        raise UsageError(f"{what}: not a time (use ISO 8601, e.g. 2026-11-20T09:00+02:00)")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        raise UsageError(
            f"{what}: not a time: {text!r} (use ISO 8601, e.g. 2026-11-20T09:00+02:00)"
        ) from None
    try:
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone) if zone is not None else value.astimezone()
        value = value.astimezone(UTC)
    except (OverflowError, OSError, ValueError):
        raise UsageError(
            f"{what}: {raw} is outside the years {FIRST_YEAR} to {LAST_YEAR}"
        ) from None
    check_year(value, what)
    return value


def check_year(value: datetime, what: str) -> None:
    """UsageError unless `value` falls in FIRST_YEAR..LAST_YEAR (UTC)."""
    if not FIRST_YEAR <= value.astimezone(UTC).year <= LAST_YEAR:
        raise UsageError(
            f"{what}: {value.isoformat()} is outside the years {FIRST_YEAR} to {LAST_YEAR}"
        )


class Clock:
    """Gives "now" as an aware UTC datetime; frozen when `frozen_at` is set."""

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self.frozen_at = frozen_at.astimezone(UTC) if frozen_at else None

    @classmethod
    def from_text(cls, text: str | None) -> Clock:
        return cls(parse_time(text) if text else None)

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None

    def now(self) -> datetime:
        return self.frozen_at if self.frozen_at is not None else datetime.now(UTC)

    @staticmethod
    def real_now() -> datetime:
        return datetime.now(UTC)
