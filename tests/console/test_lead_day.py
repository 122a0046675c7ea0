"""The lead's day on the SLA board (issue 16, items 1-3): what can still be saved comes first
and the list scrolls to every breach, saying how much it does not show; the board opens with
the list in hand, Home/End jump, the drill-down is picked in plain words and is as wide as the
screen; unlocking asks which contact and confirms, a complaint is acknowledged by choice (or
each), and reassigning picks from the people, warning about one who is not at their desk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.boards.sla import DrillScreen, SlaBoardScreen
from supportdesk.console.screens.modals import CHOICES_IN_VIEW, AskModal, ChoiceModal
from supportdesk.console.widgets.queue_table import QueueTable
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.services import directory, escalation, tickets
from supportdesk.services.callers import verification
from supportdesk.services.reports import sla_board
from supportdesk.store import Store
from tests.helpers.console import NOW, DeskFixture
from tests.helpers.settle import until, workers_done
from tests.helpers.toasts import toasts_cleared

SnapCompare = Callable[..., bool]
pytestmark = pytest.mark.usefixtures("utc")  # times on screen in UTC (the agent's zone)
BREACHES = 150  # more than the board's window (sla_board.URGENT_WINDOW)


def _add_breaches(fx: DeskFixture, n: int = BREACHES) -> None:
    """`n` critical tickets from days ago, nobody answered: breached, each a minute apart."""
    store = Store(str(fx.path))
    try:
        for i in range(n):
            when = NOW - timedelta(days=3, minutes=i)  # Tuesday, office hours
            desk = Desk(store, "lena", Clock(when), audit_key_path=fx.key)
            tickets.create(
                desk,
                account="corvid",
                subject=f"Old outage report {i}",
                priority="critical",
                category="infrastructure",
                channel="portal",
            )
    finally:
        store.dispose()


async def _board(pilot: Pilot[Any]) -> SlaBoardScreen:
    app = pilot.app
    assert isinstance(app, SupportDeskApp)
    await until(
        pilot, lambda: app.queue_screen() is not None and app.console_id is not None, timeout=8.0
    )
    await pilot.pause(0.6)
    await workers_done(app)
    await pilot.press("ctrl+l")
    await until(pilot, lambda: isinstance(app.screen, SlaBoardScreen), timeout=8.0)
    screen = app.screen
    assert isinstance(screen, SlaBoardScreen)
    await until(pilot, lambda: screen.board is not None and screen.figures is not None, timeout=8.0)
    await workers_done(app)
    await pilot.pause(0.3)
    return screen


def _urgent(screen: SlaBoardScreen) -> QueueTable:
    return screen.query_one("#lb-urgent", QueueTable)


def _every_urgent_id(desk: Desk) -> list[int]:
    """The whole list in the lead's order, window after window from the service."""
    page = sla_board.urgent_page(desk)
    ids = [u.row.id for u in page.rows]
    while page.more_after:
        last = page.rows[-1].row
        page = sla_board.urgent_page(desk, start_at=(last.sla_key, last.id))
        ids += [u.row.id for u in page.rows[1:]]
    return ids


# -- item 1: savable first, then the freshest breaches; all of them within reach ------------
def test_the_list_scrolls_to_every_ticket_and_says_what_it_does_not_show(
    fx: DeskFixture,
) -> None:
    _add_breaches(fx)
    asyncio.run(_scrolls_to_every_ticket(fx))


async def _scrolls_to_every_ticket(fx: DeskFixture) -> None:
    expected = _every_urgent_id(fx.desk)
    board = sla_board.snapshot(fx.desk)
    assert len(expected) == board.urgent_total > len(board.urgent)
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _board(pilot)
        table = _urgent(screen)
        assert [r.id for r in table.rows_shown] == expected[: len(table.rows_shown)]
        count = str(screen.query_one("#lb-urgent-count").render())
        hidden = len(expected) - len(table.rows_shown)
        assert f"{hidden} of {len(expected)} not shown" in count, count
        seen: list[int] = []
        for _ in range(len(expected) + 5):  # ↓ through the whole list, one row at a time
            row = table.selected_row
            assert row is not None
            if not seen or seen[-1] != row.id:
                seen.append(row.id)
            if row.id == expected[-1]:
                break
            await pilot.press("down")
            await until(pilot, lambda: not screen._moving, timeout=8.0)
        assert seen == expected
        assert f"{len(expected) - len(table.rows_shown)} of" in str(
            screen.query_one("#lb-urgent-count").render()
        )


