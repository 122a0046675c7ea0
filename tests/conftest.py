"""Shared fixtures: a fresh desk on a real SQLite file, or in PostgreSQL.

`db_url` is an empty database: a file in the test's folder, or a fresh schema in this test
process's PostgreSQL database. A test that asks for `desk` (directly or through another
fixture) gets instead a copy of a desk built once per test process (tests/helpers/templates.py):
the file and its audit key copied on SQLite, a database made from a template database on
PostgreSQL. Which desk is copied is the `desk_template` fixture's answer, which a folder's
conftest can name (tests/services/conftest.py does, for its `fx`).

PostgreSQL tests skip with a visible reason when no server answers, unless
SUPPORTDESK_REQUIRE_POSTGRES=1 (CI sets it), in which case they fail (tests/helpers/postgres.py).
The helpers these fixtures share with the tests are in tests/helpers/.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.store import Store
from tests.helpers.desk import SHARED_DESK, DeskFactory
from tests.helpers.hostile import HOSTILE_DESK, hostile_ids
from tests.helpers.order import long_first
from tests.helpers.postgres import (
    ADMIN_URL,
    OWNER,
    PG_URL,
    drop_worker_database,
    need_postgres,
    plain,
    url_of,
)
from tests.helpers.settle import quick_idle
from tests.helpers.templates import DeskTemplate, PostgresTemplates, SqliteTemplates

DB_FILE = "desk.db"
KEY_FILE = "audit.key"


# `-n auto`: two workers per core. The suite waits as well as computes (consoles idling until
# a worker's result lands, child processes, PostgreSQL's own processes): on two cores four
# workers ran it in 8.9-9.9 min against 11.7-13.2 at one per core, in clean-clone runs on a
# quiet machine. The tests that assert a latency run one after another in one worker
# (settle.TIMING) and count from the commit they wait for, not from a child's start.
WORKERS_PER_CORE = 2


@pytest.hookimpl(optionalhook=True)  # a run with `-p no:xdist` has no such hook
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    chosen = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")  # xdist's own override
    if chosen and chosen.isdigit():
        return int(chosen)
    return WORKERS_PER_CORE * len(os.sched_getaffinity(0))


def pytest_configure(config: pytest.Config) -> None:
    quick_idle()  # the pilot's wait after each key in 4 ms windows (tests/helpers/settle.py)


def pytest_sessionfinish(session: pytest.Session) -> None:
    drop_worker_database()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    long_first(items)  # under xdist, the long tests first (tests/helpers/order.py)


def _build_on(url: str, key: Path, template: DeskTemplate) -> None:
    store = Store(url)
    try:
        template.build(Desk(store, "lena", Clock(None), key))
    finally:
        store.dispose()  # a template database must have no connection left


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplates:
    return SqliteTemplates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="session")
def pg_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresTemplates]:
    need_postgres()
    templates = PostgresTemplates(
        plain(ADMIN_URL), url_of, tmp_path_factory.mktemp("pg-keys"), OWNER
    )
    try:
        yield templates
    finally:
        templates.close()


@pytest.fixture
def desk_template(request: pytest.FixtureRequest) -> DeskTemplate | None:
    """The desk a test's database starts as: the services' `fx` desk when the test asks for
    it (tests/services/conftest.py), else the hostile one for `evil`, else `desk`'s when it
    asks for that, else none."""
    names = request.fixturenames
    if "fx_desk" in names:
        return request.getfixturevalue("fx_desk")  # type: ignore[no-any-return]
    if "evil" in names:
        return HOSTILE_DESK
    return SHARED_DESK if "desk" in names else None


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema of this process's database,
    dropped afterwards."""
    need_postgres()
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(plain(PG_URL), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain(PG_URL), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    key_path: Path,
    desk_template: DeskTemplate | None,
) -> Iterator[str]:
    if desk_template is None:
        if request.param == "sqlite":
            yield str(tmp_path / DB_FILE)
        else:
            yield request.getfixturevalue("pg_url")
        return
    template = desk_template
    if request.param == "sqlite":
        templates: SqliteTemplates = request.getfixturevalue("sqlite_templates")
        templates.copy(
            template.name,
            lambda folder: _build_on(str(folder / DB_FILE), folder / KEY_FILE, template),
            tmp_path,
        )
        assert key_path == tmp_path / KEY_FILE
        yield str(tmp_path / DB_FILE)
        return
    pg: PostgresTemplates = request.getfixturevalue("pg_templates")
    url, key = pg.copy(template.name, lambda url, key: _build_on(url, key, template))
    shutil.copy2(key, key_path)
    try:
        yield url
    finally:
        pg.drop(url)


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / KEY_FILE


@pytest.fixture
def make_desk(db_url: str, key_path: Path) -> Iterator[DeskFactory]:
    stores: list[Store] = []

    def make(login: str = "lena", at: datetime | None = None) -> Desk:
        # the desks made before keep working, but their idle connections close: a test that
        # acts as twenty people at twenty moments would otherwise hold forty PostgreSQL
        # connections, and beside an eight-process race on the other worker that ran into
        # the server's limit of 100 ("too many clients")
        for s in stores:
            if not s.is_sqlite:
                s.dispose()
        store = Store(db_url)
        stores.append(store)
        return Desk(store, login, Clock(at), key_path)

    yield make
    for s in stores:
        s.dispose()


@pytest.fixture
def desk(make_desk: DeskFactory, desk_template: DeskTemplate | None) -> Desk:
    """An initialised desk with lena (lead), amir (agent, tier 1), tomas (engineer, tier 2),
    una (engineer, tier 3), one account with a primary contact and a service; a copy of one
    built once per test process (`db_url` copies it)."""
    assert desk_template is not None  # it is "desk" or a desk built on it
    return make_desk("lena")


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
    printers show (tests/helpers/hostile.py: a copy of HOSTILE_DESK); the ids of what
    `hostile_desk` made."""
    return hostile_ids(desk)
