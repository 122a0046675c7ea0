"""A screen still opening when the console closes: the console ends cleanly.

Textual takes an app down by removing its screens' children first; a screen pushed just
before (a key that opens it, then ctrl+q or a closed terminal) may get its Mount or its
Resize after that, and its handlers would look for children that are gone. Each screen
below crashed the console's exit that way (NoMatches, a traceback, exit code 1) before
every screen became a `SkipsMountWhenClosing` (supportdesk/console/widgets/closing.py).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import pkgutil
import threading
import time
import weakref
from collections.abc import Callable

import pytest
from textual.screen import Screen

import supportdesk.console
from supportdesk.console.app import SupportDeskApp
from supportdesk.console.base import DeskApp
from supportdesk.console.wall import WallApp
from supportdesk.console.widgets.closing import SkipsMountWhenClosing
from supportdesk.core.desk import Desk
from tests.helpers.console import DeskFixture
from tests.helpers.screens import window_landed
from tests.helpers.settle import settle

# what opens a screen: the app's own actions, as the keys run them
OPENS: dict[str, Callable[[SupportDeskApp], object]] = {
    "ticket": lambda app: app.open_ticket(1),
    "call": lambda app: app.action_call(),
    "tier board": lambda app: app.action_tier_board(),
    "sla board": lambda app: app.action_sla_board(),
    "incident": lambda app: app.action_incident(),
    "templates": lambda app: app.action_templates(),
    "help": lambda app: app.action_help(),
    "go to ticket": lambda app: app.action_goto_ticket(),
}


@pytest.mark.parametrize("opens", OPENS)
def test_quitting_while_a_screen_opens_ends_cleanly(fx: DeskFixture, opens: str) -> None:
    """The screen is pushed and the console told to quit in the same moment: it exits with
    code 0 and no error (run_test raises the app's error, if any, on the way out)."""
    app = SupportDeskApp(fx.desk)

    async def main() -> None:
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot, window_landed(app), what="the queue window")
            OPENS[opens](app)
            app.exit()

    asyncio.run(main())
    assert app.return_code == 0


def test_every_console_screen_skips_its_set_up_while_the_console_closes() -> None:
    """Every Screen the console defines is one (a new screen cannot forget it)."""
    for info in pkgutil.walk_packages(supportdesk.console.__path__, "supportdesk.console."):
        importlib.import_module(info.name)
    found: list[type] = []
    todo: list[type] = [Screen]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("supportdesk.") and sub is not SkipsMountWhenClosing:
                found.append(sub)
    assert len(found) >= 13, found
    assert [s.__name__ for s in found if not issubclass(s, SkipsMountWhenClosing)] == []


# -- the change feed: one per console, gone with it ------------------------------------------
def _feeds() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "supportdesk-feed" and t.is_alive()}


APPS: dict[str, Callable[[Desk], DeskApp]] = {"console": SupportDeskApp, "sla board": WallApp}


@pytest.mark.parametrize("kind", APPS)
def test_a_console_runs_one_change_feed_and_closing_it_ends_the_feed(desk: Desk, kind: str) -> None:
    """One feed thread (SQLite: a polling connection; PostgreSQL: a LISTEN connection) while
    the console is open, none once it has closed, and nothing keeps the closed console. Its
    start ran twice before (Textual calls on_mount of every class along the MRO, and the
    console's called its base's again): two feeds, the first never stopped, which went on
    polling and kept the whole closed console, its screens and rows, in memory."""
    before = _feeds()
    app = APPS[kind](desk)
    kept = weakref.ref(app)

    async def main(app: DeskApp) -> None:
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            running = _feeds() - before
            assert len(running) == 1, running

    asyncio.run(main(app))
    del app
    deadline = time.monotonic() + 5  # a feed's stop waits for its thread up to 2 s
    while _feeds() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _feeds() - before == set()
    gc.collect()
    assert kept() is None
