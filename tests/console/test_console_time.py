"""How the console shows time (issue 16, items 5, 8 and 12): one zone on every screen, its
abbreviation in every header; under `--at` every header says FROZEN and when; a contact
locked after five failures reads "5 failed attempts" on the lead's board.

The fixed desk runs on the demo policy (its default plan's calendar is in Johannesburg), its
clocks frozen at Friday 20 November 09:00 UTC, which is 11:00 SAST. The machine is in UTC
here, as on the desk in the issue, so a time in the machine's zone would read two hours early.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.boards.sla import SlaBoardScreen
from supportdesk.console.screens.boards.tier import TierBoardScreen
from supportdesk.console.screens.call.screen import CallScreen
from supportdesk.console.screens.incident import IncidentScreen
from supportdesk.console.screens.modals import ChoiceModal
from supportdesk.console.widgets.header_bar import HeaderBar
from supportdesk.console.widgets.sla_clock import SlaPanel
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.core.policy import load_preset, policy_from_text
from supportdesk.services import sla, tickets
from supportdesk.services.callers import verification
from supportdesk.store import Store
from tests.helpers.console import NOW, DeskFixture
from tests.helpers.screens import open_ticket_screen, window_landed
from tests.helpers.settle import settle, until, workers_done

FROZEN_SAST = {80: "FROZEN Fri 11:00 SAST", 160: "FROZEN Fri 20 Nov 11:00 SAST"}  # by width
JNB = ZoneInfo("Africa/Johannesburg")


@pytest.fixture
def machine_in_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's zone is UTC and nobody set SUPPORTDESK_TZ (the desk of the issue)."""
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("SUPPORTDESK_TZ", raising=False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


pytestmark = pytest.mark.usefixtures("machine_in_utc")


def shown(widget: Widget) -> str:
    """What a widget shows on screen, as plain text."""
    return "\n".join(line.text for line in widget.render_lines(Region(0, 0, *widget.outer_size)))


def header(app: SupportDeskApp) -> str:
    """The first line of the screen on top that tells the time (its header bar)."""
    return shown(app.screen.query_one(HeaderBar))


async def started(pilot: Pilot[Any], app: SupportDeskApp) -> None:
    await until(pilot, lambda: app.console_id is not None, what="console")
    await settle(pilot, window_landed(app), what="the queue window")


async def on_top(pilot: Pilot[Any], app: SupportDeskApp, kind: type, what: str) -> None:
    await until(pilot, lambda: isinstance(app.screen, kind), what=what)
    await workers_done(app)
    await pilot.pause(0.2)


# -- item 5: FROZEN on every screen ------------------------------------------------------------
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_every_header_says_frozen_and_when_in_the_desk_zone(
    fx: DeskFixture, size: tuple[int, int]
) -> None:
    """The queue, a ticket, the tier board, the lead's board and the call screen: each
    header ends with "FROZEN Fri 20 Nov 11:00 SAST" ("FROZEN Fri 11:00 SAST" at 80
    columns), whole."""

    async def main() -> None:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=size) as pilot:
            await started(pilot, app)
            seen = {"queue": header(app)}
            await pilot.press("g", "5", "enter")
            await open_ticket_screen(pilot, app, 5)
            await workers_done(app)
            seen["ticket"] = header(app)
            await pilot.press("escape", "ctrl+t")
            await on_top(pilot, app, TierBoardScreen, "the tier board")
            seen["tier board"] = header(app)
            await pilot.press("escape", "ctrl+l")
            await on_top(pilot, app, SlaBoardScreen, "the lead's board")
            seen["lead's board"] = header(app)
            await pilot.press("escape", "ctrl+k")
            await on_top(pilot, app, CallScreen, "the call screen")
            seen["call"] = header(app)
        for screen, line in seen.items():
            assert FROZEN_SAST[size[0]] in line.splitlines()[0], (screen, line)
            assert line.splitlines()[0].rstrip().endswith("SAST"), (screen, line)
        assert "lena" in seen["queue"] and "tickets" in seen["queue"]
        assert "#5" in seen["ticket"]

    asyncio.run(main())


def test_the_incident_screen_says_frozen_too(outage_fx: DeskFixture) -> None:
    """The incident screen's title line (this desk shows its times in UTC)."""

    async def main() -> None:
        app = SupportDeskApp(outage_fx.desk)
        async with app.run_test(size=(80, 24)) as pilot:
            await started(pilot, app)
            await pilot.press("ctrl+n")
            await on_top(pilot, app, IncidentScreen, "the incident screen")
            await until(pilot, lambda: "Incident #" in header(app), what="the incident")
            line = header(app)
        assert "FROZEN Fri 09:00 UTC" in line and "web-14" in line, line

    asyncio.run(main())


def test_a_live_console_shows_the_time_and_zone_not_frozen(fx: DeskFixture) -> None:
    """Without --at the header tells the time of day in the desk's zone, and no FROZEN."""
    live = Desk(Store(str(fx.path)), "lena", Clock(None), audit_key_path=fx.key)

    async def main() -> str:
        app = SupportDeskApp(live)
        async with app.run_test(size=(80, 24)) as pilot:
            await started(pilot, app)
            return header(app)

    line = asyncio.run(main())
    assert "FROZEN" not in line
    assert line.rstrip().endswith("SAST"), line


