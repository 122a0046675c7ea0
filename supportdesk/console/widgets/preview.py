"""The queue's preview pane: the highlighted ticket's facts and its latest thread entries.

It shows what the queue row already knows at once and fills in the thread when the full
ticket arrives, so moving the cursor never waits on the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from supportdesk.console.widgets.incident_banner import AccountNotices
from supportdesk.console.widgets.quiet import show
from supportdesk.console.widgets.ticket_view import (
    ThreadView,
    facts_key,
    row_facts,
    ticket_facts,
    ticket_title,
)
from supportdesk.core.views import QueueRow, TicketView

PREVIEW_EVENTS = 4


class PreviewThread(ThreadView):
    """The preview's thread always shows its latest entries, also when the notices above it
    (an incident on the account) appear or go and its height changes."""

    def on_resize(self) -> None:
        self.call_after_refresh(self.scroll_end, animate=False)


class TicketPreview(Vertical):
    """Facts and the last few thread entries of one ticket, read-only; the incidents and
    maintenance of its account come from the screen (`notices`)."""

    def __init__(self, now: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.now = now  # the desk's clock, for the notices' countdowns
        self.ticket_id: int | None = None
        self.detailed = False  # the facts come from the full ticket, not just its queue row

    def compose(self) -> ComposeResult:
        yield Static(id="pv-title", markup=False)
        yield AccountNotices(self.now, id="pv-notices")  # an outage on the account, first
        yield Static(id="pv-facts", markup=False)
        yield PreviewThread(id="pv-thread", limit=PREVIEW_EVENTS)

    def show_row(self, row: QueueRow | None, now: datetime) -> None:
        """Show a queue row right away (the thread follows with `show_ticket`)."""
        title = self.query_one("#pv-title", Static)
        facts = self.query_one("#pv-facts", Static)
        thread = self.query_one(ThreadView)
        if row is None or row.account != self.notices.account:
            self.notices.clear()
        if row is None:
            self.ticket_id = None
            self.detailed = False
            show(title, "")
            show(facts, "Nothing selected.")
            thread.clear_thread()
            return
        if row.id != self.ticket_id:
            thread.clear_thread()
            self.detailed = False
        self.ticket_id = row.id
        if self.detailed:
            return  # a live reload of the same ticket: keep the full facts until they refresh
        show(title, ticket_title(row, self._width()))
        show(facts, row_facts(row, now))

    def show_ticket(self, ticket: TicketView, now: datetime) -> bool:
        """Show the full ticket; False if the cursor moved on while it was loading."""
        if ticket.id != self.ticket_id:
            return False
        width = self._width()
        show(self.query_one("#pv-title", Static), ticket_title(ticket, width))
        facts = ticket_facts(ticket, now, width)
        show(self.query_one("#pv-facts", Static), facts, key=facts_key(ticket, now, width))
        self.query_one(ThreadView).show(ticket, now)
        self.detailed = True
        return True

    @property
    def notices(self) -> AccountNotices:
        """The account's incidents and maintenance, filled by the screen."""
        return self.query_one(AccountNotices)

    def _width(self) -> int:
        return max(40, (self.size.width or self.app.size.width) - 2)
