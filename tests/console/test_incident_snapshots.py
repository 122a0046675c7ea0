"""What an outage looks like, at 80x24 and 160x48: the banner over the queue (with the next
maintenance window under it) and the incident's own screen (script, linked tickets, updates,
affected accounts).

The desk, the clock (frozen at 2026-11-20 09:00 UTC) and the time zone are fixed, so a
changed picture means the screen changed. Update with
`pytest tests/console/test_incident_snapshots.py --snapshot-update` and look at the SVGs first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.incident import IncidentScreen
from supportdesk.console.screens.queue import QueueScreen
from supportdesk.console.widgets.incident_banner import AccountNotices
from supportdesk.console.widgets.preview import TicketPreview
from supportdesk.console.widgets.queue_table import QueueTable
from tests.helpers.console import DeskFixture
from tests.helpers.settle import until, workers_done
from tests.helpers.toasts import toasts_cleared

SnapCompare = Callable[..., bool]
SMALL, LARGE = (80, 24), (160, 48)


async def _started(pilot: Pilot[Any]) -> SupportDeskApp:
    app = pilot.app
    assert isinstance(app, SupportDeskApp)
    await until(
        pilot,
        lambda: isinstance(app.screen, QueueScreen) and app.incident_watch.loaded,
        10,
        "the console to start",
    )
    await until(
        pilot,
        lambda: app.console_id is not None and app.stale_claims.loaded,
        10,
        "presence and the claims read",
    )
    await workers_done(app)
    await pilot.pause(0.3)
    await workers_done(app)
    await toasts_cleared(pilot)
    await pilot.pause(0.1)
    return app


async def _queue(pilot: Pilot[Any]) -> None:
    app = await _started(pilot)
    queue = app.screen
    assert isinstance(queue, QueueScreen)
    table = queue.query_one(QueueTable)
    # the affected accounts marked (read after the incidents)
    await until(pilot, lambda: bool(table.marks), 10, "the affected accounts marked")
    if queue.preview_visible:  # the highlighted ticket's account: the incident first
        notices = queue.query_one(TicketPreview).query_one(AccountNotices)
        await until(pilot, lambda: bool(notices.incidents), 10, "the incident in the preview")
    await workers_done(app)
    await pilot.pause(0.3)
    await toasts_cleared(pilot)
    await pilot.pause(0.1)


async def _incident_screen(pilot: Pilot[Any]) -> None:
    app = await _started(pilot)
    await pilot.press("ctrl+n")
    await until(
        pilot,
        lambda: isinstance(app.screen, IncidentScreen) and app.screen.view is not None,
        10,
        "the incident screen",
    )
    await workers_done(app)
    await pilot.pause(0.2)
    await toasts_cleared(pilot)
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_banner_over_the_queue(
    outage_fx: DeskFixture, snap_compare: SnapCompare, size: tuple
) -> None:
    """Red: not acknowledged; the countdown to the next customer update; under it, the next
    maintenance window (the queue and the boards show it)."""
    assert snap_compare(SupportDeskApp(outage_fx.desk), terminal_size=size, run_before=_queue)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_incident_screen(outage_fx: DeskFixture, snap_compare: SnapCompare, size: tuple) -> None:
    """Title line, countdown and facts, the script in a box, linked tickets beside (wide) or
    above (narrow) the updates and affected accounts."""
    assert snap_compare(
        SupportDeskApp(outage_fx.desk), terminal_size=size, run_before=_incident_screen
    )
