"""Fixtures of the service tests, on SQLite and PostgreSQL (the `desk` and `make_desk` they
build on are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from supportdesk.core.desk import Desk
from supportdesk.models import Setting
from supportdesk.services import directory
from tests.helpers.desk import DeskFactory, Fx, build_shared_desk
from tests.helpers.templates import DeskTemplate


def build_fx_desk(lead: Desk) -> None:
    """`fx`'s desk: the shared desk, where anyone may write under a frozen clock, two more
    staff and two more accounts (see `fx`)."""
    build_shared_desk(lead)
    with lead.write() as (session, _record):
        session.add(Setting(key="demo", value="1"))
    directory.add_staff(lead, "ben", "Ben Okafor", 2, "engineer")
    directory.add_staff(lead, "nomsa", "Nomsa Khumalo", 1, "agent")
    directory.add_account(lead, "corvid", "Corvid Labs", "gold")
    directory.add_service(lead, "corvid", "shared_hosting", "Web", ["corvid.example"], "web-jnb-2")
    directory.add_account(lead, "daisy", "Daisy Bakery", "gold")
    directory.add_service(lead, "daisy", "email", "Mail", ["daisy.example"], "web-cpt-14")
    directory.add_service(lead, "daisy", "shared_hosting", "Shop", ["shop.daisy"], "web-jnb-2")


FX_DESK = DeskTemplate("services-fx", build_fx_desk)


@pytest.fixture
def desk_template(
    desk_template: DeskTemplate | None, request: pytest.FixtureRequest
) -> DeskTemplate | None:
    """`fx`'s desk when a test asks for `fx`, else what tests/conftest.py says."""
    return FX_DESK if "fx" in request.fixturenames else desk_template


@pytest.fixture
def fx(desk: Desk, make_desk: DeskFactory) -> Fx:
    """The `desk` fixture where anyone may write under a frozen clock, with two more staff
    (ben: engineer, tier 2; nomsa: agent, tier 1) and two more accounts on known servers
    (corvid's web on web-jnb-2; daisy's mail on web-cpt-14 and her shop on web-jnb-2), and
    a desk for anyone at T0 plus some minutes (tests/helpers/desk.py). A copy of the desk
    `build_fx_desk` made once per test process."""
    return Fx(desk, make_desk)
