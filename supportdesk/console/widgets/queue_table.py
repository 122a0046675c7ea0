"""The queue table: one window of queue rows in a DataTable, laid out for the width it has.

Textual's DataTable slows down with its total row count, so it only ever holds the window
the queue screen loaded (a few hundred rows). The once-a-second tick reads the SLA clocks
from memory (a `Countdown` per clock, built when the window was loaded with the calendar of
each row's plan) and rewrites only the age, "last spoke" and countdown cells whose text
changed, of the rows on screen; rows scrolled into view are brought up to date at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widgets.data_table import ColumnKey, RowKey

from supportdesk.console.widgets.format import (
    CHANNEL_LABEL,
    age,
    cell,
    last_spoke,
    priority_text,
    truncate,
)
from supportdesk.console.widgets.inert import InertTable, inert_cell
from supportdesk.console.widgets.sla_clock import (
    CELL_WIDTH,
    RowClocks,
    cell_parts,
    nearer,
    row_readings,
)
from supportdesk.core.views import QueueRow
from supportdesk.safe_text import clean

if TYPE_CHECKING:
    from supportdesk.rules.policy import Plan

Cell = Text | str
Render = Callable[[QueueRow, datetime, int], Cell]

TICKING = ("age", "last")  # the columns whose text depends on "now"
CLOCK_COLUMNS = ("respond", "resolve", "next")  # countdowns: their text depends on "now" too
MIN_SUBJECT = 16
TWO_CLOCKS_WIDTH = 140  # from this width on, respond and resolve get a column each


@dataclass(frozen=True)
class Column:
    """One column of the table: its key, label, width in cells and how a row renders in it."""

    key: str
    label: str
    width: int
    render: Render
    clock: str | None = None  # "respond", "resolve" or "next": a countdown cell


def _id(r: QueueRow, _now: datetime, w: int) -> Cell:
    return Text(str(r.id), style="bold", justify="right")


def _prio_letter(r: QueueRow, _now: datetime, _w: int) -> Cell:
    return priority_text(r.priority, word=False)


def _prio_word(r: QueueRow, _now: datetime, _w: int) -> Cell:
    return priority_text(r.priority, word=True)


def _age(r: QueueRow, now: datetime, _w: int) -> Cell:
    return Text(age(r.created_at, now), justify="right")


def _account(r: QueueRow, _now: datetime, w: int) -> Cell:
    return cell(r.account, w)


def _subject(r: QueueRow, _now: datetime, w: int) -> Cell:
    return cell(r.subject, w)


def _last(r: QueueRow, now: datetime, w: int) -> Cell:
    text = last_spoke(r.last_speaker, r.last_activity_at, now)
    # a customer waiting on us is what needs attention: make it stand out
    return Text(clean(text), style="bold" if r.last_speaker == "customer" else "dim")


def _channel(r: QueueRow, _now: datetime, w: int) -> Cell:
    return cell(CHANNEL_LABEL.get(r.channel, r.channel), w)


def _tier(r: QueueRow, _now: datetime, _w: int) -> Cell:
    return Text(f"T{r.tier}")


def _holder(r: QueueRow, _now: datetime, w: int) -> Cell:
    return cell(r.holder or "", w)


def _open_by(r: QueueRow, _now: datetime, w: int) -> Cell:
    if not r.open_by:
        return Text("")
    names = ",".join(r.open_by)
    return Text("●" + truncate(names, w - 1), style="bold #ff87d7")


def _who(r: QueueRow, _now: datetime, w: int) -> Cell:
    """Holder and "open by" in one cell, for narrow terminals."""
    text = Text(truncate(r.holder or "", w))
    if r.open_by:
        room = w - (len(text) + 1 if text else 0)
        if room < 3:  # someone looking at it right now matters more than who holds it
            text = Text()
            room = w
        if text:
            text.append(" ")
        text.append("●" + truncate(",".join(r.open_by), room - 1), style="bold #ff87d7")
    return text


def _no_render(_r: QueueRow, _now: datetime, _w: int) -> Cell:
    return Text("")  # countdown cells are drawn by the table, which holds the countdowns


def _ticking_text(key: str, r: QueueRow, now: datetime) -> str:
    """The text of an age or "last spoke" cell (what its Text would read), cheaply."""
    if key == "age":
        return age(r.created_at, now)
    return clean(last_spoke(r.last_speaker, r.last_activity_at, now))


def _fit(values: Sequence[str], low: int, high: int) -> int:
    longest = max((len(v) for v in values), default=0)
    return max(low, min(high, longest))


def layout_for(width: int, rows: Sequence[QueueRow]) -> tuple[Column, ...]:
    """The columns for a table `width` cells wide: fewer and narrower when cramped.

    Widths follow the data in the window (ids, accounts, logins) so nothing is cut that
    could have fit, and the subject takes whatever is left.
    """
    id_w = _fit([str(r.id) for r in rows], 3, 9)
    acct_w = _fit([r.account for r in rows], 7, 18 if width >= 120 else 12)
    holder_w = _fit([r.holder or "" for r in rows], 6, 10)
    open_w = _fit(["●" + ",".join(r.open_by) for r in rows], 5, 12)
    wide = width >= 120
    cols: list[Column] = [
        Column("id", "#", id_w, _id),
        Column(
            "prio",
            "Priority" if wide else "P",
            10 if wide else 1,
            _prio_word if wide else _prio_letter,
        ),
        Column("age", "Age", 4, _age),
        Column("account", "Account", acct_w, _account),
        Column("subject", "Subject", 0, _subject),
        Column("last", "Last", 9, _last),
    ]
    if width >= TWO_CLOCKS_WIDTH:
        cols.append(Column("respond", "Respond in", CELL_WIDTH, _no_render, "respond"))
        cols.append(Column("resolve", "Resolve in", CELL_WIDTH, _no_render, "resolve"))
    else:  # the clock that is due first
        cols.append(Column("next", "Next due", CELL_WIDTH, _no_render, "next"))
    if width >= 100:
        cols.append(Column("channel", "Via", 6, _channel))
        cols.append(Column("tier", "T", 2, _tier))
        cols.append(Column("holder", "Holder", holder_w, _holder))
        cols.append(Column("open", "Open", open_w, _open_by))
    else:
        # holder and "open by" share the cell; the lead board puts why a ticket needs a look
        # there ("unclaimed·idle"), so it may grow past a login's width
        who_w = _fit([r.holder or "" for r in rows], 8, 14)
        cols.append(Column("who", "Who", who_w, _who))
    cols = _squeeze(cols, width)
    subject_w = max(MIN_SUBJECT, _room(cols, width))
    return tuple(
        Column(c.key, c.label, subject_w, c.render) if c.key == "subject" else c for c in cols
    )


# When the subject would get less than MIN_SUBJECT cells, these columns give up cells in
# this order (down to the width given); the age goes last, so no row needs a scrollbar.
SQUEEZE = (("account", 9), ("who", 6), ("holder", 6), ("account", 7), ("open", 5))


def _room(cols: Sequence[Column], width: int) -> int:
    """Cells left for the subject."""
    return width - (sum(c.width + 2 for c in cols) + 2 + 1)  # padding, subject, scrollbar


def _squeeze(cols: list[Column], width: int) -> list[Column]:
    for key, floor in SQUEEZE:
        short = MIN_SUBJECT - _room(cols, width)
        if short <= 0:
            return cols
        cols = [
            replace(c, width=max(min(floor, c.width), c.width - short)) if c.key == key else c
            for c in cols
        ]  # a squeeze never widens a column
    if _room(cols, width) < MIN_SUBJECT:
        cols = [c for c in cols if c.key != "age"]
    return cols


def _discard(cache: Any, match: Callable[[Any], bool]) -> None:
    """Drop the entries of a Textual LRUCache (which is not iterable) whose key matches."""
    for key in [k for k in cache.keys() if match(k)]:  # noqa: SIM118
        cache.discard(key)


def _text_of(
    col: Column, row: QueueRow, rc: RowClocks | None, now: datetime, pending: bool = False
) -> tuple[str, str]:
    """(text, style) of a countdown cell (blank while the plans are still on their way)."""
    if pending:
        return "", ""
    if rc is None:
        return "—", "dim"
    respond, resolve = row_readings(rc, now)
    if col.clock == "respond":
        return cell_parts(respond)
    if col.clock == "resolve":
        return cell_parts(resolve)
    return cell_parts(nearer(respond, resolve))


class FastCellTable(InertTable):
    """A DataTable of one-line rows in fixed-width columns that can rewrite a few cells
    cheaply (the queue and the tier boards tick their countdowns through it).

    It keeps each row's countdowns (`RowClocks`, by ticket id) and the text of every cell
    that ticks, so the once-a-second tick redraws only the cells on screen whose text
    changed; rows scrolled into view are brought up to date before they are painted."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", cell_padding=1, zebra_stripes=False)
        self._texts: dict[tuple[int, str], str] = {}
        self._plans: Mapping[str | None, Plan] = {}
        self._row_clocks: dict[int, RowClocks] = {}
        self._now: datetime | None = None  # of the last tick: rows scrolled in are read at it
        self._filling = False

    def _available_width(self) -> int:
        return max(self.size.width or self.app.size.width, 40)

    def _clocks_for(self, row: QueueRow) -> RowClocks:
        """The row's countdowns: kept from the last load when its clocks and plan are the
        same (a countdown does its calendar work once per calendar boundary)."""
        plan = self._plans.get(row.sla_plan)
        old = self._row_clocks.get(row.id)
        if old is not None and old.same(row.clocks, plan):
            return old
        return RowClocks.build(row.clocks, plan)

    def visible_rows(self) -> range:
        """Indexes of the rows on screen (plus one partly shown)."""
        height = self.scrollable_content_region.height
        height -= self.header_height if self.show_header else 0
        if height <= 0:
            height = self.app.size.height
        first = max(0, int(self.scroll_y))
        return range(first, min(self.row_count, first + height + 1))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._now is not None and not self._filling and int(old_value) != int(new_value):
            self._tick_rows(self.visible_rows(), self._now)  # before they are painted

    def tick(self, now: datetime) -> int:
        """Redraw the cells on screen that depend on "now" and whose text changed; returns
        how many did. Reads memory only: no database, no calendar walk."""
        self._now = now
        return self._tick_rows(self.visible_rows(), now)

    def _tick_rows(self, indexes: Iterable[int], now: datetime) -> int:
        """Redraw the ticking cells of rows `indexes` whose text changed (a table whose
        cells never depend on "now" has none)."""
        return 0

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Skip DataTable's per-cell measuring: every column here has a fixed width and every
        row is one line, so measuring a 240-row window (2,400 cells, ~0.2 s at start-up and
        on every live reload) would change nothing."""
        if any(column.auto_width for column in self.columns.values()):
            super()._update_dimensions(new_rows)
            return
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            width + self._row_label_column_width, self._total_row_height + header
        )

    def _restore_scroll(self, y: int) -> None:
        self.scroll_to(y=y, animate=False, immediate=True)
        self._scroll_cursor_into_view(animate=False)

    def _write_cells(self, changed: Sequence[tuple[str, str, Cell]]) -> None:
        """`update_cell` for many cells, redrawing only those cells.

        DataTable.update_cell bumps the table's update count, which voids the cached render
        of every cell, and refreshes the whole table: every line on screen is drawn again
        (about 1.5 ms a line, some 50 ms at 160x48), while a countdown under an hour changes
        every second. Here the cells are written, only their cached renders (and their rows'
        lines) are forgotten, and only their rows are refreshed."""
        data = getattr(self, "_data", None)
        if not isinstance(data, dict) or not self._can_forget():
            with self.app.batch_update():  # a DataTable unlike 8.x: the slow, sure way
                for row_key, col_key, cell in changed:
                    self.update_cell(row_key, col_key, cell)
            return
        cells: set[tuple[RowKey, ColumnKey]] = set()
        for row_key, col_key, cell in changed:
            if self._set_cell(data, row_key, col_key, cell):
                cells.add((RowKey(row_key), ColumnKey(col_key)))
        rows = {row for row, _col in cells}
        indexes = [self.get_row_index(row) for row in rows]
        if not indexes:
            return  # (no regions would make `refresh` redraw the whole table)
        self._forget_rendered(cells, rows, indexes)
        # the rows' lines on screen (all one line high, under the fixed header), at once
        top = (self.header_height if self.show_header else 0) - self.scroll_offset.y
        width = self.size.width
        self.refresh(*(Region(0, top + index, width, 1) for index in indexes))

    _RENDER_CACHES = ("_cell_render_cache", "_row_render_cache", "_line_cache")

    def _can_forget(self) -> bool:
        caches = [getattr(self, name, None) for name in self._RENDER_CACHES]
        caches.append(getattr(self, "_row_renderable_cache", None))
        return all(hasattr(c, "keys") and hasattr(c, "discard") for c in caches) and hasattr(
            self, "_update_count"
        )

    def _forget_rendered(
        self, cells: set[tuple[RowKey, ColumnKey]], rows: set[RowKey], indexes: list[int]
    ) -> None:
        """Drop DataTable's cached renders of these cells, rows and lines (Textual 8 keys:
        a cell's start with (row key, column key), a row's lines with the row key, a line's
        with its y; the row renderables are keyed (update count, row index)). Every row
        here is one line high, under the header."""
        _discard(self._cell_render_cache, lambda k: (k[0], k[1]) in cells)
        _discard(self._row_render_cache, lambda k: k[0] in rows)
        top = self.header_height if self.show_header else 0
        lines = {top + index for index in indexes}
        _discard(self._line_cache, lambda k: k[0] in lines)
        for index in indexes:
            self._row_renderable_cache.discard((self._update_count, index))

    @staticmethod
    def _set_cell(
        data: dict[RowKey, dict[ColumnKey, Cell]], row: str, col: str, cell: Cell
    ) -> bool:
        cells = data.get(RowKey(row))
        if cells is None:
            return False  # the row went away
        cells[ColumnKey(col)] = inert_cell(cell)
        return True


class QueueTable(FastCellTable):
    """A DataTable of queue rows keyed by ticket id, with columns fitted to its width."""

    DEFAULT_CSS = """
    QueueTable { scrollbar-size-vertical: 1; }
    """
    # Enter stays an ordinary binding of the table (not a priority one on the screen) so
    # it is handled after the arrow keys typed before it, never ahead of them.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", key_display="⏎"),
    ]

    class RowsPainted(Message):
        """The table drew rows for the first time: the first page is being painted."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows_painted = False
        self.rows_shown: list[QueueRow] = []
        self._columns: tuple[Column, ...] = ()
        self.marks: dict[str, int] = {}  # accounts an open incident affects -> its number
        # rows shown before their plans were read: countdown cells blank until `fill_plans`
        self.plans_pending = False

    def render_lines(self, crop: Region) -> list[Strip]:
        """The compositor draws the table: the first time with rows, say so (once).

        A frame drawn while the app batches its updates (its start-up runs in one batch)
        never reaches the terminal, and nothing draws the table again by itself: draw it
        again once the batch is over, and only that frame counts."""
        lines = super().render_lines(crop)
        if self.rows_shown and not self._rows_painted:
            if self.app._batch_count:  # noqa: SLF001 - Textual drops frames drawn in a batch
                self.call_later(self.refresh)
            else:
                self._rows_painted = True
                self.post_message(self.RowsPainted())
        return lines

    # -- filling ------------------------------------------------------------------------
    def _same_tickets(self, rows: Sequence[QueueRow]) -> bool:
        shown = self.rows_shown
        return len(shown) == len(rows) and all(
            a.id == b.id for a, b in zip(shown, rows, strict=True)
        )

    def _cell(self, col: Column, row: QueueRow, now: datetime) -> Cell:
        """Render one cell, remembering the text of the cells that tick."""
        if col.clock is not None:
            rc = self._row_clocks.get(row.id)
            text, style = _text_of(col, row, rc, now, self.plans_pending)
            self._texts[(row.id, col.key)] = text
            return Text(text, style=style, justify="right")
        if col.key == "account" and row.account in self.marks:  # an outage on its server
            return Text.assemble(("▲", "bold #ff5f5f"), truncate(row.account, col.width - 1))
        cell = col.render(row, now, col.width)
        if col.key in TICKING:
            self._texts[(row.id, col.key)] = str(cell)
        return cell

    def _update_changed(self, rows: Sequence[QueueRow], now: datetime) -> None:
        """The usual live reload: the same tickets in the same order, a few of them changed.
        Touch only the cells of changed rows (a full rebuild of 240 rows costs ~0.1 s)."""
        with self.app.batch_update():
            for old, new in zip(self.rows_shown, rows, strict=True):
                clocks = self._clocks_for(new)
                if old == new and clocks is self._row_clocks.get(new.id):
                    continue
                self._row_clocks[new.id] = clocks
                row_key = str(new.id)
                for col in self._columns:
                    self.update_cell(row_key, col.key, self._cell(col, new, now))
            self.rows_shown = list(rows)

    def set_marks(self, marks: Mapping[str, int], now: datetime) -> None:
        """Mark (▲) the accounts an open incident affects, redrawing only account cells."""
        if dict(marks) == self.marks:
            return
        self.marks = dict(marks)
        account = next((c for c in self._columns if c.key == "account"), None)
        if account is None or self._filling:
            return
        with self.app.batch_update():
            for row in self.rows_shown:
                self.update_cell(str(row.id), "account", self._cell(account, row, now))

    def show_rows(
        self,
        rows: Sequence[QueueRow],
        now: datetime,
        keep_id: int | None,
        plans: Mapping[str | None, Plan] | None = None,
        marks: Mapping[str, int] | None = None,
        *,
        plans_later: bool = False,
    ) -> None:
        """Replace the window, keeping the cursor on ticket `keep_id` (or at the same place)
        and that row at the same height on screen, so a live reload does not move anything.

        `plans` maps each row's `sla_plan` to its Plan (resolved by the loading worker): the
        countdowns need the plan's calendar and warning thresholds. `marks` names the
        accounts an open incident affects (their account cell gets a ▲). `plans_later`: the
        rows' plans are not read yet (before the first paint); `fill_plans` brings them."""
        if plans_later:
            self.plans_pending = True
        elif plans is not None:
            self._plans = plans
            self.plans_pending = False
        if marks is not None and dict(marks) != self.marks:
            self.marks = dict(marks)
            self.rows_shown = []  # every account cell may change: fill the window again
        self._now = now
        old_index = self.cursor_row
        old_offset = old_index - int(self.scroll_y)
        columns = layout_for(self._available_width(), rows)
        if columns == self._columns and self._same_tickets(rows):
            self._update_changed(rows, now)
            return
        self._filling = True
        try:
            with self.app.batch_update():
                if columns != self._columns:
                    self.clear(columns=True)
                    for col in columns:
                        label = Text(col.label, justify="right") if col.clock else col.label
                        self.add_column(label, width=col.width, key=col.key)
                    self._columns = columns
                else:
                    self.clear()
                self._row_clocks = {row.id: self._clocks_for(row) for row in rows}
                self.rows_shown = list(rows)
                self._texts.clear()
                for row in rows:
                    self.add_row(*(self._cell(col, row, now) for col in columns), key=str(row.id))
                if not rows:
                    return
                index = min(old_index, len(rows) - 1)
                if keep_id is not None:
                    for i, row in enumerate(rows):
                        if row.id == keep_id:
                            index = i
                            break
                self.move_cursor(row=index, animate=False, scroll=False)
        finally:
            self._filling = False
        target = max(0, index - max(0, old_offset))
        self.call_after_refresh(self._restore_scroll, target)

    def fill_plans(self, plans: Mapping[str | None, Plan], now: datetime) -> None:
        """The plans of the rows shown, read after they were painted: build their countdowns
        and write the countdown cells (only those cells are redrawn)."""
        self._plans = plans
        self.plans_pending = False
        self._now = now
        self._row_clocks = {row.id: self._clocks_for(row) for row in self.rows_shown}
        clocks = [c for c in self._columns if c.clock is not None]
        changed = [
            (str(row.id), col.key, self._cell(col, row, now))
            for row in self.rows_shown
            for col in clocks
        ]
        if changed and not self._filling:
            self._write_cells(changed)

    def on_resize(self) -> None:
        # The table's own width can change without the screen resizing (a scrollbar appears
        # beside it in a scrolling container): fit the columns to the width it ends up with.
        if self.rows_shown and self._now is not None:
            self.call_after_refresh(self._relayout_now)

    def _relayout_now(self) -> None:
        if self._now is not None:
            self.relayout(self._now)

    def relayout(self, now: datetime) -> None:
        """Re-fit the columns after a resize (only when the layout actually changes)."""
        if layout_for(self._available_width(), self.rows_shown) != self._columns:
            selected = self.selected_row
            self.show_rows(self.rows_shown, now, selected.id if selected else None)
        else:
            self._tick_rows(self.visible_rows(), now)  # rows a taller table now shows

    # -- reading ------------------------------------------------------------------------
    @property
    def selected_row(self) -> QueueRow | None:
        if not self.rows_shown or not 0 <= self.cursor_row < len(self.rows_shown):
            return None
        return self.rows_shown[self.cursor_row]

    def neighbour(self, ticket_id: int, step: int) -> int | None:
        """The ticket `step` rows away from `ticket_id` in this window, if there is one."""
        for i, row in enumerate(self.rows_shown):
            if row.id == ticket_id:
                j = i + step
                return self.rows_shown[j].id if 0 <= j < len(self.rows_shown) else None
        return None

    # -- ticking ------------------------------------------------------------------------
    def _tick_rows(self, indexes: Iterable[int], now: datetime) -> int:
        ticking = [
            c
            for c in self._columns
            if (c.clock is not None and not self.plans_pending) or c.key in TICKING
        ]
        if not ticking or self._filling:
            return 0
        rows = self.rows_shown
        texts = self._texts
        row_clocks = self._row_clocks
        changed: list[tuple[str, str, Cell]] = []
        for i in indexes:
            row = rows[i]
            readings = None
            for col in ticking:
                key = (row.id, col.key)
                if col.clock is None:
                    text = _ticking_text(col.key, row, now)
                    if texts.get(key) != text:
                        texts[key] = text
                        changed.append((str(row.id), col.key, col.render(row, now, col.width)))
                    continue
                if readings is None:
                    rc = row_clocks.get(row.id)
                    readings = row_readings(rc, now) if rc is not None else None
                if readings is None:
                    continue
                respond, resolve = readings
                if col.clock == "respond":
                    reading = respond
                elif col.clock == "resolve":
                    reading = resolve
                else:
                    reading = nearer(respond, resolve)
                text, style = cell_parts(reading)
                if texts.get(key) != text:
                    texts[key] = text
                    changed.append((str(row.id), col.key, Text(text, style=style, justify="right")))
        if changed:
            self._write_cells(changed)
        return len(changed)
