"""Staff: who works the desk, at which tier and role."""

from __future__ import annotations

import re

from sqlalchemy import select

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.tickets import parse_enum
from supportdesk.core.views import StaffView
from supportdesk.enums import Role
from supportdesk.errors import UsageError
from supportdesk.models import Staff
from supportdesk.rules import limits

LOGIN_RE = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")


def _staff_view(s: Staff) -> StaffView:
    return StaffView(s.id, s.login, s.name, s.tier, s.role, s.active)


def add_staff(desk: Desk, login: str, name: str, tier: int, role: str) -> StaffView:
    permissions.require(desk.actor, "staff.manage")
    r = parse_enum(Role, role, "role")
    limits.check(login, limits.LOGIN)
    limits.check(name, limits.NAME, required=True)
    if not LOGIN_RE.fullmatch(login):
        raise UsageError(f"login {login!r}: lowercase letters, digits, . _ - (start with a letter)")
    permissions.validate_staff_tier(r, tier)
    with desk.write() as (session, record):
        if session.scalars(select(Staff).where(Staff.login == login)).first():
            raise UsageError(f"staff member {login!r} already exists")
        staff = Staff(login=login, name=name, tier=tier, role=r.value, created_at=desk.now())
        session.add(staff)
        session.flush()
        record(
            "staff.add",
            "staff",
            staff.id,
            {
                "login": [None, login],
                "name": [None, name],
                "tier": [None, tier],
                "role": [None, r.value],
            },
        )
        return _staff_view(staff)


def list_staff(desk: Desk) -> list[StaffView]:
    with desk.store.read() as s:
        return [_staff_view(x) for x in s.scalars(select(Staff).order_by(Staff.tier, Staff.login))]