def test_a_savable_ticket_that_breaches_moves_down_flashes_and_rings_once(
    fx: DeskFixture,
) -> None:
    asyncio.run(_savable_breaches(fx))


async def _savable_breaches(fx: DeskFixture) -> None:
    """#5 and #9 are due in an hour (savable, on top); the clock moves past it (as `--at`
    would): they breach, flash, the bell rings once, and they move down to the breaches,
    the freshest first, above #3; #12, due within the hour by then, is on top."""
    app = SupportDeskApp(fx.desk)
    rang: list[int] = []
    async with app.run_test(size=(160, 48)) as pilot:
        app.bell = lambda: rang.append(1)  # type: ignore[method-assign]
        screen = await _board(pilot)
        table = _urgent(screen)
        assert [r.id for r in table.rows_shown] == [5, 9, 3]
        before = len(rang)
        fx.desk.clock.frozen_at = NOW + timedelta(minutes=61)
        await until(pilot, lambda: {5, 9} <= set(screen.alerts), timeout=10.0)
        await until(pilot, lambda: [r.id for r in table.rows_shown] == [12, 9, 5, 3], timeout=10.0)
        await workers_done(app)
        assert str(screen.query_one("#lb-urgent-count").render()).startswith("1 savable")
        assert len(rang) - before == 1
        assert "✖5" in str(table.get_cell("5", "id"))  # still flashing after the reload


# -- item 2: focus, Home/End, the drill-down ---------------------------------------------------
def test_the_board_opens_with_the_list_in_hand_and_home_end_jump(fx: DeskFixture) -> None:
    _add_breaches(fx)
    asyncio.run(_home_end(fx))


async def _home_end(fx: DeskFixture) -> None:
    expected = _every_urgent_id(fx.desk)
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _board(pilot)
        table = _urgent(screen)
        assert app.focused is table  # ↓ ⏎ End work at once
        await pilot.press("down")
        assert table.cursor_row == 1
        await pilot.press("end")
        await until(pilot, lambda: not screen._moving and table.selected_row is not None)
        await workers_done(app)
        row = table.selected_row
        assert row is not None and row.id == expected[-1]  # the oldest breach, past the window
        await pilot.press("home", "end", "up", "up")  # typed ahead of the window: kept
        await until(pilot, lambda: not screen._moving)
        await workers_done(app)
        row = table.selected_row
        assert row is not None and row.id == expected[-3]
        await pilot.press("home")
        await until(pilot, lambda: not screen._moving)
        await workers_done(app)
        row = table.selected_row
        assert row is not None and row.id == expected[0]  # what can still be saved


def test_drill_down_is_picked_in_plain_words(fx: DeskFixture) -> None:
    asyncio.run(_drill_in_plain_words(fx))


async def _picker(pilot: Pilot[Any], key: str) -> ChoiceModal:
    """Press `key` on the board; the picker it opens, once it is on top."""
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, ChoiceModal))
    picker = pilot.app.screen
    assert isinstance(picker, ChoiceModal)
    return picker


