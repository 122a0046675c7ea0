"""Where a running console is: its queue screen, the rows it shows, the ticket on top."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.queue import QueueScreen
from supportdesk.console.screens.ticket import TicketScreen
from tests.helpers.settle import until


def queue_of(app: SupportDeskApp) -> QueueScreen:
    screen = app.queue_screen()
    assert screen is not None
    return screen


def ids(app: SupportDeskApp) -> list[int]:
    return [r.id for r in queue_of(app).rows_for_test()]


def window_landed(app: SupportDeskApp) -> Callable[[], bool]:
    """The queue screen is up and its latest window has landed (settle on it: `await
    settle(pilot, window_landed(app), what="the queue window")`)."""

    def check() -> bool:
        q = app.queue_screen()
        return q is not None and q.loaded_generation == q.generation

    return check


async def open_ticket_screen(
    pilot: Pilot[Any], app: SupportDeskApp, ticket_id: int
) -> TicketScreen:
    await until(
        pilot,
        lambda: (
            isinstance(app.screen, TicketScreen)
            and app.screen.ticket is not None
            and app.screen.ticket.id == ticket_id
        ),
        what=f"ticket screen #{ticket_id}",
    )
    assert isinstance(app.screen, TicketScreen)
    return app.screen
