"""The audit key file: outside the database, created by `init`, readable by its owner only.

Kept apart from services.audit so that finding the key needs no SQLAlchemy import.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from .errors import DeskError


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


def create_key(path: Path) -> bytes:
    """Create a new random key file readable only by its owner (never overwrite one)."""
    if path.exists():
        return load_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
    return key


def load_key(path: Path) -> bytes:
    """The key in a key file: hex text of at least 16 bytes. The file is read with a limit
    and must be a regular file (a FIFO or /dev/zero would hang the read)."""
    from .errors import UsageError
    from .limits import MAX_KEY_BYTES, read_bounded

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
