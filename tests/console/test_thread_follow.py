"""A ticket's thread follows its end: shown at its last entry once laid out, even when the
layout moves after the scroll (the scrollbar appears and the entries rewrap onto more lines,
the thread is shown while hidden), and a reader who scrolled up stays where they are when
the layout moves or new entries arrive.

The layout is moved on purpose here, after the thread has scrolled, instead of hoping a
loaded machine lays it out late (test_ticket_sla_panel_at_80x24 failed that way once)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from supportdesk.console.widgets.ticket_view import ThreadEntry, ThreadView, thread_items
from supportdesk.core.views import TicketView
from supportdesk.services import tickets
from tests.helpers.console import DeskFixture
from tests.helpers.settle import until

pytestmark = pytest.mark.usefixtures("utc")

WIDE, NARROW, HEIGHT = 70, 30, 8


class ThreadHarness(App[None]):
    """A thread alone, in a pane of a known size."""

    CSS = f"ThreadView {{ width: {WIDE}; height: {HEIGHT}; }}"

    def compose(self) -> ComposeResult:
        yield ThreadView(id="thread")


def _longest_thread(fx: DeskFixture) -> TicketView:
    """The fixture's ticket with the most thread entries, with a long entry added at its end
    (one that wraps onto more lines when the pane narrows); the customer's own words,
    markup and all, are shown as text."""
    shown = [tickets.show(fx.desk, n) for n in range(1, 13)]
    t = max(shown, key=lambda t: len(thread_items(t)))
    assert len(thread_items(t)) >= 3, "the fixture's longest thread"
    last = t.events[-1]
    words = "[bold]not bold[/bold] [/x] \x1b[31m " + "the site is down again " * 6
    tail = dataclasses.replace(
        last, id=last.id + 1000, kind="note", body=words, at=t.last_activity_at
    )
    return dataclasses.replace(t, events=(*t.events, tail))


async def _shown(pilot: Pilot[Any], thread: ThreadView, ticket: TicketView) -> None:
    now = ticket.last_activity_at
    thread.show(ticket, now)
    n = len(thread_items(ticket))
    await until(pilot, lambda: len(thread.query(ThreadEntry)) == n, what="entries")
    await pilot.pause(0.1)


async def _narrowed(pilot: Pilot[Any], thread: ThreadView) -> None:
    """The layout moves after the scroll: the entries rewrap onto more lines, scroll_y is
    left where it was."""
    before = thread.virtual_size.height
    thread.styles.width = NARROW
    await until(pilot, lambda: thread.virtual_size.height > before, what="the rewrap")
    await pilot.pause(0.1)


def _at_the_end(thread: ThreadView) -> bool:
    """Scrolled to the end, and the last entry's last line is on screen."""
    last = thread.query(ThreadEntry).last()
    return (
        thread.is_vertical_scroll_end
        and last.region.height > 0
        and last.region.bottom == thread.content_region.bottom
    )


@pytest.mark.parametrize("late", ["rewrapped", "shown while hidden"])
def test_a_thread_that_follows_ends_at_its_last_entry_once_laid_out(
    fx: DeskFixture, late: str
) -> None:
    ticket = _longest_thread(fx)

    async def main() -> None:
        app = ThreadHarness()
        async with app.run_test(size=(80, 24)) as pilot:
            thread = app.query_one(ThreadView)
            if late == "rewrapped":
                await _shown(pilot, thread, ticket)
                assert thread.max_scroll_y > 0 and thread.is_vertical_scroll_end
                await _narrowed(pilot, thread)
            else:
                thread.display = False  # e.g. the handover in its place on a narrow screen
                await _shown(pilot, thread, ticket)
                thread.display = True
                await until(pilot, lambda: thread.max_scroll_y > 0, what="the layout")
            await until(pilot, lambda: _at_the_end(thread), what="the end", timeout=2.0)
            # the ticket reloads (presence written, the change feed fires): still at the end
            await _shown(pilot, thread, ticket)
            await until(pilot, lambda: _at_the_end(thread), what="the end", timeout=2.0)
            assert thread.following

    asyncio.run(main())


def test_a_reader_who_scrolled_up_stays_put(fx: DeskFixture) -> None:
    full = _longest_thread(fx)
    earlier = dataclasses.replace(full, events=full.events[:-1])

    async def main() -> None:
        app = ThreadHarness()
        async with app.run_test(size=(80, 24)) as pilot:
            thread = app.query_one(ThreadView)
            await _shown(pilot, thread, earlier)
            assert thread.max_scroll_y > 0 and thread.is_vertical_scroll_end
            thread.scroll_up(animate=False)  # one line back up the thread
            await until(pilot, lambda: not thread.is_vertical_scroll_end, what="scrolled up")
            place = thread.scroll_y
            assert not thread.following
            await _narrowed(pilot, thread)  # the layout moves
            assert thread.scroll_y == place and not thread.is_vertical_scroll_end
            await _shown(pilot, thread, full)  # a new entry arrives
            assert thread.scroll_y == place and not thread.is_vertical_scroll_end
            # back at the end, the thread follows again
            thread.scroll_end(animate=False)
            await until(pilot, lambda: thread.is_vertical_scroll_end, what="the end")
            assert thread.following
            thread.styles.width = WIDE
            await until(pilot, lambda: thread.outer_size.width == WIDE, what="wide again")
            await until(pilot, lambda: _at_the_end(thread), what="the end", timeout=2.0)
            await _narrowed(pilot, thread)
            await until(pilot, lambda: _at_the_end(thread), what="the end", timeout=2.0)

    asyncio.run(main())
