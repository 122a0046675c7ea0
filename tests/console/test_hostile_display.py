"""Outside text is never markup and never a terminal control in the console (issue 12).

A desk whose every shown field holds the hostile strings (tests/helpers/hostile.py): subjects,
bodies, replies, notes, company and contact names and addresses, staff names, service
labels and servers, escalation reasons, incident titles and scripts, maintenance notices.
The console is driven through every screen with Textual's Pilot; after each step it must
still run, show the strings literally (`[/var/www/html]`, `␛]0;pwned␇`) and send nothing a
terminal would obey (no ESC, C1, bidi override or zero-width character in what it draws).
The wall display gets the same. Both databases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from textual._compositor import LayoutUpdate  # noqa: PLC2701 - what textual writes to the terminal
from textual.app import App
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.boards.sla import SlaBoardScreen
from supportdesk.console.screens.boards.tier import TierBoardScreen
from supportdesk.console.screens.call import CallScreen, CallStage
from supportdesk.console.screens.incident import IncidentScreen
from supportdesk.console.screens.modals import ChoiceModal
from supportdesk.console.screens.queue import QueueScreen
from supportdesk.console.screens.ticket import TicketScreen
from supportdesk.console.wall import WallApp
from supportdesk.console.widgets.format import one_line
from supportdesk.core.desk import Desk
from supportdesk.safe_text import clean
from supportdesk.services import incidents
from tests.helpers.call import sync
from tests.helpers.desk import DeskFactory
from tests.helpers.hostile import HOSTILE_STRINGS, SERVER, unsafe_chars
from tests.helpers.settle import settle, until

# what the screens must show literally somewhere
MUST_SHOW = ("[/var/www/html]", "␛]0;pwned␇", "[bold red]X[/]", "[@click=app.quit]x[/]")
WAIT = 10.0  # seconds for each wait on the hostile desk


def screen_text(app: App[Any]) -> str:
    """Every character the screen would send to the terminal now (the compositor's output,
    without Textual's own cursor moves and colours), one line per row."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    assert isinstance(update, LayoutUpdate)
    lines = []
    for line in update.strips:
        lines.append("".join(seg.text for strip in line for seg in strip if not seg.control))
    return "\n".join(lines)


def assert_inert(app: App[Any], where: str, *must_show: str) -> str:
    """The app still runs, nothing on screen is a terminal control, and `must_show` is
    shown literally."""
    assert app.is_running, f"{where}: the app stopped"
    text = screen_text(app)
    bad = unsafe_chars(text)
    assert not bad, f"{where}: raw controls reached the screen: {sorted(map(repr, bad))}"
    for wanted in must_show:
        assert wanted in text, f"{where}: {wanted!r} not shown literally:\n{text}"
    return text


def showing(app: SupportDeskApp, tid: int) -> Callable[[], bool]:
    def check() -> bool:
        screen = app.screen
        return (
            isinstance(screen, TicketScreen)
            and screen.ticket is not None
            and (screen.ticket.id == tid)
        )

    return check


async def _queue(app: SupportDeskApp, pilot: Pilot[None], size: tuple[int, int], **_: Any) -> None:
    # subjects, accounts and holders in DataTable cells (a str cell was parsed as markup:
    # `[/var/www/html]` raised MarkupError and ended the console)
    q = app.screen
    assert isinstance(q, QueueScreen)
    assert_inert(app, "queue", *(MUST_SHOW if size[0] >= 160 else ()))
    # the preview (below the table at 160x48) follows the cursor over every row
    for _ in range(len(q.rows_for_test())):
        await pilot.press("down")
    await settle(pilot)
    assert_inert(app, "queue after moving through every row")


async def _incident(app: SupportDeskApp, pilot: Pilot[None], **_: Any) -> None:
    # the incident (a toast rang for it at start) and the maintenance window banner
    await pilot.press("ctrl+n")
    await until(pilot, lambda: isinstance(app.screen, IncidentScreen), WAIT, "incident screen")
    await settle(pilot)
    shown = assert_inert(app, "incident screen", "[/var/www/html]")
    assert "␛]0;pwned␇" in shown
    await pilot.press("escape")


def _tickets(part: int) -> Step:
    async def step(app: SupportDeskApp, pilot: Pilot[None], evil: dict[str, Any], **_: Any) -> None:
        # every ticket (this part's share of them): title, facts, thread, SLA panel, handover
        mine = evil["tickets"][part::TICKET_PARTS]
        assert mine
        for tid in mine:
            app.open_ticket(tid)
            await until(pilot, showing(app, tid), WAIT, f"ticket #{tid}")
            await settle(pilot)
            assert_inert(app, f"ticket #{tid}")

    return step


async def _handover(
    app: SupportDeskApp, pilot: Pilot[None], evil: dict[str, Any], **_: Any
) -> None:
    app.open_ticket(evil["first"])
    await until(pilot, showing(app, evil["first"]), WAIT, "the first ticket")
    await settle(pilot)
    await pilot.press("h")  # the handover, whatever the width
    await settle(pilot)
    assert_inert(app, "handover", "␛]0;pwned␇")
    # a modal listing the incident by its hostile title
    await pilot.press("i")
    await until(pilot, lambda: isinstance(app.screen, ChoiceModal), WAIT, "incident choices")
    await pilot.pause(0.1)
    assert_inert(app, "incident link modal", "[/var/www/html]")
    await pilot.press("escape")
    await pilot.press("escape")


async def _boards(app: SupportDeskApp, pilot: Pilot[None], **_: Any) -> None:
    # the tier board (escalation reasons, holders' names) and the lead's SLA board
    await pilot.press("ctrl+t")
    await until(pilot, lambda: isinstance(app.screen, TierBoardScreen), WAIT, "tier board")
    await pilot.press("2")
    await settle(pilot)
    assert_inert(app, "tier 2 board")
    await pilot.press("ctrl+l")
    await until(pilot, lambda: isinstance(app.screen, SlaBoardScreen), WAIT, "SLA board")
    await settle(pilot)
    assert_inert(app, "SLA board")


async def _call(app: SupportDeskApp, pilot: Pilot[None], **_: Any) -> None:
    # the call flow: search, account card, contacts, verdict
    await pilot.press("ctrl+k")
    await until(pilot, lambda: isinstance(app.screen, CallScreen), WAIT, "call screen")
    await pilot.press(*"evil")
    call = app.screen
    assert isinstance(call, CallScreen)
    await until(pilot, lambda: call.card is not None, WAIT, "the account card")
    await settle(pilot)
    assert_inert(app, "call: search and card", "Evil [/var/www/html] ␛]0;p")
    await pilot.press("enter")
    await until(pilot, lambda: call.stage == CallStage.CONTACT, WAIT, "the contacts")
    await settle(pilot)
    assert_inert(app, "call: contacts", "[@click=app.quit]x[/]")
    # a contact without a PIN: call back a number on file (a digit highlights, Enter
    # picks: issue 16 item 11)
    await pilot.press("1", "enter")
    await settle(pilot)
    assert_inert(app, "call: call back")
    await pilot.press("1", "enter")
    await settle(pilot)
    await pilot.press("y")
    await until(pilot, lambda: call.verdict is not None, WAIT, "the verdict")
    await settle(pilot)
    assert_inert(app, "call: verdict", "[@click=app.quit]x[/]")


async def _toast(app: SupportDeskApp, pilot: Pilot[None], desk: Desk, **_: Any) -> None:
    # a toast quoting outside text (an incident opened while the console runs)
    incidents.open_incident(desk, [SERVER], "Second [/x] \x1b[2J \x9b2J outage")
    app.incident_watch.request()
    await until(pilot, lambda: len(app.incident_watch.incidents) == 2, WAIT, "the new incident")
    await settle(pilot)
    assert_inert(app, "toast", "Second", "␛[2J \\u009b2J")


Step = Callable[..., Awaitable[None]]
TICKET_PARTS = 2  # 22 hostile tickets, half in each case
# every screen, in four parts of about the same length that xdist can run side by side: each
# starts the console afresh on its own copy of the hostile desk and checks what the one long
# tour checked at those steps
PARTS: dict[str, list[Step]] = {
    "queue-incident-toast": [_queue, _incident, _toast],
    "tickets0": [_tickets(0)],
    "tickets1-handover": [_tickets(1), _handover],
    "boards-call": [_boards, _call],
}


@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
@sync
async def test_every_console_screen_shows_hostile_text_literally(
    desk: Desk, make_desk: DeskFactory, evil: dict[str, Any], size: tuple[int, int], part: str
) -> None:
    app = SupportDeskApp(make_desk("lena"), live=False)
    async with app.run_test(size=size, notifications=True) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), WAIT, "queue")
        q = app.screen
        assert isinstance(q, QueueScreen)
        await until(pilot, lambda: len(q.rows_for_test()) >= 20, WAIT, "the queue rows")
        await settle(pilot)
        for step in PARTS[part]:
            await step(app, pilot, size=size, evil=evil, desk=desk)
        assert app.is_running
    assert app.return_code in (0, None)


