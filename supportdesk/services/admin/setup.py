"""Create or upgrade a database (Alembic), its audit key, and its first lead."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from supportdesk import file_modes
from supportdesk.core import audit
from supportdesk.core.desk import Desk
from supportdesk.core.policy import DEFAULT_PRESET, current_policy, has_policy, load_preset
from supportdesk.enums import Role
from supportdesk.errors import StoreError, UsageError
from supportdesk.models import Setting, Staff
from supportdesk.rules.policy import Policy
from supportdesk.services import sla
from supportdesk.store import Store, describe_error


@dataclass(frozen=True)
class InitResult:
    revision_before: str | None
    revision_after: str
    key_path: Path
    key_created: bool
    admin_created: str | None
    policy: str = ""  # name and digest of the SLA policy in force
    recomputed: int = 0  # open tickets whose clocks a new policy changed
    files: tuple[str, ...] = ()  # what init did to files' access, one line each


def ensure_database(store: Store) -> str | None:
    """PostgreSQL: create the database --db names when it does not exist yet and this role
    may (connected to the server's maintenance database); the line to say, or None. A role
    that may not is told the exact `createdb` command an administrator runs."""
    if store.is_sqlite:
        return None
    import shlex

    import psycopg
    from psycopg import errors, sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from supportdesk.store import MISSING_PG_DATABASE

    conninfo = str(store.target.conninfo)
    try:
        psycopg.connect(conninfo, connect_timeout=10).close()
        return None
    except psycopg.OperationalError as exc:
        if not MISSING_PG_DATABASE.search(str(exc)):
            raise StoreError(describe_error(exc)) from None
    params = conninfo_to_dict(conninfo)
    name = str(params.get("dbname") or "")
    user = str(params.get("user") or os.environ.get("PGUSER") or _login_name())
    command = ["createdb"]
    for flag, key in (("-h", "host"), ("-p", "port")):
        if params.get(key):
            command += [flag, str(params[key])]
    command += ["-O", user, name]
    how = (
        f"ask a PostgreSQL administrator to run `{shlex.join(command)}`, then run "
        "`supportdesk init` again"
    )
    last: Exception | None = None
    for maintenance in ("postgres", "template1"):
        try:
            conn = psycopg.connect(
                make_conninfo(conninfo, dbname=maintenance), autocommit=True, connect_timeout=10
            )
        except psycopg.OperationalError as exc:
            last = exc
            continue
        with conn:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except errors.InsufficientPrivilege:
                raise UsageError(f'role "{user}" may not create database "{name}": {how}') from None
            except errors.DuplicateDatabase:
                return None  # another init made it meanwhile
        return f'created PostgreSQL database "{name}"'
    raise UsageError(
        f'no database "{name}" and no maintenance database to create it from '
        f"({describe_error(last) if last else 'none'}): {how}"
    )


def _login_name() -> str:
    import getpass

    return getpass.getuser()


def migrate(store: Store) -> None:
    """Bring the schema to the head revision (imports Alembic only here: it is slow)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.exc import SQLAlchemyError

    import supportdesk

    cfg = Config()  # the migrations ship inside the package, wherever this module lives
    cfg.set_main_option(
        "script_location", str(Path(supportdesk.__file__).resolve().parent / "migrations")
    )
    try:
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        raise StoreError(describe_error(exc)) from exc


def secure_files(desk: Desk, sharing: file_modes.Sharing) -> list[str]:
    """Before anything opens them: create the SQLite file with its final mode (0600, or 0660
    for the desk's group), and take others' access away from the desk's existing files,
    saying so (existing files are never loosened). The key is created by `create_key`."""
    store = desk.store
    lines: list[str] = []
    if sharing.gid is not None and desk.key_path == audit.default_key_path(store.display_name()):
        raise UsageError(
            "--group: a shared desk needs a key its group can read: give --audit-key PATH "
            "outside your home directory"
        )
    path = store.target.sqlite_path
    if store.is_sqlite and path and not store.target.sqlite_uri:
        folder = Path(path).parent
        why = file_modes.not_a_database(Path(path))
        if why is not None:
            raise UsageError(f"--db {path} {why}: nothing was changed")
        if sharing.gid is not None:
            made = file_modes.make_dirs(folder, sharing.dir_mode, sharing)
            lines += [f"created {f} ({file_modes.mode_text(sharing.dir_mode)})" for f in made]
            st = folder.stat()
            if not (st.st_gid == sharing.gid and st.st_mode & stat.S_ISGID and st.st_mode & 0o070):
                raise UsageError(
                    f"--group {sharing.group}: {folder} is not shared with the group: run "
                    f"chgrp {sharing.group} {folder} && chmod 2770 {folder}, or give a --db "
                    "in a new folder"
                )
        if store.create_file(sharing):
            lines.append(f"created {path} ({file_modes.mode_text(sharing.file_mode)})")
        else:
            for what, file in file_modes.sqlite_files(path):
                changed = file_modes.tighten(file)
                if changed:
                    lines.append(f"tightened {what} {file}: {changed[0]} -> {changed[1]}")
                if sharing.gid is not None and file.exists() and file.stat().st_gid != sharing.gid:
                    lines.append(
                        f"{file} is not shared with {sharing.group} (not loosened): run "
                        f"chgrp {sharing.group} {file} && chmod 660 {file} to share it"
                    )
    key = desk.key_path
    if key.exists():
        # its folder only when it is supportdesk's own (audit-keys under the user's config);
        # a folder someone chose is theirs: doctor reports it, init leaves it
        items = [("the audit key", key)]
        if key.parent == audit.default_key_path("-").parent:
            items.append(("its folder", key.parent))
        for what, item in items:
            changed = file_modes.tighten(item)
            if changed:
                lines.append(f"tightened {what} {item}: {changed[0]} -> {changed[1]}")
    return lines


def init_database(
    desk: Desk,
    admin: str | None = None,
    admin_name: str | None = None,
    policy: Policy | None = None,
    sharing: file_modes.Sharing = file_modes.PRIVATE,
) -> InitResult:
    """Create or upgrade the schema, make sure the audit key exists, add the first lead, and
    put an SLA policy in force (`policy`, else the bundled default when there is none). Files
    it creates are 0600 in folders 0700 (0660 / 2770 with `sharing`'s group)."""
    if admin is not None:  # checked before anything is created
        from supportdesk.rules import limits
        from supportdesk.services.directory import LOGIN_RE

        limits.check(admin, limits.LOGIN, what="--admin")
        if not LOGIN_RE.fullmatch(admin):
            raise UsageError(
                f"--admin {admin!r}: lowercase letters, digits, . _ - (start with a letter)"
            )
        limits.check_optional(admin_name, limits.NAME, what="--admin-name")
    store = desk.store
    try:
        key_existed = desk.key_path.exists()
    except OSError as exc:  # a name longer than the system allows, and the like
        raise UsageError(f"--audit-key {desk.key_path}: {exc.strerror or exc}") from None
    if os.path.lexists(desk.key_path):
        # a file there that is no key is refused before anything is touched: it was chmod'ed
        # and the schema made before create_key refused it, and the next init then found a
        # schema without its key and refused for good
        audit.load_key(desk.key_path)
    made = ensure_database(store)
    files = secure_files(desk, sharing)
    if made:
        files.insert(0, made)
    before = store.schema_revision()
    if before is not None and not key_existed:
        raise UsageError(
            f"{store.display_name()} already has a schema but there is no audit key at "
            f"{desk.key_path}: point --audit-key at the key this database was created with"
        )
    audit.create_key(desk.key_path, sharing)  # before the schema, for the same reason
    migrate(store)
    if not key_existed:
        mode = file_modes.mode_text(os.stat(desk.key_path).st_mode)
        files.append(f"created audit key {desk.key_path} ({mode})")
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
    if policy is not None or not has_policy(desk):
        loaded = sla.load_policy(desk, policy or load_preset(DEFAULT_PRESET), require_lead=False)
        recomputed = loaded.recomputed
    in_force = current_policy(desk)
    return InitResult(
        policy=f"{in_force.name} ({in_force.digest})",
        recomputed=recomputed,
        revision_before=before,
        revision_after=store.schema_revision() or "",
        key_path=desk.key_path,
        key_created=not key_existed,
        admin_created=created,
        files=tuple(files),
    )
