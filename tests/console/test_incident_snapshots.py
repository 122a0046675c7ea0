"""What an outage looks like, at 80x24 and 160x48: the banner over the queue (with the next
maintenance window under it) and the incident's own screen (script, linked tickets, updates,
affected accounts).

The desk, the clock (frozen at 2026-11-20 09:00 UTC) and the time zone are fixed, so a
changed picture means the screen changed. Update with
`pytest tests/test_incident_snapshots.py --snapshot-update` and look at the SVGs first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.incident import IncidentScreen
from supportdesk.console.screens.queue import QueueScreen
from supportdesk.console.widgets.incident_banner import AccountNotices
from supportdesk.console.widgets.preview import TicketPreview
from supportdesk.console.widgets.queue_table import QueueTable
from supportdesk.services import directory, incidents
from supportdesk.services.incidents import maintenance
from tests.helpers.console import NOW, DeskFixture, build_desk

SnapCompare = Callable[..., bool]
SMALL, LARGE = (80, 24), (160, 48)


@pytest.fixture
def fx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DeskFixture]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    fx = build_desk(tmp_path)
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
    yield fx
    monkeypatch.undo()
    time.tzset()


async def _settle(pilot: Pilot[Any]) -> SupportDeskApp:
    app = pilot.app
    assert isinstance(app, SupportDeskApp)
    deadline = time.monotonic() + 10
    while not (isinstance(app.screen, QueueScreen) and app.incident_watch.loaded):
        assert time.monotonic() < deadline, "the console did not start"
        await pilot.pause(0.05)
    while app.console_id is None or not app.stale_claims.loaded:
        assert time.monotonic() < deadline, "the console did not settle"
        await pilot.pause(0.05)
    await app.workers.wait_for_complete()
    await pilot.pause(0.3)
    await app.workers.wait_for_complete()
    app.clear_notifications()
    await pilot.pause(0.1)
    return app


async def _queue(pilot: Pilot[Any]) -> None:
    app = await _settle(pilot)
    queue = app.screen
    assert isinstance(queue, QueueScreen)
    table = queue.query_one(QueueTable)
    deadline = time.monotonic() + 10
    while not table.marks:  # the affected accounts marked (read after the incidents)
        assert time.monotonic() < deadline, "the queue did not mark the affected accounts"
        await pilot.pause(0.05)
    if queue.preview_visible:  # the highlighted ticket's account: the incident first
        notices = queue.query_one(TicketPreview).query_one(AccountNotices)
        while not notices.incidents:
            assert time.monotonic() < deadline, "the preview did not show the incident"
            await pilot.pause(0.05)
    await app.workers.wait_for_complete()
    await pilot.pause(0.3)
    app.clear_notifications()
    await pilot.pause(0.1)


async def _incident_screen(pilot: Pilot[Any]) -> None:
    app = await _settle(pilot)
    await pilot.press("ctrl+n")
    deadline = time.monotonic() + 10
    while not (isinstance(app.screen, IncidentScreen) and app.screen.view is not None):
        assert time.monotonic() < deadline, "the incident screen did not load"
        await pilot.pause(0.05)
    await app.workers.wait_for_complete()
    await pilot.pause(0.2)
    app.clear_notifications()
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_banner_over_the_queue(fx: DeskFixture, snap_compare: SnapCompare, size: tuple) -> None:
    """Red: not acknowledged; the countdown to the next customer update; under it, the next
    maintenance window (the queue and the boards show it)."""
    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=size, run_before=_queue)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_incident_screen(fx: DeskFixture, snap_compare: SnapCompare, size: tuple) -> None:
    """Title line, countdown and facts, the script in a box, linked tickets beside (wide) or
    above (narrow) the updates and affected accounts."""
    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=size, run_before=_incident_screen)
