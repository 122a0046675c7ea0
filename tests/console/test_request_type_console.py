"""The request type on the ticket screen (issue 19 item 1), driven with Pilot on a real SQLite
file: the suggestion shown with the words it matched, `y` and a letter to set the type, and a
reply refused before anything is typed while the type is blocked."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.modals import ChoiceModal
from supportdesk.console.screens.ticket import TicketScreen
from supportdesk.services import tickets
from tests.helpers.console import DeskFixture
from tests.helpers.screens import open_ticket_screen, window_landed
from tests.helpers.settle import settle, until, workers_done
from tests.helpers.toasts import toasts_cleared

INVOICE = 2  # "Invoice charged twice for November", from bluefin's primary contact by e-mail


def screen_text(app: SupportDeskApp) -> str:
    """Everything on screen as words (the SVG export's text, spans joined, spaces collapsed)."""
    svg = app.export_screenshot()
    text = html.unescape(" ".join(re.findall(r">([^<>]+)</text>", svg)))
    return " ".join(text.replace("\xa0", " ").split())


def test_y_sets_the_request_type_and_a_blocked_reply_is_refused_before_typing(
    fx: DeskFixture,
) -> None:
    async def main() -> None:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot, window_landed(app), what="the queue window")
            await scenario(pilot, app)

    async def scenario(pilot: Pilot[None], app: SupportDeskApp) -> None:
        view = fx.desk_at("lena")
        await pilot.press("g", *str(INVOICE), "enter")
        screen = await open_ticket_screen(pilot, app, INVOICE)
        request = "Request: technical — suggested: billing (matched “invoice”, “charged”)"
        # the facts are painted after the ticket's read lands (a loaded CI run looked before)
        await until(pilot, lambda: request in screen_text(app), what="the request line")
        text = screen_text(app)
        assert request in text
        assert "Blocked" not in text

        await pilot.press("y")
        assert isinstance(app.screen, ChoiceModal)
        modal = screen_text(app)
        assert "billing ← suggested by its words" in modal and "technical (now)" in modal
        await pilot.press("b")
        await settle(
            pilot, lambda: tickets.show(view, INVOICE).request_type == "billing", what="billing"
        )
        t = tickets.show(view, INVOICE)
        assert t.status == "awaiting_authorization"  # the owner's mail proves nobody
        await until(
            pilot,
            lambda: screen.ticket is not None and screen.ticket.request_block is not None,
            what="the block shown",
        )
        assert "⚠ Blocked: billing changes needs a verified call" in screen_text(app)

        await pilot.press("r")  # refused before anything is typed
        assert screen.compose_kind is None
        await pilot.press("n")  # an internal note is fine
        assert screen.compose_kind == "note"

    asyncio.run(main())


@pytest.mark.usefixtures("utc")
def test_ticket_screen_with_a_suggestion_and_a_block(
    fx: DeskFixture, snap_compare: Callable[..., bool]
) -> None:
    """#2 once a person made it a billing request: the facts say technical was changed to
    billing as the words suggested (“invoice”, “charged”), and why nothing may be said to
    the customer yet (the owner's mail proves nobody: a verified call must); the thread
    shows the change."""
    tickets.update_fields(fx.desk_at("lena", 5), INVOICE, request_type="billing")

    async def open_invoice(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, SupportDeskApp)
        await settle(pilot, window_landed(app), what="the queue window")
        await until(pilot, lambda: app.stale_claims.loaded)
        await pilot.press("g", *str(INVOICE), "enter")
        await until(
            pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.ticket is not None
        )
        await workers_done(app)
        await pilot.pause(0.6)  # presence written, feed fired, ticket reloaded
        await workers_done(app)
        await toasts_cleared(pilot)
        await pilot.pause(0.1)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=(120, 36), run_before=open_invoice)
