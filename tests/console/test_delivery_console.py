"""Delivery you can see in the console (issue 18, item 5): under each reply what became of
its mail (redrawn in place when another process records a failure, with the flag it
raises), automatic messages as lines of the thread, the mail alarm at the top of the lead's
board. The mail server's words are outside text: shown as visible escapes, never obeyed.
Snapshots of the ticket screen at 80x24 and 160x48 and of the board with an alarm."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.ticket import TicketScreen
from supportdesk.console.widgets.ticket_view import MailEntry, ThreadEntry
from supportdesk.core.desk import Desk
from supportdesk.models import OutboxMessage, TicketEvent
from supportdesk.services.outbox import failures
from tests.helpers.console import NOW, DeskFixture
from tests.helpers.screens import board_quiet as _board_quiet
from tests.helpers.screens import queue_ready as _queue_ready
from tests.helpers.screens import ticket_ready as _ticket_ready
from tests.helpers.settle import until, workers_done

SnapCompare = Callable[..., bool]
pytestmark = pytest.mark.usefixtures("utc")

TO = "jane@acme.example"
SERVER_TEXT = "451 4.7.1 \x1b[2Jgreylisted [b]try[/b] later\u202e"


def _outbox(desk: Desk, where: Any, **values: Any) -> int:
    """Set the delivery state of the outbox row the fixed desk queued (ticket #1's
    acknowledgement, its reply's mail) as a sender would have left it."""
    with desk.write() as (s, _r):
        row = s.scalars(select(OutboxMessage).where(where)).one()
        for key, value in values.items():
            setattr(row, key, value)
        s.flush()
        return row.id


def _mail_on_ticket_1(fx: DeskFixture) -> int:
    """Ticket #1's acknowledgement (sent) and its reply's mail (deferred); the reply's id."""
    with fx.desk.store.read() as s:
        reply = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == 1, TicketEvent.kind == "reply")
        ).one()
        created = s.scalars(
            select(TicketEvent.created_at).where(
                TicketEvent.ticket_id == 1, TicketEvent.kind == "created"
            )
        ).one()
    _outbox(
        fx.desk,
        OutboxMessage.dedupe_key == "ack:ticket:1",
        state="sent",
        sent_at=created + timedelta(seconds=40),
        attempts=1,
        server_reply="250 2.0.0 Ok: queued as 4Xk2",
    )
    return _outbox(
        fx.desk,
        OutboxMessage.event_id == reply.id,
        state="deferred",
        send_after=NOW + timedelta(minutes=12),
        attempts=3,
        last_error=SERVER_TEXT,
    )


async def _open_ticket_1(pilot: Pilot[Any]) -> None:
    await _queue_ready(pilot)
    await pilot.press("g", "1", "enter")
    await _ticket_ready(pilot)


def test_the_thread_shows_each_message_state_and_follows_a_failure(fx: DeskFixture) -> None:
    mid = _mail_on_ticket_1(fx)
    asyncio.run(_follows_a_failure(fx, mid))


async def _follows_a_failure(fx: DeskFixture, mid: int) -> None:
    app = SupportDeskApp(fx.desk)
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_ticket_1(pilot)
        screen = app.screen
        assert isinstance(screen, TicketScreen)
        auto = screen.query(MailEntry)
        assert len(auto) == 1 and "Acknowledgement by e-mail" in auto[0].header
        assert "✓ sent" in _text(auto[0]) and f"to {TO}" in _text(auto[0])
        reply = next(
            e for e in screen.query(ThreadEntry) if e.mail is not None and e.mail.id == mid
        )
        shown = _text(reply)
        assert "⟳ deferred: 451 4.7.1 ␛[2Jgreylisted [b]try[/b] later\\u202e" in shown
        assert "3 tries" in shown
        # another process records the failure: the same entry says so, and the flag follows
        other = fx.desk_at("lena")
        with other.write() as (s, _r):
            row = s.get(OutboxMessage, mid)
            assert row is not None
            failures.message_failed(s, other, row, "550 5.1.1 <jane@acme.example>: no such user")
        await until(pilot, lambda: "not delivered" in _text(reply), timeout=8.0)
        await workers_done(app)
        assert f"✗ not delivered to {TO}: 550 5.1.1" in _text(reply)
        assert reply in screen.query(ThreadEntry)  # redrawn in place, not remounted
        headers = [e.header for e in screen.query(ThreadEntry)]
        assert any(h.startswith("Reply not delivered") for h in headers)


def _text(entry: ThreadEntry) -> str:
    from rich.console import Console

    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(entry._render_entry(NOW))  # what the entry shows (its last update)
    return console.export_text()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_ticket_thread_with_delivery_states(
    fx: DeskFixture, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    """Ticket #1: the acknowledgement sent, the reply's mail deferred by a greylisting
    server whose answer carries escapes (shown, not obeyed)."""
    _mail_on_ticket_1(fx)

    async def ready(pilot: Pilot[Any]) -> None:
        await _open_ticket_1(pilot)
        thread = pilot.app.screen.query_one("#thread")
        thread.scroll_end(animate=False)
        await pilot.pause(0.2)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=size, run_before=ready)


def test_board_with_a_mail_alarm(fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """The lead's board while mail is not going out: the alarm on top, with how many
    messages wait."""
    _mail_on_ticket_1(fx)
    with fx.desk_at("lena", 58).write() as (s, _r):
        failures.transport_fault(s, fx.desk_at("lena", 58), "535 5.7.8 authentication failed")
    with fx.desk.write() as (s, _r):
        failures.transport_fault(s, fx.desk, "535 5.7.8 authentication failed")
    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=(160, 48), run_before=_board_quiet)
