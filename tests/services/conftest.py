"""Fixtures of the service tests, on SQLite and PostgreSQL (the `desk` and `make_desk` they
build on are in tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from supportdesk.core.desk import Desk
from tests.helpers.desk import FX_DESK, T0, DeskFactory, Fx
from tests.helpers.smtp import Tls, with_mail
from tests.helpers.templates import DeskTemplate


@pytest.fixture
def fx_desk() -> DeskTemplate:
    """The desk `fx` starts as (its name tells tests/conftest.py's `db_url` to copy it)."""
    return FX_DESK


@pytest.fixture
def fx(desk: Desk, make_desk: DeskFactory, fx_desk: DeskTemplate) -> Fx:
    """The `desk` fixture where anyone may write under a frozen clock, with two more staff
    (ben: engineer, tier 2; nomsa: agent, tier 1) and two more accounts on known servers
    (corvid's web on web-jnb-2; daisy's mail on web-cpt-14 and her shop on web-jnb-2), and
    a desk for anyone at T0 plus some minutes (tests/helpers/desk.py). A copy of the desk
    `build_fx_desk` made once per test process."""
    return Fx(desk, make_desk)


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    """A test CA (trustme) and a server certificate for 127.0.0.1, for the SMTP tests."""
    return Tls.make(tmp_path)


@pytest.fixture
def at(make_desk: DeskFactory, desk: Desk) -> DeskFactory:
    """A desk for lena at T0 plus some minutes, the policy with [mail] loaded (the mail
    sender's tests)."""
    with_mail(desk)

    def make(minutes: float = 0) -> Desk:
        return make_desk("lena", T0 + timedelta(minutes=minutes))

    return make
