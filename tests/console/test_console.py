"""The console driven like a user would (Textual Pilot) on a real SQLite file.

Includes the two promises the design makes about liveness: a ticket created by another
process appears by itself within a second or so, and an idle console runs no SQL at all.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from textual import events
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens import queue as queue_screen
from supportdesk.console.screens.modals import AskModal, ChoiceModal, HelpModal
from supportdesk.console.screens.queue import WINDOW, QueueScreen
from supportdesk.console.screens.ticket import TicketScreen
from supportdesk.console.widgets.queue_table import QueueTable
from supportdesk.console.widgets.ticket_view import MailEntry, ThreadEntry
from supportdesk.core import presence, queue
from supportdesk.core.queue import QueueFilter
from supportdesk.safe_text import ELLIPSIS
from supportdesk.services import tickets
from tests.helpers.console import NOW, QUEUE_ORDER, DeskFixture, build_desk
from tests.helpers.screens import ids, open_ticket_screen, queue_of, window_landed
from tests.helpers.settle import TIMING, settle, until

ROOT = Path(__file__).resolve().parents[2]

Scenario = Callable[[Pilot[None], SupportDeskApp], Awaitable[None]]


async def filter_to(pilot: Pilot[Any], app: SupportDeskApp, *keys: str) -> list[int]:
    await pilot.press(*keys)
    await settle(pilot, window_landed(app), what="the queue window")
    return ids(app)


def run(fx: DeskFixture, scenario: Scenario, size: tuple[int, int] = (120, 30)) -> None:
    async def main() -> None:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=size) as pilot:
            await settle(pilot, window_landed(app), what="the queue window")
            await scenario(pilot, app)

    asyncio.run(main())


# -- the queue ------------------------------------------------------------------------------
def test_queue_shows_tickets_in_priority_then_arrival_order(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        q = queue_of(app)
        assert ids(app) == QUEUE_ORDER
        await until(pilot, lambda: q.total == len(QUEUE_ORDER), what="total")
        table = app.screen.query_one(QueueTable)
        assert table.row_count == len(QUEUE_ORDER)
        assert table.cursor_row == 0

    run(fx, scenario)


def test_views_switch_rows(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        assert await filter_to(pilot, app, "2") == [9]  # held: awaiting authorization
        assert await filter_to(pilot, app, "3") == [11]  # waiting on the customer
        assert await filter_to(pilot, app, "4") == [7]  # scheduled
        assert await filter_to(pilot, app, "1") == QUEUE_ORDER

    run(fx, scenario)


def test_filters_tier_category_mine_unclaimed_change_rows(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        q = queue_of(app)
        assert await filter_to(pilot, app, "t") == [4, 1, 5, 10, 3, 12, 8]  # tier 1
        assert await filter_to(pilot, app, "t") == [6, 2]  # tier 2
        assert await filter_to(pilot, app, "t", "t") == QUEUE_ORDER  # tier 3 (none), then all
        assert q.filt.tier is None
        assert await filter_to(pilot, app, "c") == [1, 6, 3]  # technical
        assert await filter_to(pilot, app, "c") == [2, 10]  # billing
        assert await filter_to(pilot, app, "x") == QUEUE_ORDER
        assert await filter_to(pilot, app, "m") == [10]  # lena holds #10
        assert await filter_to(pilot, app, "u") == [4, 1, 2, 3, 12, 8]  # nobody holds these
        assert q.filt.mine is False  # mine and unclaimed exclude each other
        assert await filter_to(pilot, app, "u") == QUEUE_ORDER

    run(fx, scenario)


def test_search_box_filters_by_subject_account_and_number(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("slash")
        search = app.screen.query_one("#search", Input)
        assert search.has_focus
        await pilot.press(*"invoice")
        await until(pilot, lambda: ids(app) == [2], what="search result")
        search.value = "acme"
        await until(pilot, lambda: ids(app) == [4, 1], what="account search")
        search.value = "#12"
        await until(pilot, lambda: ids(app) == [12], what="number search")
        await pilot.press("enter")  # Enter in the box goes to the results, not a ticket
        assert app.screen.query_one(QueueTable).has_focus
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("x")
        await until(pilot, lambda: ids(app) == QUEUE_ORDER, what="cleared")
        assert search.value == ""

    run(fx, scenario)


def test_empty_view_says_so(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        assert await filter_to(pilot, app, "2", "t", "t") == []  # held at tier 2: nothing
        empty = app.screen.query_one("#empty")
        assert empty.display
        assert "Nothing in Held" in str(empty.render())

    run(fx, scenario)


def test_presence_marker_shows_who_else_has_a_ticket_open(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        row = next(r for r in queue_of(app).rows_for_test() if r.id == 1)
        assert row.open_by == ("ana",)
        table = app.screen.query_one(QueueTable)
        assert "●ana" in str(table.get_cell("1", "open"))
        # opening a ticket here tells the others: ana's queue now shows lena on #4
        await pilot.press("enter")
        await open_ticket_screen(pilot, app, 4)
        ana = fx.desk_at("ana")

        def lena_marked() -> bool:
            rows = queue.page(ana, QueueFilter()).rows
            return next(r for r in rows if r.id == 4).open_by == ("lena",)

        await until(pilot, lena_marked, what="presence of lena on #4")
        await pilot.press("escape")
        await until(pilot, lambda: not lena_marked(), what="presence cleared")

    run(fx, scenario, size=(120, 30))


# -- the ticket screen ----------------------------------------------------------------------
def test_enter_opens_ticket_and_a_typed_reply_lands_in_the_database(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        raised: list[str] = []  # every toast as raised (a loaded machine outlived its timeout)
        notify = app.notify

        def noting(message: str, *args: Any, **kwargs: Any) -> None:
            raised.append(str(message))
            notify(message, *args, **kwargs)

        app.notify = noting  # type: ignore[method-assign]
        await pilot.press("down")  # #1, the oldest high-priority ticket
        await pilot.press("enter")
        screen = await open_ticket_screen(pilot, app, 1)
        events = screen.ticket.events if screen.ticket else ()
        kinds = [e.kind for e in events if e.kind != "sla"]  # clock changes: the SLA panel's
        assert kinds == ["created", "reply", "note"]
        # the three events and the acknowledgement the desk mailed when #1 came in
        assert len(screen.query(ThreadEntry)) == 4 and len(screen.query(MailEntry)) == 1
        await pilot.press("r")
        await pilot.press(*"Fixed: PHP 8.3 is back on web-14.")
        await pilot.press("ctrl+s")
        view = fx.desk_at("lena")

        def landed() -> bool:
            return any(
                e.kind == "reply" and e.body == "Fixed: PHP 8.3 is back on web-14."
                for e in tickets.show(view, 1).events
            )

        await until(pilot, landed, what="reply in the database")
        await until(pilot, lambda: len(screen.query(ThreadEntry)) == 5, what="thread")
        assert not screen.query_one("#composer").display  # sent: the box goes away

        def told() -> list[str]:  # where the reply was queued, or why it was only recorded
            return [m for m in raised if "Reply on #1" in m]

        await until(pilot, lambda: bool(told()), what="the reply's toast")
        assert told()[0].startswith(("Reply on #1 queued to ", "Reply on #1 recorded; not"))
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)

    run(fx, scenario)


def test_g_and_a_number_opens_that_ticket(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("g")
        assert isinstance(app.screen, AskModal)
        await pilot.press("1", "2", "enter")
        screen = await open_ticket_screen(pilot, app, 12)
        assert screen.ticket is not None
        assert screen.ticket.subject == "Password reset for the hosting control panel"
        await pilot.press("g", "9", "enter")  # from the ticket screen too
        await open_ticket_screen(pilot, app, 9)
        await pilot.press("escape", "enter")  # #4, the top of the queue
        await open_ticket_screen(pilot, app, 4)
        await pilot.press("right_square_bracket")  # the next ticket in the queue: #1
        await open_ticket_screen(pilot, app, 1)
        await pilot.press("left_square_bracket")
        await open_ticket_screen(pilot, app, 4)

    run(fx, scenario)


def test_desk_errors_become_notifications_not_crashes(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("g", "5", "enter")  # held by ana
        await open_ticket_screen(pilot, app, 5)
        await pilot.press("t")
        await until(pilot, lambda: app.last_error is not None, what="error")
        assert app.last_error == "ticket #5 is held by ana"
        assert isinstance(app.screen, TicketScreen)  # still running, still there
        app.last_error = None
        await pilot.press("escape", "g", "9", "9", "9", "enter")  # no such ticket
        await until(pilot, lambda: app.last_error is not None, what="error")
        assert app.last_error == "no ticket #999"
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), what="back")
        assert ids(app) == QUEUE_ORDER

    run(fx, scenario)


def test_ticket_actions_priority_status_note_call_resolve_merge(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        view = fx.desk_at("lena")
        await pilot.press("g", "8", "enter")
        screen = await open_ticket_screen(pilot, app, 8)

        await pilot.press("p")
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press("h")
        await settle(pilot, lambda: tickets.show(view, 8).priority == "high", what="priority high")
        await pilot.press("n", *"Customer prefers Sunday 02:00", "ctrl+s")
        await settle(pilot, lambda: tickets.show(view, 8).events[-1].kind == "note", what="note")
        await pilot.press("c", "v")  # call: left a voicemail
        assert screen.compose_kind == "call"
        await pilot.press(*"Left a message about the window", "ctrl+s")
        await settle(
            pilot, lambda: tickets.show(view, 8).events[-1].call_outcome == "voicemail", what="call"
        )
        await pilot.press("s", "p")  # status: pending customer
        await settle(
            pilot, lambda: tickets.show(view, 8).status == "pending_customer", what="pending"
        )
        await pilot.press("s", "o")  # and back to open
        await settle(pilot, lambda: tickets.show(view, 8).status == "open", what="open")
        await pilot.press("d", "f")  # resolve: fixed
        await settle(pilot, lambda: tickets.show(view, 8).status == "resolved", what="resolved")
        assert tickets.show(view, 8).resolution_code == "fixed"
        await pilot.press("g", "2", "enter")
        await open_ticket_screen(pilot, app, 2)
        await pilot.press("m", "1", "0", "enter")  # both are bluefin's
        await settle(pilot, lambda: tickets.show(view, 2).merged_into == 10, what="merged")
        assert tickets.show(view, 2).status == "closed"

    run(fx, scenario)


def test_refused_reply_keeps_the_text(fx: DeskFixture) -> None:
    """A reply the service refuses stays in the box so nothing typed is lost."""

    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("g", "3", "enter")
        screen = await open_ticket_screen(pilot, app, 3)
        await pilot.press("r", "ctrl+s")  # empty reply: UsageError
        await until(pilot, lambda: app.last_error is not None, what="error")
        assert app.last_error == "a reply needs text"
        assert screen.query_one("#composer").display

    run(fx, scenario)


def test_a_half_written_reply_stays_with_its_ticket(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("enter")
        screen = await open_ticket_screen(pilot, app, 4)
        await pilot.press("r", *"Half a reply", "escape")  # Esc puts the box away, text kept
        assert not screen.query_one("#composer").display
        await pilot.press("right_square_bracket")
        await open_ticket_screen(pilot, app, 1)
        await pilot.press("r")
        assert screen.query_one("#composer-text", TextArea).text == ""  # not #4's words
        await pilot.press("escape", "left_square_bracket")
        await open_ticket_screen(pilot, app, 4)
        await pilot.press("r")
        assert screen.query_one("#composer-text", TextArea).text == "Half a reply"

    run(fx, scenario)


# -- keys -----------------------------------------------------------------------------------
def test_global_keys_work_while_the_search_box_has_focus(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("slash", "x", "question_mark")  # typed, not "clear" and "help"
        search = app.screen.query_one("#search", Input)
        assert search.has_focus
        assert search.value == "x?"
        await pilot.press("ctrl+g")
        assert isinstance(app.screen, AskModal)
        await pilot.press("escape")
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, HelpModal)
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)
        # the focus goes back to the search box after the modal closes: an escape before that
        # landed nowhere and the "x" was typed into the search (seen once, loaded)
        await until(pilot, lambda: search.has_focus, what="the search box's focus back")
        await pilot.press("escape", "x")  # back to the list, clear the search
        await until(pilot, lambda: ids(app) == QUEUE_ORDER, what="cleared")
        await pilot.press("enter")  # open #4, then ctrl+f: back to the search box
        await open_ticket_screen(pilot, app, 4)
        await pilot.press("r")  # even from the reply box
        await pilot.press("ctrl+f")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), what="queue")
        await pilot.pause(0.1)
        assert app.screen.query_one("#search", Input).has_focus

    run(fx, scenario)


def test_clear_drops_a_search_still_waiting_for_its_delay(
    fx: DeskFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search typed and cleared before its delay ran out (escape, x) stays cleared."""
    # wide, so that the keys below land inside it even on a loaded machine (were they slower,
    # the search would apply before x, and x would clear it: the test would prove nothing)
    delay = 3.0
    monkeypatch.setattr(queue_screen, "SEARCH_DELAY", delay)

    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        q = queue_of(app)
        search = q.query_one("#search", Input)
        await pilot.press("slash", "z", "z")
        await until(pilot, lambda: search.value == "zz", what="typed")
        await pilot.press("escape", "x")
        await until(pilot, lambda: search.value == "" and not search.has_focus, what="x")
        await pilot.pause(delay)  # the typed search's timer would have fired by now
        assert q.filt.search is None
        assert search.value == ""
        await until(pilot, lambda: ids(app) == QUEUE_ORDER, what="the whole queue")

    run(fx, scenario)


