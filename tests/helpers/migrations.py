"""Alembic run on a test's desk: a migration's tests take the schema down to the revision
before it, put rows there as that schema had them, and bring it up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import supportdesk
from supportdesk.core.desk import Desk


def migrate(desk: Desk, target: str, down: bool = False) -> None:
    """Upgrade (or, `down`, downgrade) the desk's schema to `target`, in one transaction."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(supportdesk.__file__).parent / "migrations"))
    with desk.store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, target)
