"""The demo's first-run panel (logins and PINs inside the console, from memory), and how to
quit: `q` says ctrl+q, and ctrl+q is in the footer at every width."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static
from textual.widgets._toast import Toast  # noqa: PLC2701 - what the rack shows

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.queue import QueueScreen
from supportdesk.console.screens.welcome import WelcomeModal
from supportdesk.console.widgets.key_footer import KeyFooter
from supportdesk.console.widgets.toasts import KEPT
from supportdesk.demo import Welcome
from tests.helpers.console import DeskFixture
from tests.helpers.settle import until, workers_done
from tests.helpers.toasts import toasts_cleared

SnapCompare = Callable[..., bool]
pytestmark = pytest.mark.usefixtures("utc")

WELCOME = Welcome(
    where="--db /home/lena/demo.db",
    staff=(
        ("lena", "lead", 3, "Lena Mokoena"),
        ("amir", "agent", 1, "Amir Haddad"),
        ("tomas", "engineer", 2, "Tomas Ferreira"),
        ("evil", "agent", 1, "Mal [/x] \x1b]0;pwned\x07"),
    ),
    pins=(
        ("bluefin", "Priya Naidoo", "priya@bluefin.example", "318010"),
        ("acme", "Jane [b]Doe[/b]", "jane@acme.example", "912511"),
    ),
    agent="amir",
    engineer="tomas",
)


async def _welcome_shown(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, WelcomeModal))
    await workers_done(app)
    await until(pilot, lambda: app.stale_claims.loaded)
    await toasts_cleared(pilot)
    await workers_done(app)
    await pilot.pause(0.2)


def _text(app: SupportDeskApp) -> str:
    return "\n".join(str(s.render()) for s in app.screen.query(Static))


def test_a_new_demo_opens_with_its_logins_and_pins_and_they_are_gone_when_closed(
    fx: DeskFixture,
) -> None:
    async def main() -> None:
        app = SupportDeskApp(fx.desk, welcome=WELCOME)
        async with app.run_test(size=(80, 24)) as pilot:
            await _welcome_shown(pilot)
            text = _text(app)
            assert "PIN 318010  priya@bluefin.example" in text
            assert "Jane [b]Doe[/b] · account acme" in text  # literal, never markup
            assert "supportdesk --db /home/lena/demo.db --as amir" in text
            assert "Mal [/x] ␛]0;pwned␇" in text
            assert app.welcome is None  # the app keeps no copy of the PINs
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, QueueScreen))
            assert not any(isinstance(s, WelcomeModal) for s in app.screen_stack)

    asyncio.run(main())


def test_toasts_wait_for_the_welcome_panel_to_close(fx: DeskFixture) -> None:
    """At 80x24 a toast (the stale claims at start, say) covered the panel's PINs, which are
    shown once: a toast raised while the panel is up is shown when it closes, with its whole
    timeout; the list of recent ones (ctrl+b) has it from the start."""

    async def main() -> None:
        app = SupportDeskApp(fx.desk, welcome=WELCOME)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await _welcome_shown(pilot)
            app.notify("3 claims untouched [/x]", title="Stale claims", timeout=30)
            await pilot.pause(0.2)
            assert not app.screen.query(Toast)
            assert not list(app._notifications)
            assert [t.title for t in app.told][-1:] == ["Stale claims"]
            closed_at = time.time()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, QueueScreen))
            await until(pilot, lambda: bool(app.screen.query(Toast)))
            # the desk's own stale claims (ana's and bo's, told at start) waited too
            start, mine = [n for n in app._notifications if n.title == "Stale claims"]
            assert start.title == "Stale claims" and "held by ana, bo" in start.message
            assert (mine.title, mine.message) == ("Stale claims", "3 claims untouched [/x]")
            assert min(start.raised_at, mine.raised_at) >= closed_at  # their timeouts start now
            app.notify("an SLA clock passed 75%", title="SLA")  # not held any more
            await until(
                pilot, lambda: "SLA" in {t._notification.title for t in app.screen.query(Toast)}
            )

    asyncio.run(main())


def test_a_welcome_panel_left_open_keeps_only_the_newest_toasts(fx: DeskFixture) -> None:
    """A panel left open all day holds no more than the list of recent ones keeps (KEPT):
    the newest, in order; the older ones are still in that list."""

    async def main() -> None:
        app = SupportDeskApp(fx.desk, welcome=WELCOME)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await _welcome_shown(pilot)
            for i in range(KEPT + 20):
                app.notify(f"notice {i}", title="News", timeout=60)
            await pilot.press("enter")

            def news() -> list[str]:  # the desk's own toasts may come at any time: not these
                return [n.message for n in app._notifications if n.title == "News"]

            await until(pilot, lambda: bool(news()))  # all at once, when the panel closes
            assert news() == [f"notice {i}" for i in range(20, KEPT + 20)]
            assert [t.message for t in app.told][-1] == f"notice {KEPT + 19}"

    asyncio.run(main())


def test_q_says_how_to_quit_and_ctrl_q_is_in_every_footer(fx: DeskFixture) -> None:
    async def main() -> None:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, QueueScreen))
            await workers_done(app)
            await toasts_cleared(pilot)
            await pilot.press("q")
            assert app.is_running
            await until(
                pilot,
                lambda: any("ctrl+q quits" in str(n.message) for n in app._notifications),
                what="the hint",
            )
            for keys in ((), ("ctrl+l",), ("ctrl+t",), ("ctrl+n",)):
                await pilot.press(*keys)
                await workers_done(app)
                await pilot.pause(0.1)
                footer = app.screen.query_one(KeyFooter)
                actions = [k.action for k in footer.query("FooterKey")]
                assert "quit" in actions and "help" in actions, (keys, actions)
                if keys:
                    await pilot.press("escape")
            await pilot.press("ctrl+q")
        assert not app.is_running

    asyncio.run(main())


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_welcome_panel_snapshot(
    fx: DeskFixture, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    """The first-run panel over the queue: PINs first, the keys, who else to be, the logins;
    at 80x24 it scrolls."""
    assert snap_compare(
        SupportDeskApp(fx.desk, welcome=WELCOME), terminal_size=size, run_before=_welcome_shown
    )
