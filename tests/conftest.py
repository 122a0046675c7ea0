"""Shared fixtures: a fresh desk on a real SQLite file, or in a fresh PostgreSQL schema.

PostgreSQL tests skip with a visible reason when no server answers, unless
SUPPORTDESK_REQUIRE_POSTGRES=1 (CI sets it), in which case they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.services import directory, tickets
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store

PG_URL = os.environ.get("SUPPORTDESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("SUPPORTDESK_REQUIRE_POSTGRES") == "1"
FROZEN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # any failure means "not here"
        return f"PostgreSQL not reachable at {PG_URL}: {str(exc).splitlines()[0]}"


_PG_REASON: list[str | None] = []


def pg_reason() -> str | None:
    if not _PG_REASON:
        _PG_REASON.append(_pg_available())
    return _PG_REASON[0]


def need_postgres() -> None:
    reason = pg_reason()
    if reason:
        if REQUIRE_PG:
            pytest.fail(f"{reason} (SUPPORTDESK_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)


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


DeskFactory = Callable[..., Desk]


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


def new_ticket(
    desk: Desk, subject: str = "Site down", priority: str = "medium", **kw: object
) -> int:
    args: dict[str, object] = dict(
        account="bluefin", subject=subject, priority=priority, category="technical", channel="phone"
    )
    args.update(kw)
    return tickets.create(desk, **args)  # type: ignore[arg-type]


@pytest.fixture
def cli_env(desk: Desk, db_url: str, key_path: Path) -> dict[str, str]:
    """Environment for running the CLI as a process against the `desk` fixture's database."""
    env = dict(os.environ)
    env.update(SUPPORTDESK_DB=db_url, SUPPORTDESK_AUDIT_KEY=str(key_path), SUPPORTDESK_AGENT="lena")
    env.pop("SUPPORTDESK_NOW", None)
    return env
