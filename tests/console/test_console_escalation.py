"""Tier escalation in the console, driven like a user would (Textual Pilot) on a real SQLite
file: the tier board's sections and order, claiming (the next one and a chosen one),
releasing with a reason, escalating from the ticket screen (a reason is required), a lead's
take-over reaching the holder's running console as a notice, and stale claims.

The lead's take-over runs in a second process: a whole second console (headless) that
opens the board and presses `o`, while this process runs the holder's console.
"""

from __future__ import annotations

import asyncio
import io
import sys
import textwrap
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.boards.tier import TierBoardScreen
from supportdesk.console.screens.escalation_modals import EscalateModal, ReasonModal
from supportdesk.console.widgets.handover import HandoverPanel, handover_renderable
from supportdesk.console.widgets.ticket_view import ThreadEntry
from supportdesk.console.widgets.tier_board_table import Heading, TierBoardTable
from supportdesk.services import escalation, tickets
from tests.helpers.console import NOW, DeskFixture
from tests.helpers.escalation import (
    BOARD_ORDER,
    REASON_1,
    RELEASE_1,
    TRIED_1,
)
from tests.helpers.screens import open_ticket_screen, window_landed
from tests.helpers.settle import settle, until, workers_done

ROOT = Path(__file__).resolve().parents[2]


def run(
    fx: DeskFixture,
    scenario: Callable[[Pilot[None], SupportDeskApp], Any],
    size: tuple[int, int] = (160, 48),
    login: str = "lena",
) -> None:
    desk = fx.desk if login == "lena" else fx.desk_at(login)

    async def main() -> None:
        app = SupportDeskApp(desk)
        async with app.run_test(size=size) as pilot:
            await settle(pilot, window_landed(app), what="the queue window")
            await scenario(pilot, app)

    asyncio.run(main())


async def board_ready(
    pilot: Pilot[Any], app: SupportDeskApp, tier: int | None = None
) -> TierBoardScreen:
    """The board on top, its latest read shown (of `tier`, when given), nothing in flight."""

    def ready() -> bool:
        screen = app.screen
        return (
            isinstance(screen, TierBoardScreen)
            and screen.board is not None
            and screen.loaded_generation == screen.generation
            and (tier is None or screen.board.tier == tier)
        )

    await settle(pilot, ready, what="the board")
    screen = app.screen
    assert isinstance(screen, TierBoardScreen)
    return screen


async def loads_after(pilot: Pilot[Any], board: TierBoardScreen, loads: int, what: str) -> None:
    await settle(pilot, lambda: board.loads > loads, what=what)


async def select(pilot: Pilot[Any], board: TierBoardScreen, ticket_id: int) -> None:
    """Move the cursor with the arrow keys until it is on `ticket_id`."""
    ids = board.query_one(TierBoardTable).ticket_ids()
    assert ticket_id in ids
    for _ in range(len(board.query_one(TierBoardTable).items)):
        current = board.selected_id()
        if current == ticket_id:
            return
        assert current is not None
        await pilot.press("down" if ids.index(ticket_id) > ids.index(current) else "up")
    assert board.selected_id() == ticket_id


