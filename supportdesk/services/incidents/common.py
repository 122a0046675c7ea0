"""What every incident operation shares: states and cadences, server names, loading an
incident, and the guards on who may change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.enums import Status
from supportdesk.errors import InvalidTransition, NotFound, UsageError
from supportdesk.rules import limits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import Incident


def body_digest(body: str | None) -> str | None:
    """The audit's hash of a text (imported when needed: the audit module loads SQLAlchemy,
    which the console's first paint must not wait for)."""
    from supportdesk.core.audit import body_digest as digest

    return digest(body)


STATES = ("investigating", "identified", "monitoring", "resolved")


OPEN_STATES = STATES[:-1]


DEFAULT_CADENCE = "30m"


MIN_CADENCE_S = 5 * 60


MAX_CADENCE_S = 24 * 3600


DONE = (Status.RESOLVED.value, Status.CLOSED.value)


AFFECTED_LIMIT = 200


def parse_cadence(text: str | None) -> int:
    """Seconds between customer updates: "30m", "1h", "1h30m", "PT45M" (5 minutes to 24 hours)."""
    from supportdesk.rules.policy import parse_duration

    value = (text or DEFAULT_CADENCE).strip()
    value = value if value[:1] in ("P", "p") else value.lower()  # ISO 8601 keeps its case
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"--cadence: {exc}") from None
    if not MIN_CADENCE_S <= seconds <= MAX_CADENCE_S:
        raise UsageError(f"--cadence: between 5m and 24h, not {value}")
    return seconds


def incident_text(value: str | None, what: str, limit: int = 4000) -> str:
    out = (value or "").strip()
    if not out:
        raise UsageError(f"give {what}")
    if len(out) > limit:
        raise UsageError(f"{what} is too long ({len(out)} characters; at most {limit})")
    return limits.check(out, limits.Limit(what, limit))


MAX_SERVERS = 100  # named by one incident or maintenance window


def server_names(names: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for name in names:
        limits.check_chars(name, "--server")
        for part in name.replace(",", " ").split():
            if part not in out:
                out.append(part)
    if not out:
        raise UsageError("name at least one server (--server NAME)")
    if len(out) > MAX_SERVERS:
        raise UsageError(f"--server: {len(out)} servers, at most {MAX_SERVERS}")
    for part in out:
        limits.check(part, limits.SERVER, what="--server")
    return tuple(out)


def known_servers(session: Session, servers: Sequence[str]) -> None:
    """Every server must be named by some account's service: else it is not ours."""
    from sqlalchemy import select

    from supportdesk.models import Service

    found = set(
        session.scalars(select(Service.server).where(Service.server.in_(servers)).distinct())
    )
    unknown = [s for s in servers if s not in found]
    if unknown:
        raise NotFound(
            f"no service runs on {', '.join(unknown)}: check the server name "
            "(`supportdesk account show` lists an account's servers)"
        )


def load_incident(session: Session, incident_id: int, *, lock: bool = False) -> Incident:
    from sqlalchemy import select

    from supportdesk.models import Incident

    if not limits.fits_id(incident_id):  # beyond every id column: nothing to find
        raise NotFound(f"no incident #{incident_id}")
    stmt = select(Incident).where(Incident.id == incident_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    inc = session.scalars(stmt).first()
    if inc is None:
        raise NotFound(f"no incident #{incident_id}")
    return inc


def require_open(inc: Incident, verb: str) -> None:
    if inc.state == "resolved":
        raise InvalidTransition(f"incident #{inc.id} is resolved; it cannot be {verb}")


def require_manager(desk: Desk, inc: Incident | None = None) -> None:
    """Customer updates and resolution: engineers, leads, and the incident's owner."""
    actor = desk.actor
    if inc is not None and inc.owner_id == actor.staff_id:
        return
    permissions.require(actor, "incident.manage")
