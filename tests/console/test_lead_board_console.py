"""The lead's SLA board in the console: what it shows, the drill-down, a breach from another
process reaching a running board (flash and one bell), presence, read-only mode, and
snapshots at 160x48 and 80x24, redacted and not."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.boards.sla import DrillScreen, SlaBoardScreen
from supportdesk.console.wall import WallApp
from supportdesk.console.widgets.queue_table import QueueTable
from supportdesk.services.reports import sla_board
from tests.helpers.console import NOW, DeskFixture
from tests.helpers.screens import board as _board
from tests.helpers.screens import board_quiet as _board_quiet
from tests.helpers.settle import until, workers_done

SnapCompare = Callable[..., bool]
pytestmark = pytest.mark.usefixtures("utc")  # times on screen in UTC (the agent's zone)


def _cli(fx: DeskFixture, *args: str, at: datetime = NOW) -> None:
    env = dict(os.environ, SUPPORTDESK_DB=str(fx.path), SUPPORTDESK_AUDIT_KEY=str(fx.key))
    p = subprocess.run(
        [sys.executable, "-m", "supportdesk", "--as", "lena", "--at", at.isoformat(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr


def test_board_shows_what_the_service_says(fx: DeskFixture) -> None:
    asyncio.run(_test_board_shows_what_the_service_says(fx))


async def _test_board_shows_what_the_service_says(fx: DeskFixture) -> None:
    expected = sla_board.snapshot(fx.desk)
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _board(pilot)
        assert screen.board is not None
        # the console itself makes lena present
        present = expected.headline.present + 1
        assert screen.board.headline == replace(expected.headline, present=present)
        urgent = screen.query_one("#lb-urgent", QueueTable)
        assert [r.id for r in urgent.rows_shown] == [u.row.id for u in expected.urgent]
        head = str(screen.query_one("#lb-head").render())
        assert f"✖ {expected.headline.breached} breached" in head


def test_an_agent_cannot_open_it(fx: DeskFixture) -> None:
    asyncio.run(_test_an_agent_cannot_open_it(fx))


async def _test_an_agent_cannot_open_it(fx: DeskFixture) -> None:
    from supportdesk.core.clock import Clock
    from supportdesk.core.desk import Desk
    from supportdesk.store import Store

    ana = Desk(Store(str(fx.path)), "ana", Clock(NOW), audit_key_path=fx.key)
    app = SupportDeskApp(ana)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.queue_screen() is not None, timeout=8.0)
        await pilot.press("ctrl+l")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, SlaBoardScreen)


def test_drill_down_lists_the_tickets_behind_a_figure(fx: DeskFixture) -> None:
    asyncio.run(_test_drill_down_lists_the_tickets_behind_a_figure(fx))


async def _test_drill_down_lists_the_tickets_behind_a_figure(fx: DeskFixture) -> None:
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        await _board(pilot)
        await pilot.press("d", "1", "enter")  # 1 = breached now
        await until(pilot, lambda: isinstance(app.screen, DrillScreen), timeout=8.0)
        drill = app.screen
        assert isinstance(drill, DrillScreen)
        table = drill.query_one(QueueTable)
        await until(pilot, lambda: len(table.rows_shown) > 0, timeout=8.0)
        assert [r.id for r in table.rows_shown] == [
            r.id for r in sla_board.drill(fx.desk, "breached")
        ]
        await pilot.press("enter")  # opens the first one
        await until(pilot, lambda: type(app.screen).__name__ == "TicketScreen", timeout=8.0)


def test_a_breach_from_another_process_flashes_and_rings_once(fx: DeskFixture) -> None:
    asyncio.run(_test_a_breach_from_another_process_flashes_and_rings_once(fx))


async def _test_a_breach_from_another_process_flashes_and_rings_once(fx: DeskFixture) -> None:
    """Another process records a critical call from yesterday that nobody answered (its
    respond clock is past due); the running board reloads, flashes the row and rings the
    bell once."""
    app = SupportDeskApp(fx.desk)
    rang: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        app.bell = lambda: rang.append(time.monotonic())  # type: ignore[method-assign]
        screen = await _board(pilot)
        assert screen._breached is not None and 13 not in screen._breached
        before = len(rang)
        _cli(
            fx,
            *("ticket", "new", "--account", "acme", "--subject", "web-14 down"),
            *("--priority", "critical", "--category", "infrastructure", "--channel", "phone"),
            at=NOW - timedelta(days=1),
        )
        await until(pilot, lambda: 13 in (screen._breached or set()), timeout=10)
        assert screen.alerts == [13]
        assert len(rang) - before == 1
        urgent = screen.query_one("#lb-urgent", QueueTable)
        assert "✖13" in str(urgent.get_cell("13", "id"))  # the flash


def test_away_after_a_while_without_keys(fx: DeskFixture) -> None:
    asyncio.run(_test_away_after_a_while_without_keys(fx))


async def _test_away_after_a_while_without_keys(fx: DeskFixture) -> None:
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.console_id is not None, timeout=8.0)
        app.presence.last_input -= 10_000
        app.presence.check_away()
        await workers_done(app)
        states = fx.desk.store.query("SELECT state FROM presence WHERE id = ?", (app.console_id,))
        assert states[0][0] == "away"
        await pilot.press("down")
        await workers_done(app)
        await pilot.pause(0.1)
        await workers_done(app)
        states = fx.desk.store.query("SELECT state FROM presence WHERE id = ?", (app.console_id,))
        assert states[0][0] == "available"


def test_read_only_board_binds_nothing_that_writes(fx: DeskFixture) -> None:
    asyncio.run(_test_read_only_board_binds_nothing_that_writes(fx))


async def _test_read_only_board_binds_nothing_that_writes(fx: DeskFixture) -> None:
    screen = SlaBoardScreen(read_only=True, redact=True)
    for action in ("reassign", "take_over", "unlock", "acknowledge", "drill"):
        assert screen.check_action(action, ()) is False
    assert SlaBoardScreen().check_action("reassign", ()) is True


async def _wall_ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, SlaBoardScreen), timeout=8.0)
    screen = app.screen
    assert isinstance(screen, SlaBoardScreen)
    await until(pilot, lambda: screen.board is not None and screen.figures is not None, timeout=8.0)
    await workers_done(app)
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
def test_board_snapshot(fx: DeskFixture, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """The board on the fixed desk: #3, #11 and #7 breached, due within the hour, paused
    clocks apart, people (ana, bo, lena), the figures."""
    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=size, run_before=_board_quiet)


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
def test_redacted_board_snapshot(
    fx: DeskFixture, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    """The wall display (`supportdesk serve --redact`): read-only, subjects and customers
    hidden."""
    app = WallApp(fx.desk, redact=True)
    assert snap_compare(app, terminal_size=size, run_before=_wall_ready)