def test_keys_typed_in_a_burst_are_handled_in_order(fx: DeskFixture) -> None:
    """Arrows then Enter arriving in one read open the ticket the arrows reached."""

    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        for key in ("down", "down", "enter"):  # no pause between them, like a fast typist
            app.post_message(events.Key(key, "\r" if key == "enter" else None))
        await open_ticket_screen(pilot, app, 5)  # the third row, not the first
        await pilot.press("r")  # the reply box takes the focus
        for key in (*"typed fast", "ctrl+s"):  # then a burst: ctrl+s must come last
            character = " " if key == " " else (key if len(key) == 1 else None)
            app.post_message(events.Key("space" if key == " " else key, character))
        view = fx.desk_at("lena")
        await until(
            pilot,
            lambda: (
                [e.body for e in tickets.show(view, 5).events if e.kind == "reply"][-1:]
                == ["typed fast"]
            ),
            what="the whole reply sent",
        )

    run(fx, scenario)


def test_letters_read_with_the_key_that_moves_the_focus_follow_it(fx: DeskFixture) -> None:
    """`/` then `mail`, and on a ticket `r` then `thanks`, each read in one go (a busy console
    reads keys typed at 50 ms together): the letters land in the box the first key focused,
    not on the list or the thread, where `m` is "mine" and `t` "take"."""

    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        q = queue_of(app)
        for key in ("slash", *"mail"):  # one burst
            app.post_message(events.Key(key, "/" if key == "slash" else key))
        search = q.query_one("#search", Input)
        await until(pilot, lambda: search.value == "mail", what=f"the search ({search.value!r})")
        assert not q.filt.mine
        await pilot.press("escape", "x")
        await until(pilot, lambda: ids(app) == QUEUE_ORDER, what="cleared")
        await pilot.press("enter")  # the ticket the cursor is on
        await until(
            pilot,
            lambda: isinstance(app.screen, TicketScreen) and app.screen.ticket is not None,
            what="a ticket screen",
        )
        ticket = app.screen
        assert isinstance(ticket, TicketScreen) and ticket.ticket is not None
        shown = ticket.ticket.id
        holder = tickets.show(fx.desk_at("lena"), shown).holder
        for key in ("r", *"thanks"):
            app.post_message(events.Key(key, key))
        box = ticket.query_one(TextArea)
        await until(pilot, lambda: box.text == "thanks", what="the reply")
        assert app.screen is ticket
        assert tickets.show(fx.desk_at("lena"), shown).holder == holder  # `t` took nothing

    run(fx, scenario)


