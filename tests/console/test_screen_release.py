"""A closed screen goes promptly (issue 17, item 1): its timers must not keep it alive until
their due time.

A stopped Textual interval timer leaves its cancelled asyncio sleep handle in the event loop's
heap until the handle's due time, and the handle keeps the context the timer was started in;
that context holds the screen (Textual's active message pump). A one-minute timer on the SLA
board kept every board closed in the last minute alive: 12 openings, 12 boards. Only the
once-a-second tick is left, so a closed board is gone a second or so after it closed.

Its thread workers kept a few more (3 after 16 openings): an idle pool thread kept the context
its last job ran in, where Textual's thread worker had set itself as the active worker, and
with it the worker's board. Each job now runs in a context of its own (console/base.py).
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.boards.sla import SlaBoardScreen
from supportdesk.console.screens.queue import QueueScreen
from supportdesk.console.screens.ticket import TicketScreen
from tests.helpers.console import DeskFixture
from tests.helpers.screens import window_landed
from tests.helpers.settle import settle, until, workers_done

OPENINGS = 16
SETTLE_S = 1.5  # longer than the one-second tick, far shorter than any screen's slow timer
LEFT = 1  # at most: a screen whose last tick handle has not come due yet


def alive(kind: type[Screen[Any]]) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, kind))


async def open_and_close(pilot: Pilot[None], app: SupportDeskApp, key: str, kind: type) -> None:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, kind), what=kind.__name__)
    await workers_done(app)
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, QueueScreen), what="the queue")
    await workers_done(app)


def count_left(fx: DeskFixture, key: str, kind: type[Screen[Any]]) -> int:
    left: list[int] = []

    async def main() -> None:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot, window_landed(app), what="the queue window")
            for _ in range(OPENINGS):
                await open_and_close(pilot, app, key, kind)
            await settle(pilot)
            await pilot.pause(SETTLE_S)
            left.append(alive(kind))

    asyncio.run(main())
    return left[0]


def test_closed_sla_boards_are_collected_promptly(fx: DeskFixture) -> None:
    assert count_left(fx, "ctrl+l", SlaBoardScreen) <= LEFT


def test_closed_tickets_are_collected_promptly(fx: DeskFixture) -> None:
    assert count_left(fx, "enter", TicketScreen) <= LEFT
