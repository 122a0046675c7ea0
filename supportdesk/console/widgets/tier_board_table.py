"""A tier board as a table: section headings, then one line per ticket with its SLA
countdowns, why and by whom it was escalated, how long it has waited and who holds it.

It ticks like the queue table: the countdowns (`RowClocks`, built when the board was loaded),
the waits and the "touched" ages are recomputed from memory once a second and only the cells
whose text changed are rewritten; a claim that passes the stale threshold is marked stale
by the tick, with no database read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, TypeAlias

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate

from supportdesk.console.widgets.format import one_line, priority_text, span, truncate
from supportdesk.console.widgets.queue_table import Cell, FastCellTable
from supportdesk.console.widgets.sla_clock import (
    CELL_WIDTH,
    PAUSE_SHORT,
    cell_parts,
    nearer,
    row_readings,
)
from supportdesk.rules.policy import Plan

if TYPE_CHECKING:
    from supportdesk.services.escalation import BoardRow, TierBoard

SECTION_TITLE = {
    "mine": "MY CLAIMS",
    "unclaimed": "UNCLAIMED",
    "waiting": "WAITING",
    "others": "CLAIMED BY OTHERS",
}
SECTION_HINT = {
    "mine": "by priority, with when each was last touched",
    "unclaimed": "by priority, then time of escalation",
    "waiting": "unclaimed, on the customer, a schedule or an authorization",
    "others": "stalest first",
}
STALE_STYLE = "bold #000000 on #ff8700"
FLAG_GLYPH = "⚑"
FLAG_STYLE = "bold #ff5f5f"
HEADING_STYLE = "bold #5fd7ff"
CLOCKS = ("respond", "resolve", "next")
TICKING = ("waited", "holder")
MIN_TICKET = 16


@dataclass(frozen=True)
class Heading:
    """A section's heading line in the table (the cursor skips it)."""

    section: str
    text: str
    hint: str = ""

    def fitted(self, width: int) -> str:
        """The title and count, and the hint when it fits whole."""
        full = f"{self.text} · {self.hint}" if self.hint else self.text
        return full if len(full) <= width else truncate(self.text, width)


BoardItem: TypeAlias = "BoardRow | Heading"


def board_items(board: TierBoard, *, lead: bool) -> list[BoardItem]:
    """The board's rows under their headings, in the board's section order; a lead also
    sees the claims of others. An empty section keeps its heading (saying so)."""
    sections = ["mine", "unclaimed", "waiting"] + (["others"] if lead else [])
    out: list[BoardItem] = []
    for section in sections:
        rows = [r for r in board.rows if r.section == section]
        if section == "mine":
            paused = sum(1 for r in rows if r.row.status not in ("new", "open"))
            count = f"{board.mine}" + (f", {paused} waiting" if paused else "")
        elif section == "unclaimed":
            count = f"{board.unclaimed}" + (
                f", {len(rows)} shown" if board.unclaimed > len(rows) else ""
            )
        elif section == "waiting":
            count = f"{board.waiting}" + (
                f", {len(rows)} shown" if board.waiting > len(rows) else ""
            )
        else:
            count = f"{len(rows)}"
        hint = SECTION_HINT[section] if rows else "none"
        out.append(Heading(section, f"{SECTION_TITLE[section]} · {count}", hint))
        out.extend(rows)
    return out


def is_stale(row: BoardRow, now: datetime, stale_after_s: int) -> bool:
    """A claim nobody touched for `stale_after_s` (read from memory, so it turns stale on
    the tick that passes the threshold)."""
    if row.row.holder is None:
        return False
    touched = row.touched_at
    return touched is None or (now - touched).total_seconds() >= stale_after_s


def waited_text(row: BoardRow, now: datetime) -> str:
    return span_words(row.waited_s(now))


def span_words(seconds: int) -> str:
    """ "45m", "3h", "12d" (as the queue's ages), "0m" for under a minute."""
    from datetime import timedelta

    return span(timedelta(seconds=seconds))


def holder_parts(row: BoardRow, now: datetime, stale_after_s: int) -> tuple[str, str]:
    """(text, style) of the holder cell: who holds it and how long since they touched it,
    or why an unclaimed ticket waits."""
    r = row.row
    if r.holder is None:
        if row.section == "waiting":
            return f"waits: {PAUSE_SHORT.get(r.status, one_line(r.status))}", "dim"
        return "—", "dim"
    since = span_words(int((now - row.touched_at).total_seconds())) if row.touched_at else "?"
    stale = is_stale(row, now, stale_after_s)
    who = "" if row.section == "mine" else f"{one_line(r.holder)} "
    if stale:
        return f"{who}STALE {since}", STALE_STYLE
    return f"{who}{since} ago", ""


@dataclass(frozen=True)
class BoardColumn:
    key: str
    label: str
    width: int
    clock: str | None = None


def _fit(values: Iterable[str], low: int, high: int) -> int:
    longest = max((len(v) for v in values), default=0)
    return max(low, min(high, longest))


