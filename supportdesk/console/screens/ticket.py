"""The ticket screen: a ticket's facts, its thread, and every action on it a key away.

Replies, calls and notes are typed in a composer at the bottom that keeps its text until
the write succeeds, so a refused reply (someone else holds the ticket) is never lost. Above
the thread, the SLA panel shows both clocks ticking (from memory) and their history; the
worker that reads the ticket reads its SLA view and plan too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static, TextArea
from textual.worker import get_current_worker

from supportdesk.console.screens.attachment_redact import (
    may_redact,
    redact_file,
    redactable,
    refuse,
)
from supportdesk.console.screens.base import HELP_BINDING, DeskScreen
from supportdesk.console.screens.call.ticket_form import REQUEST_KEYS
from supportdesk.console.screens.escalation_modals import (
    EscalateModal,
    EscalateRequest,
    ReasonModal,
)
from supportdesk.console.screens.messages import ActionDone, TicketLoaded
from supportdesk.console.screens.modals import AskModal, Choice, ChoiceModal, TextModal
from supportdesk.console.screens.template_picker import TemplatePicker
from supportdesk.console.widgets.format import truncate
from supportdesk.console.widgets.handover import HandoverPanel
from supportdesk.console.widgets.header_bar import HeaderBar
from supportdesk.console.widgets.incident_banner import AccountNotices
from supportdesk.console.widgets.key_footer import KeyFooter
from supportdesk.console.widgets.quiet import show
from supportdesk.console.widgets.sla_clock import PanelData, SlaPanel
from supportdesk.console.widgets.ticket_view import (
    ThreadEntry,
    ThreadView,
    facts_key,
    ticket_facts,
    ticket_title,
)
from supportdesk.core import permissions
from supportdesk.core.policy import current_policy
from supportdesk.core.views import TicketView
from supportdesk.enums import TRANSITIONS, CallOutcome, Priority, ResolutionCode, Status
from supportdesk.rules.request_types import REQUEST_TYPES
from supportdesk.safe_text import clean
from supportdesk.services import escalation, sla, templates, tickets
from supportdesk.services.escalation import Brief

COMPOSE_LABEL = {
    "reply": "Reply to the customer (they see this)",
    "note": "Internal note (staff only)",
    "call": "Call notes",
}
PRIORITY_KEYS = {"critical": "c", "high": "h", "medium": "m", "low": "l"}
STATUS_KEYS = {
    "open": "o",
    "awaiting_authorization": "a",
    "pending_customer": "p",
    "scheduled": "s",
    "resolved": "r",
    "closed": "x",
}
CODE_KEYS = {
    "fixed": "f",
    "duplicate": "d",
    "not_authorized": "a",
    "out_of_scope": "o",
    "unlisted_sender": "u",
    "no_response": "n",
}
RETIME_S = 20.0
OUTCOME_KEYS = {"spoke": "s", "voicemail": "v", "no_answer": "n"}
OUTCOME_TEXT = {
    "spoke": "Spoke to the customer",
    "voicemail": "Left a voicemail",
    "no_answer": "No answer",
}


def _words(value: str) -> str:
    return value.replace("_", " ")


SHORT_HEIGHT = 36  # below this, the composer takes the facts' and SLA panel's lines
HANDOVER_BESIDE_WIDTH = 140  # from this width on, the handover sits beside the thread
TOP_TIER = 3


def is_flagged(t: TicketView) -> bool:
    """A complaint is flagged for the leads (the last flag event raised it)."""
    flags = [e for e in t.events if e.kind == "flag"]
    return bool(flags) and flags[-1].new_value is not None


class TicketWithSla(TicketLoaded):
    """A ticket with its thread, what its SLA panel needs (None: no clocks) and, when the
    handover panel is shown, the handover brief."""

    def __init__(
        self, ticket: TicketView, sla_data: PanelData | None, brief: Brief | None = None
    ) -> None:
        super().__init__(ticket)
        self.sla_data = sla_data
        self.brief = brief


# what a composer writes, as the permission it needs
COMPOSE_ACTION = {"reply": "ticket.reply", "note": "ticket.note", "call": "ticket.call"}


class TicketScreen(DeskScreen):
    """One ticket: details, thread, and reply / call / note / priority / status / take /
    resolve / merge."""

    TITLE = "Ticket"
    HELP = (
        "The ticket's facts on top, its thread below (oldest first; new entries appear "
        "live). Customer messages are blue, our replies green, calls purple and internal "
        "notes yellow (the customer never sees those).\n"
        "Write in the box at the bottom; ctrl+s sends, Esc puts the text away.\n"
        "SLA: each clock's business time left (ticking), when it is due on the plan's "
        "calendar (in the calendar's time zone), its target, the business time elapsed and "
        "paused. ⚠ past a warning threshold, ✖ breached, ⏸ paused (and why), ☾ the office "
        "is closed now (the clock waits for it to open). l shows the whole clock history.\n"
        "Escalation: e escalates (to which tier, why, what was tried), b hands it back down, "
        "u takes a complaint to a supervisor, x releases a ticket you hold, t claims it; "
        "leads also reassign (a), take over (o) and acknowledge a complaint (k). "
        "h shows the handover: the reported problem, every escalation with what was tried, "
        "the services and servers, who may authorize changes, the account's notes, other "
        "open tickets on the same server and who watches the ticket (beside the thread on "
        "wide screens, instead of it on narrow ones).\n"
        "Request type: y sets what the customer asks for (technical, billing, password reset, "
        "contact change, cancellation). The words of the ticket only suggest one (shown "
        "under the facts with the words matched); a person decides. A restricted type the "
        "requester may not ask for holds the ticket and blocks replies and resolution until "
        "an allowed contact confirms on a verified call; the reason names who can ask.\n"
        "Attachments: v opens a text one inline; V (leads) redacts one: its bytes are "
        "deleted, its name, type, size and SHA-256 stay, with the reason in the audit.\n"
    )
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        # not a priority binding: it must come after the characters typed before it
        Binding("ctrl+s", "send", "Send"),
        Binding("r", "compose('reply')", "Reply"),
        Binding("n", "compose('note')", "Note"),
        Binding("c", "call", "Call"),
        Binding("t", "take", "Take"),
        Binding("d", "resolve", "Resolve"),
        Binding("s", "status", "Status"),
        Binding("p", "priority", "Priority"),
        Binding("m", "merge", "Merge"),
        Binding("e", "escalate", "Escalate", tooltip="up a tier, with why and what was tried"),
        Binding("h", "handover", "Handover", tooltip="what the next person needs"),
        Binding("x", "release", "Release", tooltip="put it back on its board, with why"),
        Binding("b", "hand_back", "Hand back", tooltip="back down to the tier it came from"),
        Binding("u", "complaint", "Supervisor", tooltip="take a complaint to a supervisor"),
        Binding("a", "reassign", "Reassign", tooltip="give it to someone (leads)"),
        Binding("o", "take_over", "Take over", tooltip="take it from its holder (leads)"),
        Binding("k", "acknowledge", "Ack complaint", tooltip="clear the flag, with a note"),
        Binding("left_square_bracket", "step(-1)", "Previous ticket", key_display="["),
        Binding("right_square_bracket", "step(1)", "Next ticket", key_display="]"),
        Binding("g", "goto", "Go to #"),
        Binding("l", "sla_log", "SLA log", tooltip="all of the SLA clock history, or less"),
        Binding("i", "link_incident", "Incident", tooltip="link to an outage (c: with the call)"),
        Binding("w", "schedule", "Schedule", tooltip="into a maintenance window"),
        Binding("y", "request_type", "Request type", tooltip="what the customer asks for"),
        Binding("v", "view_file", "View file", tooltip="open a text attachment (log, .eml)"),
        Binding("V", "redact_file", "Redact file", tooltip="delete a file's bytes (leads)"),
        Binding("V", "redact_refused", "", show=False),  # anyone else: told why, at once
        Binding("f2", "attach", "Attach file", show=False, tooltip="to the reply being written"),
        Binding("escape", "back", "Back"),
        HELP_BINDING,
    ]

    def __init__(self, ticket_id: int) -> None:
        super().__init__(id="ticket-screen")
        self.ticket_id = ticket_id
        self.ticket: TicketView | None = None
        self.sla_data: PanelData | None = None
        self.compose_kind: str | None = None
        self.call_outcome: str | None = None
        self.loads = 0
        self._drafts: dict[int, str] = {}
        self._files: list[str] = []  # paths attached to the reply being written (F2)
        self._template: str | None = None  # the template the reply in the composer came from
        self.brief: Brief | None = None
        self.handover_on: bool | None = None  # None: shown beside the thread when wide
        self._retime_due = 0.0  # when the "5 min ago" texts are redone (monotonic)

    def compose(self) -> ComposeResult:
        self._fit_handover()  # before the children mount: styled once, with these classes
        yield self.header_bar("ticket-title")
        yield AccountNotices(self.desk.now, id="ticket-notices", key_hint="i links this ticket")
        yield Static(id="ticket-facts", markup=False)
        yield SlaPanel(id="ticket-sla")
        with Horizontal(id="ticket-body"):
            yield ThreadView(id="thread")
            yield HandoverPanel(id="handover")
        composer = Vertical(id="composer")
        composer.display = False  # here, not in on_mount: its children may mount after it
        with composer:
            yield Label(id="composer-label", markup=False)
            text = TextArea(id="composer-text", soft_wrap=True, show_line_numbers=False)
            text.cursor_blink = False
            yield text
        yield KeyFooter()

    def on_mount(self) -> None:
        self.set_focus(self.query_one(ThreadView))
        self.desk_app.key_gate.release()  # keys typed ahead of it (a call filed) come here
        self.query_one("#ticket-title", Static).update(Text(f"#{self.ticket_id} …", "bold"))
        self._fit_handover()
        # the texts are redone from the once-a-second tick, not from a timer of their own: a
        # stopped timer's sleep keeps the context it was started in, and with it this screen,
        # until its due time (20 s after the ticket closed); the tick's keeps it for a second
        self._retime_due = time.monotonic() + RETIME_S
        self.set_interval(1.0, self._tick)
        self.reload()

    def _tick(self) -> None:
        """Once a second: the SLA countdowns from memory (no database); every RETIME_S the
        "5 min ago" texts."""
        self.query_one(SlaPanel).tick(self.desk.now())
        if time.monotonic() >= self._retime_due:
            self._retime_due = time.monotonic() + RETIME_S
            self._retime()

    def _retime(self) -> None:
        """Refresh "5 min ago" texts from the ticket in memory (no database)."""
        if self.ticket is None:
            return
        now = self.desk.now()
        self._show_facts(self.ticket, now, self.app.size.width - 2)
        for entry in self.query(ThreadEntry):
            entry.retime(now)
        if self.handover_shown and self.brief is not None:
            self.query_one(HandoverPanel).show(self.brief, now)

    # -- the handover panel -------------------------------------------------------------
    @property
    def handover_wide(self) -> bool:
        return self.app.size.width >= HANDOVER_BESIDE_WIDTH and self.app.size.height >= 30

    @property
    def handover_shown(self) -> bool:
        return self.handover_wide if self.handover_on is None else self.handover_on

    def _fit_handover(self) -> None:
        shown = self.handover_shown
        wide = self.handover_wide
        self.set_class(shown and wide, "-handover-beside")
        self.set_class(shown and not wide, "-handover-only")
        # a short terminal gives the handover the SLA panel's lines too (h brings them back)
        self.set_class(shown and not wide and self.app.size.height < 36, "-handover-tall")
        # and, while a reply, note or call is typed, the thread it answers gets the facts'
        # and the SLA panel's lines (the title keeps the ticket's number and subject)
        self.set_class(
            self.compose_kind is not None and self.app.size.height < SHORT_HEIGHT,
            "-composing-short",
        )

    def on_resize(self) -> None:
        was = self.has_class("-handover-beside"), self.has_class("-handover-only")
        self._fit_handover()
        now = (self.has_class("-handover-beside"), self.has_class("-handover-only"))
        if now != was and self.handover_shown:
            if self.brief is None or self.brief.ticket_id != self.ticket_id:
                self.reload()
            else:
                self.call_after_refresh(
                    lambda: self.query_one(HandoverPanel).show(self.brief, self.desk.now())
                )

    def action_handover(self) -> None:
        """Show or hide the handover (narrow: in place of the thread)."""
        self.handover_on = not self.handover_shown
        self._fit_handover()
        panel = self.query_one(HandoverPanel)
        if self.handover_shown:
            if self.brief is not None and self.brief.ticket_id == self.ticket_id:
                panel.show(self.brief, self.desk.now())
            else:
                panel.show(None, self.desk.now())
            self.reload()
            if not self.handover_wide:
                panel.focus()
        else:
            self.query_one(ThreadView).focus()

    def on_unmount(self) -> None:
        self.desk_app.set_presence(None)

    # -- loading ------------------------------------------------------------------------
    def reload(self) -> None:
        self.load_ticket(self.ticket_id, self.handover_shown)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ticket", name="ticket")
    def load_ticket(self, ticket_id: int, with_brief: bool = False) -> None:
        desk = self.desk
        ticket = tickets.show(desk, ticket_id)
        data = None
        if ticket.clocks is not None:
            view = sla.show(desk, ticket_id)
            plan = current_policy(desk).plan_for(view.plan)
            data = PanelData(view, ticket.clocks, plan)
        brief = escalation.brief(desk, ticket_id) if with_brief else None
        if not get_current_worker().is_cancelled:
            self.post_message(TicketWithSla(ticket, data, brief))

    def on_ticket_with_sla(self, message: TicketWithSla) -> None:
        t = message.ticket
        if t.id != self.ticket_id:
            return
        if self.ticket is None or self.ticket.id != t.id:
            self.desk_app.set_presence(t.id)  # only now is it sure the ticket exists
        self.ticket = t
        self.loads += 1
        self.sla_data = message.sla_data
        if message.brief is not None:
            self.brief = message.brief
        self._show(t)
        # an outage on the account's servers, its script, its maintenance: first
        notices = self.query_one(AccountNotices)
        self.read_account_notices(notices, t.account, waiting_for=t.window_id)
        if self.handover_shown and message.brief is not None:
            self.query_one(HandoverPanel).show(message.brief, self.desk.now())

    def _show(self, t: TicketView) -> None:
        now = self.desk.now()
        width = self.app.size.width - 2
        bar = self.query_one("#ticket-title", HeaderBar)
        show(bar, ticket_title(t, bar.room(width)))  # a reload that changed nothing: no layout
        self._show_facts(t, now, width)
        self.query_one(SlaPanel).show(self.sla_data, now)
        self.query_one(ThreadView).show(t, now)
        self.sub_title = f"#{t.id}"
        self.refresh_bindings()

    def _show_facts(self, t: TicketView, now: datetime, width: int) -> None:
        facts = self.query_one("#ticket-facts", Static)
        show(facts, ticket_facts(t, now, width), key=facts_key(t, now, width))

    def on_failure(self, worker_name: str, error: BaseException) -> None:
        if worker_name != "ticket":
            return
        if self.ticket is None:
            self.dismiss()  # the ticket could not be opened at all (e.g. no such number)
        elif self.ticket.id != self.ticket_id:
            self.ticket_id = self.ticket.id  # switching failed: stay on the one we had
            self._show(self.ticket)

    def show_ticket(self, ticket_id: int) -> None:
        """Switch this screen to another ticket (go to #, previous / next); a half-written
        reply stays with its own ticket as a draft."""
        if ticket_id == self.ticket_id:
            return
        box = self.query_one("#composer-text", TextArea)
        if box.text.strip():
            self._drafts[self.ticket_id] = box.text
        if self.compose_kind is not None:
            self._hide_composer(clear=True)
        box.text = ""
        self.ticket_id = ticket_id
        self.query_one(ThreadView).clear_thread()
        self.brief = None
        if self.handover_shown:
            self.query_one(HandoverPanel).show(None, self.desk.now())
        self.query_one("#ticket-title", Static).update(Text(f"#{ticket_id} …", "bold"))
        self.query_one("#ticket-facts", Static).update("")
        self.query_one(SlaPanel).show(None, self.desk.now())
        self.reload()

    # -- composer -----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "send":
            return self.compose_kind is not None
        if action == "attach":
            return self.compose_kind == "reply"
        t = self.ticket
        lead = self.desk.actor.is_lead
        if action in ("reassign", "take_over"):
            return lead
        if action == "redact_file":
            return may_redact(self) and bool(redactable(t))
        if action == "redact_refused":
            return not may_redact(self)
        if action == "acknowledge":
            return lead and t is not None and is_flagged(t)
        if action == "hand_back":
            return t is not None and t.tier > 1
        if action == "release":
            return t is not None and t.holder == self.desk.login
        if action == "complaint":
            return t is None or not is_flagged(t)
        return True

    def action_link_incident(self) -> None:
        """i, then the incident's number (or c: and log the call): linked, no new ticket."""
        from supportdesk.console.screens.incident_link import link_ticket

        if self.ticket is not None:
            link_ticket(self, self.ticket.id, self.query_one(AccountNotices).incidents)

    def action_schedule(self) -> None:
        """w, then the window: the server work waits for it, clocks paused until then."""
        from supportdesk.console.screens.incident_link import schedule_ticket

        if self.ticket is not None:
            schedule_ticket(self, self.ticket.id, self.query_one(AccountNotices).windows)

    def _refusal(self, kind: str) -> str | None:
        """Why a reply, note or call on this ticket would be refused (None: it would not),
        asked before anything is typed: the rule the write itself applies."""
        t = self.ticket
        if t is None:
            return None
        if t.status == Status.CLOSED.value:
            return f"ticket #{t.id} is closed; nothing can be added to it"
        actor = self.desk.actor
        other = t.holder if t.holder is not None and t.holder != actor.login else None
        why = permissions.refusal(actor, COMPOSE_ACTION[kind], t.id, t.tier, other)
        if why is None and kind == "reply" and t.request_block:
            why = f"ticket #{t.id} cannot be answered yet: {t.request_block}"
        return why

    def _refused(self, kind: str) -> bool:
        why = self._refusal(kind)
        if why is not None:
            self.notify(why, title="Not allowed", severity="warning", markup=False, timeout=5)
        return why is not None

    def action_compose(self, kind: str, outcome: str | None = None) -> None:
        if self._refused(kind):
            return
        self.compose_kind = kind
        self.call_outcome = outcome
        label = f"#{self.ticket_id} · {COMPOSE_LABEL[kind]}"
        if outcome:
            label = f"{label} · {OUTCOME_TEXT[outcome]} (optional)"
        box = self.query_one("#composer")
        box.set_class(kind == "note", "-note")
        box.set_class(kind == "reply", "-reply")
        box.set_class(kind == "call", "-call")
        label = truncate(f"{label} · ctrl+s sends, Esc hides", self.app.size.width - 4)
        self.query_one("#composer-label", Label).update(label)
        box.display = True
        text = self.query_one("#composer-text", TextArea)
        if not text.text and self.ticket_id in self._drafts:
            text.text = self._drafts.pop(self.ticket_id)
        text.focus()
        self._fit_handover()
        self.refresh_bindings()

    def _hide_composer(self, *, clear: bool) -> None:
        if clear:
            self.query_one("#composer-text", TextArea).text = ""
            self._files = []  # files go with the reply they were attached to, or not at all
            self._template = None
        self.query_one("#composer").display = False
        self.compose_kind = None
        self.call_outcome = None
        self._fit_handover()
        self.query_one(ThreadView).focus()
        self.refresh_bindings()

    def action_send(self) -> None:
        kind = self.compose_kind
        if kind is None:
            return
        body = self.query_one("#composer-text", TextArea).text
        tid = self.ticket_id
        if kind == "reply" and self._template is not None and self._files:
            self.notify(
                "not sent: attached files go with a typed reply, not with a template",
                severity="warning",
            )
            return
        if kind == "reply" and self._template is not None:
            self.run_write(  # the template's status, category and priority go with it
                lambda mailed: clean(mailed.words(f"Reply on #{tid}")),
                partial(templates.reply_with, self.desk, tid, self._template, body=body.strip()),
                kind="sent",
            )
        elif kind == "reply":
            self.run_write(
                lambda mailed: clean(mailed.words(f"Reply on #{tid}")),
                partial(tickets.reply, self.desk, tid, body, tuple(self._files)),
                kind="sent",
            )
        elif kind == "note":
            self.run_write(
                f"Note added to #{tid}", partial(tickets.note, self.desk, tid, body), kind="sent"
            )
        else:
            outcome = self.call_outcome or CallOutcome.SPOKE.value
            self.run_write(
                f"Call logged on #{tid}",
                partial(tickets.log_call, self.desk, tid, outcome, body),
                kind="sent",
            )

    # -- templates (issue 20) --------------------------------------------------------------
    @on(TextArea.Changed, "#composer-text")
    def _slash(self, event: TextArea.Changed) -> None:
        """`/` alone at the start of a reply opens the template picker."""
        if self.compose_kind == "reply" and event.text_area.text == "/":
            self._read_templates(self.ticket_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="templates", name="templates")
    def _read_templates(self, ticket_id: int) -> None:
        rows = templates.list_templates(self.desk, "reply")
        self.app.call_from_thread(self._pick_template, ticket_id, rows)

    def _pick_template(self, ticket_id: int, rows: list[templates.TemplateView]) -> None:
        def picked(name: str | None) -> None:
            if name:
                self._fill_template(ticket_id, name)

        self.app.push_screen(TemplatePicker(ticket_id, rows), picked)

    @work(thread=True, exclusive=True, exit_on_error=False, group="templates", name="template")
    def _fill_template(self, ticket_id: int, name: str) -> None:
        filled = templates.fill(self.desk, ticket_id, name)
        self.app.call_from_thread(self._insert_template, ticket_id, filled)

    def _insert_template(self, ticket_id: int, filled: templates.Filled) -> None:
        """The filled text replaces the `/` for editing; ctrl+s sends it as usual."""
        if ticket_id != self.ticket_id or self.compose_kind != "reply":
            return
        box = self.query_one("#composer-text", TextArea)
        box.text = filled.body.strip()  # text: render() made its controls visible escapes
        self._template = filled.name
        box.focus()

    def on_action_done(self, message: ActionDone) -> None:
        # DeskScreen's handler runs after this one (Textual dispatches along the MRO)
        if message.kind == "sent":
            self._hide_composer(clear=True)

    def action_back(self) -> None:
        if self.compose_kind is not None:
            self._hide_composer(clear=False)  # the text stays for the next r / n / c
            return
        self.dismiss()

    # -- actions ------------------------------------------------------------------------
    def action_call(self) -> None:
        if self._refused("call"):
            return
        choices = [
            Choice(OUTCOME_KEYS[o.value], o.value, OUTCOME_TEXT[o.value]) for o in CallOutcome
        ]

        def picked(outcome: str | None) -> None:
            if outcome:
                self.action_compose("call", outcome)

        self.app.push_screen(ChoiceModal(f"Call on #{self.ticket_id}: outcome", choices), picked)

    def action_priority(self) -> None:
        current = self.ticket.priority if self.ticket else None
        choices = [
            Choice(PRIORITY_KEYS[p.value], p.value, p.value, current=p.value == current)
            for p in Priority
        ]
        tid = self.ticket_id

        def picked(value: str | None) -> None:
            if value and value != current:
                self.run_write(
                    f"#{tid} is now {value} priority",
                    partial(tickets.update_fields, self.desk, tid, priority=value),
                )

        self.app.push_screen(ChoiceModal(f"Priority of #{tid}", choices), picked)

    def action_request_type(self) -> None:
        """y: what the customer asks for, a person's choice (the suggestion is marked)."""
        t = self.ticket
        if t is None:
            return
        choices = [
            Choice(
                REQUEST_KEYS[r],
                r,
                _words(r) + ("  ← suggested by its words" if r == t.suggested_type else ""),
                current=r == t.request_type,
            )
            for r in REQUEST_TYPES
        ]
        tid, current = t.id, t.request_type

        def picked(value: str | None) -> None:
            if value and value != current:
                self.run_write(
                    f"#{tid} request type: {_words(value)}",
                    partial(tickets.update_fields, self.desk, tid, request_type=value),
                )

        self.app.push_screen(ChoiceModal(f"Request type of #{tid}", choices), picked)

    def action_status(self) -> None:
        if self.ticket is None:
            return
        current = Status(self.ticket.status)
        allowed = [s for s in Status if s in TRANSITIONS[current] and s is not Status.NEW]
        if not allowed:
            self.notify(f"#{self.ticket_id} is {current.value}: it cannot change any more")
            return
        choices = [Choice(STATUS_KEYS[s.value], s.value, _words(s.value)) for s in allowed]
        tid = self.ticket_id
        needs_code = current.value not in ("resolved", "closed")

        def picked(value: str | None) -> None:
            if not value:
                return
            if value in ("resolved", "closed") and needs_code:
                self._ask_code(
                    f"#{tid} {value}: resolution",
                    lambda code: self.run_write(
                        f"#{tid} is now {value} ({_words(code)})",
                        partial(tickets.update_fields, self.desk, tid, status=value, code=code),
                    ),
                )
                return
            self.run_write(
                f"#{tid} is now {_words(value)}",
                partial(tickets.update_fields, self.desk, tid, status=value),
            )

        self.app.push_screen(
            ChoiceModal(f"Status of #{tid} (now {_words(current.value)})", choices), picked
        )

    def _ask_code(self, title: str, then: object) -> None:
        choices = [Choice(CODE_KEYS[c.value], c.value, _words(c.value)) for c in ResolutionCode]

        def picked(code: str | None) -> None:
            if code and callable(then):
                then(code)

        self.app.push_screen(ChoiceModal(title, choices), picked)

    def action_resolve(self) -> None:
        tid = self.ticket_id
        self._ask_code(
            f"Resolve #{tid}: resolution",
            lambda code: self.run_write(
                f"#{tid} resolved ({_words(code)})",
                partial(tickets.resolve, self.desk, tid, code),
            ),
        )

    def action_take(self) -> None:
        tid = self.ticket_id
        self.run_write(f"You hold #{tid} now", partial(tickets.claim, self.desk, tid))

    # -- escalation ---------------------------------------------------------------------
    def action_escalate(self) -> None:
        t = self.ticket
        if t is None:
            return
        if t.tier >= TOP_TIER:
            self.notify(
                f"#{t.id} is at tier {t.tier}, the top: u takes a complaint to a supervisor",
                timeout=4,
            )
            return
        tid = t.id

        def picked(request: EscalateRequest | None) -> None:
            if request is None:
                return
            self.run_write(
                f"#{tid} escalated to tier {request.to_tier}: unclaimed on that board",
                partial(
                    escalation.escalate,
                    self.desk,
                    tid,
                    to_tier=request.to_tier,
                    reason=request.reason,
                    tried=request.tried,
                ),
            )

        self.app.push_screen(EscalateModal(tid, t.tier, TOP_TIER), picked)

    def _ask_reason(
        self, title: str, placeholder: str, missing: str, then: Callable[[str], None]
    ) -> None:
        def picked(value: str | None) -> None:
            if value:
                then(value)

        self.app.push_screen(ReasonModal(title, placeholder, missing=missing), picked)

    def action_hand_back(self) -> None:
        tid = self.ticket_id

        def send(reason: str) -> None:
            self.run_write(
                f"#{tid} handed back down",
                partial(escalation.deescalate, self.desk, tid, reason=reason),
            )

        self._ask_reason(
            f"Hand #{tid} back to the tier it came from",
            "why: what was found, what they should do",
            "A reason is required: the person it goes back to reads it.",
            send,
        )

    def action_complaint(self) -> None:
        tid = self.ticket_id

        def send(reason: str) -> None:
            self.run_write(
                f"#{tid}: complaint taken to a supervisor (the leads are told)",
                partial(escalation.to_supervisor, self.desk, tid, reason=reason),
            )

        self._ask_reason(
            f"Complaint on #{tid} to a supervisor",
            "what the customer complains about",
            "Say what the complaint is: the leads read it.",
            send,
        )

    def action_acknowledge(self) -> None:
        tid = self.ticket_id

        def send(note: str) -> None:
            self.run_write(
                f"#{tid}: complaint acknowledged",
                partial(escalation.acknowledge_complaint, self.desk, tid, note=note),
            )

        self._ask_reason(
            f"Acknowledge the complaint on #{tid}",
            "note: what you did about it",
            "A note is required: it stays on the ticket.",
            send,
        )

    def action_release(self) -> None:
        tid = self.ticket_id

        def send(reason: str) -> None:
            self.run_write(
                f"#{tid} released to its board",
                partial(escalation.release, self.desk, tid, reason=reason),
            )

        self._ask_reason(
            f"Release #{tid}",
            "why: what the next person should know",
            "A reason is required: the next person reads it.",
            send,
        )

    def action_reassign(self) -> None:
        tid = self.ticket_id

        def picked(login: str | None) -> None:
            if login:
                self._reassign(tid, login.strip())

        self.app.push_screen(
            AskModal(
                f"Reassign #{tid} to (login)",
                "login, e.g. tomas",
                hint=f"your own login ({self.desk.login}) takes it over · Esc cancels",
            ),
            picked,
        )

    def action_take_over(self) -> None:
        self._reassign(self.ticket_id, self.desk.login)

    def _reassign(self, tid: int, login: str) -> None:
        what = f"You took over #{tid}" if login == self.desk.login else f"#{tid} is now {login}'s"
        self.run_write(what, partial(escalation.reassign, self.desk, tid, login))

    def action_merge(self) -> None:
        tid = self.ticket_id

        def picked(value: str | None) -> None:
            if value and value.isdigit():
                into = int(value)
                self.run_write(
                    f"#{tid} merged into #{into}",
                    partial(tickets.merge, self.desk, tid, into),
                )

        self.app.push_screen(
            AskModal(
                f"Merge #{tid} into ticket #",
                "ticket number",
                digits=True,
                hint=f"#{tid}'s thread moves there and #{tid} closes as duplicate · Esc cancels",
            ),
            picked,
        )

    def action_goto(self) -> None:
        self.desk_app.action_goto_ticket()

    def action_attach(self) -> None:
        """F2 while writing a reply: a file (its path) to send with it; read when it is sent
        (a missing or oversized one refuses the reply, and nothing is sent)."""

        def picked(path: str | None) -> None:
            if path and path.strip():
                self._files.append(path.strip())
                names = ", ".join(p.rsplit("/", 1)[-1] for p in self._files)
                label = f"#{self.ticket_id} · reply · {len(self._files)} attached: {names}"
                width = self.app.size.width - 4
                self.query_one("#composer-label", Label).update(truncate(label, width))

        self.app.push_screen(AskModal("Attach a file to the reply", "path of the file"), picked)

    def action_view_file(self) -> None:
        """v: a text attachment (log, .eml) read inline, as safe text; others: save them."""
        t = self.ticket
        files = [f for e in t.events for f in e.files if f.readable] if t is not None else []
        if not files:
            self.notify("No text attachments to open (save others with the CLI)", timeout=3)
            return
        keys = "123456789abcdefghijklmnopqrstuwxyz"
        choices = [Choice(k, str(f.id), f.name) for k, f in zip(keys, files, strict=False)]

        def picked(value: str | None) -> None:
            if value:
                self._open_file(int(value))

        self.app.push_screen(ChoiceModal("Open an attachment", choices), picked)

    def action_redact_file(self) -> None:
        """V (leads): an attachment's bytes deleted, with a reason; its record stays."""
        if self.ticket is not None:
            redact_file(self, self.ticket)

    def action_redact_refused(self) -> None:
        refuse(self)

    @work(thread=True, exit_on_error=False, group="file", name="file")
    def _open_file(self, attachment_id: int) -> None:
        from supportdesk.services.tickets.attachments import text_of

        view, text = text_of(self.desk, attachment_id)
        title = f"{view.name} · {view.detected_type} · {view.size:,} bytes"
        self.app.call_from_thread(self.app.push_screen, TextModal(title, text))

    def action_sla_log(self) -> None:
        self.query_one(SlaPanel).toggle_history(self.desk.now())

    def action_step(self, step: int) -> None:
        target = self.desk_app.neighbour(self.ticket_id, step)
        if target is None:
            self.notify("No more tickets that way in the queue window", timeout=2)
            return
        self.show_ticket(target)
