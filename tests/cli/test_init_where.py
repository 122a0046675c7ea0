"""Where a desk comes from: a read never creates a file or a folder, `init` makes the default
folder (0700) and, on PostgreSQL, the database itself when the role may, and otherwise says
the exact `createdb` command. Real processes, a real server."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.helpers.cli import one_line_error, run
from tests.helpers.postgres import ADMIN_URL, need_postgres, plain, url_of


def _home(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTDESK_", "XDG_"))}
    return env | {"HOME": str(tmp_path), "SUPPORTDESK_AGENT": "lena"}


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_read_creates_nothing_and_init_makes_the_default_folder(tmp_path: Path) -> None:
    env = _home(tmp_path)
    for args in (("queue",), ("ticket", "show", "1"), ("report", "sla"), ("doctor",)):
        p = run(env, *args)
        assert p.returncode != 0
        assert "run `supportdesk init`" in (p.stderr + p.stdout)
        assert _tree(tmp_path) == [], args  # not even the folder
    p = run(env, "init", "--admin", "lena")
    assert p.returncode == 0, p.stderr
    folder = tmp_path / ".local" / "share" / "supportdesk"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "desk.db").stat().st_mode) == 0o600
    p = run(env, "queue")
    assert p.returncode == 0, p.stderr


@pytest.fixture
def pg_name() -> object:
    need_postgres()
    name = f"sdt_init_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(plain(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _exists(name: str) -> bool:
    with psycopg.connect(plain(ADMIN_URL), autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )


def test_init_creates_a_missing_postgres_database(tmp_path: Path, pg_name: str) -> None:
    url = url_of(pg_name)
    env = _home(tmp_path) | {"SUPPORTDESK_DB": url}
    p = run(env, "queue")
    assert p.returncode == 1
    assert one_line_error(p) == (
        f'supportdesk: PostgreSQL has no database "{pg_name}": run `supportdesk init` to create it'
    )
    assert not _exists(pg_name)
    p = run(env, "init", "--admin", "lena")
    assert p.returncode == 0, p.stderr
    assert f'created PostgreSQL database "{pg_name}"' in p.stdout
    assert _exists(pg_name)
    p = run(env, "queue")
    assert p.returncode == 0, p.stderr
    p = run(env, "init")  # again: nothing to create
    assert p.returncode == 0 and "created PostgreSQL database" not in p.stdout


def test_a_role_that_may_not_create_is_told_the_createdb_command(
    tmp_path: Path, pg_name: str
) -> None:
    role = f"sdt_nocreate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN NOCREATEDB")
    try:
        url = url_of(pg_name).replace("://postgres@", f"://{role}@")
        assert role in url
        env = _home(tmp_path) | {"SUPPORTDESK_DB": url}
        p = run(env, "init", "--admin", "lena")
        assert p.returncode == 2
        line = one_line_error(p)
        assert f'role "{role}" may not create database "{pg_name}"' in line
        assert f"`createdb -h 127.0.0.1 -p 5432 -O {role} {pg_name}`" in line
        assert not _exists(pg_name)
        assert _tree(tmp_path) == []  # no audit key, no folder: nothing was made
    finally:
        with psycopg.connect(plain(ADMIN_URL), autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")