async def _drill_in_plain_words(fx: DeskFixture) -> None:
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        await _board(pilot)
        picker = await _picker(pilot, "d")
        labels = [c.label for c in picker.choices]
        assert "Breached now" in labels and "What one person holds…" in labels
        assert not any(":" in label or "=" in label for label in labels)  # no key syntax
        await pilot.press("p")  # whose tickets: a list of people, not "person:LOGIN"
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal) and app.screen is not picker)
        people = app.screen
        assert isinstance(people, ChoiceModal)
        bo = next(c for c in people.choices if c.value == "person:bo")
        await pilot.press(bo.key)
        await until(pilot, lambda: isinstance(app.screen, DrillScreen))
        await workers_done(app)
        drill = app.screen
        assert isinstance(drill, DrillScreen)
        assert [r.id for r in drill.rows] == [r.id for r in sla_board.drill(fx.desk, "person:bo")]
        assert drill.query_one(".drill").region.width >= 150  # as wide as the screen


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
def test_drill_picker_snapshot(
    fx: DeskFixture, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    async def picker(pilot: Pilot[Any]) -> None:
        await _board(pilot)
        await pilot.pause(1.5)
        await workers_done(pilot.app)
        await toasts_cleared(pilot)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(pilot.app.screen, ChoiceModal))
        await pilot.pause(0.2)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=size, run_before=picker)


async def _board_still(pilot: Pilot[Any]) -> None:
    """The board behind a modal, at a known place: its body scrolled to the top (at 80x24
    the body scrolls, and the focus it takes when its rows land can leave it a few lines
    down or not, depending on when the layout settled)."""
    app = pilot.app
    await workers_done(app)
    await toasts_cleared(pilot)
    app.screen.query_one("#lb-body").scroll_home(animate=False)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
def test_drill_down_snapshot(
    fx: DeskFixture, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    async def drilled(pilot: Pilot[Any]) -> None:
        await _board(pilot)
        await pilot.pause(1.5)
        await _board_still(pilot)
        await pilot.press("d", "b")
        await until(pilot, lambda: isinstance(pilot.app.screen, DrillScreen))
        await workers_done(pilot.app)
        await pilot.pause(0.3)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=size, run_before=drilled)


# -- item 3: unlock, acknowledge, reassign -----------------------------------------------------
def _lock(fx: DeskFixture, account: str, email: str) -> None:
    """Five wrong PINs five minutes ago: the contact is locked for ten minutes more."""
    verification.set_pin(fx.desk_at("lena", 10), account, email)
    for bad in ("1111", "2222", "3333", "4444", "5555"):
        verification.verify(fx.desk_at("lena", 5), account, email, "phone", pin=bad)


def _locked(fx: DeskFixture) -> set[str]:
    return {c.name for c in sla_board.snapshot(fx.desk).attention.locked}


def test_unlock_asks_which_contact_and_confirms(fx: DeskFixture) -> None:
    _lock(fx, "acme", "jane@acme.example")
    _lock(fx, "bluefin", "ops@bluefin.example")
    assert _locked(fx) == {"Jane Doe", "Ola Berg"}
    asyncio.run(_unlock_the_chosen_one(fx))


async def _unlock_the_chosen_one(fx: DeskFixture) -> None:
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _board(pilot)
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        which = app.screen
        assert isinstance(which, ChoiceModal)
        assert len(which.choices) == 2
        ola = next(c for c in which.choices if "Ola Berg" in c.label)
        await pilot.press(ola.key)
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal) and app.screen is not which)
        confirm = app.screen
        assert isinstance(confirm, ChoiceModal) and "Ola Berg" in confirm.title_text
        await pilot.press("n")  # not yet: nothing is unlocked
        await until(pilot, lambda: app.screen is screen)
        await workers_done(app)
        assert _locked(fx) == {"Jane Doe", "Ola Berg"}
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        await pilot.press(ola.key)
        await until(
            pilot,
            lambda: isinstance(app.screen, ChoiceModal) and "Unlock " in app.screen.title_text,
        )
        await pilot.press("y")
        await until(pilot, lambda: app.screen is screen)
        await workers_done(app)
        assert _locked(fx) == {"Jane Doe"}  # the chosen one, not the first


def _complaints(fx: DeskFixture) -> list[int]:
    return [r.id for r in sla_board.snapshot(fx.desk).attention.complaints]


