"""An incident's screen (ctrl+n from anywhere): what is down, the countdown to the next
customer update, the script agents read, the tickets linked to it, its updates and the
accounts it affects; acknowledge, post an update (optionally moving the state), choose
tickets to leave open, and resolve.

Read in a worker (services.incidents.show) after every change of the store; the countdown
ticks from memory once a second.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from supportdesk.console.screens.base import HELP_BINDING, DeskScreen
from supportdesk.console.screens.modals import AskModal, Choice, ChoiceModal
from supportdesk.console.widgets.format import ago, cell, one_line, stamp, truncate
from supportdesk.console.widgets.header_bar import HeaderBar
from supportdesk.console.widgets.incident_banner import ACKED_STYLE, INCIDENT_STYLE, update_due_text
from supportdesk.console.widgets.inert import InertTable
from supportdesk.console.widgets.key_footer import KeyFooter
from supportdesk.rules.policy import format_duration
from supportdesk.safe_text import clean
from supportdesk.services import incidents
from supportdesk.services.incidents import IncidentSummary, IncidentView

WIDE = 110  # from this width the updates and affected accounts stand beside the tickets
STATE_KEYS = {"investigating": "i", "identified": "d", "monitoring": "m"}
NARROW = 70  # cells of title line: narrower, the owner gives way to the title


class IncidentLoaded(Message):
    def __init__(self, view: IncidentView | None, open_ids: tuple[int, ...]) -> None:
        super().__init__()
        self.view = view
        self.open_ids = open_ids


def title_text(inc: IncidentSummary, width: int) -> Text:
    style = ACKED_STYLE if inc.acknowledged else INCIDENT_STYLE
    by = one_line(inc.acknowledged_by)
    narrow = width < NARROW  # the header's time took room: words give way to the title
    ack = f"acknowledged by {by}" if inc.acknowledged else "NOT ACKNOWLEDGED"
    if narrow:
        ack = f"acked by {by}" if inc.acknowledged else "UNACKED"
    if not inc.is_open:
        ack = "resolved"
    text = f" ▲ Incident #{inc.id} · {inc.state} · {', '.join(inc.servers)} · {inc.title}"
    owner = "" if narrow else f" · owner {one_line(inc.owner or '-')}"
    right = f"{owner} · {ack} "
    room = max(10, width - len(right))
    line = Text(truncate(text, room) + right, style=style)
    line.pad_right(max(0, width - line.cell_len))
    line.truncate(width)
    return line


def facts_text(v: IncidentView, now: datetime, width: int) -> Text:
    inc = v.incident
    out = Text()
    if inc.is_open:
        due = update_due_text(inc, now)
        left = inc.update_left_s(now)
        style = "bold #ff5f5f" if left is not None and left < 0 else "bold"
        out.append(f"Next customer {due}", style=style)
        out.append(f" (every {format_duration(inc.cadence_s)})", style="dim")
    else:
        out.append(f"Resolved {stamp(inc.resolved_at, now)}", style="bold")
    calls = sum(1 for c in v.calls if c.ticket_id is None)
    out.append(
        f" · opened {stamp(inc.opened_at, now)} by {one_line(inc.opened_by or '-')}"
        f" · {_count(len(v.tickets), 'ticket')} linked"
        f" · {_count(calls, 'call')} without a ticket"
        f" · {_count(v.affected_total, 'account')} affected"
    )
    out.no_wrap = False
    out.truncate(width * 2, overflow="ellipsis")
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def updates_text(v: IncidentView, now: datetime, width: int) -> Text:
    words = {"opened": "Opened", "update": "Update", "ack": "Acknowledged", "resolved": "Resolved"}
    out = Text()
    for u in reversed(v.updates):  # newest first
        posted = f" → {u.tickets_posted} tickets" if u.tickets_posted else ""
        what = one_line(f"{words.get(u.kind, u.kind)} · {u.state} · {u.by or '-'}")
        out.append(f"{what}{posted}", "bold")
        out.append(f"  {ago(u.at, now)}\n", style="dim")
        if u.kind in ("update", "resolved", "opened") and u.body:
            out.append(f"  {truncate(u.body, max(20, width * 3))}\n")
    return out


def affected_text(v: IncidentView, width: int) -> Text:
    out = Text()
    out.append(f"Affected accounts {v.affected_total}\n", style="bold")
    for a in v.affected[:100]:
        line = f"  {a.account} · {a.company}"
        tickets = f" · {a.open_tickets} open" if a.open_tickets else ""
        out.append(truncate(line, max(10, width - len(tickets))) + tickets + "\n")
    if v.affected_total > len(v.affected[:100]):
        out.append(f"  … {v.affected_total - len(v.affected[:100])} more", style="dim")
    return out


class IncidentScreen(DeskScreen):
    """One incident at a time ([ ] move between the open ones)."""

    TITLE = "Incident"
    SHOWS_INCIDENT_BANNER = False  # its title line is the banner
    HELP = (
        "The incident agents and engineers share. The top line says what is down, who owns "
        "it (the on-call engineer) and whether a lead or the owner has acknowledged it "
        "(until then every new console rings once). The countdown is to the next update "
        "customers are owed: u posts one (it goes as a reply to every linked ticket, and the "
        "next is due one cadence later); s moves the state with an update. Read the script "
        "to callers. k marks the highlighted ticket to stay open when r resolves the "
        "incident (the others are resolved as fixed). Enter opens a ticket. In a ticket or "
        "a call, i links it to the incident in two keys."
    )
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("a", "acknowledge", "Acknowledge", tooltip="stops the bell (leads, on-call)"),
        Binding("u", "update", "Post update", tooltip="a reply on every linked ticket"),
        Binding("s", "state", "State", tooltip="investigating, identified, monitoring"),
        Binding("k", "keep_open", "Keep open", tooltip="leave this ticket open at resolution"),
        Binding("r", "resolve", "Resolve", tooltip="resolves linked tickets, except kept"),
        Binding("enter", "open_ticket", "Open ticket", show=False),
        Binding("left_square_bracket", "step(-1)", "Previous incident", key_display="["),
        Binding("right_square_bracket", "step(1)", "Next incident", key_display="]"),
        Binding("escape", "back", "Back"),
        HELP_BINDING,
    ]
    DEFAULT_CSS = """
    IncidentScreen #inc-title { height: 1; }
    IncidentScreen #inc-facts { height: auto; max-height: 2; padding: 0 1; }
    IncidentScreen #inc-script {
        height: auto; max-height: 8; padding: 0 1; border: round #c00000;
        border-title-style: bold; border-title-color: #ff8787;
    }
    IncidentScreen #inc-body { height: 1fr; }
    IncidentScreen #inc-tickets-box { width: 1fr; height: 1fr; }
    IncidentScreen .inc-heading { height: 1; padding: 0 1; text-style: bold; }
    IncidentScreen #inc-tickets { height: 1fr; }
    IncidentScreen #inc-side { width: 45%; height: 1fr; border-left: tall $primary 40%; }
    IncidentScreen #inc-side Static { padding: 0 1; }
    IncidentScreen.-narrow #inc-body { layout: vertical; }
    IncidentScreen.-narrow #inc-side { width: 1fr; height: 1fr; border-left: none; }
    IncidentScreen #inc-empty { padding: 1 2; }
    """

    def __init__(self, incident_id: int | None = None) -> None:
        super().__init__(id="incident-screen")
        self.incident_id = incident_id
        self.view: IncidentView | None = None
        self.open_ids: tuple[int, ...] = ()
        self.keep_open: set[int] = set()
        self.loads = 0
        self._subject_width = 0

    def compose(self) -> ComposeResult:
        # before the children mount: styled once, with the class (_fit keeps it up to date)
        self.set_class(self.app.size.width < WIDE, "-narrow")
        yield self.header_bar("inc-title")
        yield Static(id="inc-facts", markup=False)
        yield Static(id="inc-script", markup=False)
        with Horizontal(id="inc-body"):
            with Vertical(id="inc-tickets-box"):
                yield Static("Linked tickets", classes="inc-heading", markup=False)
                yield InertTable(id="inc-tickets", cursor_type="row", zebra_stripes=False)
            with VerticalScroll(id="inc-side", can_focus=False):
                yield Static(id="inc-updates", markup=False)
                yield Static(id="inc-affected", markup=False)
        yield Static(id="inc-empty", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.query_one("#inc-empty").display = False
        self._fit()
        self.set_interval(1.0, self._tick)
        self.reload()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Tickets beside the updates when wide, above them when narrow; the subject column
        takes what the others leave."""
        narrow = self.app.size.width < WIDE
        self.set_class(narrow, "-narrow")
        box = self.app.size.width if narrow else int(self.app.size.width * 0.55)
        subject = max(12, box - 6 - 14 - 14 - 14 - 12)
        if subject != self._subject_width:
            self._subject_width = subject
            table = self.query_one(DataTable)
            table.clear(columns=True)
            for key, label, width in (
                ("id", "#", 6),
                ("status", "Status", 14),
                ("account", "Account", 14),
                ("subject", "Subject", subject),
                ("keep", "At resolution", 14),
            ):
                table.add_column(label, key=key, width=width)
            if self.view is not None:
                self._fill_tickets()
        if self.view is not None:
            self._paint()

    # -- data ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.load(self.incident_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="incident", name="incident")
    def load(self, incident_id: int | None) -> None:
        desk = self.desk
        open_ids = tuple(i.id for i in incidents.open_incidents(desk))
        wanted = incident_id if incident_id is not None else (open_ids[0] if open_ids else None)
        view = incidents.show(desk, wanted) if wanted is not None else None
        if not get_current_worker().is_cancelled:
            self.post_message(IncidentLoaded(view, open_ids))

    def on_incident_loaded(self, message: IncidentLoaded) -> None:
        self.loads += 1
        self.view = message.view
        self.open_ids = message.open_ids
        if self.view is not None:
            self.incident_id = self.view.incident.id
            linked = {t.ticket_id for t in self.view.tickets}
            self.keep_open &= linked
        self._paint()

    def _tick(self) -> None:
        if self.view is not None and self.view.incident.is_open:
            width = self.app.size.width - 2
            self.query_one("#inc-facts", Static).update(
                facts_text(self.view, self.desk.now(), width)
            )

    def _paint(self) -> None:
        v = self.view
        empty = self.query_one("#inc-empty", Static)
        parts = ("#inc-title", "#inc-facts", "#inc-script", "#inc-body")
        if v is None:
            for part in parts:
                self.query_one(part).display = False
            empty.display = True
            empty.update(Text("No open incident. Esc goes back.", style="dim"))
            return
        for part in parts:
            self.query_one(part).display = True
        empty.display = False
        now = self.desk.now()
        width = self.app.size.width
        inc = v.incident
        bar = self.query_one("#inc-title", HeaderBar)
        bar.update(title_text(inc, bar.room(width)))
        self.query_one("#inc-facts", Static).update(facts_text(v, now, width - 2))
        script = self.query_one("#inc-script", Static)
        script.border_title = "Read to callers"
        script.update(Text(clean(inc.script, multiline=True)))
        side = self.query_one("#inc-side").size.width or width // 2
        self.query_one("#inc-updates", Static).update(updates_text(v, now, side - 2))
        self.query_one("#inc-affected", Static).update(affected_text(v, side - 2))
        self._fill_tickets()

    def _fill_tickets(self) -> None:
        assert self.view is not None
        table = self.query_one(DataTable)
        selected = self.selected_ticket
        table.clear()
        subject_width = self._subject_width
        for t in self.view.tickets:
            if t.keep_open:
                fate = Text("left open", style="dim")
            elif t.status in ("resolved", "closed"):
                fate = Text("done", style="dim")
            elif t.ticket_id in self.keep_open:
                fate = Text("◆ stays open", style="bold #d7af00")
            else:
                fate = Text("resolve", style="dim")
            table.add_row(  # Texts: a str cell in a DataTable is parsed as markup
                Text(str(t.ticket_id)),
                cell(t.status.replace("_", " ")),
                cell(t.account, 14),
                cell(t.subject, subject_width),
                fate,
                key=str(t.ticket_id),
            )
        if selected is not None and any(k.value == str(selected) for k in table.rows):
            table.move_cursor(row=table.get_row_index(str(selected)))

    @property
    def selected_ticket(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key else None

    # -- actions ------------------------------------------------------------------------
    def _current(self) -> IncidentSummary | None:
        if self.view is None:
            self.notify("no incident on screen", severity="warning", timeout=3)
            return None
        return self.view.incident

    def action_acknowledge(self) -> None:
        inc = self._current()
        if inc is None:
            return
        self.run_write(
            f"incident #{inc.id} acknowledged: no console rings for it again",
            lambda: incidents.acknowledge(self.desk, inc.id),
        )

    def action_update(self, state: str | None = None) -> None:
        inc = self._current()
        if inc is None:
            return
        tickets = self.view.tickets if self.view is not None else ()
        live = sum(1 for t in tickets if t.status not in ("resolved", "closed"))
        title = f"Customer update for incident #{inc.id}" + (f" ({state})" if state else "")

        def send(text: str | None) -> None:
            if text:
                self.run_write(
                    f"update posted to {live} linked tickets",
                    lambda: incidents.post_update(self.desk, inc.id, text, state=state),
                )

        self.app.push_screen(
            AskModal(
                title,
                "what customers are told",
                hint=f"Enter posts it to {live} linked tickets · Esc cancels",
            ),
            send,
        )

    def action_state(self) -> None:
        inc = self._current()
        if inc is None:
            return
        choices = [
            Choice(key, state, state, current=state == inc.state)
            for state, key in STATE_KEYS.items()
        ]

        def picked(state: str | None) -> None:
            if state:
                self.action_update(state)

        self.app.push_screen(ChoiceModal(f"Incident #{inc.id} is now…", choices), picked)

    def action_keep_open(self) -> None:
        tid = self.selected_ticket
        if self.view is None or tid is None:
            return
        if tid in self.keep_open:
            self.keep_open.discard(tid)
        else:
            self.keep_open.add(tid)
        self._fill_tickets()

    def action_resolve(self) -> None:
        inc = self._current()
        if inc is None:
            return
        keep = sorted(self.keep_open)
        tickets = self.view.tickets if self.view is not None else ()
        live = [t.ticket_id for t in tickets if t.status not in ("resolved", "closed")]
        closing = len([t for t in live if t not in keep])
        kept = f", {len(keep)} stay open" if keep else ""

        def send(text: str | None) -> None:
            if text:
                self.run_write(
                    f"incident #{inc.id} resolved: {closing} tickets resolved{kept}",
                    lambda: incidents.resolve(self.desk, inc.id, text, keep_open=keep),
                )

        self.app.push_screen(
            AskModal(
                f"Resolve incident #{inc.id}: what fixed it?",
                "told to every linked customer",
                hint=f"Enter resolves {closing} linked tickets{kept} · Esc cancels",
            ),
            send,
        )

    def action_open_ticket(self) -> None:
        tid = self.selected_ticket
        if tid is not None:
            self.desk_app.open_ticket(tid)

    @on(DataTable.RowSelected)
    def _selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open_ticket()

    def action_step(self, step: int) -> None:
        if not self.open_ids:
            return
        ids = list(self.open_ids)
        here = ids.index(self.incident_id) if self.incident_id in ids else -step
        index = (here + step) % len(ids)
        self.incident_id = ids[index]
        self.keep_open.clear()
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("acknowledge", "update", "state", "keep_open", "resolve"):
            return self.view is not None and self.view.incident.is_open
        if action == "step":
            return len(self.open_ids) > 1
        return True