# -- item 8: one zone on a screen -------------------------------------------------------------
async def ticket_texts(pilot: Pilot[Any], app: SupportDeskApp, ticket_id: int) -> str:
    await started(pilot, app)
    await pilot.press("g", *str(ticket_id), "enter")
    screen = await open_ticket_screen(pilot, app, ticket_id)
    await until(pilot, lambda: screen.query_one(SlaPanel).data is not None, what="panel")
    await workers_done(app)
    await pilot.pause(0.2)
    parts = (HeaderBar, "#ticket-facts", SlaPanel)
    return "\n".join(shown(screen.query_one(part)) for part in parts)  # type: ignore[call-overload]


def test_created_and_due_are_in_one_zone_on_the_ticket_screen(fx: DeskFixture) -> None:
    """The machine in UTC, the calendar in SAST: "Created" and the due times both in SAST,
    and the header names SAST (it read "Created 06:00" beside "due ... SAST")."""
    t = tickets.show(fx.desk, 1)
    created = t.created_at.astimezone(JNB).strftime("%H:%M")  # 11:00 SAST minus 300 min
    assert created == "06:00"

    async def main() -> str:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(160, 48)) as pilot:
            return await ticket_texts(pilot, app, 1)

    text = asyncio.run(main())
    assert f"Created  {created}" in text or f"Created {created}" in text, text
    assert "04:00 (5 h ago)" not in text  # the machine's UTC
    assert "SAST" in text.splitlines()[0]


def test_supportdesk_tz_puts_every_time_in_the_persons_zone(
    fx: DeskFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SUPPORTDESK_TZ overrides the desk's zone for one person: header, created, due."""
    monkeypatch.setenv("SUPPORTDESK_TZ", "Europe/Amsterdam")
    desk = Desk(Store(str(fx.path)), "lena", Clock(NOW), audit_key_path=fx.key)

    async def main() -> str:
        app = SupportDeskApp(desk)
        async with app.run_test(size=(160, 48)) as pilot:
            return await ticket_texts(pilot, app, 1)

    text = asyncio.run(main())
    assert "FROZEN Fri 20 Nov 10:00 CET" in text.splitlines()[0], text
    assert "Created  05:00" in text or "Created 05:00" in text, text
    assert "SAST" not in text, text


def test_the_policy_desk_timezone_sets_the_zone(fx: DeskFixture) -> None:
    """`[desk] timezone` in the policy in force: the header and times follow it."""
    demo = load_preset("demo")
    sla.load_policy(fx.desk, policy_from_text(demo.text + '\n[desk]\ntimezone = "Asia/Tokyo"\n'))
    desk = Desk(Store(str(fx.path)), "lena", Clock(NOW), audit_key_path=fx.key)

    async def main() -> str:
        app = SupportDeskApp(desk)
        async with app.run_test(size=(160, 48)) as pilot:
            return await ticket_texts(pilot, app, 1)

    text = asyncio.run(main())
    assert "FROZEN Fri 20 Nov 18:00 JST" in text.splitlines()[0], text
    assert "Created  13:00" in text or "Created 13:00" in text, text


# -- item 12: the count of failures that locked a contact ---------------------------------------
def test_the_board_counts_the_failure_that_locked_the_contact(fx: DeskFixture) -> None:
    """Five wrong PINs lock Jane; the fifth is logged "locked", and the board said "4 failed
    attempts". It says 5."""
    lead = fx.desk_at("lena", 30)
    pin = verification.set_pin(lead, "acme", "jane@acme.example").pin
    wrong = str((int(pin) + 1) % 10 ** len(pin)).zfill(len(pin))
    for minutes in (5, 4, 3, 2, 1):  # the fifth, a minute ago, locks her for 15 minutes
        agent = fx.desk_at("ana", minutes)
        verification.verify(agent, "acme", "jane@acme.example", "phone", pin=wrong)

    async def main() -> str:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(160, 48)) as pilot:
            await started(pilot, app)
            await pilot.press("ctrl+l")
            await on_top(pilot, app, SlaBoardScreen, "the lead's board")
            screen = app.screen
            assert isinstance(screen, SlaBoardScreen)
            await until(pilot, lambda: screen.board is not None, what="the board")
            await pilot.pause(0.2)
            board = shown(screen.query_one("#lb-attention"))
            await pilot.press("u")  # the unlock picker says the same (it said UTC, 4 failed)
            await until(pilot, lambda: isinstance(app.screen, ChoiceModal), what="the picker")
            picker = app.screen
            assert isinstance(picker, ChoiceModal)
            return board + "\n" + "\n".join(c.label for c in picker.choices)

    text = asyncio.run(main())
    until_sast = (NOW + timedelta(minutes=14)).astimezone(JNB)
    said = f"Jane Doe (acme) locked until {until_sast:%H:%M} after 5 failed attempts"
    assert text.count(said) == 2, text