def test_help_lists_the_screens_keys(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpModal)
        described = {r.description for r in app.screen.rows}
        assert {"Open", "Tier", "Category", "Mine", "Unclaimed", "Go to #"} <= described
        assert "Quit" in described
        # the app's keys that a text box takes first say so; those that work while typing don't
        detail = {r.description: r.detail for r in app.screen.rows if r.is_global}
        assert detail["Templates (canned replies)"] == "not while typing"
        assert detail["Go to ticket # (anywhere)"] == ""
        await pilot.press("escape")
        await pilot.press("enter")
        await open_ticket_screen(pilot, app, 4)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpModal)
        described = {r.description for r in app.screen.rows}
        assert {"Reply", "Note", "Call", "Priority", "Status", "Take", "Resolve"} <= described

    run(fx, scenario)


def test_command_palette_runs_screen_actions(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"unclaimed")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot, window_landed(app), what="the queue window")
        q = queue_of(app)
        assert q.filt.unclaimed
        assert ids(app) == [4, 1, 2, 3, 12, 8]

    run(fx, scenario)


# -- layout ---------------------------------------------------------------------------------
def test_narrow_terminal_drops_columns_and_cuts_subjects_at_words(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        table = app.screen.query_one(QueueTable)
        keys = [c.key for c in table._columns]
        assert keys == ["id", "prio", "age", "account", "subject", "last", "next", "who"]
        assert not app.screen.query_one("#preview").display
        for row in queue_of(app).rows_for_test():
            cell = str(table.get_cell(str(row.id), "subject"))
            if cell != row.subject:
                assert cell.endswith(ELLIPSIS)
                kept = cell[: -len(ELLIPSIS)]
                assert row.subject.startswith(kept)
                assert row.subject[len(kept)] in " ,.;:-"  # a whole word was dropped

    run(fx, scenario, size=(80, 24))


def test_wide_terminal_shows_every_column_and_a_preview(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        table = app.screen.query_one(QueueTable)
        keys = [c.key for c in table._columns]
        assert {"channel", "tier", "holder", "open"} <= set(keys)
        preview = app.screen.query_one("#preview")
        assert preview.display
        await pilot.press("down")
        # #1's three events and its acknowledgement by e-mail
        await until(pilot, lambda: len(preview.query(ThreadEntry)) == 4, what="preview")

    run(fx, scenario, size=(160, 48))


# -- big queues ---------------------------------------------------------------------------
def test_the_table_holds_one_window_and_moves_it_with_the_cursor(tmp_path: Path) -> None:
    fx = build_desk(tmp_path)
    lena = fx.desk_at("lena")
    assert lena.clock.frozen_at is not None
    for i in range(520):  # one desk whose frozen clock steps back a minute per ticket
        lena.clock.frozen_at = NOW - timedelta(days=3, minutes=i)
        tickets.create(
            lena,
            account="corvid",
            subject=f"Bulk ticket {i}",
            priority="low",
            category="technical",
            channel="email",
        )
    expected = [r.id for r in queue.page(fx.desk, QueueFilter(), limit=1000).rows]

    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        q = queue_of(app)
        table = app.screen.query_one(QueueTable)

        def position() -> int:
            """Where the cursor is in the whole queue; also checks the window is a
            contiguous, in-order slice of it and never bigger than WINDOW."""
            window = [r.id for r in table.rows_shown]
            first = expected.index(window[0])
            assert window == expected[first : first + len(window)]
            assert table.row_count == len(window) <= WINDOW
            assert table.selected_row is not None
            return expected.index(table.selected_row.id)

        positions = [position()]
        while positions[-1] < len(expected) - 1:
            await pilot.press("pagedown")
            await until(pilot, lambda: not q._moving, what="window")
            positions.append(position())
            assert positions[-1] > positions[-2], "the cursor got stuck"
        assert q.has_more_before  # the top of the queue is no longer in the table
        while positions[-1] > 0:
            await pilot.press("pageup")
            await until(pilot, lambda: not q._moving, what="window")
            positions.append(position())
            assert positions[-1] < positions[-2], "the cursor got stuck"
        assert table.selected_row is not None
        assert table.selected_row.id == expected[0]

    run(fx, scenario, size=(100, 30))


# -- live -----------------------------------------------------------------------------------
CREATE_IN_ANOTHER_PROCESS = """
from datetime import timedelta
from supportdesk.services import tickets
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.store import Store
from tests.helpers.console import NOW
desk = Desk(Store({db!r}), "lena", Clock(NOW - timedelta(minutes=1)), audit_key_path={key!r})
print(tickets.create(desk, account="acme", subject="Mail server refuses all logins",
                     priority="critical", category="infrastructure", channel="phone"))
"""


@TIMING
def test_live_a_ticket_created_by_another_process_appears_by_itself(fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        table = app.screen.query_one(QueueTable)
        await pilot.press("down", "down")  # on #5
        await until(pilot, lambda: queue_of(app).selected_id == 5, what="cursor on #5")
        offset = table.cursor_row - int(table.scroll_y)
        code = textwrap.dedent(CREATE_IN_ANOTHER_PROCESS).format(db=str(fx.path), key=str(fx.key))
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        new_id = int(done.stdout.strip())
        started = time.monotonic()
        await until(pilot, lambda: new_id in ids(app), timeout=3.0, what="new ticket row")
        assert time.monotonic() - started < 2.0
        assert ids(app)[:2] == [4, new_id]  # critical, and younger than #4
        assert table.selected_row is not None
        assert table.selected_row.id == 5  # the cursor stayed on the same ticket
        assert table.cursor_row == 3
        assert table.cursor_row - int(table.scroll_y) == offset + 1 or table.scroll_y == 0

    run(fx, scenario)


REPLY_IN_ANOTHER_PROCESS = """
from supportdesk.services import tickets
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.store import Store
from tests.helpers.console import NOW
desk = Desk(Store({db!r}), "lena", Clock(NOW), audit_key_path={key!r})
tickets.reply(desk, 6, "We are looking at it now.")
"""


def test_live_a_reply_to_a_shown_ticket_updates_only_its_row(fx: DeskFixture) -> None:
    """The usual live reload (same tickets in the same order, one changed) rewrites that
    row's cells in place instead of rebuilding the window."""

    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        table = app.screen.query_one(QueueTable)
        await pilot.press("down", "down")
        await until(pilot, lambda: queue_of(app).selected_id == 5, what="cursor on #5")
        order = ids(app)
        before = str(table.get_cell("6", "last"))
        rebuilds: list[int] = []
        original_clear = table.clear

        def counting_clear(*args: Any, **kwargs: Any) -> Any:
            rebuilds.append(1)
            return original_clear(*args, **kwargs)

        table.clear = counting_clear  # type: ignore[method-assign]
        code = textwrap.dedent(REPLY_IN_ANOTHER_PROCESS).format(db=str(fx.path), key=str(fx.key))
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        await until(
            pilot,
            lambda: str(table.get_cell("6", "last")).startswith("staff"),
            timeout=3.0,
            what="row #6 shows the reply",
        )
        assert before.startswith("cust")
        assert ids(app) == order
        assert rebuilds == []  # changed in place
        assert table.selected_row is not None and table.selected_row.id == 5

    run(fx, scenario)


def test_idle_console_runs_no_sql(fx: DeskFixture) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await until(pilot, lambda: app.console_id is not None, what="console")
        await pilot.pause(1.0)  # our own presence write makes the feed fire once: let it
        await settle(pilot, window_landed(app), what="the queue window")
        q = queue_of(app)
        await until(pilot, lambda: not q.count_pending, what="trailing count")
        await until(pilot, lambda: not app.sla_watch.pending, what="trailing SLA watch read")
        await settle(pilot, window_landed(app), what="the queue window")
        assert len(app.sla_watch) > 0  # the SLA watch ticks too, from memory
        engine = fx.desk.store.engine
        plain_before = fx.desk.store.plain_statements  # the DBAPI read path, too
        assert plain_before > 0  # the queue was read through it
        event.listen(engine, "before_cursor_execute", count)
        try:
            await pilot.pause(2.2)  # two age and countdown ticks, eight feed polls
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert statements == []
        assert fx.desk.store.plain_statements == plain_before

    run(fx, scenario, size=(160, 48))


def test_quitting_ends_presence(fx: DeskFixture) -> None:
    async def main() -> str | None:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, window_landed(app), what="the queue window")
            await until(pilot, lambda: app.console_id is not None, what="console")
            await pilot.press("enter")
            await open_ticket_screen(pilot, app, 4)
            console = app.console_id
        return console

    console = asyncio.run(main())
    assert console is not None
    ana = fx.desk_at("ana")
    row = next(r for r in queue.page(ana, QueueFilter()).rows if r.id == 4)
    assert row.open_by == ()
    presence.end_console(ana, fx.ana_console)
