"""Fixtures of the console tests: the fixed desk (tests/helpers/console.py) on a real SQLite
file with frozen clocks, the desks some modules build on it, and times shown in UTC.

`fx` is that desk as it is. A module that needs more names the desk it needs:
`escalation_fx` (escalations on it), `incident_fx` (a second server, for a second incident),
`outage_fx` (an outage in progress and a maintenance window, times in UTC) and `call_fx`
(what a phone call needs, times in UTC). Pictures need times in UTC: a module of snapshots
of `fx` or `escalation_fx` asks for `utc` (`pytestmark = pytest.mark.usefixtures("utc")`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from supportdesk.services import directory, incidents
from supportdesk.services.incidents import maintenance
from tests.helpers.call import CallFixture, add_call_needs
from tests.helpers.console import NOW, DeskFixture, make_desk_files, open_desk
from tests.helpers.escalation import add_escalations
from tests.helpers.templates import SqliteTemplates
from tests.helpers.tmux import Tmux


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times on screen in UTC: the agent's own zone (SUPPORTDESK_TZ, over the desk's) and the
    machine's."""
    monkeypatch.setenv("SUPPORTDESK_TZ", "UTC")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _copy(
    templates: SqliteTemplates, tmp_path: Path, name: str, extend: Callable[[DeskFixture], Any]
) -> tuple[DeskFixture, Any]:
    """The fixed desk made once per test process with `extend` run on it (what it returns
    comes along), copied into the test's folder; ana's console opened on the copy."""

    def build(folder: Path) -> Any:
        return extend(make_desk_files(folder))

    made = templates.copy(name, build, tmp_path)
    return open_desk(tmp_path), made


@pytest.fixture
def fx(tmp_path: Path, sqlite_templates: SqliteTemplates) -> DeskFixture:
    """The console's fixed desk: staff, four accounts, twelve tickets (tests/helpers/console.py)."""
    return _copy(sqlite_templates, tmp_path, "console", lambda fx: None)[0]


@pytest.fixture
def escalation_fx(tmp_path: Path, sqlite_templates: SqliteTemplates) -> DeskFixture:
    """The fixed desk with escalations on it (tests/helpers/escalation.py)."""
    return _copy(sqlite_templates, tmp_path, "console-escalation", add_escalations)[0]


def _second_server(fx: DeskFixture) -> None:
    directory.add_service(
        fx.desk_at("lena", 60 * 24), "daisy", "shared_hosting", "Shop", ["shop.daisy"], "web-22"
    )


@pytest.fixture
def incident_fx(tmp_path: Path, sqlite_templates: SqliteTemplates) -> DeskFixture:
    """The fixed desk and a second server, for a second incident (acme's shared hosting is on
    web-14; daisy's shop goes on web-22)."""
    return _copy(sqlite_templates, tmp_path, "console-incident", _second_server)[0]


def _outage(fx: DeskFixture) -> None:
    lead = fx.desk_at("lena", 60 * 24)
    directory.add_service(lead, "bluefin", "managed_server", "Web", ["bluefin.example"], "web-14")
    inc = incidents.open_incident(
        fx.desk_at("lena", 25),
        ["web-14"],
        "web-14 down: every site answers 502 Bad Gateway",
        owner="bo",
        cadence="30m",
        script=(
            "We know web-14 is down and our engineers are replacing a failed disk. You do not "
            "need to open a ticket; we will update you within 30 minutes."
        ),
    )
    incidents.link_ticket(fx.desk_at("ana", 20), inc.id, 4, call=False)
    incidents.link_ticket(fx.desk_at("ana", 15), inc.id, 1)
    incidents.log_call(fx.desk_at("ana", 12), inc.id, "bluefin", caller_name="Ola Berg")
    incidents.post_update(
        fx.desk_at("bo", 10), inc.id, "A failed disk on web-14; replacing it.", state="identified"
    )
    maintenance.add_window(
        fx.desk_at("bo", 60),
        ["web-14"],
        NOW + timedelta(days=1, hours=13),
        NOW + timedelta(days=1, hours=15),
        "Kernel upgrade on web-14: sites unreachable for up to 10 minutes",
    )


@pytest.fixture
def outage_fx(tmp_path: Path, utc: None, sqlite_templates: SqliteTemplates) -> DeskFixture:
    """The fixed desk during an outage of web-14 (acme's and now bluefin's server): opened
    25 minutes ago, owned by bo, two tickets and a call linked, one update; and a maintenance
    window on web-14 tomorrow afternoon."""
    return _copy(sqlite_templates, tmp_path, "console-outage", _outage)[0]


@pytest.fixture
def call_fx(tmp_path: Path, utc: None, sqlite_templates: SqliteTemplates) -> CallFixture:
    """The fixed desk with what a phone call needs (tests/helpers/call.py), times in UTC; the
    callers' PINs are made once per test process with the desk."""
    fx, pins = _copy(sqlite_templates, tmp_path, "console-call", add_call_needs)
    return CallFixture(fx, pins)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    """A private tmux server (its own socket), killed after the test."""
    t = Tmux()
    yield t
    t("kill-server")  # this test's own server only
