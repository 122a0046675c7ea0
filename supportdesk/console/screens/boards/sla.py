"""The lead's SLA board: every clock of the desk at once, who is here and what they hold,
what needs a lead, and how the desk is doing; live like the queue.

The snapshot and the figures are read in workers (services.sla_board); the once-a-second
tick redraws only the countdown cells from memory (the queue table's countdowns). A ticket
that breaches while the board is open flashes and rings the bell once. In read-only mode (the
wall display that `supportdesk serve` shows) nothing that changes data is bound, and with
`redact` subjects and customer names are hidden.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from rich.console import Group as RichGroup
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from supportdesk.console.screens.base import HELP_BINDING, DeskScreen, desk_app_of
from supportdesk.console.screens.modals import AskModal, Choice, ChoiceModal
from supportdesk.console.screens.queue import plans_of
from supportdesk.console.widgets.closing import SkipsMountWhenClosing
from supportdesk.console.widgets.delivery import alarm_text
from supportdesk.console.widgets.format import ago, cell, local, one_line, truncate
from supportdesk.console.widgets.header_bar import HeaderBar
from supportdesk.console.widgets.key_footer import KeyFooter
from supportdesk.console.widgets.queue_table import QueueTable
from supportdesk.console.widgets.quiet import show
from supportdesk.console.widgets.sla_clock import row_readings
from supportdesk.core.views import QueueRow
from supportdesk.rules.policy import Plan
from supportdesk.services import escalation
from supportdesk.services.reports import sla_board
from supportdesk.services.reports.sla_board import (
    URGENT_END,
    Anchor,
    Figures,
    SlaBoard,
    UrgentPage,
)

FIGURES_EVERY_S = 60.0
MARGIN = 20  # this close to the urgent window's edge, the neighbouring window is read
SHIFT = 40  # rows kept above the cursor when the window moves down
FLASH_S = 3.0
WIDE = 120  # from this width the board has two columns
SPARK = "▁▂▃▄▅▆▇█"
REDACTED = "·····"
# the drill-down's figures: key on the board's pop-up, what is read, the words shown
DRILL_CHOICES = (
    ("b", "breached", "Breached now"),
    ("f", "due15", "Due within 15 minutes"),
    ("h", "due60", "Due within the hour"),
    ("2", "unclaimed2", "Unclaimed at tier 2"),
    ("3", "unclaimed3", "Unclaimed at tier 3"),
    ("w", "held", "Waiting for an authorized contact"),
    ("o", "held_old", "Waiting for authorization over 4 hours"),
    ("c", "complaints", "Complaints"),
    ("u", "unlisted", "Held mail from unlisted senders"),
    ("t", "breaches:today", "Breaches today"),
    ("7", "breaches:7d", "Breaches in the last 7 days"),
    ("m", "breaches:30d", "Breaches in the last 30 days"),
    ("k", "category", "Breaches in 30 days of one category…"),
    ("p", "person", "What one person holds…"),
)
DRILL_KEYS = {
    "breached": "breached now",
    "due15": "due within 15 minutes",
    "due60": "due within 60 minutes",
    "unclaimed2": "unclaimed at tier 2",
    "unclaimed3": "unclaimed at tier 3",
    "held": "awaiting authorization",
    "held_old": "held for more than 4 hours",
    "complaints": "complaints",
    "unlisted": "held mail from unlisted senders",
    "breaches:today": "breaches today",
    "breaches:7d": "breaches in 7 days",
    "breaches:30d": "breaches in 30 days",
}


class SlaBoardLoaded(Message):
    def __init__(self, board: SlaBoard, plans: dict[str | None, Plan]) -> None:
        super().__init__()
        self.board = board
        self.plans = plans


class UrgentLoaded(Message):
    """A moved window of the urgent list (`offset`: how many rows lie above it; -1: all but
    the window's; `jump`: "first" or "last" puts the cursor there)."""

    def __init__(
        self,
        page: UrgentPage,
        plans: dict[str | None, Plan],
        anchor: Anchor | None,
        offset: int,
        jump: str,
    ) -> None:
        super().__init__()
        self.page = page
        self.plans = plans
        self.anchor = anchor
        self.offset = offset
        self.jump = jump


class FiguresLoaded(Message):
    def __init__(self, figures: Figures) -> None:
        super().__init__()
        self.figures = figures


def sparkline(values: list[float | None] | tuple[float | None, ...]) -> Text:
    """A one-line chart: blocks scaled to the largest value; a gap where there is none."""
    known = [v for v in values if v is not None]
    top = max(known) if known else 0
    out = Text()
    for v in values:
        if v is None:
            out.append(" ")
        elif top <= 0:
            out.append(SPARK[0], style="dim")
        else:
            out.append(SPARK[min(len(SPARK) - 1, int(v / top * (len(SPARK) - 1) + 0.5))])
    return out


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def span_text(seconds: int | None) -> str:
    from supportdesk.rules.sla_engine import format_span

    return "–" if seconds is None else format_span(seconds)


def _why_text(holder: str | None, why: tuple[str, ...]) -> str:
    """The holder cell of an urgent row: who holds it and why the ticket needs a look."""
    parts = []
    if "unclaimed" in why:
        parts.append("unclaimed")
    elif holder:
        state = next((w.split(" ", 1)[1] for w in why if w.startswith("holder ")), "")
        parts.append(f"{holder} {state}".strip())  # the holder cell makes it inert
    if "no activity" in why:
        parts.append("idle")
    return "·".join(parts)


def _redacted(row: QueueRow) -> QueueRow:
    return replace(row, subject=REDACTED, company="", contact=None, account=REDACTED)


class DrillScreen(SkipsMountWhenClosing, ModalScreen[int | None]):
    """The tickets behind a figure; Enter opens one, Esc goes back."""

    BINDINGS: ClassVar = [
        Binding("escape", "dismiss_none", "Back"),
        Binding("home", "jump(0)", "First", show=False, priority=True),
        Binding("end", "jump(-1)", "Last", show=False, priority=True),
    ]

    def __init__(self, title: str, rows: list[QueueRow], plans: dict[str | None, Plan]) -> None:
        super().__init__(classes="desk-modal")
        self.title_text = title
        self.rows = rows
        self.plans = plans

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog drill"):
            yield Static(
                f"{one_line(self.title_text)} · {len(self.rows)} "
                + ("ticket" if len(self.rows) == 1 else "tickets"),
                classes="dialog-title",
                markup=False,
            )
            yield QueueTable(id="drill-table")
            yield Static(
                "⏎ open · ↑↓ PgUp PgDn Home End move · Esc back",
                classes="dialog-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one(QueueTable).focus()
        self.call_after_refresh(self._fill)  # once the dialog has its width

    def _fill(self) -> None:
        self.query_one(QueueTable).show_rows(self.rows, self.app_now(), None, self.plans)

    def app_now(self) -> datetime:
        return desk_app_of(self.app).desk.now()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        row = self.query_one(QueueTable).selected_row
        self.dismiss(row.id if row else None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def action_jump(self, where: int) -> None:
        table = self.query_one(QueueTable)
        if table.row_count:
            table.move_cursor(row=where % table.row_count, animate=False)


class SlaBoardScreen(DeskScreen):
    """Breached and due next, people, what needs a lead, and the desk's figures."""

    DEFAULT_CSS = """
    SlaBoardScreen #lb-head { height: auto; max-height: 3; background: $panel; }
    SlaBoardScreen #lb-body { height: 1fr; }
    SlaBoardScreen #lb-main { height: auto; layout: vertical; }
    SlaBoardScreen.wide #lb-main { layout: horizontal; height: 1fr; min-height: 24; }
    SlaBoardScreen #lb-left { height: auto; }
    SlaBoardScreen.wide #lb-left { width: 3fr; height: 1fr; }
    SlaBoardScreen #lb-right { height: auto; padding: 0 1; }
    SlaBoardScreen.wide #lb-right { width: 2fr; height: 1fr; }
    SlaBoardScreen .lb-title { height: 1; text-style: bold; color: $accent; }
    SlaBoardScreen #lb-urgent { height: auto; max-height: 14; }
    SlaBoardScreen.wide #lb-urgent { height: 1fr; }
    SlaBoardScreen #lb-paused { height: auto; max-height: 7; }
    SlaBoardScreen #lb-people, SlaBoardScreen #lb-attention { height: auto; margin-bottom: 1; }
    SlaBoardScreen #lb-moved { height: auto; }
    SlaBoardScreen #lb-figures { height: auto; padding: 0 1; border-top: solid $primary; }
    SlaBoardScreen #lb-urgent-count { height: auto; color: $text-muted; }
    SlaBoardScreen #lb-mail { height: auto; display: none; padding: 0 1; background: #3a0000; }
    SlaBoardScreen #lb-mail.alarm { display: block; }
    """

    TITLE = "SLA board"
    HELP = (
        "The lead's SLA board: what can still be saved (due within the hour, soonest first), "
        "then the breaches (freshest first), live and scrollable to the last of them; paused "
        "clocks, due times moved today, who is at their desk and what they hold, and what "
        "needs a lead. Home/End jump to the first and the last ticket. d drills into a "
        "figure; on a ticket: ⏎ open, r reassign (a list of people, who is away or off "
        "marked), t take over; u unlocks a locked contact you pick (after you confirm), "
        "a acknowledges a complaint you pick (or each of them)."
    )
    BINDINGS: ClassVar = [
        Binding("escape", "back", "Back"),
        Binding("home", "jump('first')", "First", show=False, priority=True),
        Binding("end", "jump('last')", "Last", show=False, priority=True),
        Binding("d", "drill", "Drill down"),
        Binding("r", "reassign", "Reassign"),
        Binding("t", "take_over", "Take over"),
        Binding("u", "unlock", "Unlock"),
        Binding("a", "acknowledge", "Ack complaint"),
        HELP_BINDING,
    ]
    WRITES = frozenset({"reassign", "take_over", "unlock", "acknowledge"})

    def __init__(self, *, read_only: bool = False, redact: bool = False) -> None:
        super().__init__(id="lead-board")
        self.read_only = read_only
        self.redact = redact
        self.board: SlaBoard | None = None
        self.figures: Figures | None = None
        self.plans: dict[str | None, Plan] = {}
        self._breached: set[int] | None = None  # known breached tickets (None: not loaded)
        self._flash: dict[int, float] = {}
        self._rang = 0
        self.alerts: list[int] = []  # tickets that breached while the board was open
        # the urgent list's window: the row it starts at (None: the top), how many rows lie
        # above it, whether more lie before and after it, and a move under way
        self._urgent_anchor: Anchor | None = None
        self._urgent_offset = 0
        self._more_before = False
        self._more_after = False
        self._moving = False
        self._settling = False  # a new window is being put in place
        self._jump_from = 0  # the cursor's row when Home/End asked for a window
        self._focused_once = False
        self._seen_in_time: set[int] = set()  # rows seen before they breached
        self._last_look = (0, 0)  # the last snapshot's time (epoch) and highest ticket id
        self._figures_due = 0.0  # when the figures are read again (monotonic)

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        self._fit()  # before the children mount: styled once, with the class
        yield self.header_bar("lb-head")
        with VerticalScroll(id="lb-body"):
            yield Static(id="lb-mail", markup=False)  # the mail alarm, when mail fails
            with Horizontal(id="lb-main"):
                with Vertical(id="lb-left"):
                    yield Static("Breached and due within the hour", classes="lb-title")
                    yield Static(id="lb-urgent-count", markup=False)
                    yield QueueTable(id="lb-urgent")
                    yield Static("Paused clocks", classes="lb-title")
                    yield QueueTable(id="lb-paused")
                with Vertical(id="lb-right"):
                    yield Static(id="lb-people")
                    yield Static(id="lb-attention")
                    yield Static(id="lb-moved")
            yield Static(id="lb-figures")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._fit()
        self.reload()
        self.load_figures()
        # the figures are read again from the once-a-second tick, not from a timer of their
        # own: a stopped timer's sleep keeps the context it was started in, and with it this
        # screen, until its due time (up to a minute after the board closed); the tick's
        # keeps it for a second at most
        self._figures_due = time.monotonic() + FIGURES_EVERY_S
        self.set_interval(1.0, self._tick)

    def on_resize(self) -> None:
        self._fit()
        if self.board is not None:
            show(self.query_one("#lb-head", Static), self._headline(self.board))
        self.call_after_refresh(self._relayout)

    def _relayout(self) -> None:
        now = self.desk.now()
        for table in self.query(QueueTable):
            table.relayout(now)

    def _fit(self) -> None:
        self.set_class(self.app.size.width >= WIDE, "wide")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.read_only and action in self.WRITES | {"drill"})

    # -- loading ------------------------------------------------------------------------
    def reload(self) -> None:
        self.load_board()

    @work(thread=True, exclusive=True, exit_on_error=False, group="lead-board", name="board")
    def load_board(self) -> None:
        board = sla_board.snapshot(self.desk, self._urgent_anchor)
        rows = [u.row for u in board.urgent] + list(board.paused)
        plans = plans_of(self.desk, rows)
        if not get_current_worker().is_cancelled:
            self.post_message(SlaBoardLoaded(board, plans))

    @work(thread=True, exclusive=True, exit_on_error=False, group="lead-figures", name="figures")
    def load_figures(self) -> None:
        figures = sla_board.figures(self.desk, self.figures)
        if not get_current_worker().is_cancelled:
            self.post_message(FiguresLoaded(figures))

    def store_changed(self, *, visible: bool) -> None:
        super().store_changed(visible=visible)

    def on_sla_board_loaded(self, message: SlaBoardLoaded) -> None:
        board = message.board
        self.board = board
        self.plans = message.plans
        self._more_before = board.urgent_more_before
        self._more_after = board.urgent_more_after
        if not board.urgent_more_before:
            self._urgent_offset = 0
        now = self.desk.now()
        epoch = int(now.timestamp())
        breached = {u.row.id for u in board.urgent if u.row.sla_key <= epoch}
        self._show(board, now)
        known = self._breached
        if known is None:
            self._breached = breached
        else:
            # a breach since the last look: a row seen in time, a new ticket, or a clock
            # that ran out since; not an old breach that scrolled or shifted into the window
            last_epoch, last_id = self._last_look
            fresh = {
                u.row.id
                for u in board.urgent
                if u.row.id in breached - known
                and (
                    u.row.id in self._seen_in_time
                    or u.row.id > last_id
                    or u.row.sla_key > last_epoch
                )
            }
            self._breached = known | breached
            self._alert(fresh)  # after the rows are in the table: they flash
        self._seen_in_time |= {u.row.id for u in board.urgent} - breached
        self._last_look = (epoch, board.max_ticket_id)
        for tid in self._flash:  # rows still flashing keep their mark through a reload
            self._mark(tid, True)
        if not self._focused_once:  # the board opens with the list in hand: ↓ ⏎ End work
            self._focused_once = True
            # at the top: focusing scrolls the board to the list when the list is already
            # laid out taller than the screen (80x24), which hid its title some of the time
            self.query_one("#lb-urgent", QueueTable).focus(scroll_visible=False)

    def on_figures_loaded(self, message: FiguresLoaded) -> None:
        self.figures = message.figures
        show(self.query_one("#lb-figures", Static), self._figures_renderable(message.figures))

    # -- showing ------------------------------------------------------------------------
    def _rows(self, rows: list[QueueRow]) -> list[QueueRow]:
        return [_redacted(r) for r in rows] if self.redact else rows

    def _show(self, board: SlaBoard, now: datetime) -> None:
        headline = self._headline(board)
        show(self.query_one("#lb-head", Static), headline)  # a reload: often the same
        self.desk_app.traced(headline.plain)
        mail = self.query_one("#lb-mail", Static)
        mail.set_class(board.mail_alarm is not None, "alarm")
        show(mail, alarm_text(board.mail_alarm, now) if board.mail_alarm is not None else "")
        urgent = self.query_one("#lb-urgent", QueueTable)
        keep = urgent.selected_row
        # why it matters goes where the holder would be: "unclaimed", "ben away", "+idle"
        rows = [replace(u.row, holder=_why_text(u.row.holder, u.why)) for u in board.urgent]
        self._settle()
        # on the list's first row, the top stays in view (a ticket that became savable or
        # a row that moved down to the breaches must not push the first row out of sight)
        at_top = urgent.cursor_row == 0 and self._urgent_anchor is None
        keep_id = None if at_top or keep is None else keep.id
        urgent.show_rows(self._rows(rows), now, keep_id, self.plans)
        self._count_line()
        paused = self.query_one("#lb-paused", QueueTable)
        paused.show_rows(self._rows(list(board.paused)), now, None, self.plans)
        show(self.query_one("#lb-people", Static), self._people(board, now))
        show(self.query_one("#lb-attention", Static), self._attention(board, now))
        show(self.query_one("#lb-moved", Static), self._moved(board, now))

    def _count_line(self) -> None:
        """What the list holds and how much of it is not on screen (issue 16)."""
        board = self.board
        if board is None:
            return
        h = board.headline
        shown = len(self.query_one("#lb-urgent", QueueTable).rows_shown)
        total = board.urgent_total
        first = self._urgent_offset + 1 if shown else 0
        last = self._urgent_offset + shown
        line = Text()
        line.append(f"{h.due_60} savable, then {h.breached:,} breached, newest first")
        if total > shown:
            line.append(f" · {total - shown:,} of {total:,} not shown")
            if self.has_class("wide"):
                line.append(f" (list at {first:,}–{last:,})", style="dim")
        show(self.query_one("#lb-urgent-count", Static), line)

    def _headline(self, board: SlaBoard) -> Text:
        """The counts, one segment each; a segment is never split over two lines (on a
        narrow terminal the line breaks between them)."""
        h = board.headline
        now = board.at
        segments: list[Text] = [
            Text(f" ✖ {h.breached} breached ", style="bold white on #af005f"),
            Text(f"⚠ {h.due_15} due ≤15m", style="bold #ffaf00"),
            Text(f"{h.due_60} due ≤60m"),
        ]
        for tier in (2, 3):
            oldest = h.oldest_wait.get(tier)
            wait = f" (oldest {ago(oldest, now).replace(' ago', '')})" if oldest else ""
            segments.append(Text(f"T{tier} unclaimed {h.unclaimed.get(tier, 0)}{wait}"))
        segments.append(Text(f"held {h.held}"))
        segments.append(Text(f"present {h.present}"))
        if self.read_only:
            segments.append(Text("read-only", style="dim"))
        full = max(self.app.size.width, 20)
        width = self.query_one("#lb-head", HeaderBar).room(full)  # the time ends line one
        out = Text()
        line = 0
        for segment in segments:
            gap = 3 if line else 0
            if line and line + gap + segment.cell_len > width:
                out.append("\n")
                line, gap, width = 0, 1, full
            out.append(" " * gap)
            out.append_text(segment)
            line += gap + segment.cell_len
        return out

    def _people(self, board: SlaBoard, now: datetime) -> Table:
        table = Table(title="People", title_justify="left", expand=True, box=None, pad_edge=False)
        table.add_column("who", no_wrap=True)
        table.add_column("here", no_wrap=True)
        for col in ("holds", "stale", "next due", "seen"):
            table.add_column(col, justify="right", no_wrap=True)
        style = {"available": "green", "away": "yellow", "off": "dim"}
        real_now = self.desk.clock.real_now()  # presence is kept in real time
        for p in board.people:
            if p.presence == "off" and not p.holds:
                continue
            due = "–"
            if p.nearest_due is not None:
                left = int((p.nearest_due - now).total_seconds())
                due = ("✖ -" if left < 0 else "") + span_text(abs(left))
            seen = ago(p.last_seen, real_now).replace(" ago", "") if p.last_seen else "–"
            table.add_row(  # Texts only: a str in a Rich table is parsed as markup
                cell(p.login),
                cell(p.presence, style=style.get(p.presence, "")),
                Text(str(p.holds)),
                Text(str(p.stale), style="bold yellow" if p.stale else "dim"),
                Text(due),
                Text(seen),
            )
        return table

    def _attention(self, board: SlaBoard, now: datetime) -> RichGroup:
        a = board.attention
        lines: list[Text] = [Text("Needs a lead", style="bold")]
        for c in a.locked:
            lines.append(Text(f" • {self._locked_words(c)}"))
        for r in a.complaints[:5]:
            lines.append(Text(f" • complaint #{r.id} {self._subject(r, 40)}"))
        for r in a.held_old[:5]:
            lines.append(Text(f" • held {ago(r.created_at, now)} #{r.id} {self._subject(r, 32)}"))
        if a.unlisted:
            lines.append(Text(f" • {len(a.unlisted)} held from unlisted senders"))
        if a.unlisted_closed_today:
            lines.append(Text(f" • {a.unlisted_closed_today} unlisted senders closed today"))
        for claim in a.stale[:5]:
            touched = ago(claim.touched_at, now) if claim.touched_at else "never"
            lines.append(
                Text(
                    f" • stale claim #{claim.ticket_id} {one_line(claim.holder)}, touched {touched}"
                )
            )
        if len(lines) == 1:
            lines.append(Text(" nothing", style="dim"))
        return RichGroup(*lines)

    def _moved(self, board: SlaBoard, now: datetime) -> RichGroup:
        lines: list[Text] = [Text("Due times moved today", style="bold")]
        for m in board.moved[:6]:
            flag = Text(" ⚑ downgraded near a breach", style="bold #ff5f5f")
            line = Text(
                f" #{m.ticket_id} {one_line(m.clock)} {one_line(m.why)} by {one_line(m.who or '-')}"
            )
            if m.downgrade_near_breach:
                line.append_text(flag)
            lines.append(line)
        if len(lines) == 1:
            lines.append(Text(" none", style="dim"))
        return RichGroup(*lines)

    def _subject(self, r: QueueRow, width: int) -> str:
        return REDACTED if self.redact else truncate(r.subject, width)

    def _figures_renderable(self, f: Figures) -> RichGroup:
        table = Table(expand=True, box=None, pad_edge=False, title_justify="left")
        table.add_column("", no_wrap=True)
        for title in ("respond", "resolve", "breaches", "1st response", "tier-1", "claim"):
            table.add_column(title, justify="right", no_wrap=True)
        for label, rep in (("today", f.today), ("7 days", f.week), ("30 days", f.month)):
            t = rep.total
            table.add_row(  # Texts only: a str in a Rich table is parsed as markup
                Text(label),
                Text(pct(t.respond_attainment)),
                Text(pct(t.resolve_attainment)),
                Text(str(t.breaches)),
                Text(span_text(t.median_first_response_seconds)),
                Text(pct(t.tier1_share)),
                Text(span_text(rep.escalation_to_claim.get("median_seconds"))),
            )
        by_category = f.month.breaches_by_category.items()
        cats = one_line(", ".join(f"{k} {v}" for k, v in by_category)) or "none"
        spark = Text()
        spark.append("breaches/day ")
        spark.append_text(sparkline([float(b) for b in f.breaches_per_day]))
        spark.append("  attainment/day ")
        spark.append_text(sparkline(list(f.attainment_per_day)))
        flow = Text()
        flow.append("in/15m ")
        flow.append_text(sparkline([float(n) for n in f.tickets_in[-48:]]))
        flow.append(f" (now {f.tickets_in[-1] if f.tickets_in else 0}, usual ")
        flow.append(f"{f.usual_in[-1] if f.usual_in else 0:.1f})  solved/15m ")
        flow.append_text(sparkline([float(n) for n in f.tickets_solved[-48:]]))
        flow.append(f" (now {f.tickets_solved[-1] if f.tickets_solved else 0}, usual ")
        flow.append(f"{f.usual_solved[-1] if f.usual_solved else 0:.1f})")
        return RichGroup(
            table, Text(f"breaches by category, 30 days: {cats}", style="dim"), spark, flow
        )

    # -- live ---------------------------------------------------------------------------
    def _tick(self) -> None:
        if time.monotonic() >= self._figures_due:
            self._figures_due = time.monotonic() + FIGURES_EVERY_S
            self.load_figures()
        if self.board is None:
            return
        now = self.desk.now()
        urgent = self.query_one("#lb-urgent", QueueTable)
        urgent.tick(now)
        self.query_one("#lb-paused", QueueTable).tick(now)
        # a clock that passes its due time while the board is open is a new breach
        if self._breached is not None:
            newly = []
            for row in urgent.rows_shown:
                if row.id in self._breached:
                    continue
                rc = urgent._row_clocks.get(row.id)
                if rc is None:
                    continue
                respond, resolve = row_readings(rc, now)
                if "breached" in (respond.reading.value, resolve.reading.value):
                    newly.append(row.id)
            if newly:
                self._breached |= set(newly)
                self._alert(set(newly))
                self.reload()  # a savable ticket that breached moves down to the breaches
        self._unflash()

    def _alert(self, ids: set[int]) -> None:
        """Flash the rows of new breaches and ring the bell once for them."""
        if not ids:
            return
        self.alerts.extend(sorted(ids))
        self.app.bell()
        self._rang += 1
        until = time.monotonic() + FLASH_S
        for tid in ids:
            self._flash[tid] = until
            self._mark(tid, True)

    def _mark(self, tid: int, on: bool) -> None:
        urgent = self.query_one("#lb-urgent", QueueTable)
        if any(r.id == tid for r in urgent.rows_shown):
            cell = (
                Text(f"✖{tid}", style="bold reverse #ff5f5f")
                if on
                else Text(str(tid), style="bold")
            )
            urgent.update_cell(str(tid), "id", cell)

    def _unflash(self) -> None:
        now = time.monotonic()
        for tid, until in list(self._flash.items()):
            if until <= now:
                del self._flash[tid]
                self._mark(tid, False)

    # -- the urgent list's window --------------------------------------------------------
    @on(DataTable.RowHighlighted, "#lb-urgent")
    def _urgent_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        """Near the window's edge, read the neighbouring window around the cursor."""
        table = self.query_one("#lb-urgent", QueueTable)
        rows = table.rows_shown
        if self._moving or self._settling or not rows:
            return  # (a cursor the new window put in place is not the lead moving it)
        index = table.cursor_row
        if index >= len(rows) - MARGIN and self._more_after:
            start = max(0, index - SHIFT)
            self._moving = True
            anchor = (rows[start].sla_key, rows[start].id)
            self.load_urgent(anchor, None, self._urgent_offset + start, "")
        elif index < MARGIN and self._more_before:
            self._moving = True
            self.load_urgent(None, (rows[0].sla_key, rows[0].id), self._urgent_offset, "")

    def _settle(self) -> None:
        self._settling = True
        self.call_after_refresh(self._settled)

    def _settled(self) -> None:
        self._settling = False

    def action_jump(self, where: str) -> None:
        """Home/End: the first or the last ticket of the focused list (the urgent list reads
        its first or last window when it is not in hand)."""
        focused = self.focused
        if not isinstance(focused, QueueTable):
            focused = self.query_one("#lb-urgent", QueueTable)
            focused.focus()
        if focused.id != "lb-urgent":
            if focused.row_count:
                focused.move_cursor(row=0 if where == "first" else focused.row_count - 1)
            return
        self._jump_from = focused.cursor_row  # ↑↓ typed before the window lands count
        if where == "first" and self._more_before:
            self._moving = True
            self.load_urgent(None, None, 0, "first")
        elif where == "last" and self._more_after:
            self._moving = True
            self.load_urgent(None, URGENT_END, -1, "last")
        elif focused.row_count:
            focused.move_cursor(row=0 if where == "first" else focused.row_count - 1)

    @work(thread=True, exclusive=True, exit_on_error=False, group="lead-urgent", name="urgent")
    def load_urgent(
        self, start_at: Anchor | None, before: Anchor | None, offset: int, jump: str
    ) -> None:
        """One window of the urgent list: from `start_at`, around the SHIFT rows before
        `before`, or the last rows (URGENT_END); `offset` rows lie above it (-1: count from
        the end)."""
        desk = self.desk
        if before is not None and before != URGENT_END:
            earlier = sla_board.urgent_page(desk, before=before, limit=SHIFT)
            first = earlier.rows[0].row if earlier.rows else None
            start_at = (first.sla_key, first.id) if first is not None else None
            offset = max(0, offset - len(earlier.rows)) if earlier.more_before else 0
            page = sla_board.urgent_page(desk, start_at=start_at)
        elif before == URGENT_END:
            page = sla_board.urgent_page(desk, before=URGENT_END)
            first = page.rows[0].row if page.rows else None
            start_at = (first.sla_key, first.id) if first is not None else None
        else:
            page = sla_board.urgent_page(desk, start_at=start_at)
        plans = plans_of(desk, [u.row for u in page.rows])
        if not get_current_worker().is_cancelled:
            self.post_message(UrgentLoaded(page, plans, start_at, offset, jump))

    def on_urgent_loaded(self, message: UrgentLoaded) -> None:
        self._moving = False
        page = message.page
        board = self.board
        if board is None:
            return
        total = board.urgent_total
        self._urgent_anchor = message.anchor if page.more_before else None
        offset = message.offset if message.offset >= 0 else total - len(page.rows)
        self._urgent_offset = max(0, offset) if page.more_before else 0
        self._more_before, self._more_after = page.more_before, page.more_after
        self.board = replace(
            board,
            urgent=page.rows,
            urgent_more_before=page.more_before,
            urgent_more_after=page.more_after,
        )
        self.plans = {**self.plans, **message.plans}
        now = self.desk.now()
        epoch = int(now.timestamp())
        breached = {u.row.id for u in page.rows if u.row.sla_key <= epoch}
        if self._breached is not None:
            self._breached |= breached  # in the list already: no bell for scrolling to it
        self._seen_in_time |= {u.row.id for u in page.rows} - breached
        urgent = self.query_one("#lb-urgent", QueueTable)
        keep = urgent.selected_row
        rows = [replace(u.row, holder=_why_text(u.row.holder, u.why)) for u in page.rows]
        keep_id = keep.id if keep else None
        if message.jump and rows:
            # from the first or last row, the ↑↓ pressed while the window was on its way
            typed = urgent.cursor_row - self._jump_from
            target = (0 if message.jump == "first" else len(rows) - 1) + typed
            keep_id = rows[max(0, min(len(rows) - 1, target))].id
        self._settle()
        urgent.show_rows(self._rows(rows), now, keep_id, self.plans)
        for tid in self._flash:
            self._mark(tid, True)
        self._count_line()

    # -- actions ------------------------------------------------------------------------
    def action_back(self) -> None:
        if not self.read_only and len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    @on(DataTable.RowSelected, "#lb-urgent, #lb-paused")
    def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.read_only:
            return
        table = event.data_table
        if isinstance(table, QueueTable) and table.selected_row is not None:
            self.desk_app.open_ticket(table.selected_row.id)

    def _selected(self) -> QueueRow | None:
        focused = self.focused
        if isinstance(focused, QueueTable):
            return focused.selected_row
        return self.query_one("#lb-urgent", QueueTable).selected_row

    def action_drill(self) -> None:
        """Pick a figure in plain words; a person's tickets and a category's breaches ask
        which person or category next."""

        def picked(key: str | None) -> None:
            if key == "person":
                self._pick_person()
            elif key == "category":
                self._pick_category()
            elif key:
                self.drill(key)

        choices = [Choice(k, value, label) for k, value, label in DRILL_CHOICES]
        self.app.push_screen(
            ChoiceModal("Show the tickets behind", choices, rows=len(choices)), picked
        )

    def _pick_person(self) -> None:
        board = self.board
        people = [p for p in board.people if p.holds or p.presence != "off"] if board else []
        if not people:
            self.notify("nobody holds a ticket", timeout=3)
            return
        choices = [
            Choice(key, f"person:{p.login}", _person_words(p))
            for key, p in zip(choice_keys(len(people)), people, strict=False)
        ]

        def picked(value: str | None) -> None:
            if value:
                self.drill(value)

        self.app.push_screen(ChoiceModal("Whose tickets?", choices), picked)

    def _pick_category(self) -> None:
        from supportdesk.enums import Category

        choices = [
            Choice(c.value[0], f"breaches:30d:{c.value}", c.value.capitalize()) for c in Category
        ]

        def picked(value: str | None) -> None:
            if value:
                self.drill(value)

        self.app.push_screen(ChoiceModal("Breaches in 30 days of which category?", choices), picked)

    @work(thread=True, exclusive=True, exit_on_error=False, group="drill", name="drill")
    def drill(self, key: str) -> None:
        rows = sla_board.drill(self.desk, key)
        plans = plans_of(self.desk, rows)
        title = DRILL_KEYS.get(key) or _drill_title(key)
        self.app.call_from_thread(self._show_drill, title, rows, plans)

    def _show_drill(self, title: str, rows: list[QueueRow], plans: dict[str | None, Plan]) -> None:
        def opened(ticket_id: int | None) -> None:
            if ticket_id is not None:
                self.desk_app.open_ticket(ticket_id)

        self.app.push_screen(DrillScreen(title, self._rows(rows), plans), opened)

    def action_reassign(self) -> None:
        """Pick the new holder from a list: who is here, away or off, and what they hold; a
        person who is not at their desk is confirmed with a warning first."""
        row = self._selected()
        board = self.board
        if row is None or board is None:
            return
        people = [p for p in board.people if p.role == "lead" or p.tier >= row.tier]
        if not people:
            self.notify(f"nobody can work tier {row.tier}", timeout=3)
            return
        by_login = {p.login: p for p in people}
        choices = [
            Choice(key, p.login, _person_words(p))
            for key, p in zip(choice_keys(len(people)), people, strict=False)
        ]

        def reassign(login: str) -> None:
            self.run_write(
                f"#{row.id} reassigned to {login}",
                lambda: escalation.reassign(self.desk, row.id, login),
            )

        def picked(login: str | None) -> None:
            if not login:
                return
            person = by_login[login]
            if person.presence == "available":
                reassign(login)
                return

            def confirmed(answer: str | None) -> None:
                if answer == "yes":
                    reassign(login)

            self.app.push_screen(
                ChoiceModal(
                    f"⚠ {person.name} ({login}) is {_presence_words(person.presence)}: "
                    f"give #{row.id} to them anyway?",
                    [Choice("y", "yes", "Yes, reassign"), Choice("n", "no", "No")],
                ),
                confirmed,
            )

        self.app.push_screen(ChoiceModal(f"Reassign #{row.id} to", choices), picked)

    def action_take_over(self) -> None:
        row = self._selected()
        if row is not None:
            me = self.desk.login
            self.run_write(
                f"you took over #{row.id}", lambda: escalation.reassign(self.desk, row.id, me)
            )

    def action_unlock(self) -> None:
        """Pick the locked contact (a list, even of one) and confirm before unlocking."""
        board = self.board
        if board is None or not board.attention.locked:
            self.notify("no locked contacts", timeout=3)
            return
        locked = {str(c.contact_id): c for c in board.attention.locked}
        choices = [
            Choice(key, cid, self._locked_words(c))
            for key, (cid, c) in zip(choice_keys(len(locked)), locked.items(), strict=False)
        ]

        def picked(cid: str | None) -> None:
            if cid is None:
                return
            c = locked[cid]

            def confirmed(answer: str | None) -> None:
                if answer != "yes":
                    return
                from supportdesk.services.callers import verification

                self.run_write(
                    f"{one_line(c.name)} unlocked",
                    lambda: verification.unlock(self.desk, c.account, str(c.contact_id)),
                )

            self.app.push_screen(
                ChoiceModal(
                    f"Unlock {self._locked_words(c)}?",
                    [Choice("y", "yes", "Yes, unlock"), Choice("n", "no", "No")],
                ),
                confirmed,
            )

        self.app.push_screen(ChoiceModal("Unlock which contact?", choices), picked)

    def _locked_words(self, c: sla_board.Locked) -> str:
        """A locked contact as "Needs a lead" and the unlock picker both say it: until when
        in the desk's zone, and the failures that locked it (the one that locked is logged
        "locked", not "failed": the contact's own count)."""
        name = REDACTED if self.redact else one_line(c.name)
        account = REDACTED if self.redact else one_line(c.account)
        noun = "attempt" if c.failures == 1 else "attempts"
        until = local(c.locked_until).strftime("%H:%M")
        return f"{name} ({account}) locked until {until} after {c.failures} failed {noun}"

    def action_acknowledge(self) -> None:
        """Pick the complaint (or every one) and write the note that acknowledges it."""
        board = self.board
        if board is None or not board.attention.complaints:
            self.notify("no complaints waiting", timeout=3)
            return
        complaints = list(board.attention.complaints)
        choices = [
            Choice(key, str(r.id), f"#{r.id} {self._subject(r, 48)}")
            for key, r in zip(choice_keys(len(complaints)), complaints, strict=False)
        ]
        if len(complaints) > 1:
            choices.append(Choice("*", "all", f"Each of the {len(complaints)} complaints"))

        def picked(value: str | None) -> None:
            if value is None:
                return
            ids = [r.id for r in complaints] if value == "all" else [int(value)]
            what = f"#{ids[0]}" if len(ids) == 1 else f"{len(ids)} tickets"

            def noted(note: str | None) -> None:
                if not note:
                    return

                def write() -> None:
                    for tid in ids:
                        escalation.acknowledge_complaint(self.desk, tid, note=note)

                self.run_write(f"complaint on {what} acknowledged", write)

            self.app.push_screen(AskModal(f"Acknowledge the complaint on {what}", "note"), noted)

        self.app.push_screen(ChoiceModal("Acknowledge which complaint?", choices), picked)


CHOICE_KEYS = "123456789abcdefghijklmopqrstuvwxz"  # no n, y: the confirmations' keys


def choice_keys(n: int) -> str:
    """One key for each of up to len(CHOICE_KEYS) choices of a list."""
    return CHOICE_KEYS[:n]


PRESENCE_WORDS = {"available": "here", "away": "away", "off": "off"}


def _person_words(p: sla_board.Person) -> str:
    """One line of a list of people: login, here/away/off, what they hold, name."""
    here = PRESENCE_WORDS.get(p.presence, p.presence)
    return f"{one_line(p.login):<10} {here:<4}  holds {p.holds:<4} {one_line(p.name)}"


def _presence_words(presence: str) -> str:
    return {"available": "at their desk", "away": "away", "off": "off (no console)"}.get(
        presence, presence
    )


def _drill_title(key: str) -> str:
    if key.startswith("person:"):
        return f"held by {key.split(':', 1)[1]}"
    if key.startswith("breaches:30d:"):
        return f"{key.rsplit(':', 1)[1]} breaches in 30 days"
    return key
