"""A burst of notifications while a call shows an incident's script (tests/console/
test_toasts.py and its snapshots): what a lead's console hears at once, the call screen with
the script on it, and what the terminal shows, row by row."""

from __future__ import annotations

from typing import Any

from textual._compositor import LayoutUpdate  # noqa: PLC2701 - what textual writes to the terminal
from textual.app import App
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.call import CallScreen, CallStage
from supportdesk.console.widgets.account_card import AccountCard
from supportdesk.console.widgets.key_footer import KeyFooter
from supportdesk.console.widgets.toasts import ToastRack
from tests.helpers.settle import handled, settle, until, workers_done

BURST = [  # (title, message, severity), oldest first: what a lead's console hears at once
    ("SLA warning · unclaimed", "#12 respond clock past 75%", "warning"),
    ("SLA breached · unclaimed", "#9 respond clock BREACHED", "error"),
    ("Stale claims", "2 claims held over 30 minutes: #3, #7", "warning"),
    ("Ticket assigned to you · #4", "Lena gave you #4", "information"),
    ("Watched ticket · #2", "The customer replied on #2", "information"),
    ("Complaint for a supervisor · #6", "Caller asked for a supervisor", "warning"),
    ("Incident #1 updated", "A failed disk on web-14; replacing it.", "information"),
    ("Ticket handed back to you · #11", "Bo handed #11 back to you", "warning"),
]


def clear_toasts(app: App[Any]) -> None:
    """Every toast gone, on every screen of the stack: `clear_notifications` redraws only the
    top screen's rack, and a toast that came before a modal stays on the screen beneath it,
    visible around the modal (a start-up toast raced the welcome panel on a loaded machine)."""
    app.clear_notifications()
    for screen in app.screen_stack:
        for rack in screen.query(ToastRack):
            rack.show(app._notifications)  # the list Textual keeps (now empty)


async def toasts_cleared(pilot: Pilot[Any]) -> None:
    """Every toast raised so far gone from every screen, and the racks redrawn empty. A
    start-up toast (stale claims) is posted as a message when the claims land: clearing at
    once could run before it arrived, and it then appeared in the picture. Then the footer
    shows the screen's keys as they are now: it lays itself out after the screen's bindings
    change (a loaded machine took a picture of the incident screen with "esc Back" alone)."""
    await handled(pilot)
    clear_toasts(pilot.app)
    await handled(pilot)
    await footer_current(pilot)


async def footer_current(pilot: Pilot[Any]) -> None:
    """The footer shows the screen's keys as they are now (laid out and mounted)."""
    footers = list(pilot.app.screen.query(KeyFooter))
    await until(
        pilot, lambda: all(f.shows_current_keys() for f in footers), what="the footer's keys"
    )


def screen_rows(app: App[Any]) -> list[str]:
    """What the terminal shows now, one string per row (the compositor's output)."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    assert isinstance(update, LayoutUpdate)
    return [
        "".join(seg.text for strip in line for seg in strip if not seg.control)
        for line in update.strips
    ]


async def call_with_script(pilot: Pilot[Any], app: SupportDeskApp) -> CallScreen:
    """ctrl+k, `acme`, Enter: the card shows web-14's outage and its script first."""
    await until(pilot, lambda: app.stale_claims.loaded, what="the claims read")
    await workers_done(app)
    await toasts_cleared(pilot)
    call, _card = await acme_card(pilot, app)
    await settle(pilot, lambda: call.stage == CallStage.CONTACT, what="the contacts")
    return call


async def acme_card(pilot: Pilot[Any], app: SupportDeskApp) -> tuple[CallScreen, AccountCard]:
    """ctrl+k, `acme`, Enter: the call screen and acme's card, read with its incidents."""
    await pilot.press("ctrl+k")
    await until(pilot, lambda: isinstance(app.screen, CallScreen), what="the call screen")
    await pilot.press(*"acme")
    call = app.screen
    assert isinstance(call, CallScreen)
    await until(pilot, lambda: bool(call.hits), what="hits")
    await pilot.press("enter")
    card = call.query_one(AccountCard)
    await until(pilot, lambda: card.card is not None and card.card.incidents != (), what="card")
    return call, card
