"""The template picker in the reply editor (issue 20, item 1), on a real SQLite desk: `/` at
the start of a reply opens it, letters filter by a fuzzy match as they are typed, Enter puts
the filled text in the reply to edit, and ctrl+s sends it with the template's status change.
Snapshots of the picker at 80x24 and 160x48."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, TextArea

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.template_picker import TemplatePicker, fuzzy_score, ranked
from supportdesk.core.desk import Desk
from supportdesk.services import templates, tickets
from tests.helpers.console import DeskFixture
from tests.helpers.screens import queue_ready, ticket_ready
from tests.helpers.settle import settle, until, workers_done

SnapCompare = Callable[..., bool]
pytestmark = pytest.mark.usefixtures("utc")


def add_templates(desk: Desk) -> None:
    templates.add(
        desk,
        "need-logs",
        "reply",
        "Logs please",
        "Hello {{ contact.first_name }},\nplease send the error log for #{{ ticket.id }}.",
        set_status="pending_customer",
    )
    templates.add(desk, "password-reset", "reply", "Password reset", "We reset it.")
    templates.add(desk, "dns-propagation", "reply", "DNS changes", "DNS takes up to 48 hours.")
    templates.add(desk, "ack", "acknowledgement", "", "Not a reply template.")


def test_fuzzy_ranking() -> None:
    assert fuzzy_score("nl", "need-logs") is not None
    assert fuzzy_score("sg", "need-logs") is None  # the letters in order only
    assert fuzzy_score("zz", "need-logs") is None
    rows = [
        templates.TemplateView(i, n, "reply", s, "", None, None, None, None)  # type: ignore[arg-type]
        for i, (n, s) in enumerate(
            [("need-logs", "Logs"), ("password-reset", "Reset"), ("dns-propagation", "DNS")]
        )
    ]
    assert [t.name for t in ranked("", rows)] == ["dns-propagation", "need-logs", "password-reset"]
    assert [t.name for t in ranked("pw", rows)] == ["password-reset"]
    assert next(t.name for t in ranked("dns", rows)) == "dns-propagation"


def option_ids(picker: TemplatePicker) -> list[str]:
    options = picker.query_one(OptionList)
    return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]


async def open_picker(pilot: Pilot[Any]) -> None:
    await queue_ready(pilot)
    await pilot.press("down", "enter")
    await ticket_ready(pilot)
    await pilot.press("r")
    await pilot.press("slash")
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, TemplatePicker), what="the picker")
    await workers_done(app)
    await pilot.pause(0.1)


def test_slash_picks_a_template_fills_it_and_sends_with_its_status(fx: DeskFixture) -> None:
    add_templates(fx.desk)

    async def main() -> None:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(160, 48)) as pilot:
            await open_picker(pilot)
            picker = app.screen
            assert isinstance(picker, TemplatePicker)
            names = option_ids(picker)
            assert names == ["dns-propagation", "need-logs", "password-reset"]  # replies only
            await pilot.press("n", "l")
            names = option_ids(picker)
            assert names[0] == "need-logs"
            await pilot.press("enter")
            ticket = app.screen
            box = ticket.query_one("#composer-text", TextArea)
            await until(pilot, lambda: box.text.startswith("Hello"), what="the filled text")
            tid = ticket.ticket_id  # type: ignore[attr-defined]
            assert box.text == f"Hello Jane,\nplease send the error log for #{tid}."
            box.text = box.text + "\nThanks."
            await pilot.press("ctrl+s")
            view = fx.desk_at("lena")
            await settle(
                pilot,
                lambda: tickets.show(view, tid).status == "pending_customer",
                what="the template's status",
            )
            replies = [e.body for e in tickets.show(view, tid).events if e.kind == "reply"]
            assert replies[-1] == f"Hello Jane,\nplease send the error log for #{tid}.\nThanks."

    asyncio.run(main())


def test_the_filter_box_keeps_a_steady_cursor(fx: DeskFixture) -> None:
    """No box of the console blinks (a blinking cursor repaints twice a second, and a
    picture taken on a slow machine caught it off: a CI run failed the snapshot below)."""
    add_templates(fx.desk)

    async def main() -> None:
        app = SupportDeskApp(fx.desk)
        async with app.run_test(size=(160, 48)) as pilot:
            await open_picker(pilot)
            await pilot.press("e")
            box = app.screen.query_one("#template-filter", Input)
            seen = []
            for _ in range(12):  # 1.2 s: two blink periods of Textual's Input
                await pilot.pause(0.1)
                seen.append(box._cursor_visible)
            assert box.has_focus and all(seen), seen

    asyncio.run(main())


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_template_picker_snapshot(
    fx: DeskFixture, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    add_templates(fx.desk)

    async def run_before(pilot: Pilot[Any]) -> None:
        await open_picker(pilot)
        await pilot.press("e")
        await pilot.pause(0.2)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=size, run_before=run_before)
