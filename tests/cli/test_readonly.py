"""A read-only copy of a database can be read (issue 12): `--read-only` (or
SUPPORTDESK_READ_ONLY=1) on both databases, and on SQLite a file that cannot be written, or
one in a folder that cannot be written (where SQLite cannot make its WAL index), is found
so and opened through a `mode=ro` or `immutable=1` URI. Every write fails with one line
"the database is read-only: ..." and changes nothing.

These tests run as root here, and root ignores permission bits, so a read-only file is made
with `chattr +i` and a read-only folder with a read-only bind mount (a real EROFS); both need
privileges and skip with the reason where they are missing."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.errors import StoreError
from supportdesk.store import Store
from tests.helpers.cli import NEW_TICKET, one_line_error, run
from tests.helpers.desk import new_ticket


def _counts(desk: Desk) -> tuple[Any, ...]:
    q = desk.store.query
    return (
        q("SELECT count(*) FROM tickets"),
        q("SELECT count(*) FROM ticket_events"),
        q("SELECT count(*) FROM audit"),
    )


def test_read_only_flag_reads_and_refuses_every_write(cli_env: dict[str, str], desk: Desk) -> None:
    tid = new_ticket(desk, "Mail bouncing 550")
    before = _counts(desk)
    for env, flag in ((cli_env, ["--read-only"]), (dict(cli_env, SUPPORTDESK_READ_ONLY="1"), [])):
        q = run(env, *flag, "queue")
        assert q.returncode == 0, q.stderr
        assert "Mail bouncing 550" in q.stdout
        shown = run(env, *flag, "ticket", "show", str(tid))
        assert shown.returncode == 0 and "Mail bouncing 550" in shown.stdout
        for args in (NEW_TICKET, ("ticket", "note", str(tid), "a note")):
            p = run(env, *flag, *args)
            assert p.returncode == 1
            assert one_line_error(p) == (
                "supportdesk: the database is read-only: opened with --read-only; "
                "nothing was changed"
            )
    assert _counts(desk) == before


def _checkpointed_copy(desk: Desk, folder: Path) -> Path:
    """A copy of the desk's SQLite file as one would hand it over: WAL folded in."""
    desk.store.dispose()
    src = str(desk.store.target.sqlite_path)
    with sqlite3.connect(src) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    folder.mkdir()
    copy = folder / "copy.db"
    shutil.copyfile(src, copy)
    return copy


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a writable folder, the same folder bind-mounted read-only)."""
    source, view = tmp_path / "source", tmp_path / "view"
    view.mkdir()
    yield source, view
    if subprocess.run(["umount", str(view)], capture_output=True, check=False).returncode:
        # still busy (a file the test's threads opened is closing): detach it now, so no
        # mount outlives the test and pytest can remove its folder
        subprocess.run(["umount", "--lazy", str(view)], capture_output=True, check=False)


def _mount_read_only(source: Path, view: Path) -> None:
    for cmd in (
        ["mount", "--bind", str(source), str(view)],
        ["mount", "-o", "remount,ro,bind", str(view)],
    ):
        p = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if p.returncode != 0:
            subprocess.run(["umount", str(view)], capture_output=True, check=False)
            pytest.skip(f"cannot make a read-only bind mount here: {p.stderr.strip()}")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_copy_in_a_read_only_folder_is_read_not_written(
    cli_env: dict[str, str], desk: Desk, read_only_folder: tuple[Path, Path]
) -> None:
    source, view = read_only_folder
    tid = new_ticket(desk, "Disk full on web-cpt-14")
    _checkpointed_copy(desk, source)
    _mount_read_only(source, view)
    db = view / "copy.db"
    env = dict(cli_env, SUPPORTDESK_DB=str(db))
    store = Store(str(db))
    try:
        assert store.read_only_reason == f"{db} is read-only"  # EROFS binds root too
        assert store.query("SELECT subject FROM tickets WHERE id = ?", (tid,)) == [
            ("Disk full on web-cpt-14",)
        ]
        with pytest.raises(StoreError, match=r"^the database is read-only: "), store.write():
            pass
    finally:
        store.dispose()
    q = run(env, "queue")
    assert q.returncode == 0 and "Disk full on web-cpt-14" in q.stdout, q.stderr
    shown = run(env, "ticket", "show", str(tid), "--json")
    assert shown.returncode == 0, shown.stderr
    p = run(env, "ticket", "note", str(tid), "a note")
    assert p.returncode == 1
    assert one_line_error(p) == (
        f"supportdesk: the database is read-only: {db} is read-only; nothing was changed"
    )
    assert sorted(os.listdir(view)) == ["copy.db"]  # no WAL index, no lock file made


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_immutable_file_is_read_not_written(
    cli_env: dict[str, str], desk: Desk, tmp_path: Path
) -> None:
    tid = new_ticket(desk, "Backup failed")
    copy = _checkpointed_copy(desk, tmp_path / "copy")
    p = subprocess.run(["chattr", "+i", str(copy)], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        pytest.skip(f"chattr +i is not available here: {p.stderr.strip()}")
    try:
        env = dict(cli_env, SUPPORTDESK_DB=str(copy))
        q = run(env, "queue")
        assert q.returncode == 0 and "Backup failed" in q.stdout, q.stderr
        p2 = run(env, "ticket", "resolve", str(tid), "--code", "fixed")
        assert p2.returncode == 1
        assert one_line_error(p2).startswith(
            f"supportdesk: the database is read-only: {copy} is read-only"
        )
    finally:
        subprocess.run(["chattr", "-i", str(copy)], check=False)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_console_opens_a_read_only_copy(
    desk: Desk, read_only_folder: tuple[Path, Path], key_path: Path
) -> None:
    from supportdesk.console.app import SupportDeskApp
    from tests.helpers.screens import ids, window_landed
    from tests.helpers.settle import settle, workers_done

    tid = new_ticket(desk, "Console on a copy")
    source, view = read_only_folder
    _checkpointed_copy(desk, source)
    _mount_read_only(source, view)
    store = Store(str(view / "copy.db"))
    ro = Desk(store, "lena", Clock(), key_path)

    async def main() -> None:
        app = SupportDeskApp(ro)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot, window_landed(app), what="the queue window")
            assert ids(app) == [tid]
            await workers_done(app)
            assert app.console_id is None  # no presence row: nothing may be written

    try:
        asyncio.run(main())
    finally:
        store.dispose()
    assert sorted(os.listdir(view)) == ["copy.db"]
