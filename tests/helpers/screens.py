"""Where a running console is: its queue screen, the rows it shows, the ticket on top."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.boards.sla import SlaBoardScreen
from supportdesk.console.screens.queue import QueueScreen
from supportdesk.console.screens.ticket import TicketScreen
from supportdesk.console.widgets.preview import TicketPreview
from supportdesk.console.widgets.ticket_view import ThreadEntry
from tests.helpers.settle import until, workers_done
from tests.helpers.toasts import toasts_cleared


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


async def queue_ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, SupportDeskApp)
    await until(pilot, lambda: app.queue_screen() is not None)
    q = app.queue_screen()
    assert q is not None
    await until(pilot, lambda: app.console_id is not None)
    await pilot.pause(0.6)  # our own presence write wakes the feed once
    # a lead's console says at start how many claims are stale (the fixture has two): the
    # pictures are of the screens, so that toast goes
    await until(pilot, lambda: app.stale_claims.loaded)
    await toasts_cleared(pilot)
    await until(pilot, lambda: q.loaded_generation == q.generation and q.total is not None)
    await workers_done(app)
    if q.preview_visible:
        preview = q.query_one(TicketPreview)
        await until(pilot, lambda: preview.detailed and len(q.query(ThreadEntry)) > 0)
    await workers_done(app)
    await pilot.pause(0.1)


async def ticket_ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await until(
        pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.ticket is not None
    )
    await workers_done(app)
    await pilot.pause(0.6)  # presence written, feed fired, ticket reloaded
    await workers_done(app)
    await pilot.pause(0.1)
    assert not isinstance(app.screen, QueueScreen)


async def board(pilot: Pilot[Any]) -> SlaBoardScreen:
    app = pilot.app
    assert isinstance(app, SupportDeskApp)
    await until(pilot, lambda: app.queue_screen() is not None and app.console_id is not None)
    await pilot.pause(0.6)
    await workers_done(app)
    await pilot.press("ctrl+l")
    await until(pilot, lambda: isinstance(app.screen, SlaBoardScreen))
    screen = app.screen
    assert isinstance(screen, SlaBoardScreen)
    await until(pilot, lambda: screen.board is not None and screen.figures is not None)
    await workers_done(app)
    await pilot.pause(0.3)
    return screen


async def board_quiet(pilot: Pilot[Any]) -> None:
    """The console's board, after the start-up toasts (stale claims) are read and cleared."""
    app = pilot.app
    await board(pilot)
    await pilot.pause(1.5)  # the watch list and notices are read a second after start
    await workers_done(app)
    await toasts_cleared(pilot)
    await pilot.pause(0.2)
