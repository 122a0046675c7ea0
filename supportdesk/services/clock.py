"""The one clock of the process: real time, or a frozen "now" from `--at` / SUPPORTDESK_NOW.

Freezing affects what the desk believes the time is (ages, clocks, new rows' times); the
audit always records the real time beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import UsageError


def parse_time(text: str, *, what: str = "--at") -> datetime:
    """An ISO 8601 time; without an offset it is read in the machine's local zone."""
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        raise UsageError(
            f"{what}: not a time: {text!r} (use ISO 8601, e.g. 2026-11-20T09:00+02:00)"
        ) from None
    if value.tzinfo is None:
        value = value.astimezone()  # local zone
    return value.astimezone(UTC)


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
