"""The tier board: one tier's escalated work, where engineers claim the next ticket or a
chosen one, release it with a reason and hand over at the end of a shift; leads also see who
holds what (stalest first) and reassign or take over.

The board is read in a worker (the service's `board`: a few indexed reads) together with the
SLA plans of its rows, so the countdowns, the waits and the stale marks tick from memory;
a change of the store reloads it (only while it is on screen) and the cursor stays on the
same ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from supportdesk.console.screens.base import HELP_BINDING, DeskScreen
from supportdesk.console.screens.escalation_modals import ReasonModal
from supportdesk.console.screens.messages import ActionDone
from supportdesk.console.screens.modals import AskModal
from supportdesk.console.screens.queue import plans_of, store_label
from supportdesk.console.widgets.format import ago, one_line
from supportdesk.console.widgets.key_footer import KeyFooter
from supportdesk.console.widgets.quiet import show
from supportdesk.console.widgets.tier_board_table import (
    TierBoardTable,
    board_items,
    is_stale,
    span_words,
)
from supportdesk.enums import Role
from supportdesk.rules.policy import Plan
from supportdesk.services import escalation, tickets
from supportdesk.services.escalation import BoardRow, TierBoard

TIERS = Binding.Group("Tier", compact=True)


class TierBoardLoaded(Message):
    """One tier's board and the SLA plans of its rows."""

    def __init__(self, generation: int, board: TierBoard, plans: dict[str | None, Plan]) -> None:
        super().__init__()
        self.generation = generation
        self.board = board
        self.plans = plans


class BoardWriteDone(ActionDone):
    """A claim, release, reassignment or handover went through; `select`: the ticket the
    cursor should be on once the board is read again."""

    def __init__(self, what: str, select: int | None) -> None:
        super().__init__(what, "board")
        self.select = select


def home_tier(role: Role, tier: int) -> int:
    """The board a person opens first: agents tier 1, engineers their own, leads tier 2."""
    if role is Role.AGENT:
        return 1
    if role is Role.LEAD:
        return 2
    return tier


