"""Shared fixtures: a fresh desk on a real SQLite file, or in a fresh PostgreSQL schema.

PostgreSQL tests skip with a visible reason when no server answers, unless
SUPPORTDESK_REQUIRE_POSTGRES=1 (CI sets it), in which case they fail (tests/helpers/postgres.py).
The helpers these fixtures share with the tests are in tests/helpers/.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.services import directory
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store
from tests.helpers.desk import DeskFactory
from tests.helpers.hostile import hostile_desk
from tests.helpers.postgres import PG_URL, need_postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    need_postgres()
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    plain = PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "desk.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.key"


@pytest.fixture
def make_desk(db_url: str, key_path: Path) -> Iterator[DeskFactory]:
    stores: list[Store] = []

    def make(login: str = "lena", at: datetime | None = None) -> Desk:
        store = Store(db_url)
        stores.append(store)
        return Desk(store, login, Clock(at), key_path)

    yield make
    for s in stores:
        s.dispose()


@pytest.fixture
def desk(make_desk: DeskFactory) -> Desk:
    """An initialised desk with lena (lead), amir (agent, tier 1), tomas (engineer, tier 2),
    una (engineer, tier 3), one account with a primary contact and a service."""
    lead = make_desk("lena")
    init_database(lead, admin="lena")
    directory.add_staff(lead, "amir", "Amir Patel", 1, "agent")
    directory.add_staff(lead, "tomas", "Tomas Berg", 2, "engineer")
    directory.add_staff(lead, "una", "Una Okafor", 3, "engineer")
    directory.add_account(lead, "bluefin", "Bluefin Media", "gold")
    directory.add_contact(
        lead, "bluefin", "Priya Naidoo", ["priya@bluefin.example"], ["+27 21 555 0101"], "primary"
    )
    directory.add_service(
        lead, "bluefin", "managed_server", "Web", ["bluefin.example"], "web-cpt-14"
    )
    return lead


@pytest.fixture
def cli_env(desk: Desk, db_url: str, key_path: Path) -> dict[str, str]:
    """Environment for running the CLI as a process against the `desk` fixture's database."""
    env = dict(os.environ)
    env.update(SUPPORTDESK_DB=db_url, SUPPORTDESK_AUDIT_KEY=str(key_path), SUPPORTDESK_AGENT="lena")
    env.pop("SUPPORTDESK_NOW", None)
    return env


@pytest.fixture
def evil(desk: Desk) -> dict[str, Any]:
    """The `desk` fixture with the hostile strings in every field the console and the CLI
    printers show (tests/helpers/hostile.py); the ids of what it made."""
    return hostile_desk(desk)