def board_layout(width: int, rows: Sequence[BoardRow]) -> tuple[BoardColumn, ...]:
    """Columns for a board `width` cells wide: the reason and the escalator only with room
    (the detail line under the table shows them for the selected ticket anyway)."""
    id_w = _fit((str(r.row.id) for r in rows), 3, 9)
    cols = [
        BoardColumn("id", "#", id_w),
        BoardColumn("prio", "Priority" if width >= 120 else "P", 10 if width >= 120 else 1),
        BoardColumn("ticket", "Ticket · account" if width >= 100 else "Ticket", 0),
    ]
    if width >= 140:
        cols.append(BoardColumn("respond", "Respond in", CELL_WIDTH, "respond"))
        cols.append(BoardColumn("resolve", "Resolve in", CELL_WIDTH, "resolve"))
    else:
        cols.append(BoardColumn("next", "Next due", CELL_WIDTH, "next"))
    cols.append(BoardColumn("waited", "Waited", 6))
    if width >= 100:
        by_w = _fit((r.escalated_by or "" for r in rows), 5, 10)
        cols.append(BoardColumn("by", "By", by_w))
        cols.append(BoardColumn("reason", "Reason", 26 if width >= 150 else 20))
    holder_w = _fit((f"{r.row.holder} STALE 23h" for r in rows if r.row.holder), 10, 18)
    if width >= 140:
        cols.append(BoardColumn("holder", "Holder, touched", max(15, holder_w)))
    else:
        cols.append(BoardColumn("holder", "Holder", holder_w))
    used = sum(c.width + 2 for c in cols) + 3  # padding, scrollbar
    ticket_w = max(MIN_TICKET, width - used)
    return tuple(BoardColumn(c.key, c.label, ticket_w) if c.key == "ticket" else c for c in cols)


