"""The audit key file: outside the database, created by `init`, readable by its owner only
(or by the desk's group, `init --group`).

Kept apart from core.audit so that finding the key needs no SQLAlchemy import.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from supportdesk.errors import DeskError
from supportdesk.file_modes import PRIVATE, Sharing, create_file, make_dirs


class AuditKeyMissing(DeskError):
    """No audit key where one was expected."""


def default_key_path(db_display_name: str) -> Path:
    """Where `init` keeps the key for a database when no path is configured."""
    from platformdirs import user_config_dir

    digest = hashlib.sha256(db_display_name.encode()).hexdigest()[:16]
    return Path(user_config_dir("supportdesk", appauthor=False)) / "audit-keys" / f"{digest}.key"


def key_path_for(db_display_name: str, configured: str | None = None) -> Path:
    configured = configured or os.environ.get("SUPPORTDESK_AUDIT_KEY")
    if configured:
        return Path(configured).expanduser()
    return default_key_path(db_display_name)


def create_key(path: Path, sharing: Sharing = PRIVATE) -> bytes:
    """Create a new random key file, 0600 in folders 0700 that it creates (0640 / 2750
    shared with the desk's group), or read the one there (never overwrite one)."""
    if path.exists():
        return load_key(path)
    make_dirs(path.parent, sharing.key_dir_mode, sharing)
    key = secrets.token_bytes(32)
    if not create_file(path, sharing.key_mode, sharing, (key.hex() + "\n").encode()):
        return load_key(path)  # another init made it meanwhile
    return key


def load_key(path: Path) -> bytes:
    """The key in a key file: hex text of at least 16 bytes. The file is read with a limit
    and must be a regular file (a FIFO or /dev/zero would hang the read)."""
    from supportdesk.errors import UsageError
    from supportdesk.rules.limits import MAX_KEY_BYTES, read_bounded

    try:
        os.stat(path)
    except (OSError, ValueError) as exc:
        missing = isinstance(exc, FileNotFoundError)
    else:
        missing = False
    if missing:
        raise AuditKeyMissing(
            f"no audit key at {path}: run `supportdesk init` for this database, or point "
            "--audit-key / SUPPORTDESK_AUDIT_KEY at the key file"
        )
    try:
        data = read_bounded(path, "audit key", MAX_KEY_BYTES)
    except UsageError as exc:
        raise AuditKeyMissing(str(exc)) from None
    try:
        key = bytes.fromhex(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise AuditKeyMissing(f"audit key {path} is not a supportdesk key") from None
    if len(key) < 16:
        raise AuditKeyMissing(f"audit key {path} is too short")
    return key
