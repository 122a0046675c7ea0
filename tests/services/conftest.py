"""Fixtures of the service tests, on SQLite and PostgreSQL (the `desk` and `make_desk` they
build on are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from supportdesk.core.desk import Desk
from supportdesk.models import Setting
from supportdesk.services import directory
from tests.helpers.desk import DeskFactory, Fx


@pytest.fixture
def fx(desk: Desk, make_desk: DeskFactory) -> Fx:
    """The `desk` fixture where anyone may write under a frozen clock, with two more staff
    (ben: engineer, tier 2; nomsa: agent, tier 1) and two more accounts on known servers
    (corvid's web on web-jnb-2; daisy's mail on web-cpt-14 and her shop on web-jnb-2), and
    a desk for anyone at T0 plus some minutes (tests/helpers/desk.py)."""
    with desk.write() as (session, _record):
        session.add(Setting(key="demo", value="1"))
    directory.add_staff(desk, "ben", "Ben Okafor", 2, "engineer")
    directory.add_staff(desk, "nomsa", "Nomsa Khumalo", 1, "agent")
    directory.add_account(desk, "corvid", "Corvid Labs", "gold")
    directory.add_service(desk, "corvid", "shared_hosting", "Web", ["corvid.example"], "web-jnb-2")
    directory.add_account(desk, "daisy", "Daisy Bakery", "gold")
    directory.add_service(desk, "daisy", "email", "Mail", ["daisy.example"], "web-cpt-14")
    directory.add_service(desk, "daisy", "shared_hosting", "Shop", ["shop.daisy"], "web-jnb-2")
    return Fx(desk, make_desk)
