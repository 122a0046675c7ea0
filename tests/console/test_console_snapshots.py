"""What the console looks like: the queue at 80x24 and 160x48, and the ticket screen.

The data, the clock (frozen at 2026-11-20 09:00 UTC), the time zone and the presence of a
second agent are fixed, so a changed picture means the screen changed. Update baselines with
`pytest tests/console/test_console_snapshots.py --snapshot-update` and look at them before
committing.

SLA countdowns at that instant (see tests/helpers/console.py): the queue view shows running,
warning (⚠) and breached (✖) clocks, the held and scheduled views paused ones (⏸).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from tests.helpers.console import DeskFixture, add_paused_ticket
from tests.helpers.screens import queue_ready as _queue_ready
from tests.helpers.screens import ticket_ready as _ticket_ready
from tests.helpers.settle import until, workers_done

SnapCompare = Callable[..., bool]
pytestmark = pytest.mark.usefixtures("utc")  # times on screen in UTC (the agent's zone)


def _pressing(*keys: str) -> Callable[[Pilot[Any]], Any]:
    """Settle, press `keys`, settle again."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _queue_ready(pilot)
        await pilot.press(*keys)
        app = pilot.app
        q = app.queue_screen() if isinstance(app, SupportDeskApp) else None
        assert q is not None
        await until(pilot, lambda: q.loaded_generation == q.generation and q.total is not None)
        await workers_done(app)
        await pilot.pause(0.2)

    return run_before


def test_queue_at_80x24(fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """The queue on a small terminal: letter priorities, a combined Who column, no preview,
    and one "Next due" column: #3 breached (✖ on magenta, unlike the red of critical), #5
    and #12 past a warning (⚠), the rest running."""
    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=(80, 24), run_before=_queue_ready)


def test_queue_at_160x48(fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """The queue with room: every column, "●ana" on #1, the preview of #4 below, and both
    clocks: respond met on #1 and #4, ⚠ on #5 and #12, ✖ on #3, the rest running."""
    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=(160, 48), run_before=_queue_ready)


def test_breaches_first_at_80x24(fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """`o`: breaches first (#3), then the least time left; the title bar says so."""
    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=(80, 24), run_before=_pressing("o"))


def test_held_view_at_160x48(fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """#9 awaits authorization: respond still runs (⚠, 1h left), resolve is paused (⏸ auth)."""
    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=(160, 48), run_before=_pressing("2"))


def test_scheduled_view_at_80x24(fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """Scheduled work: #13 paused (⏸ sched), #7 paused after its respond clock breached."""
    add_paused_ticket(fx)
    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=(80, 24), run_before=_pressing("4"))


def test_ticket_sla_panel_at_80x24(fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """Ticket #5 on a small terminal: respond past 75% with an hour left, due 12:00 SAST;
    two lines per clock, the latest clock change."""

    async def open_ticket_5(pilot: Pilot[Any]) -> None:
        await _queue_ready(pilot)
        await pilot.press("g", "5", "enter")
        await _ticket_ready(pilot)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=(80, 24), run_before=open_ticket_5)


def test_ticket_screen(fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """Ticket #1: facts, ana's presence, the SLA panel (respond met, resolve running, and
    the clock history) and a thread with a reply and an internal note."""

    async def open_ticket_1(pilot: Pilot[Any]) -> None:
        await _queue_ready(pilot)
        await pilot.press("down", "enter")
        await _ticket_ready(pilot)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=(120, 36), run_before=open_ticket_1)
