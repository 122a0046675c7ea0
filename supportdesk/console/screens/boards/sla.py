"""The lead's SLA board: every clock of the desk at once, who is here and what they hold,
what needs a lead, and how the desk is doing; live like the queue.

The snapshot and the figures are read in workers (services.sla_board); the once-a-second
tick redraws only the countdown cells from memory (the queue table's countdowns). A ticket
that breaches while the board is open flashes and rings the bell once. In read-only mode (the
wall display that `supportdesk serve` shows) nothing that changes data is bound, and with
`redact` subjects and customer names are hidden.
"""

from __future__ import annotations

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
from supportdesk.console.screens.modals import AskModal
from supportdesk.console.screens.queue import plans_of
from supportdesk.console.widgets.format import ago, cell, local, one_line, truncate
from supportdesk.console.widgets.header_bar import HeaderBar
from supportdesk.console.widgets.key_footer import KeyFooter
from supportdesk.console.widgets.queue_table import QueueTable
from supportdesk.console.widgets.sla_clock import row_readings
from supportdesk.core.views import QueueRow
from supportdesk.rules.policy import Plan
from supportdesk.services import escalation
from supportdesk.services.reports import sla_board
from supportdesk.services.reports.sla_board import Figures, SlaBoard

FIGURES_EVERY_S = 60.0
FLASH_S = 3.0
WIDE = 120  # from this width the board has two columns
SPARK = "▁▂▃▄▅▆▇█"
REDACTED = "·····"
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