class TierBoardScreen(DeskScreen):
    """One tier's board: my claims, unclaimed, waiting and (leads) claimed by others."""

    TITLE = "Tier board"
    SHOWS_MAINTENANCE = True  # the banner names the next maintenance window here
    HELP = (
        "One tier's escalated work. My claims: the tickets you hold at this tier, by "
        "priority, with when each was last touched (STALE: untouched for longer than the "
        "policy allows). "
        "Unclaimed: ready to work, by priority then time of escalation; n claims the top "
        "one. Waiting: unclaimed but on the customer, a schedule or an authorization. "
        "Claimed by others (leads): who holds what, stalest first.\n"
        "Waited = time since the ticket came to this tier. ⚑ = a complaint escalated to "
        "a supervisor. The countdowns are the SLA clocks, as on the queue.\n"
        "The line under the board shows the selected ticket's reason, what was tried and "
        "who holds it.\n"
    )
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("n", "claim_next", "Claim next", tooltip="the top of the unclaimed list"),
        Binding("c", "claim", "Claim", tooltip="claim the selected ticket"),
        Binding("t", "claim", "Claim", show=False),
        Binding("r", "release", "Release", tooltip="put a ticket you hold back, with why"),
        Binding("a", "reassign", "Reassign", tooltip="give the ticket to someone (leads)"),
        Binding("o", "take_over", "Take over", tooltip="take a claimed ticket (leads)"),
        Binding(
            "e", "end_shift", "End shift", tooltip="release what you hold to work on, with a note"
        ),
        Binding(
            "E",
            "end_shift_all",
            "End shift, all",
            show=False,
            tooltip="release everything you hold, waiting and scheduled too",
        ),
        Binding("1", "tier(1)", "Tier 1", group=TIERS),
        Binding("2", "tier(2)", "Tier 2", group=TIERS),
        Binding("3", "tier(3)", "Tier 3", group=TIERS),
        Binding("g", "goto", "Go to #", show=False),
        Binding("escape", "back", "Back"),
        HELP_BINDING,
    ]

    def __init__(self, tier: int | None = None) -> None:
        super().__init__(id="board-screen")
        self.tier = tier
        self.board: TierBoard | None = None
        self.generation = 0
        self.loaded_generation = -1
        self.loads = 0
        self._select_after: int | None = None
        self._header_key: tuple[object, ...] = ()
        self._detail_plain: str | None = None

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="board-title", markup=False)
        # the tabs' line has room for the desk's time at 80 columns; the counts have none
        yield self.header_bar("board-tabs")
        yield TierBoardTable(id="board")
        yield Static(id="board-detail", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        actor = self.desk.actor
        if self.tier is None:
            self.tier = home_tier(actor.role, actor.tier)
        self.query_one(TierBoardTable).focus()
        self._paint_header(self.desk.now())
        self.set_interval(1.0, self._tick)
        self.reload()

    def on_resize(self) -> None:
        self.call_after_refresh(self._relayout)

    def _relayout(self) -> None:
        now = self.desk.now()
        self.query_one(TierBoardTable).relayout(now)
        self._header_key = ()
        self._paint_header(now)
        self._paint_detail(now)

    @property
    def visible_tiers(self) -> tuple[int, ...]:
        actor = self.desk.actor
        if actor.role is Role.LEAD:
            return (1, 2, 3)
        if actor.role is Role.ENGINEER:
            return tuple(range(1, actor.tier + 1))
        return (1,)

    # -- loading ------------------------------------------------------------------------
    def reload(self) -> None:
        if self.tier is None:
            return
        self.generation += 1
        self.load_board(self.generation, self.tier)

    @work(thread=True, exclusive=True, exit_on_error=False, group="board", name="board")
    def load_board(self, generation: int, tier: int) -> None:
        desk = self.desk
        board = escalation.tier_board(desk, tier)
        plans = plans_of(desk, [r.row for r in board.rows])
        if not get_current_worker().is_cancelled:
            self.post_message(TierBoardLoaded(generation, board, plans))

    def on_tier_board_loaded(self, message: TierBoardLoaded) -> None:
        if message.generation != self.generation:
            return  # another tier, or a newer read, is on its way
        board = message.board
        self.board = board
        self.loaded_generation = message.generation
        self.loads += 1
        table = self.query_one(TierBoardTable)
        keep = self._select_after
        if keep is None:
            shown = table.selected
            keep = shown.row.id if shown is not None else None
        self._select_after = None
        now = self.desk.now()
        items = board_items(board, lead=self.desk.actor.is_lead)
        table.show_board(items, now, keep, message.plans, board.stale_after_s)
        self._header_key = ()
        self._paint_header(now)
        self._paint_detail(now)
        self.sub_title = f"tier {board.tier}"

    def on_failure(self, worker_name: str, error: BaseException) -> None:
        if worker_name == "board" and self.board is not None and self.board.tier != self.tier:
            self.tier = self.board.tier  # could not switch: stay on the board we have
            self._header_key = ()
            self._paint_header(self.desk.now())

    # -- painting -----------------------------------------------------------------------
    def _tick(self) -> None:
        """Once a second, from memory: countdowns, waits, stale marks, the header."""
        now = self.desk.now()
        self.query_one(TierBoardTable).tick(now)
        self._paint_header(now)
        self._paint_detail(now)

    def _stale_mine(self, now: datetime) -> int:
        board = self.board
        if board is None:
            return 0
        return sum(
            1 for r in board.rows if r.section == "mine" and is_stale(r, now, board.stale_after_s)
        )

    def header_text(self, now: datetime, width: int = 160) -> Text:
        """The board's counts in one line (shorter words on a narrow terminal)."""
        board = self.board
        short = width < 100
        text = Text(f" {'T' if short else 'Tier '}{self.tier} board", style="bold")
        if board is None or board.tier != self.tier:
            text.append(" · loading…", style="dim")
            return text
        text.append(f" · {board.unclaimed:,} unclaimed", style="bold" if board.unclaimed else "")
        text.append(f" · {board.waiting:,} waiting")
        if board.oldest_wait_since is not None:
            wait = int((now - board.oldest_wait_since).total_seconds())
            text.append(f" · {'oldest' if short else 'oldest wait'} {span_words(max(0, wait))}")
        over = board.working >= board.limit
        text.append(" · working " if short else " · working on ")
        text.append(f"{board.working}/{board.limit}", style="bold #ffaf00" if over else "bold")
        stale = self._stale_mine(now)
        if stale:
            text.append(f" ({stale} stale)", style="bold #ff8700")
        return text

    def _paint_header(self, now: datetime) -> None:
        title = self.header_text(now, self.app.size.width)
        key = (title.plain, self.app.size.width)
        if key == self._header_key:
            return
        self._header_key = key
        show(self.query_one("#board-title", Static), title)
        tabs = Text()
        for tier in self.visible_tiers:
            on_it = tier == self.tier
            tabs.append(f" {tier} ", style="bold " + ("reverse" if on_it else "dim"))
            tabs.append(f"Tier {tier} ", style="bold reverse" if on_it else "")
            tabs.append(" ")
        store = self.desk.store
        where = store_label(store.display_name(), store.is_sqlite)
        right = Text(f"{one_line(self.desk.login)} @ {one_line(where)}")
        grid = Table.grid(expand=True)
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1, justify="right", no_wrap=True, overflow="ellipsis")
        grid.add_row(tabs, right)
        show(self.query_one("#board-tabs", Static), grid)

    def detail_text(self, row: BoardRow | None, now: datetime, width: int) -> Text:
        """Three lines about the selected ticket: its escalation, what was tried, its claim."""
        if row is None:
            empty = self.board is not None and not any(True for _ in self.board.rows)
            return Text(" Nothing on this board." if empty else "", style="dim")
        r = row.row
        lines: list[Text] = []
        first = Text(no_wrap=True, overflow="ellipsis")
        first.append(f"#{r.id} ", style="bold")
        if row.escalated_at is not None:
            by = one_line(row.escalated_by or "?")
            first.append(f"escalated by {by} {ago(row.escalated_at, now)}")
            first.append(": ")
            first.append(one_line(row.reason or ""), style="bold")
        else:
            first.append(f"at tier {r.tier}, not escalated", style="dim")
            first.append(f" · {one_line(r.account)} · {one_line(r.subject)}")
        lines.append(first)
        second = Text(no_wrap=True, overflow="ellipsis")
        second.append("Tried: ", style="dim")
        second.append(one_line(row.tried or "—"), style="" if row.tried else "dim")
        lines.append(second)
        third = Text(no_wrap=True, overflow="ellipsis")
        if r.holder is None:
            third.append("Unclaimed", style="dim")
            if row.section == "waiting":
                status = one_line(r.status.replace("_", " "))
                third.append(f" · {status}: not claimable yet", style="dim")
            else:
                third.append(" · c claims it, n claims the top one", style="dim")
        else:
            touched = ago(row.touched_at, now) if row.touched_at else "never"
            who = "you hold it" if row.section == "mine" else f"{one_line(r.holder)} holds it"
            third.append(f"{who} · last touched {touched}")
            if is_stale(row, now, self.board.stale_after_s if self.board else 2700):
                limit = span_words(self.board.stale_after_s if self.board else 2700)
                third.append(f"  STALE (untouched > {limit})", style="bold #ff8700")
        if row.flagged:
            third.append("  ⚑ complaint flagged for the leads", style="bold #ff5f5f")
        lines.append(third)
        for line in lines:
            line.truncate(width, overflow="ellipsis")
        return Text("\n").join(lines)

    def _paint_detail(self, now: datetime) -> None:
        width = max(20, self.app.size.width - 2)
        row = self.query_one(TierBoardTable).selected
        detail = self.query_one("#board-detail", Static)
        text = self.detail_text(row, now, width)
        if self._detail_plain != text.plain:
            self._detail_plain = text.plain
            show(detail, text)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._paint_detail(self.desk.now())

    @on(DataTable.RowSelected)
    def _selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    # -- writes -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="board-write", name="write")
    def board_write(
        self, write: Callable[[], object], say: Callable[[object], tuple[str, int | None]]
    ) -> None:
        """Run one escalation service call off the UI thread; `say` turns its result into
        the words shown and the ticket to select."""
        what, select = say(write())
        self.post_message(BoardWriteDone(what, select))

    def on_board_write_done(self, message: BoardWriteDone) -> None:
        self._select_after = message.select
        self.notify(message.what, markup=False, timeout=4)
        self.reload()

    def _selected_row(self, verb: str) -> BoardRow | None:
        row = self.query_one(TierBoardTable).selected
        if row is None:
            self.notify(f"Pick a ticket to {verb} first", timeout=3)
        return row

    # -- actions ------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "tier":
            return bool(parameters) and parameters[0] in self.visible_tiers
        if action in ("reassign", "take_over"):
            return self.desk.actor.is_lead
        return True

    def action_tier(self, tier: int) -> None:
        if tier == self.tier or tier not in self.visible_tiers:
            return
        self.tier = tier
        self._header_key = ()
        self._paint_header(self.desk.now())
        self.refresh_bindings()
        self.reload()

    def action_open(self) -> None:
        row = self.query_one(TierBoardTable).selected
        if row is not None:
            self.desk_app.open_ticket(row.row.id)

    def action_claim_next(self) -> None:
        desk, tier = self.desk, self.tier

        def said(result: object) -> tuple[str, int | None]:
            assert isinstance(result, escalation.ClaimResult)
            return f"You hold #{result.ticket_id} now (top of the tier {tier} board)", (
                result.ticket_id
            )

        self.board_write(partial(escalation.claim_next, desk, tier), said)

    def action_claim(self) -> None:
        row = self._selected_row("claim")
        if row is None:
            return
        tid = row.row.id
        self.board_write(
            partial(tickets.claim, self.desk, tid), lambda _r: (f"You hold #{tid} now", tid)
        )

    def action_release(self) -> None:
        row = self._selected_row("release")
        if row is None:
            return
        tid = row.row.id

        def reason(value: str | None) -> None:
            if value:
                self.board_write(
                    partial(escalation.release, self.desk, tid, reason=value),
                    lambda _r: (f"#{tid} released to the tier {self.tier} board", tid),
                )

        self.app.push_screen(
            ReasonModal(
                f"Release #{tid}",
                "why: what the next person should know",
                missing="A reason is required: the next person reads it.",
            ),
            reason,
        )

    def action_reassign(self) -> None:
        row = self._selected_row("reassign")
        if row is None:
            return
        tid = row.row.id

        def to(login: str | None) -> None:
            if login:
                self._reassign(tid, login.strip())

        self.app.push_screen(
            AskModal(
                f"Reassign #{tid} to (login)",
                "login, e.g. tomas",
                hint=f"your own login ({self.desk.login}) takes it over · Esc cancels",
            ),
            to,
        )

    def action_take_over(self) -> None:
        row = self._selected_row("take over")
        if row is not None:
            self._reassign(row.row.id, self.desk.login)

    def _reassign(self, tid: int, login: str) -> None:
        def said(result: object) -> tuple[str, int | None]:
            assert isinstance(result, escalation.ReassignResult)
            if result.holder == self.desk.login:
                what = f"You took over #{tid}"
            else:
                what = f"#{tid} reassigned to {result.holder}"
            if result.previous_holder and result.previous_holder != self.desk.login:
                what += f" (from {result.previous_holder}, who is told)"
            return what, tid

        self.board_write(partial(escalation.reassign, self.desk, tid, login), said)

    def action_end_shift(self, everything: bool = False) -> None:
        def note(value: str | None) -> None:
            if not value:
                return

            def said(result: object) -> tuple[str, int | None]:
                assert isinstance(result, escalation.Handover)
                ids = result.released
                numbers = ", ".join(f"#{i}" for i in ids[:10]) + (", …" if len(ids) > 10 else "")
                what = f"Shift ended: released {len(ids)} ({numbers}) with your note"
                if result.kept:
                    what += f"; {len(result.kept)} waiting or scheduled stay yours (E releases all)"
                return what, None

            self.board_write(
                partial(escalation.end_shift, self.desk, value, everything=everything), said
            )

        if everything:
            title = "End of shift: release EVERYTHING you hold, waiting and scheduled too"
        else:
            title = (
                "End of shift: release what you hold to work on (new or open); "
                "waiting and scheduled stay yours (E: everything)"
            )
        self.app.push_screen(
            ReasonModal(
                title,
                "handover note: where things stand",
                missing="A handover note is required: the next shift reads it.",
            ),
            note,
        )

    def action_end_shift_all(self) -> None:
        self.action_end_shift(everything=True)

    def action_goto(self) -> None:
        self.desk_app.action_goto_ticket()

    def action_back(self) -> None:
        self.dismiss()

    # -- for tests ----------------------------------------------------------------------
    def sections_for_test(self) -> Mapping[str, list[int]]:
        out: dict[str, list[int]] = {}
        for item in self.query_one(TierBoardTable).items:
            if isinstance(item, BoardRow):
                out.setdefault(item.section, []).append(item.row.id)
        return out

    def selected_id(self) -> int | None:
        row = self.query_one(TierBoardTable).selected
        return row.row.id if row is not None else None
