"""The console's fixed desk (tests/helpers/console.py) with what a phone call needs:
contacts with support PINs, phone numbers and roles, a second domain, pinned notes, a
suspended account and a reseller's customer. Clocks stay frozen at NOW, so verdicts and
attempts are the same on every run (the PINs are random, but they are never on screen).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.call import CallScreen, CallStage
from supportdesk.console.screens.queue import QueueScreen
from supportdesk.models import Account
from supportdesk.services import directory
from supportdesk.services.callers import verification
from tests.helpers.console import DeskFixture
from tests.helpers.settle import TIMEOUT, until, workers_done
from tests.helpers.toasts import toasts_cleared

JANE = "jane@acme.example"  # acme's primary contact (PIN)
AVA = "ava@acme.example"  # acme's authorized contact (PIN): technical requests only
SAM = "sam@offsite.example"  # acme's secondary contact (no PIN: callback only)
SAM_PHONE = "+44 20 7946 0002"
DAISY_REASON = "Unpaid invoice INV-2026-1107, 30 days overdue: billing must clear it"
ACME_NOTES = "VIP since 2019: be quick\nDNS changes only when Jane asks"


@dataclass
class CallFixture:
    fx: DeskFixture
    pins: dict[str, str]

    @property
    def desk(self) -> Any:
        return self.fx.desk


def add_call_needs(fx: DeskFixture) -> dict[str, str]:
    """Add acme's secondary and authorized contacts, its domains, a suspended account and a
    reseller's customer to the fixed desk, and PINs for jane and ava (returned by e-mail)."""
    lead = fx.desk_at("lena", 60 * 24)
    directory.add_contact(lead, "acme", "Sam Okoro", [SAM], [SAM_PHONE], "secondary")
    directory.add_contact(lead, "acme", "Ava Reyes", [AVA], ["+44 7700 900123"], "authorized")
    directory.add_service(
        lead, "acme", "domain", "Domains", ["acme.example", "acme-shop.co.uk"], None
    )
    directory.add_account(lead, "endco", "End Co Bakery", "gold")
    directory.add_contact(lead, "endco", "Eli End", ["eli@endco.example"], [], "primary")
    with lead.write() as (session, _record):
        acme = session.get(Account, "acme")
        daisy = session.get(Account, "daisy")
        endco = session.get(Account, "endco")
        assert acme is not None and daisy is not None and endco is not None
        acme.notes = ACME_NOTES
        daisy.status = "suspended"
        daisy.suspended_reason = DAISY_REASON
        endco.reseller_id = "bluefin"
    return {
        JANE: verification.set_pin(lead, "acme", JANE).pin,
        AVA: verification.set_pin(lead, "acme", AVA).pin,
    }


def sync(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test body (the suite has no asyncio plugin: tests call asyncio.run)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return run


def call_screen(app: SupportDeskApp) -> CallScreen:
    screen = app.screen
    assert isinstance(screen, CallScreen), f"on {type(screen).__name__}, not the call screen"
    return screen


class Keys:
    """Presses keys like an agent, counting the ones that are not typed text."""

    def __init__(self, pilot: Pilot[Any]) -> None:
        self.pilot = pilot
        self.count = 0
        self.pressed: list[str] = []

    async def press(self, *keys: str) -> None:
        for key in keys:
            self.count += 1
            self.pressed.append(key)
            await self.pilot.press(key)

    async def type(self, text: str) -> None:
        """Typed text (a search, a PIN, a subject): not counted."""
        await self.pilot.press(*text)


async def console_ready(pilot: Pilot[Any]) -> SupportDeskApp:
    app = pilot.app
    assert isinstance(app, SupportDeskApp)
    await until(pilot, lambda: isinstance(app.screen, QueueScreen), what="the queue")
    await until(pilot, lambda: app.console_id is not None, what="presence")
    await workers_done(app)
    # a lead's console says at start how many claims are stale (the fixture has two): the
    # pictures are of the call, so that toast goes
    await until(pilot, lambda: app.stale_claims.loaded, what="the claims read")
    await toasts_cleared(pilot)
    return app


async def stage(pilot: Pilot[Any], name: CallStage, timeout: float = TIMEOUT) -> CallScreen:
    """Wait until the call screen is at stage `name` with nothing in flight."""
    app = pilot.app
    assert isinstance(app, SupportDeskApp)
    await until(
        pilot,
        lambda: (
            isinstance(app.screen, CallScreen) and app.screen.stage == name and not app.screen.busy
        ),
        timeout,
        f"stage {name}",
    )
    return call_screen(app)


async def results(pilot: Pilot[Any], account: str) -> CallScreen:
    """Wait until the results of the last keystroke are shown, with `account` among them
    and its card shown (earlier prefixes' results may land first)."""
    app = pilot.app
    assert isinstance(app, SupportDeskApp)

    def ready() -> bool:
        screen = app.screen
        return (
            isinstance(screen, CallScreen)
            and screen.shown_generation == screen.generation
            and account in [h.account for h in screen.hits]
            and screen.card is not None
        )

    await until(pilot, ready, what=f"{account} in the results")
    return call_screen(app)


async def searched(pilot: Pilot[Any], text: str, account: str) -> CallScreen:
    """ctrl+k on the queue and `text` typed into the call's search: the call screen once
    `account` is among the results, its card shown."""
    await pilot.press("ctrl+k")
    await stage(pilot, CallStage.SEARCH)
    await pilot.press(*text)
    return await results(pilot, account)


async def contacts_listed(pilot: Pilot[Any], account: str) -> CallScreen:
    app = pilot.app
    assert isinstance(app, SupportDeskApp)

    def ready() -> bool:
        screen = app.screen
        return (
            isinstance(screen, CallScreen)
            and screen.stage == CallStage.CONTACT
            and screen.card is not None
            and screen.card.account.id == account
        )

    await until(pilot, ready, what=f"{account}'s contacts")
    await pilot.pause(0.05)
    return call_screen(app)