@sync
async def test_toasts_never_parse_or_obey_their_text(desk: Desk, make_desk: DeskFactory) -> None:
    """The app's one notify: markup taken literally, controls shown, whoever calls it
    (a screen's own notify, with or without markup=False)."""
    app = SupportDeskApp(make_desk("lena"), live=False)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot)
        shown = [
            "Permission denied writing to [/var/www/html]",
            "\x1b[2J \x9b2J",
            "abc\u202edcba",
            "\x1b]0;pwned\x07",
            "bad utf-8 \udcff here",  # a lone surrogate: shown, never an encoding error
        ]
        for text in shown:
            app.screen.notify(text, title=text, timeout=30)
        app.notify("[@click=app.quit]x[/]", markup=True, timeout=30)  # asked for markup
        await pilot.pause(0.2)
        assert_inert(
            app,
            "toasts",
            "[/var/www/html]",
            "␛[2J \\u009b2J",
            "abc\\u202edcba",
            "␛]0;pwned␇",
            "bad utf-8 \\udcff here",
            "[@click=app.quit]x[/]",
        )


@sync
async def test_the_wall_shows_hostile_text_literally(
    desk: Desk, make_desk: DeskFactory, evil: dict[str, Any]
) -> None:
    """The wall (`supportdesk wall`) died with the console: the same board, read-only."""
    # a week later every clock is breached: the urgent table holds the hostile subjects
    app = WallApp(make_desk("lena", at=desk.now() + timedelta(days=7)))
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SlaBoardScreen), WAIT, "the board")
        board = app.screen
        assert isinstance(board, SlaBoardScreen)
        await until(pilot, lambda: board.board is not None, WAIT, "the board's data")
        await settle(pilot)
        assert_inert(app, "wall")  # the freshest breaches on top
        await pilot.press("end")  # the oldest ones (issue 16: the list is newest first)
        await settle(pilot)
        assert_inert(app, "wall", "[@click=app.quit]x[/]", "␛[31mred␛[0m", "abc\\u202edcba")
        urgent = [r.subject for r in board.query_one("#lb-urgent").rows_shown]  # type: ignore[attr-defined]
        assert any("[/var/www/html]" in s for s in urgent) or any(
            "\x1b]0;pwned\x07" in s for s in urgent
        ), "the wall shows the hostile tickets"
        assert app.is_running


