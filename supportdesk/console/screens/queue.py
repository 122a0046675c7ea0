"""The queue screen, where everyone starts: one view of tickets in priority-then-arrival order
(or breaches first: the earliest SLA due time on top).

It holds one window of rows (keyset pages from the queue service) and moves the window when
the cursor nears its edge; a store change reloads the same window from its first row, so
the selected ticket and the scroll position stay where the agent left them. The worker that
reads a window also resolves each row's SLA plan, so the table's countdowns tick from memory.

Paint first, load the rest after (issue 14): the first window is shown without the plans,
whose policy engine the start path does not import; right after that paint the plans are
read (the countdown cells fill in a moment later), then the count and the preview's ticket,
and `QueuePainted` tells the app, which then starts its watchers. Every later window
brings its plans with it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from supportdesk.console.screens.base import HELP_BINDING, DeskScreen
from supportdesk.console.screens.messages import (
    QueuePainted,
    TicketLoaded,
    TotalCounted,
    WindowLoaded,
)
from supportdesk.console.widgets.format import one_line
from supportdesk.console.widgets.key_footer import KeyFooter
from supportdesk.console.widgets.preview import TicketPreview
from supportdesk.console.widgets.queue_table import QueueTable
from supportdesk.console.widgets.quiet import show, text_key
from supportdesk.core import queue
from supportdesk.core.queue import QueueFilter
from supportdesk.core.views import QueueKey, QueuePage, QueueRow
from supportdesk.enums import Category, View

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk
    from supportdesk.rules.policy import Plan

WINDOW = 240  # rows held in the table
MARGIN = 25  # this close to the window's edge, the next window is loaded
SHIFT = 100  # rows kept above the cursor when the window moves
SEARCH_DELAY = 0.25
PREVIEW_DELAY = 0.12
COUNT_EVERY = 2.0  # seconds between two counts of the view while changes keep coming
NARROW_HEADER = 100  # narrower: the title bar names the login without the database

VIEW_LABEL = {
    View.QUEUE: "Queue",
    View.HELD: "Held",
    View.WAITING: "Waiting",
    View.SCHEDULED: "Scheduled",
}
VIEW_HINT = {
    View.QUEUE: "new and open tickets",
    View.HELD: "awaiting authorization by an authorized contact",
    View.WAITING: "waiting on the customer",
    View.SCHEDULED: "scheduled work (off-peak)",
}
TIERS: tuple[int | None, ...] = (None, 1, 2, 3)
CATEGORIES: tuple[str | None, ...] = (None, *(c.value for c in Category))
VIEWS = Binding.Group("View", compact=True)
ORDER_LABEL = {"priority": "priority order", "due": "breaches first"}


class WindowWithPlans(WindowLoaded):
    """A window of the queue and the SLA plan of its rows (by `sla_plan`), both read by the
    worker: the countdowns need each plan's calendar and warnings, and the policy is read
    from the database. `plans` is None for a window read before the first paint: its plans
    follow in a `PlansLoaded`."""

    def __init__(
        self,
        generation: int,
        filt: QueueFilter,
        anchor: QueueKey | None,
        page: QueuePage,
        plans: dict[str | None, Plan] | None,
        marks: dict[str, int] | None = None,
    ) -> None:
        super().__init__(generation, filt, anchor, page)
        self.plans = plans
        self.marks = marks or {}  # accounts an open incident affects (issue 6)


class PlansLoaded(Message):
    """The plans of the rows of window `generation`, read after it was painted."""

    def __init__(self, generation: int, plans: dict[str | None, Plan]) -> None:
        super().__init__()
        self.generation = generation
        self.plans = plans


def plans_of(desk: Desk, rows: Sequence[QueueRow]) -> dict[str | None, Plan]:
    """The Plan of every row's `sla_plan` (in a worker: the policy is read from the database,
    and the policy engine is imported here, never on the start path)."""
    if not rows:
        return {}
    from supportdesk.core.policy import current_policy

    policy = current_policy(desk)
    return {name: policy.plan_for(name) for name in {r.sla_plan for r in rows}}


def store_label(display_name: str, is_sqlite: bool) -> str:
    """A short name for the database: the file name, or host/database for PostgreSQL."""
    if is_sqlite:
        return Path(display_name).name
    tail = display_name.split("@")[-1]
    return tail.split("?")[0]


class QueueScreen(DeskScreen):
    """The queue, held, waiting and scheduled views with filters, search and a preview."""

    TITLE = "Queue"
    SHOWS_MAINTENANCE = True  # the banner names the next maintenance window here
    HELP = (
        "Tickets in priority order, oldest first within a priority. The list is live: "
        "changes made anywhere appear within a second, and your place is kept.\n"
        "Last = who spoke last and how long ago (bold: the customer is waiting on us). "
        "● = someone else has the ticket open right now.\n"
        "Respond in / Resolve in (Next due on narrow screens: the clock due first) = business "
        "time left on the SLA clocks, ticking: ⚠ past a warning threshold, ✖ breached "
        "(negative: how long ago), ⏸ paused (cust: waiting on the customer, sched: "
        "scheduled, auth: awaiting authorization), ☾ the office is closed now, "
        "met / missed once stopped, — no target, best eff. = best effort.\n"
        "o switches between priority order and breaches first.\n"
    )
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("slash", "focus_search", "Search", key_display="/"),
        Binding("1", "view('queue')", "Queue view", group=VIEWS),
        Binding("2", "view('held')", "Held view", group=VIEWS),
        Binding("3", "view('waiting')", "Waiting view", group=VIEWS),
        Binding("4", "view('scheduled')", "Scheduled view", group=VIEWS),
        Binding("t", "cycle_tier", "Tier", tooltip="cycle the tier filter: all, 1, 2, 3"),
        Binding("c", "cycle_category", "Category", tooltip="cycle the category filter"),
        Binding("m", "toggle_mine", "Mine", tooltip="only tickets you hold"),
        Binding("u", "toggle_unclaimed", "Unclaimed", tooltip="only tickets nobody holds"),
        Binding(
            "o",
            "order('due')",
            "Breaches first",
            tooltip="breached first, then the least time left",
        ),
        Binding("o", "order('priority')", "Priority order", tooltip="back to priority order"),
        Binding("x", "clear_filters", "Clear filters", tooltip="keep the view and the order"),
        Binding("g", "goto", "Go to #", tooltip="open a ticket by its number"),
        Binding(
            "b", "tier_board", "Board", tooltip="the tier board: claim escalated work (ctrl+t)"
        ),
        HELP_BINDING,
        Binding("escape", "leave_search", "Back to the list", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="queue-screen")
        self.filt = QueueFilter()
        self.window_anchor: QueueKey | None = None
        self.has_more_before = False
        self.has_more_after = False
        self.total: int | None = None
        self.selected_id: int | None = None
        self.generation = 0
        self.loaded_generation = -1
        self._moving = False
        self._shown_filt: QueueFilter | None = None  # the filter of the rows on screen
        self._search_timer: Timer | None = None
        self._preview_timer: Timer | None = None
        self._count_timer: Timer | None = None
        self._counted_at = -COUNT_EVERY
        self.painted = False  # the first window is on screen (read by the window worker)
        self._shown_generation = -1  # of the window on screen
        self._rest_started = False  # what waited for the first page has been started

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # where the preview goes, set before the children mount: they are styled once, with
        # it (set on mount, it restyled the whole screen at every start)
        layout = self._place_preview()
        yield self.header_bar("title-bar")
        with Horizontal(id="filter-bar"):
            yield Static(id="view-tabs", markup=False)
            yield Input(
                placeholder="/ search subject, account or #number",
                id="search",
                compact=True,
            )
        with Horizontal(id="body") as body:
            body.styles.layout = layout
            yield QueueTable(id="queue")
            yield Static(id="empty", markup=False)
            yield TicketPreview(self.desk.now, id="preview")
        yield KeyFooter()

    def on_mount(self) -> None:
        search = self.query_one("#search", Input)
        search.cursor_blink = False
        self.query_one(QueueTable).focus()
        self._fit_layout()
        self._paint_bars()
        self.set_interval(1.0, self._tick)
        self.load_window(self._next_generation(), self.filt, None, "at")
        # the count, the plans, the preview's ticket and the app's watchers: after the paint

    def on_queue_table_rows_painted(self, _message: QueueTable.RowsPainted) -> None:
        self._first_paint()

    def on_screen_suspend(self) -> None:
        self._first_paint()  # another screen went on top before the rows were drawn

    def _first_paint(self) -> None:
        """The first window is painted: load what it did not need, its clocks first."""
        if self.painted:
            return
        self.painted = True
        table = self.query_one(QueueTable)
        if table.plans_pending:
            self.load_plans(self._shown_generation, list(table.rows_shown))
        else:
            self._first_page_done()

    def _first_page_done(self) -> None:
        """The first page is complete (its clocks too): the count, the preview's ticket, and
        the app's watchers, whose imports would otherwise delay the clocks."""
        if self._rest_started:
            return
        self._rest_started = True
        self.request_count(now=True)
        row = self.query_one(QueueTable).selected_row
        if self.preview_visible and row is not None:
            self._preview_soon(row.id)  # the full ticket (the services load with it)
        self.post_message(QueuePainted())

    def on_resize(self) -> None:
        self._fit_layout()
        self.call_after_refresh(self._relayout_table)

    def _fit_layout(self) -> None:
        self.query_one("#body").styles.layout = self._place_preview()

    def _place_preview(self) -> str:
        """The preview beside the table on very wide terminals, below it on tall ones, else
        none: at 80x24 every line goes to the list. Returns the body's layout."""
        width, height = self.app.size
        beside = width >= 200 and height >= 24
        below = not beside and width >= 100 and height >= 36
        self.set_class(beside, "-preview-beside")
        self.set_class(below, "-preview-below")
        self.set_class(not (beside or below), "-no-preview")
        return "horizontal" if beside else "vertical"

    def _relayout_table(self) -> None:
        self.query_one(QueueTable).relayout(self.desk.now())
        self._paint_bars()
        self._selection_changed()  # the preview may just have appeared

    @property
    def preview_visible(self) -> bool:
        return not self.has_class("-no-preview")

    def _paint_bars(self) -> None:
        view = VIEW_LABEL.get(self.filt.view, self.filt.view.value)
        rest = self.filt.with_(sort="priority").describe().split(" · ")[1:]
        left = Text(f" {view}", style="bold")
        if rest:
            left.append(" · " + one_line(" · ".join(rest)))  # the search typed (or pasted)
        order = ORDER_LABEL.get(self.filt.sort, self.filt.sort)
        left.append(f" · {order}", style="bold #ffaf00" if self.filt.sort == "due" else "dim")
        if self.total is None:
            count = Text("counting…", style="dim")
        else:
            noun = "ticket" if self.total == 1 else "tickets"
            capped = self.filt.search and self.total >= queue.SEARCH_COUNT_CAP
            count = Text(f"{self.total:,}{'+' if capped else ''} {noun}", style="bold")
        store = self.desk.store
        where = store_label(store.display_name(), store.is_sqlite)
        # the desk's time comes after this (the header bar): at 80 columns the login alone
        right = Text(one_line(self.desk.login))
        if self.app.size.width >= NARROW_HEADER:
            right.append(f" @ {one_line(where)}")
        grid = Table.grid(expand=True)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        grid.add_column(ratio=1, justify="center", no_wrap=True)
        grid.add_column(justify="right", no_wrap=True, overflow="ellipsis")
        grid.add_row(left, count, right)
        # a count or a resize that changes nothing on the bars leaves them (and the layout)
        key = (text_key(left), text_key(count), text_key(right))
        show(self.query_one("#title-bar", Static), grid, key=key)
        tabs = Text()
        for i, (v, label) in enumerate(VIEW_LABEL.items(), start=1):
            style = "bold reverse" if v is self.filt.view else ""
            tabs.append(f" {i} ", style="bold " + ("reverse" if style else "dim"))
            tabs.append(f"{label} ", style=style)
            tabs.append(" ")
        show(self.query_one("#view-tabs", Static), tabs)
        wide = self.app.size.width >= 100
        self.query_one("#search", Input).placeholder = (
            "/ search subject, account or #number" if wide else "/ search subject, account, #id"
        )

    # -- loading ------------------------------------------------------------------------
    def _next_generation(self) -> int:
        self.generation += 1
        return self.generation

    @work(thread=True, exclusive=True, exit_on_error=False, group="window", name="window")
    def load_window(
        self,
        generation: int,
        filt: QueueFilter,
        anchor: QueueKey | None,
        mode: str,
    ) -> None:
        """Read one window: from `anchor` (None: the top), or SHIFT rows before it."""
        desk = self.desk
        worker = get_current_worker()
        if mode == "before" and anchor is not None:
            earlier = queue.page(desk, filt, before=anchor, limit=SHIFT)
            anchor = earlier.rows[0].key if earlier.has_more_before and earlier.rows else None
        page = queue.page(desk, filt, start_at=anchor, limit=WINDOW)
        if not page.rows and anchor is not None:
            anchor = None  # everything after our place went away: show the top
            page = queue.page(desk, filt, limit=WINDOW)
        # before the first paint: no policy engine on the start path (the plans follow)
        plans = plans_of(desk, page.rows) if self.painted else None
        marks: dict[str, int] = {}
        if self.desk_app.incidents.incidents:  # only while an incident is open
            from supportdesk.services import incidents

            marks = incidents.affected_among(desk, [r.account for r in page.rows])
        if worker.is_cancelled:
            return
        self.post_message(WindowWithPlans(generation, filt, anchor, page, plans, marks))

    @work(thread=True, exclusive=True, exit_on_error=False, group="plans", name="plans")
    def load_plans(self, generation: int, rows: list[QueueRow]) -> None:
        """The plans of a window shown without them (read before the first paint)."""
        plans = plans_of(self.desk, rows)
        if not get_current_worker().is_cancelled:
            self.post_message(PlansLoaded(generation, plans))

    def on_plans_loaded(self, message: PlansLoaded) -> None:
        # (rows that have left the screen: the next window brings its own plans)
        if message.generation == self._shown_generation:
            self.query_one(QueueTable).fill_plans(message.plans, self.desk.now())
            if message.generation == self.generation:
                self.loaded_generation = message.generation
        self._first_page_done()

    def incidents_changed(self, *, servers_changed: bool) -> None:
        super().incidents_changed(servers_changed=servers_changed)
        if servers_changed:
            self.refresh_marks()

    def refresh_marks(self) -> None:
        """The open incidents changed: mark the affected accounts in the window again (a
        small read, not a reload of the window)."""
        accounts = sorted({r.account for r in self.query_one(QueueTable).rows_shown})
        if accounts:
            self.read_marks(accounts)

    @work(thread=True, exit_on_error=False, group="marks", name="marks")
    def read_marks(self, accounts: list[str]) -> None:
        """Not exclusive: a cancelled read would only be read again; the marks are the
        state of the store when read, whichever lands last."""
        from supportdesk.services import incidents

        open_now = bool(self.desk_app.incidents.incidents)
        marks = incidents.affected_among(self.desk, accounts) if open_now else {}
        self.app.call_from_thread(self._marks_read, marks)

    def _marks_read(self, marks: dict[str, int]) -> None:
        self.query_one(QueueTable).set_marks(marks, self.desk.now())

    @work(thread=True, exclusive=True, exit_on_error=False, group="count", name="count")
    def count_total(self, filt: QueueFilter) -> None:
        total = queue.count(self.desk, filt)
        if not get_current_worker().is_cancelled:
            self.post_message(TotalCounted(filt, total))

    def request_count(self, *, now: bool = False) -> None:
        """Count the view, at most once per COUNT_EVERY seconds during a burst of changes.

        Counting a big view costs a scan of its index (about 0.1 s at 700k rows, seconds
        with a search); the window is what must be live, the total may trail a moment.
        """
        if self._count_timer is not None:
            if not now:
                return  # a count is already due
            self._count_timer.stop()
            self._count_timer = None
        wait = COUNT_EVERY - (time.monotonic() - self._counted_at)
        if now or wait <= 0:
            self._counted_at = time.monotonic()
            self.count_total(self.filt)
        else:
            self._count_timer = self.set_timer(wait, self._count_due)

    def _count_due(self) -> None:
        self._count_timer = None
        self._counted_at = time.monotonic()
        self.count_total(self.filt)

    @property
    def count_pending(self) -> bool:
        return self._count_timer is not None

    def reload(self) -> None:
        """Reload the same window from its first row (a live refresh) and the preview."""
        self.load_window(self._next_generation(), self.filt, self.window_anchor, "at")
        if not self._rest_started:
            return  # the count and the preview start once the first page is complete
        self.request_count()
        if self.preview_visible and self.selected_id is not None:
            self.load_preview(self.selected_id)

    def set_filter(self, filt: QueueFilter) -> None:
        """Show another view or filter from its top, keeping the ticket if it is still in."""
        if filt == self.filt:
            return
        self.filt = filt
        self.window_anchor = None
        self.total = None
        self._paint_bars()
        self.load_window(self._next_generation(), filt, None, "at")
        self.request_count(now=True)

    def on_window_with_plans(self, message: WindowWithPlans) -> None:
        if message.generation != self.generation:
            return  # a newer request is on its way
        page = message.page
        self._shown_generation = message.generation
        if message.plans is not None:
            self.loaded_generation = message.generation  # else: once its plans are in
        self.window_anchor = message.anchor if page.has_more_before else None
        self.has_more_before = page.has_more_before
        self.has_more_after = page.has_more_after
        self._moving = False
        table = self.query_one(QueueTable)
        shown = table.selected_row  # the cursor as it is now, not as last reported
        keep = shown.id if shown is not None else self.selected_id
        shown_filt = self._shown_filt
        resorted = shown_filt is not None and message.filt.sort != shown_filt.sort
        if resorted or (message.filt != shown_filt and keep not in {r.id for r in page.rows}):
            # another order (its top is the point), or another view or filter without our
            # ticket: start at the top
            keep = None
            table.move_cursor(row=0, scroll=False)
        table.show_rows(
            page.rows,
            self.desk.now(),
            keep,
            message.plans,
            message.marks,
            plans_later=message.plans is None,
        )
        self._shown_filt = message.filt
        empty = self.query_one("#empty", Static)
        empty.display = not page.rows
        table.display = bool(page.rows)
        if page.rows and self.focused is None:
            table.focus()  # the list was empty (hidden) and lost focus
        if not page.rows:
            show(empty, self._empty_text())
        self._selection_changed()
        if not self.painted and not (page.rows and self.app.screen is self):
            self.call_after_refresh(self._first_paint)  # else once the rows are drawn
        elif self.painted and message.plans is None:  # read before the paint, landed after
            self.load_plans(message.generation, list(page.rows))

    def on_total_counted(self, message: TotalCounted) -> None:
        if message.filt == self.filt:
            self.total = message.total
            self._paint_bars()

    def _empty_text(self) -> Text:
        view = VIEW_LABEL.get(self.filt.view, "")
        text = Text(f"\n  Nothing in {view}", style="bold")
        text.append(f" ({VIEW_HINT.get(self.filt.view, '')})", style="dim")
        if self.filt != QueueFilter(view=self.filt.view, sort=self.filt.sort):
            text.append(f" matching {one_line(self.filt.describe())}.")
            text.append("\n  Press x to clear the filters.")
        else:
            text.append(".\n  Press 1–4 for another view.")
        return text

    # -- selection, window moves and preview --------------------------------------------
    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._selection_changed()
        self._maybe_move_window()

    @on(DataTable.RowSelected)
    def _row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def _selection_changed(self) -> None:
        row = self.query_one(QueueTable).selected_row
        new_id = row.id if row else None
        changed = new_id != self.selected_id
        self.selected_id = new_id
        if not self.preview_visible:
            return
        preview = self.query_one(TicketPreview)
        preview.show_row(row, self.desk.now())
        if not self.painted:
            return  # the full ticket (and the services it needs) after the first paint
        if row is not None and (changed or preview.ticket_id != row.id):
            self._preview_soon(row.id)

    def _preview_soon(self, ticket_id: int) -> None:
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(PREVIEW_DELAY, lambda: self.load_preview(ticket_id))

    def _maybe_move_window(self) -> None:
        """Near the window's edge, load the neighbouring window around the cursor."""
        table = self.query_one(QueueTable)
        rows = table.rows_shown
        if self._moving or not rows:
            return
        index = table.cursor_row
        if index >= len(rows) - MARGIN and self.has_more_after:
            self._moving = True
            self.window_anchor = rows[max(0, index - SHIFT)].key
            self.load_window(self._next_generation(), self.filt, self.window_anchor, "at")
        elif index < MARGIN and self.has_more_before:
            self._moving = True
            self.load_window(self._next_generation(), self.filt, rows[0].key, "before")

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview", name="preview")
    def load_preview(self, ticket_id: int) -> None:
        from supportdesk.services import tickets

        ticket = tickets.show(self.desk, ticket_id)
        if not get_current_worker().is_cancelled:
            self.post_message(TicketLoaded(ticket))

    def on_ticket_loaded(self, message: TicketLoaded) -> None:
        if self.preview_visible:
            preview = self.query_one(TicketPreview)
            if preview.show_ticket(message.ticket, self.desk.now()):
                self.read_account_notices(preview.notices, message.ticket.account)

    def on_failure(self, worker_name: str, error: BaseException) -> None:
        self._moving = False
        if worker_name == "window" and not self.painted:
            self.call_after_refresh(self._first_paint)  # the rest starts anyway
        elif worker_name == "plans":
            self._first_page_done()

    def _tick(self) -> None:
        """Once a second: ages and SLA countdowns from memory, no database."""
        self.query_one(QueueTable).tick(self.desk.now())

    def neighbour(self, ticket_id: int, step: int) -> int | None:
        return self.query_one(QueueTable).neighbour(ticket_id, step)

    # -- search -------------------------------------------------------------------------
    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        value = event.value.strip() or None
        self._search_timer = self.set_timer(
            SEARCH_DELAY, lambda: self.set_filter(self.filt.with_(search=value))
        )

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self.set_filter(self.filt.with_(search=event.value.strip() or None))
        self.query_one(QueueTable).focus()

    def focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    # -- actions ------------------------------------------------------------------------
    def action_open(self) -> None:
        row = self.query_one(QueueTable).selected_row
        if row is not None:
            self.desk_app.open_ticket(row.id)

    def action_view(self, view: str) -> None:
        self.set_filter(self.filt.with_(view=View(view)))

    def action_cycle_tier(self) -> None:
        i = TIERS.index(self.filt.tier)
        self.set_filter(self.filt.with_(tier=TIERS[(i + 1) % len(TIERS)]))

    def action_cycle_category(self) -> None:
        i = CATEGORIES.index(self.filt.category)
        self.set_filter(self.filt.with_(category=CATEGORIES[(i + 1) % len(CATEGORIES)]))

    def action_toggle_mine(self) -> None:
        self.set_filter(self.filt.with_(mine=not self.filt.mine, unclaimed=False))

    def action_toggle_unclaimed(self) -> None:
        self.set_filter(self.filt.with_(unclaimed=not self.filt.unclaimed, mine=False))

    def action_clear_filters(self) -> None:
        if self._search_timer is not None:  # a search typed a moment ago must not come back
            self._search_timer.stop()
        search = self.query_one("#search", Input)
        with search.prevent(Input.Changed):
            search.value = ""
        self.set_filter(QueueFilter(view=self.filt.view, sort=self.filt.sort))

    def action_order(self, sort: str) -> None:
        """Priority order, or breaches first (the earliest running SLA due time on top)."""
        self.set_filter(self.filt.with_(sort=sort))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "order":  # one "o" key: the footer offers the order not in use
            return bool(parameters) and parameters[0] != self.filt.sort
        return True

    def action_focus_search(self) -> None:
        self.focus_search()

    def action_leave_search(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one(QueueTable).focus()

    def action_goto(self) -> None:
        self.desk_app.action_goto_ticket()

    def action_tier_board(self) -> None:
        self.desk_app.action_tier_board()

    def rows_for_test(self) -> list[QueueRow]:
        """The rows in the window, in order (for tests and the command palette)."""
        return list(self.query_one(QueueTable).rows_shown)

    def now(self) -> datetime:
        return self.desk.now()
