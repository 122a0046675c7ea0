"""`supportdesk doctor`: who can read the desk's files, and whether the schema is current.

The database holds PIN hashes and customers' messages, the audit key lets its holder rewrite
the chain: a file or folder that others (neither the owner nor the group) can read, write or
list is a problem, with the chmod that fixes it. Group access is shown, not judged: a desk
may share one group (`init --group`). Reads file metadata and `alembic_version` only; it
creates nothing (it never opens a database file that is not there).
"""

from __future__ import annotations

import grp
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from supportdesk.core.views import JsonMixin
from supportdesk.errors import StoreError
from supportdesk.file_modes import mode_text, sqlite_files
from supportdesk.store import HEAD_REVISION, Store


@dataclass(frozen=True)
class FileCheck(JsonMixin):
    what: str  # "the database", "the audit key's folder"
    path: str
    exists: bool
    folder: bool = False
    mode: str | None = None  # "0600"
    owner: str | None = None
    group: str | None = None
    group_access: str = ""  # "read, write" ...
    others_access: str = ""
    problem: str | None = None  # one line with its fix


@dataclass(frozen=True)
class DoctorReport(JsonMixin):
    database: str
    kind: str  # sqlite | postgresql
    schema: str | None
    schema_expected: str
    files: tuple[FileCheck, ...]
    problems: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _name(lookup: object, number: int) -> str:
    try:
        return str(lookup(number)[0])  # type: ignore[operator]
    except (KeyError, OverflowError):
        return str(number)


def _access(bits: int, folder: bool) -> str:
    words = [
        ("list" if folder else "read", bits & 4),
        ("write", bits & 2),
        ("enter" if folder else "execute", bits & 1),
    ]
    return ", ".join(w for w, on in words if on)


def _fix(path: Path, mode: int, folder: bool) -> str:
    if folder and mode & stat.S_ISVTX:  # /tmp and the like: not ours to chmod
        return f"keep the desk in a folder of its own (mkdir -m 700 DIR), not in {path}"
    if folder:
        return f"run chmod {'2770' if mode & stat.S_ISGID else '700'} {path}"
    return f"run chmod {'660' if mode & 0o020 else '600'} {path}"


def _problem(what: str, path: Path, mode: int, folder: bool) -> str | None:
    """Others' read or write access; entering a folder (o+x alone) lets no one read."""
    if not mode & 0o006:
        return None
    readable = "world-listable" if folder else "world-readable"
    kind = readable if mode & 0o004 else "world-writable"
    return f"{kind}: {what} ({mode_text(mode)}) — {_fix(path, mode, folder)}"


def check_path(what: str, path: Path, folder: bool = False) -> FileCheck:
    try:
        st = path.stat()
    except FileNotFoundError:
        return FileCheck(what, str(path), False, folder)
    except OSError as exc:
        return FileCheck(what, str(path), True, folder, problem=f"cannot inspect {path}: {exc}")
    mode = stat.S_IMODE(st.st_mode)
    others = _access(mode & 0o007, folder)
    problem = _problem(what, path, mode, folder)
    return FileCheck(
        what,
        str(path),
        True,
        folder,
        mode_text(mode),
        _name(pwd.getpwuid, st.st_uid),
        _name(grp.getgrgid, st.st_gid),
        _access((mode >> 3) & 0o007, folder),
        others,
        problem,
    )


def examine(store: Store, key_path: Path) -> DoctorReport:
    """The desk's files and schema as they are now."""
    checks: list[FileCheck] = []
    problems: list[str] = []
    notes: list[str] = []
    schema: str | None = None
    db_path = store.target.sqlite_path
    readable = True
    if store.is_sqlite and db_path and not store.target.sqlite_uri:
        for what, file in sqlite_files(db_path):
            checks.append(check_path(what, file))
        checks.append(check_path("the database's folder", Path(db_path).parent, folder=True))
        if not checks[0].exists:
            problems.append(f"no database at {db_path}: run `supportdesk init`")
            readable = False
    elif store.is_sqlite:
        notes.append("an SQLite URI: its files' permissions are not checked")
    else:
        notes.append(
            "the database's permissions are the server's (PostgreSQL roles and pg_hba.conf); "
            "only the audit key is a file here"
        )
    checks.append(check_path("the audit key", key_path))
    checks.append(check_path("the audit key's folder", key_path.parent, folder=True))
    if not checks[-2].exists:
        problems.append(
            f"no audit key at {key_path}: point --audit-key at this database's key, or run "
            "`supportdesk init` for a new database"
        )
    problems += [c.problem for c in checks if c.problem]
    if readable:
        try:
            schema = store.schema_revision()
        except StoreError as exc:
            problems.append(f"cannot read the schema version: {exc}")
        else:
            if schema is None:
                problems.append(f"{store.display_name()} has no schema: run `supportdesk init`")
            elif schema != HEAD_REVISION:
                problems.append(
                    f"schema {schema}, this supportdesk needs {HEAD_REVISION}: run "
                    "`supportdesk init` to upgrade it"
                )
    return DoctorReport(
        store.display_name(),
        store.target.kind,
        schema,
        HEAD_REVISION,
        tuple(checks),
        tuple(problems),
        tuple(notes),
    )