class DrillScreen(ModalScreen[int | None]):
    """The tickets behind a figure; Enter opens one, Esc goes back."""

    BINDINGS: ClassVar = [Binding("escape", "dismiss_none", "Back")]

    def __init__(self, title: str, rows: list[QueueRow], plans: dict[str | None, Plan]) -> None:
        super().__init__(classes="desk-modal")
        self.title_text = title
        self.rows = rows
        self.plans = plans

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog drill"):
            yield Static(
                f"{one_line(self.title_text)} · {len(self.rows)} tickets",
                classes="dialog-title",
                markup=False,
            )
            yield QueueTable(id="drill-table")
            yield Static("⏎ open · Esc back", classes="dialog-hint", markup=False)

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
    DrillScreen .drill { width: 90%; height: 80%; }
    DrillScreen #drill-table { height: 1fr; }
    """

    TITLE = "SLA board"
    HELP = (
        "The lead's SLA board: breached clocks and those due within the hour (live), paused "
        "clocks, due times moved today, who is at their desk and what they hold, and what "
        "needs a lead. d drills into a figure; on a ticket: ⏎ open, r reassign, t take over; "
        "u unlocks the first locked contact, a acknowledges the first complaint."
    )
    BINDINGS: ClassVar = [
        Binding("escape", "back", "Back"),
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

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield self.header_bar("lb-head")
        with VerticalScroll(id="lb-body"):
            with Horizontal(id="lb-main"):
                with Vertical(id="lb-left"):
                    yield Static("Breached and due within the hour", classes="lb-title")
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
        self.set_interval(1.0, self._tick)
        self.set_interval(FIGURES_EVERY_S, self.load_figures)

    def on_resize(self) -> None:
        self._fit()
        if self.board is not None:
            self.query_one("#lb-head", Static).update(self._headline(self.board))
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
        board = sla_board.snapshot(self.desk)
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
        now = self.desk.now()
        breached = {u.row.id for u in board.urgent if u.row.sla_key <= int(now.timestamp())}
        self._show(board, now)
        known = self._breached
        self._breached = breached
        if known is not None:
            self._alert(breached - known)  # after the rows are in the table: they flash
        for tid in self._flash:  # rows still flashing keep their mark through a reload
            self._mark(tid, True)

    def on_figures_loaded(self, message: FiguresLoaded) -> None:
        self.figures = message.figures
        self.query_one("#lb-figures", Static).update(self._figures_renderable(message.figures))

    # -- showing ------------------------------------------------------------------------
    def _rows(self, rows: list[QueueRow]) -> list[QueueRow]:
        return [_redacted(r) for r in rows] if self.redact else rows

    def _show(self, board: SlaBoard, now: datetime) -> None:
        headline = self._headline(board)
        self.query_one("#lb-head", Static).update(headline)
        self.desk_app.traced(headline.plain)
        urgent = self.query_one("#lb-urgent", QueueTable)
        keep = urgent.selected_row
        # why it matters goes where the holder would be: "unclaimed", "ben away", "+idle"
        rows = [replace(u.row, holder=_why_text(u.row.holder, u.why)) for u in board.urgent]
        urgent.show_rows(self._rows(rows), now, keep.id if keep else None, self.plans)
        paused = self.query_one("#lb-paused", QueueTable)
        paused.show_rows(self._rows(list(board.paused)), now, None, self.plans)
        self.query_one("#lb-people", Static).update(self._people(board, now))
        self.query_one("#lb-attention", Static).update(self._attention(board, now))
        self.query_one("#lb-moved", Static).update(self._moved(board, now))

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
            name = REDACTED if self.redact else one_line(c.name)
            account = REDACTED if self.redact else one_line(c.account)
            # the attempt that locked it is logged "locked", not "failed": the contact's count
            fails = c.failures
            noun = "attempt" if fails == 1 else "attempts"
            lines.append(
                Text(
                    f" • locked: {name} ({account}) until "
                    f"{local(c.locked_until).strftime('%H:%M')}, {fails} failed {noun}"
                )
            )
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
        self._unflash()

    def _alert(self, ids: set[int]) -> None:
        """Flash the rows of new breaches and ring the bell once for them."""
        if not ids:
            return
        import time

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
        import time

        now = time.monotonic()
        for tid, until in list(self._flash.items()):
            if until <= now:
                del self._flash[tid]
                self._mark(tid, False)

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
        def picked(value: str | None) -> None:
            if not value:
                return
            key = value.strip()
            choices = list(DRILL_KEYS)
            if key.isdigit() and 1 <= int(key) <= len(choices):
                key = choices[int(key) - 1]
            self.drill(key)

        hint = (
            "  ".join(f"{i}={k}" for i, k in enumerate(DRILL_KEYS, 1))
            + "  or person:LOGIN, breaches:30d:CATEGORY"
        )
        self.app.push_screen(AskModal("Drill down into", "number or name", hint=hint), picked)

    @work(thread=True, exclusive=True, exit_on_error=False, group="drill", name="drill")
    def drill(self, key: str) -> None:
        rows = sla_board.drill(self.desk, key)
        plans = plans_of(self.desk, rows)
        title = DRILL_KEYS.get(key, key)
        self.app.call_from_thread(self._show_drill, title, rows, plans)

    def _show_drill(self, title: str, rows: list[QueueRow], plans: dict[str | None, Plan]) -> None:
        def opened(ticket_id: int | None) -> None:
            if ticket_id is not None:
                self.desk_app.open_ticket(ticket_id)

        self.app.push_screen(DrillScreen(title, self._rows(rows), plans), opened)

    def action_reassign(self) -> None:
        row = self._selected()
        if row is None:
            return

        def picked(login: str | None) -> None:
            if login:
                self.run_write(
                    f"#{row.id} reassigned to {login}",
                    lambda: escalation.reassign(self.desk, row.id, login),
                )

        self.app.push_screen(AskModal(f"Reassign #{row.id} to", "staff login"), picked)

    def action_take_over(self) -> None:
        row = self._selected()
        if row is not None:
            me = self.desk.login
            self.run_write(
                f"you took over #{row.id}", lambda: escalation.reassign(self.desk, row.id, me)
            )

    def action_unlock(self) -> None:
        board = self.board
        if board is None or not board.attention.locked:
            self.notify("no locked contacts", timeout=3)
            return
        c = board.attention.locked[0]
        from supportdesk.services.callers import verification

        self.run_write(
            f"{c.name} unlocked",
            lambda: verification.unlock(self.desk, c.account, str(c.contact_id)),
        )

    def action_acknowledge(self) -> None:
        board = self.board
        if board is None or not board.attention.complaints:
            self.notify("no complaints waiting", timeout=3)
            return
        tid = board.attention.complaints[0].id

        def noted(note: str | None) -> None:
            if note:
                self.run_write(
                    f"complaint on #{tid} acknowledged",
                    lambda: escalation.acknowledge_complaint(self.desk, tid, note=note),
                )

        self.app.push_screen(AskModal(f"Acknowledge the complaint on #{tid}", "note"), noted)