def test_acknowledge_the_chosen_complaint_or_each(fx: DeskFixture) -> None:
    escalation.to_supervisor(fx.desk_at("lena", 30), 2, reason="charged twice, third time")
    escalation.to_supervisor(fx.desk_at("lena", 20), 3, reason="nobody answered in a day")
    escalation.to_supervisor(fx.desk_at("lena", 10), 4, reason="the outage again")
    assert _complaints(fx) == [2, 3, 4]
    asyncio.run(_acknowledge(fx))


async def _acknowledge(fx: DeskFixture) -> None:
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _board(pilot)

        async def pick(value: str, note: str) -> None:
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
            which = app.screen
            assert isinstance(which, ChoiceModal)
            await pilot.press(next(c.key for c in which.choices if c.value == value))
            await until(pilot, lambda: isinstance(app.screen, AskModal))
            await pilot.press(*note, "enter")
            await until(pilot, lambda: app.screen is screen)
            await workers_done(app)
            await until(pilot, lambda: screen.board is not None, timeout=8.0)
            await workers_done(app)

        await pick("3", "called back")  # the second one, not the first
        assert _complaints(fx) == [2, 4]
        await pick("all", "spoke to both")
        assert _complaints(fx) == []


def test_reassign_picks_from_people_and_warns_about_one_who_is_off(fx: DeskFixture) -> None:
    asyncio.run(_reassign(fx))


async def _reassign(fx: DeskFixture) -> None:
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _board(pilot)
        row = _urgent(screen).selected_row
        assert row is not None and row.tier == 1
        before = tickets.show(fx.desk, row.id).holder

        async def pick_bo() -> ChoiceModal:
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
            people = app.screen
            assert isinstance(people, ChoiceModal)
            labels = {c.value: c.label for c in people.choices}
            assert "here" in labels["lena"] and "off" in labels["bo"]  # who is at their desk
            await pilot.press(next(c.key for c in people.choices if c.value == "bo"))
            await until(
                pilot, lambda: isinstance(app.screen, ChoiceModal) and app.screen is not people
            )
            warning = app.screen
            assert isinstance(warning, ChoiceModal)
            assert "⚠" in warning.title_text and "off" in warning.title_text
            return warning

        await pick_bo()
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen)
        await workers_done(app)
        assert tickets.show(fx.desk, row.id).holder == before
        await pick_bo()
        await pilot.press("y")
        await until(pilot, lambda: app.screen is screen)
        await workers_done(app)
        assert tickets.show(fx.desk, row.id).holder == "bo"


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
def test_reassign_picker_snapshot(
    fx: DeskFixture, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    async def picker(pilot: Pilot[Any]) -> None:
        await _board(pilot)
        await pilot.pause(1.5)
        await _board_still(pilot)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(pilot.app.screen, ChoiceModal))
        await pilot.pause(0.2)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=size, run_before=picker)


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
def test_unlock_confirmation_snapshot(
    fx: DeskFixture, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    _lock(fx, "acme", "jane@acme.example")
    _lock(fx, "bluefin", "ops@bluefin.example")

    async def confirming(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await _board(pilot)
        await pilot.pause(1.5)
        await _board_still(pilot)
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        which = app.screen
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal) and app.screen is not which)
        await pilot.pause(0.2)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=size, run_before=confirming)


def test_a_picker_with_more_people_than_it_shows_says_how_many_more(fx: DeskFixture) -> None:
    """Twelve people in view and nothing said of the rest (a new-user helper found six more
    only by scrolling): with more staff than rows, the hint counts them."""
    for i in range(15):
        directory.add_staff(fx.desk, f"extra{i:02d}", f"Extra Person {i:02d}", 1, "agent")

    async def main() -> tuple[int, str]:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(80, 24)) as pilot:
            await _board(pilot)
            people = await _picker(pilot, "r")
            hint = str(people.query_one(".dialog-hint", Static).render())
            return len(people.choices), hint

    n, hint = asyncio.run(main())
    assert n > CHOICES_IN_VIEW
    assert hint.startswith(f"{n} to choose from, {n - CHOICES_IN_VIEW} more below ↓"), hint
