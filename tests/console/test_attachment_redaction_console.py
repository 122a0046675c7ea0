"""A lead redacts an attachment from the ticket screen (issue 20), driven with Pilot on both
databases: `V` (shown to leads only, and only while a file has its bytes), the file, a
confirmation that needs a reason; the bytes go, the record stays and the thread says
redacted. An agent's `V` is refused with the service's own message, nothing asked. The
confirmation at 80x24 is a snapshot."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.attachment_redact import RedactFileModal
from supportdesk.console.screens.modals import ChoiceModal
from supportdesk.console.screens.ticket import TicketScreen
from supportdesk.console.widgets.ticket_view import ThreadEntry, file_line
from supportdesk.core.desk import Desk
from supportdesk.errors import NotAllowed
from supportdesk.rules.files import sanitise_name
from supportdesk.services import tickets
from supportdesk.services.intake.mail_attachments import Part, keep
from supportdesk.services.tickets.redaction import redact_attachment
from tests.helpers.console import DeskFixture
from tests.helpers.desk import DeskFactory, new_ticket
from tests.helpers.screens import open_ticket_screen, queue_ready, ticket_ready
from tests.helpers.settle import until, workers_done
from tests.helpers.toasts import toasts_cleared

SnapCompare = Callable[..., bool]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 12
LOG = b"01:00 login admin password hunter2 \x00\xff [/x][bold] \x1b[2J\n" * 20
HOSTILE = sanitise_name("[bold]pw[/x]\x1b]0;pwned\x07\u202egol.txt")


def _files(desk: Desk, ticket_id: int) -> list[int]:
    """Files kept with the ticket's newest customer message (else its newest event: here a
    note, so that the thread shows them; an SLA event is the SLA panel's)."""
    tickets.note(desk, ticket_id, "The customer's files came by mail.")
    parts = [Part("screenshot.png", "image/png", PNG), Part(HOSTILE, "text/plain", LOG)]
    with desk.write() as (s, record):
        keep(s, desk, record, ticket_id, parts)
    rows = desk.store.query(
        "SELECT id FROM attachments WHERE ticket_id = ? ORDER BY id", (ticket_id,)
    )
    return [r[0] for r in rows]


def _state(desk: Desk, attachment_id: int) -> tuple[bool, bool, str]:
    """(has its bytes, redacted, sha256) as the database holds them."""
    data, redacted_at, digest = desk.store.query(
        "SELECT data, redacted_at, sha256 FROM attachments WHERE id = ?", (attachment_id,)
    )[0]
    return data is not None, redacted_at is not None, digest


async def _ticket(pilot: Pilot[Any], app: SupportDeskApp, tid: int) -> TicketScreen:
    await until(pilot, lambda: app.queue_screen() is not None, what="queue")
    await workers_done(app)
    app.open_ticket(tid)
    screen = await open_ticket_screen(pilot, app, tid)
    await workers_done(app)
    return screen


def _enabled(screen: TicketScreen, action: str) -> bool:
    return any(a.binding.action == action and a.enabled for a in screen.active_bindings.values())


def test_a_lead_redacts_a_chosen_attachment(desk: Desk) -> None:
    tid = new_ticket(desk, "Log with a password", contact_email="priya@bluefin.example")
    png, log = _files(desk, tid)
    asyncio.run(_lead_redacts(desk, tid, log))
    assert _state(desk, log) == (False, True, hashlib.sha256(LOG).hexdigest())
    assert _state(desk, png) == (True, False, hashlib.sha256(PNG).hexdigest())
    audit = desk.store.query(
        "SELECT changes FROM audit WHERE action = 'attachment.redact' AND entity_id = ?",
        (str(log),),
    )
    assert len(audit) == 1
    assert json.loads(audit[0][0])["reason"] == [None, "password in the log [/x]"]


async def _lead_redacts(desk: Desk, tid: int, log: int) -> None:
    app = SupportDeskApp(desk)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _ticket(pilot, app, tid)
        assert _enabled(screen, "redact_file") and not _enabled(screen, "redact_refused")
        # Esc at the confirmation: nothing changes
        await pilot.press("V")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal), what="the files")
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, RedactFileModal), what="confirm")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await workers_done(app)
        assert _state(desk, log)[:2] == (True, False)
        # a reason is required: Enter alone is refused in the form
        await pilot.press("V", "2")
        await until(pilot, lambda: isinstance(app.screen, RedactFileModal), what="confirm")
        modal = app.screen
        assert isinstance(modal, RedactFileModal)
        which = str(modal.query_one("#redact-which", Static).render())
        assert HOSTILE in which and "\x1b" not in which and "\u202e" not in which
        await pilot.press("enter")
        assert modal.refused and app.screen is modal
        modal.query_one(Input).value = "password in the log [/x]"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        await workers_done(app)

        def shown_redacted() -> bool:
            return any(
                f.id == log and f.redacted for e in screen.query(ThreadEntry) for f in e.files
            )

        await until(pilot, shown_redacted, what="the thread showing it redacted")
        entry = next(e for e in screen.query(ThreadEntry) if any(f.id == log for f in e.files))
        line = file_line(next(f for f in entry.files if f.id == log))
        assert "redacted" in line.plain and "[bold]pw[_x]" in line.plain
        toasts = [n.message for n in app._notifications]
        assert any(f"attachment {log}" in m and "redacted" in m for m in toasts), toasts
        # one file left with its bytes: V goes straight to its confirmation
        await pilot.press("V")
        await until(pilot, lambda: isinstance(app.screen, RedactFileModal), what="confirm")
        assert app.screen.file.name == "screenshot.png"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)


def test_an_agent_is_refused_with_the_services_message(desk: Desk, make_desk: DeskFactory) -> None:
    tid = new_ticket(desk, "Log with a password", contact_email="priya@bluefin.example")
    _png, log = _files(desk, tid)
    amir = make_desk("amir")
    with pytest.raises(NotAllowed) as refused:
        redact_attachment(amir, log, "a reason")
    asyncio.run(_agent_refused(amir, tid, str(refused.value)))
    assert _state(desk, log)[:2] == (True, False)


async def _agent_refused(amir: Desk, tid: int, message: str) -> None:
    app = SupportDeskApp(amir)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _ticket(pilot, app, tid)
        assert not _enabled(screen, "redact_file")  # not in the footer, nor in help
        await toasts_cleared(pilot)
        await pilot.press("V")
        await until(pilot, lambda: bool(app._notifications), what="the refusal")
        assert [n.message for n in app._notifications] == [message]
        assert app.screen is screen  # nothing was asked


@pytest.mark.usefixtures("utc")
def test_the_confirmation_at_80x24(fx: DeskFixture, snap_compare: SnapCompare) -> None:
    _files(fx.desk, 1)

    async def ready(pilot: Pilot[Any]) -> None:
        await queue_ready(pilot)
        await pilot.press("g", "1", "enter")
        await ticket_ready(pilot)
        await pilot.press("V", "2")
        await until(pilot, lambda: isinstance(pilot.app.screen, RedactFileModal))
        await pilot.press(*"password")
        await pilot.pause(0.2)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=(80, 24), run_before=ready)
