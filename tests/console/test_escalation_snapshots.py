"""What tier escalation looks like: the tier board at 160x48 and 80x24, and a ticket's
escalation history and handover at both sizes.

The data (tests/helpers/escalation.py), the clock (frozen at 2026-11-20 09:00 UTC) and the
time zone are fixed, so a changed picture means the screen changed. Update baselines with
`pytest tests/console/test_escalation_snapshots.py --snapshot-update` and look at them first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.boards.tier import TierBoardScreen
from supportdesk.console.screens.ticket import TicketScreen
from supportdesk.console.widgets.handover import HandoverPanel
from tests.helpers.console import DeskFixture
from tests.helpers.settle import until, workers_done
from tests.helpers.toasts import toasts_cleared

SnapCompare = Callable[..., bool]
pytestmark = pytest.mark.usefixtures("utc")  # times on screen in UTC (the agent's zone)


async def _started(pilot: Pilot[Any]) -> SupportDeskApp:
    """Past start-up: presence written, the notices and the watch list read, and the toasts
    they raised cleared (they come and go with time; the pictures are of the screens)."""
    app = pilot.app
    assert isinstance(app, SupportDeskApp)
    await until(pilot, lambda: app.queue_screen() is not None and app.console_id is not None)
    await until(pilot, lambda: app.notices.cursor is not None and app.stale_claims.loaded)
    await pilot.pause(0.6)  # our own writes (presence, notices seen) wake the feed once
    await workers_done(app)
    await toasts_cleared(pilot)
    return app


async def _board(pilot: Pilot[Any]) -> None:
    app = await _started(pilot)
    await pilot.press("ctrl+t")

    def ready() -> bool:
        s = app.screen
        return isinstance(s, TierBoardScreen) and s.board is not None

    await until(pilot, ready)
    await workers_done(app)
    await pilot.press("down")  # onto #1: the complaint, its reason and what was tried below
    await pilot.pause(0.3)
    await toasts_cleared(pilot)
    await pilot.pause(0.1)


def _ticket(*keys: str) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = await _started(pilot)
        await pilot.press("g", "1", "enter")
        await until(
            pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.ticket is not None
        )
        await pilot.press(*keys)
        screen = app.screen
        assert isinstance(screen, TicketScreen)
        panel = screen.query_one(HandoverPanel)
        await until(pilot, lambda: panel.brief is not None)
        await workers_done(app)
        await pilot.pause(0.6)  # presence written, feed fired, ticket reloaded
        await workers_done(app)
        await toasts_cleared(pilot)
        await pilot.pause(0.1)

    return run_before


def test_board_at_160x48(escalation_fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """lena's tier 2 board: her claim of #8, then #1 (⚑ complaint, high), #2 and #12
    unclaimed by priority, #11 waiting on the customer, bo's #6 STALE; every column, the
    selected #1's reason and what was tried under the table."""
    assert snap_compare(
        SupportDeskApp(escalation_fx.desk), terminal_size=(160, 48), run_before=_board
    )


def test_board_at_80x24(escalation_fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """The same board on a small terminal: one "Next due" column, no reason or escalator
    columns (the detail lines say them), subjects without accounts."""
    assert snap_compare(
        SupportDeskApp(escalation_fx.desk), terminal_size=(80, 24), run_before=_board
    )


def test_ticket_handover_at_160x48(escalation_fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """Ticket #1: escalation, claim, release and complaint in the thread, and the handover
    beside it (reported problem, the escalation with what was tried and its claim, the
    complaint, services and server, who may authorize, notes, #4 and #9 on web-14)."""
    assert snap_compare(
        SupportDeskApp(escalation_fx.desk), terminal_size=(160, 48), run_before=_ticket()
    )


def test_ticket_handover_at_80x24(escalation_fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """`h` on a small terminal: the handover in place of the thread, scrollable."""
    assert snap_compare(
        SupportDeskApp(escalation_fx.desk), terminal_size=(80, 24), run_before=_ticket("h")
    )
