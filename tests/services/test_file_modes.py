"""Files only the desk can read (issue 12, finding 5): what supportdesk creates is 0600 in
folders 0700 (0660 / 2770 for a desk sharing one group), whatever the umask; init never
loosens an existing file and says what it tightened; `doctor` names what others can read.

File modes are SQLite's and the key's (PostgreSQL's are the server's): these run real
processes under umask 022 on real files; doctor also runs against PostgreSQL."""

from __future__ import annotations

import grp
import json
import os
import sqlite3
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from supportdesk.core.desk import Desk
from supportdesk.store import HEAD_REVISION
from tests.helpers.cli import one_line_error, run


def sd(env: dict[str, str], *args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    """The CLI as a user with the usual umask runs it."""
    return run(env, *args, umask=umask)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home_env(tmp_path: Path) -> dict[str, str]:
    """A user with a fresh home: supportdesk's default folders do not exist yet."""
    env = dict(os.environ, HOME=str(tmp_path / "home"), SUPPORTDESK_AGENT="lena")
    for key in ("SUPPORTDESK_DB", "SUPPORTDESK_AUDIT_KEY", "SUPPORTDESK_NOW"):
        env.pop(key, None)
    env.pop("XDG_DATA_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    return env


def test_init_under_umask_022_makes_0600_files_in_0700_folders(
    home_env: dict[str, str], tmp_path: Path
) -> None:
    p = sd(home_env, "init", "--admin", "lena")
    assert p.returncode == 0, p.stderr
    data = tmp_path / "home" / ".local" / "share" / "supportdesk"
    keys = tmp_path / "home" / ".config" / "supportdesk" / "audit-keys"
    db = data / "desk.db"
    (key,) = keys.iterdir()
    assert mode(db) == 0o600 and mode(key) == 0o600
    assert mode(data) == 0o700 and mode(keys) == 0o700 and mode(keys.parent) == 0o700
    assert mode(Path(str(db) + "-writer.lock")) == 0o600
    assert f"created {db} (0600)" in p.stdout and "(0600)" in p.stdout
    # the -wal and -shm appear with the first writes while a reader keeps the file open
    reader = sqlite3.connect(db)
    try:
        reader.execute("SELECT count(*) FROM tickets").fetchone()
        p = sd(home_env, "account", "add", "acme", "--company", "Acme", "--plan", "gold")
        assert p.returncode == 0, p.stderr
        for suffix in ("-wal", "-shm"):
            assert mode(Path(str(db) + suffix)) == 0o600, suffix
    finally:
        reader.close()


def test_a_command_on_a_missing_database_creates_no_file(home_env, tmp_path: Path) -> None:
    # it used to make an empty 0600 file (before SQLite would make a 0644 one); now only
    # init and demo create a database, so a typo'd --db leaves nothing behind
    fresh = tmp_path / "typo.db"
    p = sd(home_env, "--db", str(fresh), "queue")
    assert p.returncode == 1 and "supportdesk init" in one_line_error(p)
    assert not fresh.exists()


def test_demo_files_are_private(home_env: dict[str, str], tmp_path: Path) -> None:
    p = sd(home_env, "demo", "--tickets", "30", "--no-open")
    assert p.returncode == 0, p.stderr
    data = tmp_path / "home" / ".local" / "share" / "supportdesk"
    assert mode(data) == 0o700 and mode(data / "demo.db") == 0o600
    keys = tmp_path / "home" / ".config" / "supportdesk" / "audit-keys"
    assert mode(keys) == 0o700 and all(mode(k) == 0o600 for k in keys.iterdir())


def test_init_tightens_an_existing_world_readable_desk_and_says_so(
    home_env: dict[str, str], tmp_path: Path
) -> None:
    db, key = tmp_path / "desk.db", tmp_path / "k" / "audit.key"
    env = dict(home_env, SUPPORTDESK_DB=str(db), SUPPORTDESK_AUDIT_KEY=str(key))
    assert sd(env, "init", "--admin", "lena").returncode == 0
    assert mode(key.parent) == 0o700
    os.chmod(db, 0o644)
    os.chmod(key, 0o604)
    p = sd(env, "init")
    assert p.returncode == 0, p.stderr
    assert f"tightened the database {db}: 0644 -> 0640" in p.stdout
    assert f"tightened the audit key {key}: 0604 -> 0600" in p.stdout
    assert mode(db) == 0o640 and mode(key) == 0o600  # others lose access; nothing is added
    p = sd(env, "init")
    assert "tightened" not in p.stdout and mode(db) == 0o640


@pytest.fixture
def desk_group() -> Iterator[str]:
    """A group this user belongs to: a new one when root (groupadd), else the primary one."""
    if os.geteuid() != 0:
        yield grp.getgrgid(os.getgid()).gr_name
        return
    name = "sdt" + uuid.uuid4().hex[:8]
    subprocess.run(["groupadd", name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["groupdel", name], check=False, capture_output=True)


def test_group_desk_is_0660_in_setgid_2770_folders(
    home_env: dict[str, str], tmp_path: Path, desk_group: str
) -> None:
    gid = grp.getgrnam(desk_group).gr_gid
    db, key = tmp_path / "srv" / "desk" / "desk.db", tmp_path / "srv" / "keys" / "desk.key"
    env = dict(home_env, SUPPORTDESK_DB=str(db), SUPPORTDESK_AUDIT_KEY=str(key))
    p = sd(env, "init", "--group", desk_group, "--admin", "lena")
    assert p.returncode == 0, p.stderr
    assert mode(db.parent) == 0o2770 and db.parent.stat().st_gid == gid
    assert mode(db) == 0o660 and db.stat().st_gid == gid
    assert mode(key) == 0o640 and key.stat().st_gid == gid  # the group reads it, no more
    assert mode(key.parent) == 0o2750 and key.parent.stat().st_gid == gid
    reader = sqlite3.connect(db)
    try:
        reader.execute("SELECT count(*) FROM tickets").fetchone()
        p = sd(env, "account", "add", "acme", "--company", "Acme", "--plan", "gold")
        assert p.returncode == 0, p.stderr
        for suffix in ("-wal", "-shm", "-writer.lock"):
            f = Path(str(db) + suffix)
            assert mode(f) == 0o660 and f.stat().st_gid == gid, suffix
    finally:
        reader.close()
    p = sd(env, "doctor")
    assert p.returncode == 0, p.stdout + p.stderr


def test_group_refusals_are_one_line(
    home_env: dict[str, str], tmp_path: Path, desk_group: str
) -> None:
    db = tmp_path / "g" / "desk.db"
    p = sd(dict(home_env, SUPPORTDESK_DB=str(db)), "init", "--group", desk_group)
    assert p.returncode == 2 and "--audit-key" in one_line_error(p)
    assert not db.exists()
    env = dict(home_env, SUPPORTDESK_DB=str(db), SUPPORTDESK_AUDIT_KEY=str(tmp_path / "k"))
    p = sd(env, "init", "--group", "no-such-group-" + uuid.uuid4().hex[:6])
    assert p.returncode == 2 and "no group" in one_line_error(p)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    env = dict(env, SUPPORTDESK_DB=str(private / "desk.db"))
    p = sd(env, "init", "--group", desk_group)
    assert p.returncode == 2 and "is not shared with the group" in one_line_error(p)
    assert mode(private) == 0o700 and not (private / "desk.db").exists()  # nothing loosened


def test_group_init_never_loosens_an_existing_private_desk(
    home_env: dict[str, str], tmp_path: Path, desk_group: str
) -> None:
    gid = grp.getgrnam(desk_group).gr_gid
    folder = tmp_path / "srv"
    db, key = folder / "desk.db", tmp_path / "keys" / "desk.key"
    env = dict(home_env, SUPPORTDESK_DB=str(db), SUPPORTDESK_AUDIT_KEY=str(key))
    folder.mkdir()
    assert sd(env, "init", "--admin", "lena").returncode == 0  # a private desk first
    os.chown(folder, -1, gid)
    os.chmod(folder, 0o2770)
    p = sd(env, "init", "--group", desk_group)
    assert p.returncode == 0, p.stderr
    if db.stat().st_gid != gid:
        assert "not shared with" in p.stdout and "(not loosened)" in p.stdout
    assert mode(db) == 0o600 and mode(key) == 0o600


# -- doctor ---------------------------------------------------------------------------------
def test_doctor_passes_a_fresh_desk_and_flags_what_others_can_read(
    cli_env: dict[str, str], desk: Desk, db_url: str, key_path: Path
) -> None:
    p = sd(cli_env, "doctor", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout)
    assert report["ok"] and report["schema"] == report["schema_expected"] == HEAD_REVISION
    whats = {f["what"]: f for f in report["files"]}
    assert whats["the audit key"]["mode"] == "0600"
    if desk.store.is_sqlite:
        assert whats["the database"]["mode"] == "0600" and report["kind"] == "sqlite"
        os.chmod(db_url, 0o644)
        p = sd(cli_env, "doctor")
        assert p.returncode == 1
        assert f"problem: world-readable: the database (0644) — run chmod 600 {db_url}" in p.stdout
    else:
        assert "database" not in whats and report["kind"] == "postgresql"
        assert "permissions are the server's" in report["notes"][0]
    os.chmod(key_path, 0o644)
    os.chmod(key_path.parent, 0o755)
    p = sd(cli_env, "doctor", "--json")
    assert p.returncode == 1
    problems = json.loads(p.stdout)["problems"]
    assert f"world-readable: the audit key (0644) — run chmod 600 {key_path}" in problems
    assert any("world-listable: the audit key's folder (0755)" in x for x in problems)


def test_doctor_on_a_missing_database_creates_nothing(home_env, tmp_path: Path) -> None:
    db = tmp_path / "nothing.db"
    p = sd(dict(home_env, SUPPORTDESK_AUDIT_KEY=str(tmp_path / "k.key")), "--db", str(db), "doctor")
    assert p.returncode == 1
    assert f"no database at {db}" in p.stdout and "no audit key" in p.stdout
    assert not db.exists() and not (tmp_path / "k.key").exists()
