"""How a UTC time is written as SQLite text: shared by the ORM type, bulk loaders and the
plain-SQL read path (which must compare with exactly what the ORM stored)."""

from __future__ import annotations

from datetime import UTC, datetime


def sqlite_timestamp(value: datetime) -> str:
    """The exact text SQLAlchemy stores for a UTC datetime on SQLite (for bulk loaders)."""
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )
