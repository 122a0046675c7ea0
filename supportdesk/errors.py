"""Errors every service raises, each with the CLI exit code it maps to.

Screens show `str(error)` as a notification; the CLI prints it as one line and exits with
`exit_code`. Nothing else may escape a service.
"""

from __future__ import annotations


class DeskError(Exception):
    """A failure a user can understand and act on."""

    exit_code = 1


class UsageError(DeskError):
    """Bad input: an unknown value, a malformed time, a missing option."""

    exit_code = 2


class NotFound(DeskError):
    """A ticket, account, contact or staff member that does not exist."""


class NotAllowed(DeskError):
    """The acting staff member lacks the role or tier for this."""


class InvalidTransition(DeskError):
    """A status change the transition table forbids."""


class LostRace(DeskError):
    """Someone else got there first (a claim, a concurrent update)."""

    exit_code = 3


class NothingToDo(DeskError):
    """The request was valid but there was nothing to act on."""

    exit_code = 4


class StoreError(DeskError):
    """The database cannot be opened, read or written (or is busy past the timeout)."""


class SchemaOutdated(StoreError):
    """The database has no schema or an older one: `supportdesk init` fixes it."""


def clashed(exc: BaseException) -> bool:
    """Whether `exc` is (or was caused by) a database refusing a row on a constraint (a
    unique index: another transaction wrote the same key first): SQLAlchemy's, sqlite3's
    and psycopg's IntegrityError, told by name (this module imports no driver)."""
    seen: BaseException | None = exc
    while seen is not None:
        if any(c.__name__ == "IntegrityError" for c in type(seen).__mro__):
            return True
        seen = seen.__cause__
    return False
