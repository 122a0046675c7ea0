"""Who may read what supportdesk creates: files 0600 and folders 0700, or 0660 / 2770 for a
desk whose people share one group (`init --group`).

The database holds PIN hashes and customers' messages, the audit key lets its holder forge
the chain: neither is for every local user. Files are created with their final mode under a
umask that cannot widen it, and chmod'ed explicitly (a umask cannot narrow what an explicit
mode asks for, but an inherited ACL or a strange umask must not decide either). An existing
file is never loosened: only others' access is ever taken away from it. Plain `os` calls,
no database: the store uses it before SQLite opens a file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from supportdesk.errors import UsageError

PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700
SHARED_FILE, SHARED_DIR = 0o660, 0o2770  # setgid: files made inside get the desk's group
SHARED_KEY, SHARED_KEY_DIR = 0o640, 0o2750  # the desk reads the key; nobody rewrites it


@dataclass(frozen=True)
class Sharing:
    """Private to the OS user (gid None), or shared with one group."""

    gid: int | None = None
    group: str | None = None

    @property
    def file_mode(self) -> int:
        return SHARED_FILE if self.gid is not None else PRIVATE_FILE

    @property
    def dir_mode(self) -> int:
        return SHARED_DIR if self.gid is not None else PRIVATE_DIR

    @property
    def key_mode(self) -> int:
        return SHARED_KEY if self.gid is not None else PRIVATE_FILE

    @property
    def key_dir_mode(self) -> int:
        return SHARED_KEY_DIR if self.gid is not None else PRIVATE_DIR


PRIVATE = Sharing()


def sharing_for(group: str | None) -> Sharing:
    """`--group NAME` (or a numeric gid) as a Sharing; one line when there is no such group."""
    if group is None:
        return PRIVATE
    if not group.strip():  # `--group ""` (an unset shell variable) must not make a private desk
        raise UsageError("--group: give a group name or number")
    import grp

    try:
        entry = grp.getgrgid(int(group)) if group.isdigit() else grp.getgrnam(group)
    except (KeyError, OverflowError):
        raise UsageError(f"--group: no group {group!r} on this host") from None
    return Sharing(entry.gr_gid, entry.gr_name)


def sharing_of_folder(folder: Path) -> Sharing:
    """A file created in a setgid, group-writable folder (a shared desk's 2770) is shared with
    that folder's group; anywhere else it is private."""
    try:
        st = folder.stat()
    except OSError:
        return PRIVATE
    if st.st_mode & stat.S_ISGID and st.st_mode & stat.S_IWGRP:
        return Sharing(st.st_gid)
    return PRIVATE


@contextmanager
def umask_for(mode: int) -> Iterator[None]:
    """A umask that lets exactly `mode`'s permission bits through (0o077 for 0600)."""
    old = os.umask(0o777 & ~mode)
    try:
        yield
    finally:
        os.umask(old)


def _own(fd_or_path: int | Path, mode: int, gid: int | None) -> None:
    if isinstance(fd_or_path, int):
        if gid is not None:
            os.fchown(fd_or_path, -1, gid)
        os.fchmod(fd_or_path, mode)  # after chown: chown may clear the setgid bit
    else:
        if gid is not None:
            os.chown(fd_or_path, -1, gid)
        os.chmod(fd_or_path, mode)


def _group_error(path: Path, sharing: Sharing, exc: OSError) -> UsageError:
    return UsageError(
        f"cannot give {path} to group {sharing.group or sharing.gid}: {exc.strerror} "
        "(you must be a member of the group)"
    )


def make_dirs(path: Path, mode: int, sharing: Sharing = PRIVATE) -> list[Path]:
    """Create `path` and any missing parents with `mode`; the folders created, outermost
    first. Existing folders are left as they are."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    created = []
    with umask_for(mode & 0o777):
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:  # someone else made it meanwhile: not ours to chmod
                continue
            try:
                _own(folder, mode, sharing.gid)
            except PermissionError as exc:
                raise _group_error(folder, sharing, exc) from None
            created.append(folder)
    return created


def create_file(path: Path, mode: int, sharing: Sharing = PRIVATE, content: bytes = b"") -> bool:
    """Create `path` with `mode` (O_EXCL: never an existing file, never through a symlink);
    False when it already exists."""
    with umask_for(mode):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        except FileExistsError:
            return False
    try:
        try:
            _own(fd, mode, sharing.gid)
        except PermissionError as exc:
            raise _group_error(path, sharing, exc) from None
        if content:
            os.write(fd, content)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    return True


def mode_text(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def tighten(path: Path) -> tuple[str, str] | None:
    """Take others' access away from an existing file or folder (never add any); the modes
    before and after when something changed."""
    try:
        st = path.lstat()
    except OSError:
        return None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return None  # a symlink, a device (`--db /dev/null`), a FIFO: never the desk's to change
    if st.st_uid != os.geteuid() and os.geteuid() != 0:
        return None  # not ours to change (doctor reports it)
    old = stat.S_IMODE(st.st_mode)
    new = old & ~0o007
    if new == old:
        return None
    os.chmod(path, new)
    return mode_text(old), mode_text(new)


SQLITE_HEADER = b"SQLite format 3\x00"


def not_a_database(path: Path) -> str | None:
    """Why an existing `path` cannot be a desk's SQLite file (not a regular file, or a
    non-empty file without SQLite's header), or None: init must refuse it before it
    changes anything (as root, `init --db /etc/passwd` would otherwise chmod it)."""
    try:
        st = path.stat()
    except OSError:
        return None  # missing (created later) or unreadable (SQLite says so)
    if not stat.S_ISREG(st.st_mode):
        return "is a directory" if stat.S_ISDIR(st.st_mode) else "is not a regular file"
    if st.st_size == 0:
        return None
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError:
        return None
    return None if head == SQLITE_HEADER else "is not an SQLite database"


def sqlite_files(db_path: str) -> list[tuple[str, Path]]:
    """The files of one SQLite database, named for people."""
    return [
        ("the database", Path(db_path)),
        ("its write-ahead log", Path(db_path + "-wal")),
        ("its shared-memory index", Path(db_path + "-shm")),
        ("its writer lock", Path(db_path + "-writer.lock")),
    ]
