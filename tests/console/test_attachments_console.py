"""Attachments on the ticket screen (issue 20, item 3): listed under the entry they came
with (name shown literally, type, size); a text one (a log) opens inline with `v` through
the same safe display as all customer text. Snapshots at 80x24 and 160x48."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import Input, Label

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.modals import AskModal, ChoiceModal, TextModal
from supportdesk.console.screens.ticket import TicketScreen
from supportdesk.console.widgets.ticket_view import ThreadEntry
from supportdesk.models import Attachment
from supportdesk.services.intake.mail_attachments import Part, keep
from tests.helpers.console import DeskFixture
from tests.helpers.screens import queue_ready, ticket_ready
from tests.helpers.settle import until, workers_done

SnapCompare = Callable[..., bool]
pytestmark = pytest.mark.usefixtures("utc")

LOG = b"01:00:00 ERROR php-fpm \x1b[2J[b]pool[/b] www exited on signal 11\n" * 3
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 12


def _attach(fx: DeskFixture) -> None:
    """Ticket #1's first message came with a log, a screenshot and a hostile-named file."""
    from supportdesk.rules.files import sanitise_name

    parts = [
        Part("error.log", "text/plain", LOG),
        Part("screenshot.png", "image/png", PNG, inline=True),
        Part(sanitise_name("\x1b[2Jinvoice\u202egnp.exe"), "application/octet-stream", b"MZ\x00"),
    ]
    with fx.desk.write() as (s, record):
        keep(s, fx.desk, record, 1, parts)


async def _open_ticket_1(pilot: Pilot[Any]) -> None:
    await queue_ready(pilot)
    await pilot.press("g", "1", "enter")
    await ticket_ready(pilot)


def test_files_listed_and_a_log_opens_inline(fx: DeskFixture) -> None:
    _attach(fx)
    asyncio.run(_opens_inline(fx))


async def _opens_inline(fx: DeskFixture) -> None:
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_ticket_1(pilot)
        assert isinstance(app.screen, TicketScreen)
        entries = [e for e in app.screen.query(ThreadEntry) if getattr(e, "files", ())]
        assert len(entries) == 1
        assert [f.name for f in entries[0].files] == [
            "error.log",
            "screenshot.png",
            "[2Jinvoicegnp.exe",
        ]
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, TextModal))
        await workers_done(app)
        modal = app.screen
        assert isinstance(modal, TextModal)
        assert "\x1b" not in modal.query_one("Static").render().plain  # type: ignore[attr-defined]
        assert "[b]pool[/b]" in modal.text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_ticket_thread_with_attachments(
    fx: DeskFixture, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    _attach(fx)

    async def ready(pilot: Pilot[Any]) -> None:
        await _open_ticket_1(pilot)
        thread = pilot.app.screen.query_one("#thread")
        thread.scroll_end(animate=False)
        await pilot.pause(0.2)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=size, run_before=ready)


def test_f2_attaches_a_file_to_the_reply(fx: DeskFixture, tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    log.write_bytes(LOG)
    asyncio.run(_attaches(fx, log))
    with fx.desk.store.read() as s:
        rows = s.execute(
            select(Attachment.name, Attachment.sha256, Attachment.event_id).where(
                Attachment.ticket_id == 1
            )
        ).all()
    assert [(r.name, r.sha256) for r in rows] == [("steps.log", hashlib.sha256(LOG).hexdigest())]
    assert rows[0].event_id is not None


async def _attaches(fx: DeskFixture, log: Path) -> None:
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_ticket_1(pilot)
        await pilot.press("r")
        await pilot.press(*"See the log.")
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, AskModal))
        app.screen.query_one(Input).value = str(log)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen))
        label = app.screen.query_one("#composer-label", Label)
        assert "1 attached: steps.log" in str(label.render())
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.compose_kind is None)  # type: ignore[attr-defined]
        await workers_done(app)
