"""What a verdict looks like on the call screen, at 80x24 and 160x48: VERIFIED (green),
NOT VERIFIED (red, attempts left), LOCKED (until when, with the recent attempts), HELD
(yellow, caller not listed) and REFERRED (a reseller's customer: the reseller and its
contact, no ticket offered), each beside the account's card.

The desk, the clock (frozen at 2026-11-20 09:00 UTC) and the time zone are fixed, and the PINs
(random) are never on screen, so a changed picture means the screen changed. Update with
`pytest tests/console/test_call_snapshots.py --snapshot-update` and look at the SVGs before
keeping them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.call import CallStage
from supportdesk.services.callers import verification
from tests.helpers.call import (
    JANE,
    CallFixture,
    console_ready,
    contacts_listed,
    results,
    stage,
)
from tests.helpers.settle import workers_done

SnapCompare = Callable[..., bool]
SMALL, LARGE = (80, 24), (160, 48)


def wrong(pin: str) -> str:
    return "0" * len(pin) if pin != "0" * len(pin) else "1" * len(pin)


def calling(search: str, account: str, contact_key: str, pin: str | None) -> Any:
    """ctrl+k, type `search`, Enter, the contact's key, then the PIN (if any) and Enter."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await console_ready(pilot)
        await pilot.press("ctrl+k")
        await stage(pilot, CallStage.SEARCH)
        await pilot.press(*search)
        await results(pilot, account)
        await pilot.press("enter")
        await contacts_listed(pilot, account)
        await pilot.press(contact_key, "enter")
        if pin is not None:
            await stage(pilot, CallStage.PROOF)
            await pilot.press(*pin, "enter")
        await stage(pilot, CallStage.VERDICT)
        await workers_done(app)
        await pilot.pause(0.3)  # the card reloaded after the write, the toasts settled
        await workers_done(app)
        await pilot.pause(0.1)

    return run_before


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_verified(call_fx: CallFixture, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Jane Doe, acme's primary contact, by PIN: green, and everything she may ask for."""
    run = calling("acme", "acme", "1", call_fx.pins[JANE])
    assert snap_compare(SupportDeskApp(call_fx.desk), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_failed(call_fx: CallFixture, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """A wrong PIN: red, 4 attempts left, and no word on what was wrong."""
    run = calling("jane@acme", "acme", "1", wrong(call_fx.pins[JANE]))
    assert snap_compare(SupportDeskApp(call_fx.desk), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_locked(call_fx: CallFixture, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Four failures earlier, the fifth here: locked until 09:15, with the attempts."""
    desk = call_fx.fx.desk_at("ana")
    bad = wrong(call_fx.pins[JANE])
    for _ in range(4):
        verification.verify(desk, "acme", JANE, "phone", pin=bad)
    run = calling("acme.example", "acme", "1", bad)
    assert snap_compare(SupportDeskApp(call_fx.desk), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_held(call_fx: CallFixture, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """The caller is not listed: yellow, a report is held until Jane or Sam confirms it."""
    run = calling("+44 20 7946", "acme", "0", None)
    assert snap_compare(SupportDeskApp(call_fx.desk), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_referred(call_fx: CallFixture, snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """endco is Bluefin's customer: referred to Bluefin Media with Ola Berg's address on the
    card and in the verdict, and no key to open a ticket."""
    run = calling("endco", "endco", "1", None)
    assert snap_compare(SupportDeskApp(call_fx.desk), terminal_size=size, run_before=run)