def ticket_cell(row: BoardRow, width: int) -> Text:
    """Subject, then the account (dim) when there is room; ⚑ for a complaint."""
    r = row.row
    text = Text(no_wrap=True)
    room = width
    if row.flagged:
        text.append(f"{FLAG_GLYPH} ", style=FLAG_STYLE)
        room -= 2
    if room >= 40:  # the account gets at most a third of the cell, the subject the rest
        account = truncate(r.account, min(len(one_line(r.account)), max(8, room // 3)))
        subject = truncate(r.subject, room - len(account) - 3)
        text.append(subject)
        text.append(f" · {account}", style="dim")
    else:
        text.append(truncate(r.subject, room))
    return text


class TierBoardTable(FastCellTable):
    """The rows of one tier board, keyed by ticket id, with section headings between."""

    DEFAULT_CSS = """
    TierBoardTable { scrollbar-size-vertical: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", key_display="⏎"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[BoardItem] = []
        self.stale_after_s = 45 * 60
        self._cols: tuple[BoardColumn, ...] = ()

    # -- cells --------------------------------------------------------------------------
    def _ticking(self, col: BoardColumn, row: BoardRow, now: datetime) -> tuple[str, str]:
        """(text, style) of a cell that depends on "now"."""
        if col.clock is not None:
            rc = self._row_clocks.get(row.row.id)
            if rc is None:
                return "—", "dim"
            respond, resolve = row_readings(rc, now)
            if col.clock == "respond":
                return cell_parts(respond)
            if col.clock == "resolve":
                return cell_parts(resolve)
            return cell_parts(nearer(respond, resolve))
        if col.key == "waited":
            return waited_text(row, now), ""
        return holder_parts(row, now, self.stale_after_s)

    def _cell(self, col: BoardColumn, row: BoardRow, now: datetime) -> Cell:
        r = row.row
        if col.clock is not None or col.key in TICKING:
            text, style = self._ticking(col, row, now)
            self._texts[(r.id, col.key)] = text
            right = col.clock is not None or col.key == "waited"
            return Text(text, style=style, justify="right" if right else "left")
        if col.key == "id":
            return Text(str(r.id), style="bold", justify="right")
        if col.key == "prio":
            return priority_text(r.priority, word=col.width > 1)
        if col.key == "ticket":
            return ticket_cell(row, col.width)
        if col.key == "by":
            return Text(
                truncate(row.escalated_by or "", col.width),
                style="dim" if not row.escalated_by else "",
            )
        if col.key == "reason":
            return Text(truncate(row.reason or "", col.width))
        return Text("")

    def _heading_cells(self, heading: Heading) -> list[Cell]:
        cells: list[Cell] = []
        for col in self._cols:
            if col.key == "ticket":
                cells.append(Text(heading.fitted(col.width), style=HEADING_STYLE))
            else:
                cells.append(Text(""))
        return cells

    # -- filling ------------------------------------------------------------------------
    @staticmethod
    def _key(item: BoardItem) -> str:
        return f"h-{item.section}" if isinstance(item, Heading) else str(item.row.id)

    def show_board(
        self,
        items: Sequence[BoardItem],
        now: datetime,
        keep_id: int | None,
        plans: Mapping[str | None, Plan],
        stale_after_s: int,
    ) -> None:
        """Replace the rows, keeping the cursor on ticket `keep_id` (else at the same place)
        and that row at the same height on screen.

        The cursor follows its ticket within its section, or into my claims; a ticket that
        someone else took leaves the cursor where it was, on the ticket that moved up."""
        was_in = next(
            (i.section for i in self.items if not isinstance(i, Heading) and i.row.id == keep_id),
            None,
        )
        self._plans = plans
        self.stale_after_s = stale_after_s
        self._now = now
        rows = [i for i in items if not isinstance(i, Heading)]
        old_index = self.cursor_row
        old_offset = old_index - int(self.scroll_y)
        cols = board_layout(self._available_width(), rows)
        same_keys = [self._key(i) for i in items] == [self._key(i) for i in self.items]
        if cols == self._cols and same_keys:
            self._update_changed(items, now)
            return
        self._filling = True
        index = 0
        try:
            with self.app.batch_update():
                if cols != self._cols:
                    self.clear(columns=True)
                    for col in cols:
                        right = col.clock is not None or col.key == "waited"
                        label = Text(col.label, justify="right") if right else col.label
                        self.add_column(label, width=col.width, key=col.key)
                    self._cols = cols
                else:
                    self.clear()
                self._row_clocks = {r.row.id: self._clocks_for(r.row) for r in rows}
                self.items = list(items)
                self._texts.clear()
                for item in items:
                    if isinstance(item, Heading):
                        self.add_row(*self._heading_cells(item), key=self._key(item))
                    else:
                        self.add_row(*(self._cell(c, item, now) for c in cols), key=self._key(item))
                if not items:
                    return
                index = self._ticket_index(keep_id, min(old_index, len(items) - 1), was_in)
                self.move_cursor(row=index, animate=False, scroll=False)
        finally:
            self._filling = False
        target = max(0, index - max(0, old_offset))
        if all(isinstance(i, Heading) for i in self.items[:index]):
            target = 0  # the first ticket: keep its section's heading in view
        self.call_after_refresh(self._restore_scroll, target)

    def _ticket_index(self, keep_id: int | None, fallback: int, was_in: str | None) -> int:
        if keep_id is not None:
            for i, item in enumerate(self.items):
                if isinstance(item, Heading) or item.row.id != keep_id:
                    continue
                if was_in is None or item.section in (was_in, "mine"):
                    return i
                break
        return self._nearest_ticket(fallback, 1)

    def _nearest_ticket(self, index: int, step: int) -> int:
        """`index` if it is a ticket, else the next ticket row that way (else the other)."""
        items = self.items
        for direction in (step, -step):
            i = index
            while 0 <= i < len(items):
                if not isinstance(items[i], Heading):
                    return i
                i += direction
        return index

    def _update_changed(self, items: Sequence[BoardItem], now: datetime) -> None:
        """The same rows in the same order: rewrite only the rows that changed."""
        with self.app.batch_update():
            for old, new in zip(self.items, items, strict=True):
                if isinstance(new, Heading):
                    if old != new:
                        for col, cell in zip(self._cols, self._heading_cells(new), strict=True):
                            self.update_cell(self._key(new), col.key, cell)
                    continue
                clocks = self._clocks_for(new.row)
                if old == new and clocks is self._row_clocks.get(new.row.id):
                    continue
                self._row_clocks[new.row.id] = clocks
                for col in self._cols:
                    self.update_cell(self._key(new), col.key, self._cell(col, new, now))
            self.items = list(items)

    def relayout(self, now: datetime) -> None:
        rows = [i for i in self.items if not isinstance(i, Heading)]
        if board_layout(self._available_width(), rows) != self._cols:
            selected = self.selected
            self._cols = ()  # force the rebuild
            self.show_board(
                list(self.items),
                now,
                selected.row.id if selected else None,
                self._plans,
                self.stale_after_s,
            )
        else:
            self._tick_rows(self.visible_rows(), now)

    # -- the cursor ---------------------------------------------------------------------
    @property
    def selected(self) -> BoardRow | None:
        if not 0 <= self.cursor_row < len(self.items):
            return None
        item = self.items[self.cursor_row]
        return None if isinstance(item, Heading) else item

    def ticket_ids(self) -> list[int]:
        return [i.row.id for i in self.items if not isinstance(i, Heading)]

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if self._filling or not 0 <= new.row < len(self.items):
            return
        if isinstance(self.items[new.row], Heading):
            target = self._nearest_ticket(new.row, 1 if new.row >= old.row else -1)
            if target != new.row:
                self.move_cursor(row=target, animate=False)

    # -- ticking ------------------------------------------------------------------------
    def _tick_rows(self, indexes: Iterable[int], now: datetime) -> int:
        ticking = [c for c in self._cols if c.clock is not None or c.key in TICKING]
        if not ticking or self._filling:
            return 0
        changed: list[tuple[str, str, Cell]] = []
        for i in indexes:
            item = self.items[i]
            if isinstance(item, Heading):
                continue
            for col in ticking:
                text, style = self._ticking(col, item, now)
                key = (item.row.id, col.key)
                if self._texts.get(key) != text:
                    self._texts[key] = text
                    right = col.clock is not None or col.key == "waited"
                    cell = Text(text, style=style, justify="right" if right else "left")
                    changed.append((str(item.row.id), col.key, cell))
        if changed:
            self._write_cells(changed)
        return len(changed)
