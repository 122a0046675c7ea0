"""An 80x24 terminal, the size a headset agent's laptop split gives: typing a reply keeps the
thread it answers in view."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import TextArea

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.widgets.ticket_view import ThreadView
from tests.helpers.console import DeskFixture
from tests.helpers.screens import open_ticket_screen
from tests.helpers.settle import until, workers_done

pytestmark = pytest.mark.usefixtures("utc")


@pytest.mark.parametrize("kind", ["r", "n"])
def test_the_composer_leaves_the_thread_in_view_at_80x24(fx: DeskFixture, kind: str) -> None:
    async def main() -> None:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.queue_screen() is not None)
            await workers_done(app)
            await pilot.press("g", "1", "enter")
            screen = await open_ticket_screen(pilot, app, 1)
            await workers_done(app)
            facts, sla = screen.query_one("#ticket-facts"), screen.query_one("#ticket-sla")
            assert facts.display and sla.display
            await pilot.press(kind)
            await pilot.pause(0.1)
            thread = screen.query_one(ThreadView)
            box = screen.query_one("#composer-text", TextArea)
            assert box.has_focus
            # the facts and the SLA panel give way: the thread keeps 8 lines or more, and the
            # text box 6 or more (before: 1 line of thread at 80x24)
            assert not facts.display and not sla.display
            assert thread.size.height >= 8, thread.size
            assert box.size.height >= 6, box.size
            await pilot.press(*"Thanks, looking now")
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert facts.display and sla.display  # back when the composer hides
            await pilot.press(kind)
            assert box.text == "Thanks, looking now"  # the draft stayed

    asyncio.run(main())


def test_a_tall_terminal_keeps_the_facts_while_typing(fx: DeskFixture) -> None:
    async def main() -> None:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: app.queue_screen() is not None)
            await workers_done(app)
            await pilot.press("g", "1", "enter")
            screen = await open_ticket_screen(pilot, app, 1)
            await pilot.press("r")
            await pilot.pause(0.1)
            assert screen.query_one("#ticket-facts").display
            assert screen.query_one("#ticket-sla").display

    asyncio.run(main())
