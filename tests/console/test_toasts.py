"""A burst of toasts on a phone call (issue 17, item 3): SLA warnings, claims and notices
arrive together while the call screen shows an outage's script to read to the caller. The
newest toast is shown, the older ones are counted in one line ("+N more"), and the script
stays readable: the rows that show it are the same before and after the burst. Every
notification is kept (the app's list; ctrl+b lists them all), at 80x24 and at 160x48."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.app import App
from textual.notifications import Notification
from textual.widgets import Static
from textual.widgets._toast import Toast  # noqa: PLC2701 - the toasts on screen

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.widgets.account_card import AccountCard
from supportdesk.console.widgets.toasts import (
    TOAST_LINES,
    MoreLine,
    RecentToasts,
    more_text,
    newest_that_fit,
    toast_budget,
)
from supportdesk.services import incidents
from tests.helpers.console import DeskFixture
from tests.helpers.settle import until, workers_done
from tests.helpers.toasts import BURST, call_with_script, screen_rows, toasts_cleared

SCRIPT = (
    "We know web-14 is down: a disk failed and our engineers are replacing it now.\n"
    "Your site and your mail are safe; nothing needs to be done on your side.\n"
    "We post an update every 30 minutes; you do not need to open a ticket."
)


def script_rows(app: SupportDeskApp) -> dict[int, str]:
    """The rows of the card that show the script, by row: the card's part of each row whose
    text is a piece of the script."""
    region = app.screen.query_one(AccountCard).content_region
    words = " ".join(SCRIPT.split())
    found = {}
    for y, row in enumerate(screen_rows(app)):
        if region.y <= y < region.bottom:
            piece = " ".join(row[region.x : region.right].split())
            if len(piece) > 8 and piece in words:
                found[y] = piece
    return found


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_a_burst_of_toasts_leaves_the_script_readable(
    incident_fx: DeskFixture, size: tuple[int, int]
) -> None:
    incidents.open_incident(
        incident_fx.desk_at("lena", 20), ["web-14"], "web-14 down", owner="bo", script=SCRIPT
    )

    async def main() -> None:
        app = SupportDeskApp(incident_fx.desk)
        async with app.run_test(size=size, notifications=True) as pilot:
            await until(pilot, lambda: app.queue_screen() is not None, what="the queue")
            await call_with_script(pilot, app)
            before = script_rows(app)
            shown = " ".join(before.values())
            assert shown == " ".join(SCRIPT.split()), "\n".join(screen_rows(app))

            for title, message, severity in BURST:
                app.notify(message, title=title, severity=severity, timeout=60)  # type: ignore[arg-type]
            await pilot.pause(0.3)
            rows = screen_rows(app)
            text = "\n".join(rows)

            # the script is not covered: its rows are as they were
            assert script_rows(app) == before, text
            # the newest toast is shown in full; the older ones are counted, not stacked
            newest_title, newest_message, _ = BURST[-1]
            assert newest_title in text and newest_message in text, text
            assert BURST[0][1] not in text, text
            hidden = {80: 6, 160: 2}[size[0]]  # an error among them: the line says so
            assert f"+{hidden} more (1 error) · ctrl+b for all" in text, text
            # and every notification is kept
            assert [n.title for n in app._notifications] == [t for t, _, _ in BURST]

    asyncio.run(main())


def shown_toasts(app: App[Any]) -> list[str]:
    """The titles of the toasts on screen now, oldest first."""
    return [
        n.title
        for n in app._notifications
        if any(
            t._notification is n and t.parent is not None and t.parent.display
            for t in app.screen.query(Toast)
        )
    ]


def test_the_older_toasts_come_back_in_turn_and_are_listed(fx: DeskFixture) -> None:
    """A click ends the newest toast and the next older one takes its place; a smaller
    terminal shows fewer; ctrl+b lists every one (newest first) and closes again; a long
    text takes a few lines, never the screen."""

    async def main() -> None:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(160, 48), notifications=True) as pilot:
            await until(pilot, lambda: app.queue_screen() is not None, what="the queue")
            await until(pilot, lambda: app.stale_claims.loaded, what="the claims read")
            await workers_done(app)
            await toasts_cleared(pilot)
            for title, message, severity in BURST:
                app.notify(message, title=title, severity=severity, timeout=60)  # type: ignore[arg-type]
            await pilot.pause(0.3)
            titles = [t for t, _, _ in BURST]
            assert shown_toasts(app) == titles[2:]
            assert "+2 more (1 error) · ctrl+b for all" in "\n".join(screen_rows(app))

            await pilot.resize_terminal(80, 24)
            await pilot.pause(0.3)
            assert shown_toasts(app) == titles[-2:]
            assert "+6 more (1 error) · ctrl+b for all" in "\n".join(screen_rows(app))

            newest = [t for t in app.screen.query(Toast) if t._notification.title == titles[-1]]
            assert await pilot.click(newest[0])
            await pilot.pause(0.3)
            assert shown_toasts(app) == titles[-3:-1]  # the one before the newest came back
            assert "+5 more (1 error) · ctrl+b for all" in "\n".join(screen_rows(app))
            assert [n.title for n in app._notifications] == titles[:-1]

            await pilot.press("ctrl+b")
            await until(pilot, lambda: isinstance(app.screen, RecentToasts), what="the list")
            heads = [str(s.render()) for s in app.screen.query(".told-head").results(Static)]
            # every one, newest first, after the time (the console's own at start: after them)
            assert [h[10:] for h in heads[: len(titles)]] == titles[::-1]
            assert not app.screen.query(Toast)  # none over the list
            await pilot.press("ctrl+b")
            await until(pilot, lambda: app.screen is app.queue_screen(), what="the list closed")
            assert await pilot.click(app.screen.query_one(MoreLine))  # the line lists them too
            await until(pilot, lambda: isinstance(app.screen, RecentToasts), what="the list")
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.queue_screen(), what="the list closed")

            app.notify("a very long notice " * 60, title="Long", timeout=60)
            await pilot.pause(0.3)
            (long,) = [t for t in app.screen.query(Toast) if t._notification.title == "Long"]
            assert long.outer_size.height == TOAST_LINES
            assert shown_toasts(app)[-1] == "Long"

    asyncio.run(main())


def test_the_newest_toasts_that_fit_are_shown() -> None:
    assert newest_that_fit([3, 3, 3], 9) == 3  # all fit: no "+N more" line
    assert newest_that_fit([3, 3, 3, 3], 9) == 2  # two, and the line
    assert newest_that_fit([3, 3, 3, 3], 10) == 3
    assert newest_that_fit([3, 9], 4) == 1  # the newest always, however long
    assert newest_that_fit([], 9) == 0
    assert toast_budget(24) == 9 and toast_budget(48) == 19
    told = [Notification(m, t, severity=s) for t, m, s in BURST]  # type: ignore[arg-type]
    assert more_text(told[2:]) == "+6 more · ctrl+b for all"
    assert more_text(told) == "+8 more (1 error) · ctrl+b for all"
