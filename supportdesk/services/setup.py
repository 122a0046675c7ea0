"""Create or upgrade a database (Alembic), its audit key, and its first lead."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..models import Role, Setting, Staff
from ..store import Store, describe_error
from . import audit, sla
from .desk import Desk
from .errors import StoreError, UsageError
from .policy import Policy, load_preset


@dataclass(frozen=True)
class InitResult:
    revision_before: str | None
    revision_after: str
    key_path: Path
    key_created: bool
    admin_created: str | None
    policy: str = ""  # name and digest of the SLA policy in force
    recomputed: int = 0  # open tickets whose clocks a new policy changed


def migrate(store: Store) -> None:
    """Bring the schema to the head revision (imports Alembic only here: it is slow)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.exc import SQLAlchemyError

    cfg = Config()
    cfg.set_main_option(
        "script_location", str(Path(__file__).resolve().parent.parent / "migrations")
    )
    try:
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        raise StoreError(describe_error(exc)) from exc


def init_database(
    desk: Desk,
    admin: str | None = None,
    admin_name: str | None = None,
    policy: Policy | None = None,
) -> InitResult:
    """Create or upgrade the schema, make sure the audit key exists, add the first lead, and
    put an SLA policy in force (`policy`, else the bundled default when there is none)."""
    if admin is not None:  # checked before anything is created
        from . import limits
        from .directory import LOGIN_RE

        limits.check(admin, limits.LOGIN, what="--admin")
        if not LOGIN_RE.fullmatch(admin):
            raise UsageError(
                f"--admin {admin!r}: lowercase letters, digits, . _ - (start with a letter)"
            )
        limits.check_optional(admin_name, limits.NAME, what="--admin-name")
    store = desk.store
    before = store.schema_revision()
    key_existed = desk.key_path.exists()
    if before is not None and not key_existed:
        raise UsageError(
            f"{store.display_name()} already has a schema but there is no audit key at "
            f"{desk.key_path}: point --audit-key at the key this database was created with"
        )
    migrate(store)
    audit.create_key(desk.key_path)
    created = None
    if admin:
        with store.read() as s:
            exists = s.scalars(select(Staff).where(Staff.login == admin)).first()
        if exists is None:
            with desk.write(actor_required=False) as (session, record):
                staff = Staff(
                    login=admin,
                    name=admin_name or admin,
                    tier=3,
                    role=Role.LEAD.value,
                    created_at=desk.now(),
                )
                session.add(staff)
                session.flush()
                record(
                    "staff.add",
                    "staff",
                    staff.id,
                    {"login": [None, admin], "role": [None, "lead"], "tier": [None, 3]},
                )
            created = admin
            desk.__dict__.pop("actor", None)
    with store.read() as s:
        has_setup = s.get(Setting, "created_at") is not None
    if not has_setup:
        with desk.write(actor_required=False) as (session, record):
            session.add(Setting(key="created_at", value=desk.clock.real_now().isoformat()))
            record(
                "desk.init", "desk", "1", {"schema": [before, store.schema_revision() or "head"]}
            )
    recomputed = 0
    if policy is not None or not sla.has_policy(desk):
        loaded = sla.load_policy(
            desk, policy or load_preset(sla.DEFAULT_PRESET), require_lead=False
        )
        recomputed = loaded.recomputed
    in_force = sla.current_policy(desk)
    return InitResult(
        policy=f"{in_force.name} ({in_force.digest})",
        recomputed=recomputed,
        revision_before=before,
        revision_after=store.schema_revision() or "",
        key_path=desk.key_path,
        key_created=not key_existed,
        admin_created=created,
    )
