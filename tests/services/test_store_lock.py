"""SQLite writers take turns through a lock file beside the database; a writer that holds it
too long (a suspended process) makes the others fail with one line, not hang."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from supportdesk import store as store_module
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.errors import StoreError
from supportdesk.services import directory
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store


def test_a_writer_waits_its_turn_but_not_for_ever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "desk.db"
    store = Store(str(path))
    desk = Desk(store, "lena", Clock(), tmp_path / "key")
    init_database(desk, admin="lena")
    lock = str(path) + "-writer.lock"
    assert os.path.exists(lock)
    monkeypatch.setattr(store_module, "WRITER_WAIT_S", 0.3)
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process in the middle of a write
        with pytest.raises(StoreError, match="the database is busy"):
            directory.add_staff(desk, "amir", "Amir Patel", 1, "agent")
    finally:
        os.close(fd)
    assert not store.query("SELECT 1 FROM staff WHERE login = 'amir'")
    directory.add_staff(desk, "amir", "Amir Patel", 1, "agent")  # its turn has come
    assert store.query("SELECT 1 FROM staff WHERE login = 'amir'")
    store.dispose()
