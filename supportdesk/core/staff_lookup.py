"""Staff rows by login and logins by id, inside a caller's session (SQLAlchemy is imported
only when they run: the console's first paint never needs it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from supportdesk.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def staff_by_login(session: Session, login: str) -> Any:
    """The active staff member `login`, else NotFound."""
    from sqlalchemy import select

    from supportdesk.models import Staff
    from supportdesk.rules import limits

    limits.check(login, limits.LOGIN, what="login")
    person = session.scalars(select(Staff).where(Staff.login == login.strip())).first()
    if person is None or not person.active:
        raise NotFound(f"no staff member {login!r}")
    return person


def login_of(session: Session, staff_id: int | None) -> str | None:
    from sqlalchemy import select

    from supportdesk.models import Staff

    if staff_id is None:
        return None
    return session.scalar(select(Staff.login).where(Staff.id == staff_id))