@sync
async def test_a_hostile_resellers_referral_is_shown_literally(
    desk: Desk, make_desk: DeskFactory, evil: dict[str, Any]
) -> None:
    """The hostile `evil` account as a reseller: its company and primary contact (markup,
    escapes, a bidi override) on the card, in the referral line and in the REFERRED verdict,
    shown literally at 80x24."""
    from supportdesk.services import directory

    directory.add_account(desk, "endco", "End Co", "gold", reseller="evil")
    app = SupportDeskApp(make_desk("lena"), live=False)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), WAIT, "queue")
        await pilot.press("ctrl+k")
        await until(pilot, lambda: isinstance(app.screen, CallScreen), WAIT, "call screen")
        call = app.screen
        assert isinstance(call, CallScreen)
        await pilot.press(*"endco")
        await until(pilot, lambda: call.card is not None, WAIT, "the account card")
        await settle(pilot)
        assert_inert(app, "call: reseller customer's card", "[@click=app.quit]x[/]")
        await pilot.press("enter")
        await until(pilot, lambda: call.stage == CallStage.CONTACT, WAIT, "the referral line")
        await settle(pilot)
        assert_inert(app, "call: referral line", "[/var/www/html]", "[@click=app.quit]x[/]")
        await pilot.press("enter")
        await until(pilot, lambda: call.verdict is not None, WAIT, "the verdict")
        await settle(pilot)
        assert_inert(app, "call: referred", "REFERRED", "␛]0;pwned␇", "␛[31mMallory")
        assert app.is_running
    assert app.return_code in (0, None)


def test_one_line_shows_every_hostile_string_inertly() -> None:
    """The helper every cell goes through: nothing unsafe left, markup kept as text."""
    for text in HOSTILE_STRINGS:
        shown = one_line(text)
        assert not unsafe_chars(shown), repr(text[:40])
        assert one_line(shown) == shown  # idempotent: cleaning twice changes nothing
    assert one_line("[/var/www/html]") == "[/var/www/html]"
    assert one_line("\x1b]0;pwned\x07") == "␛]0;pwned␇"
    assert one_line("line\u2028separator") == "line\\u2028separator"
    assert one_line("bad \udcff") == "bad \\udcff"
    assert clean("a\nb", multiline=True) == "a\nb"