# -- the board ------------------------------------------------------------------------------
def test_board_sections_in_order_for_a_lead(escalation_fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("b")  # from the queue
        board = await board_ready(pilot, app, 2)  # a lead starts on tier 2
        assert board.sections_for_test() == BOARD_ORDER
        items = board.query_one(TierBoardTable).items
        headings = [i.section for i in items if isinstance(i, Heading)]
        assert headings == ["mine", "unclaimed", "waiting", "others"]
        assert board.selected_id() == 8  # the cursor starts on a ticket, not a heading
        header = board.header_text(escalation_fx.desk.now()).plain
        assert "3 unclaimed" in header and "1 waiting" in header
        assert "working on 2/5" in header  # tier 2 and #10 at tier 1 and "oldest wait 2h" in header
        await pilot.press("3")
        board = await board_ready(pilot, app, 3)
        assert board.sections_for_test() == {}
        await pilot.press("1")
        board = await board_ready(pilot, app, 1)
        assert board.sections_for_test()["mine"] == [10]  # lena holds #10 at tier 1
        assert board.sections_for_test()["others"] == [5]  # ana's, stale

    run(escalation_fx, scenario)


def test_an_engineer_sees_their_tier_and_no_claims_of_others(escalation_fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("ctrl+t")  # from anywhere
        board = await board_ready(pilot, app, 2)
        assert board.sections_for_test() == {
            "mine": [6],
            "unclaimed": [1, 2, 12],
            "waiting": [11],
        }
        assert board.visible_tiers == (1, 2)
        await pilot.press("3")  # not bo's to see: nothing happens
        await pilot.pause(0.1)
        assert board.tier == 2
        await pilot.press("escape")
        assert not isinstance(app.screen, TierBoardScreen)

    run(escalation_fx, scenario, login="bo")


def test_claim_next_takes_the_top_of_the_board(escalation_fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("ctrl+t")
        board = await board_ready(pilot, app, 2)
        loads = board.loads
        await pilot.press("n")
        await loads_after(pilot, board, loads, "the board after the claim")
        view = escalation_fx.desk_at("lena")
        assert tickets.show(view, 1).holder == "bo"  # #1: high, the top of the unclaimed
        assert board.sections_for_test()["mine"] == [1, 6]  # by priority
        assert board.sections_for_test()["unclaimed"] == [2, 12]
        assert board.selected_id() == 1  # the cursor follows the claimed ticket

    run(escalation_fx, scenario, login="bo")


def test_a_ticket_someone_else_claims_leaves_the_leads_cursor_in_place(
    escalation_fx: DeskFixture,
) -> None:
    """The lead watches the unclaimed list: when bo claims the highlighted ticket it moves
    down to "others", and the cursor stays where it was, on the ticket that moved up."""

    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("b")
        board = await board_ready(pilot, app, 2)
        await select(pilot, board, 1)
        loads = board.loads
        tickets.claim(escalation_fx.desk_at("bo"), 1)  # another connection: seen through the feed
        await loads_after(pilot, board, loads, "the board after bo's claim")
        assert board.sections_for_test()["others"] == [6, 1]
        assert board.sections_for_test()["unclaimed"] == [2, 12]
        assert board.selected_id() == 2

    run(escalation_fx, scenario)


def test_claim_selected_and_release_with_a_reason(escalation_fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        view = escalation_fx.desk_at("lena")
        await pilot.press("ctrl+t")
        board = await board_ready(pilot, app, 2)
        await select(pilot, board, 12)
        loads = board.loads
        await pilot.press("c")
        await loads_after(pilot, board, loads, "the board after the claim")
        assert tickets.show(view, 12).holder == "bo"
        assert board.sections_for_test()["mine"] == [6, 12]
        assert board.selected_id() == 12
        await pilot.press("r")
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("enter")  # no reason: refused in the form
        assert isinstance(app.screen, ReasonModal) and app.screen.refused
        await pilot.press(*"Needs the storage team")
        loads = board.loads
        await pilot.press("enter")
        await loads_after(pilot, board, loads, "the board after the release")
        assert tickets.show(view, 12).holder is None
        last = tickets.show(view, 12).events[-1]
        assert (last.kind, last.old_value, last.body) == ("holder", "bo", "Needs the storage team")
        assert board.sections_for_test()["unclaimed"] == [1, 2, 12]

    run(escalation_fx, scenario, login="bo")


def test_end_of_shift_keeps_the_waiting_ones_unless_everything(escalation_fx: DeskFixture) -> None:
    """bo holds #6 (open) and #12 (waiting on the customer): `e` hands over #6 only, with the
    note the next person reads in the brief; `E` hands over the rest."""
    bo = escalation_fx.desk_at("bo")
    tickets.claim(bo, 12)
    tickets.update_fields(bo, 12, status="pending_customer")

    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        view = escalation_fx.desk_at("lena")
        await pilot.press("ctrl+t")
        await board_ready(pilot, app, 2)
        await pilot.press("e")
        assert isinstance(app.screen, ReasonModal)
        assert "waiting and scheduled stay yours" in app.screen.title_text
        await pilot.press(*"php-fpm fixed, watching", "enter")
        await settle(pilot, lambda: tickets.show(view, 6).holder is None, what="#6 released")
        assert tickets.show(view, 12).holder == "bo"
        assert [h.note for h in escalation.brief(view, 6).handovers][-1] == (
            "php-fpm fixed, watching"
        )
        await pilot.press("E")
        assert isinstance(app.screen, ReasonModal)
        assert "EVERYTHING" in app.screen.title_text
        await pilot.press(*"two weeks off", "enter")
        await settle(pilot, lambda: tickets.show(view, 12).holder is None, what="#12 released")

    run(escalation_fx, scenario, login="bo")


def test_stale_claims_are_marked_and_a_fresh_one_turns_stale_on_the_tick(
    escalation_fx: DeskFixture,
) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await until(pilot, lambda: app.stale_claims.loaded, what="the claims read")
        await pilot.press("ctrl+t")
        board = await board_ready(pilot, app, 2)
        table = board.query_one(TierBoardTable)
        assert str(table.get_cell("6", "holder")) == "bo STALE 1h"  # touched 100 min ago
        assert str(table.get_cell("8", "holder")) == "10m ago"  # mine, fresh
        # at start, one summary toast for the claims already stale (ana's #5 and bo's #6)
        assert len(app.stale_claims.told) == 1
        assert app.stale_claims.told[0].startswith("2 claims untouched for 45 min")
        # 36 minutes later lena's own claim of #8 is 46 minutes old: stale, from memory
        clock = escalation_fx.desk.clock
        assert clock.frozen_at is not None
        clock.frozen_at = NOW + timedelta(minutes=36)
        board._tick()
        assert str(table.get_cell("8", "holder")) == "STALE 46m"
        assert "(1 stale)" in board.header_text(escalation_fx.desk.now()).plain
        app.stale_claims.check()  # the watcher's 5 s check: the lead is told, once
        assert len(app.stale_claims.told) == 2
        assert app.stale_claims.told[1].startswith("#8 held by lena untouched for 46 min")
        app.stale_claims.check()
        assert len(app.stale_claims.told) == 2

    run(escalation_fx, scenario)


# -- the ticket screen ----------------------------------------------------------------------
def test_escalate_needs_a_reason_then_goes_up_a_tier(escalation_fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        view = escalation_fx.desk_at("lena")
        before = tickets.show(view, 3)
        await pilot.press("g", "3", "enter")
        screen = await open_ticket_screen(pilot, app, 3)
        await pilot.press("e")
        assert isinstance(app.screen, EscalateModal)
        await pilot.press("enter", "enter")  # through both fields with no reason
        modal = app.screen
        assert isinstance(modal, EscalateModal) and modal.refused
        error = str(modal.query_one("#form-error").render())
        assert "A reason is required" in error
        await workers_done(app)
        after = tickets.show(view, 3)
        assert (after.tier, after.holder, len(after.events)) == (1, None, len(before.events))
        await pilot.press(*"Staging needs a platform change")
        await pilot.press("tab", *"Checked the plan limits")
        loads = screen.loads
        await pilot.press("enter")
        await until(
            pilot,
            lambda: screen.loads > loads and screen.ticket is not None and screen.ticket.tier == 2,
            what="tier 2",
        )
        t = tickets.show(view, 3)
        tier = [e for e in t.events if e.kind == "tier"][-1]
        assert (tier.old_value, tier.new_value) == ("1", "2")
        assert tier.body == "Staging needs a platform change\nTried: Checked the plan limits"
        headers = [e.header for e in screen.query(ThreadEntry)]
        assert "Escalated tier 1 → 2 · by lena" in headers

    run(escalation_fx, scenario)


def test_escalation_history_and_handover_on_the_ticket(escalation_fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("g", "1", "enter")
        screen = await open_ticket_screen(pilot, app, 1)
        headers = [e.header for e in screen.query(ThreadEntry)]
        assert "Escalated tier 1 → 2 · by ana" in headers
        assert "bo took the ticket" in headers
        assert "Released by bo" in headers
        assert "Complaint taken to a supervisor · by bo" in headers
        released = next(e for e in screen.query(ThreadEntry) if e.header == "Released by bo")
        assert released.body == RELEASE_1
        panel = screen.query_one(HandoverPanel)
        assert panel.display  # wide: beside the thread
        await until(pilot, lambda: panel.brief is not None, what="the handover")
        brief = panel.brief
        assert brief is not None
        assert [(e.kind, e.reason, e.tried, e.claimed_by) for e in brief.escalations] == [
            ("tier", REASON_1, TRIED_1, "bo"),
            ("supervisor", "Customer called twice, unhappy with the wait", "", None),
        ]
        assert [n.ticket_id for n in brief.same_server] == [4, 9]
        assert brief.watchers == ("ana", "bo")
        assert [(h.by, h.kind, h.note) for h in brief.handovers] == [("bo", "release", RELEASE_1)]
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(handover_renderable(brief, escalation_fx.desk.now(), 100))
        text = console.export_text()
        assert "server web-14" in text and "Jane Doe (primary)" in text
        # why bo let it go is the first thing the next person reads after the problem
        assert text.index("Handed over") < text.index("Escalations")
        assert "released by bo · " in text and RELEASE_1.splitlines()[0] in text
        await pilot.press("k")  # a lead acknowledges the complaint
        assert isinstance(app.screen, ReasonModal)
        await pilot.press(*"Called Jane back, apologised", "enter")
        await until(
            pilot,
            lambda: escalation.brief(escalation_fx.desk_at("lena"), 1).flagged_at is None,
            what="the flag cleared",
        )

    run(escalation_fx, scenario)


def test_handover_replaces_the_thread_on_a_small_terminal(escalation_fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await pilot.press("g", "1", "enter")
        screen = await open_ticket_screen(pilot, app, 1)
        panel = screen.query_one(HandoverPanel)
        assert not panel.display
        await pilot.press("h")
        await until(pilot, lambda: panel.brief is not None, what="the handover")
        assert panel.display and panel.has_focus
        assert not screen.query_one("#thread").display
        await pilot.press("h")
        assert not panel.display and screen.query_one("#thread").display

    run(escalation_fx, scenario, size=(80, 24))


# -- notices between two running consoles -----------------------------------------------------
LEAD_CONSOLE = """
import asyncio
from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.boards.tier import TierBoardScreen
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.store import Store
from tests.helpers.console import NOW
from tests.helpers.settle import until, workers_done

async def main():
    desk = Desk(Store({db!r}), "lena", Clock(NOW), audit_key_path={key!r})
    app = SupportDeskApp(desk)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("ctrl+t")
        def board():
            s = app.screen
            return s if isinstance(s, TierBoardScreen) and s.board is not None else None
        await until(pilot, lambda: board() is not None, 15, "the board")
        await workers_done(app)
        while board().selected_id() != 6:
            await pilot.press("down")
        await pilot.press("o")  # take over bo's stale claim
        await until(pilot, lambda: board().sections_for_test().get("mine") == [8, 6]
                    or board().sections_for_test().get("mine") == [6, 8], 15, "the take-over")
        print("took over #6")

asyncio.run(main())
"""


def test_a_leads_take_over_reaches_the_holders_running_console(escalation_fx: DeskFixture) -> None:
    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        await until(pilot, lambda: app.notices.cursor is not None, what="notices read")
        assert app.notices.told == []
        await pilot.press("ctrl+t")
        board = await board_ready(pilot, app, 2)
        assert board.sections_for_test()["mine"] == [6]
        code = textwrap.dedent(LEAD_CONSOLE).format(
            db=str(escalation_fx.path), key=str(escalation_fx.key)
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-2000:]
        assert b"took over #6" in out
        await until(pilot, lambda: bool(app.notices.told), timeout=5.0, what="the notice")
        notice = app.notices.told[-1]
        assert (notice.kind, notice.ticket_id, notice.by) == ("reassigned", 6, "lena")
        assert notice.body == "lena took over ticket #6; you no longer hold it"
        toasts = [n for n in app._notifications if "took over ticket #6" in n.message]
        assert len(toasts) == 1 and toasts[0].title == "Ticket taken from you · #6"
        await loads_after(pilot, board, 0, "the board")
        await until(
            pilot, lambda: "mine" not in board.sections_for_test(), what="#6 gone from mine"
        )
        # marked seen: not again at start
        assert escalation.notices(escalation_fx.desk_at("bo")) == []

    run(escalation_fx, scenario, login="bo")
