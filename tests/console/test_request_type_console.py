"""The request type on the ticket screen (issue 19 item 1), driven with Pilot on a real SQLite
file: the suggestion shown with the words it matched, `y` and a letter to set the type, and a
reply refused before anything is typed while the type is blocked."""

from __future__ import annotations

import asyncio
import html
import re

from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.modals import ChoiceModal
from supportdesk.services import tickets
from tests.helpers.console import DeskFixture
from tests.helpers.screens import open_ticket_screen, window_landed
from tests.helpers.settle import settle, until

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
        text = screen_text(app)
        assert "Request: technical — suggested: billing (matched “invoice”, “charged”)" in text
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
