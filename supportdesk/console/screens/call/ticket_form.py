"""Filing the call, from a verdict that allows it (verified, or held: caller not listed):

    n            a new ticket: subject, Enter (priority, category, request: a letter each)
    a            add the call to an open ticket, with notes (and confirm the ticket when it
                 is held and the caller may)

Either way the ticket opens next, and the call screen closes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static
from textual.widgets.option_list import Option

from supportdesk.console.screens.call.base import CallBase
from supportdesk.console.screens.call.stages import CallStage
from supportdesk.console.widgets.choice_row import ChoiceRow
from supportdesk.console.widgets.format import one_line, truncate
from supportdesk.enums import CallOutcome, Category, Channel, Priority, Status
from supportdesk.errors import DeskError
from supportdesk.rules.request_types import REQUEST_TYPES
from supportdesk.rules.verify_rules import HELD, VERIFIED
from supportdesk.services import tickets
from supportdesk.services.callers import lookup

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.widget import Widget

    from supportdesk.services.callers.lookup import OpenTicket
    from supportdesk.services.callers.verification import Verdict


def letter_choices(values: Iterable[StrEnum]) -> tuple[tuple[str, str, str], ...]:
    """(key, value, label) for a ChoiceRow: each value, picked by its first letter."""
    choices = tuple((v.value[0], v.value, v.value) for v in values)
    if len({key for key, _value, _label in choices}) != len(choices):
        raise ValueError(f"two of {[v for _k, v, _l in choices]} start with the same letter")
    return choices


PRIORITIES = letter_choices(Priority)  # c h m l
CATEGORIES = letter_choices(Category)  # t b i s
REQUEST_KEYS = {
    "technical": "t",
    "billing": "b",
    "password_reset": "p",
    "contact_change": "c",
    "cancellation": "x",
}
REQUEST_WORDS = {
    "technical": "technical",
    "billing": "billing",
    "password_reset": "password",
    "contact_change": "contacts",
    "cancellation": "cancellation",
}
HELD_STATUS = Status.AWAITING_AUTHORIZATION

SUBJECT_ON_ONE_LINE = 24  # fewer columns left beside the number: the subject goes below


class CallFiled(Message):
    """A ticket opened, or a call added to one: `what` says so, `warning` if part failed."""

    def __init__(self, ticket_id: int, what: str, warning: bool = False) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.what = what
        self.warning = warning


@dataclass(frozen=True)
class NewTicket:
    """What the form says: the ticket to open."""

    subject: str
    priority: str
    category: str
    request: str
    caller_name: str | None  # the caller's own name and number: only when not listed
    caller_phone: str | None


class TicketForm(Vertical):
    """The new-ticket form: for whom, the subject, the caller's name and number when they
    are not listed, and priority, category and request type picked by a letter."""

    def compose(self) -> ComposeResult:
        yield Static(id="call-form-title", markup=False)
        with Horizontal(classes="call-row", id="row-subject"):
            yield Label("Subject", classes="call-label")
            yield Input(
                placeholder="what is wrong, in a few words", id="call-subject", compact=True
            )
        with Horizontal(classes="call-row", id="row-caller-name"):
            yield Label("Caller", classes="call-label")
            yield Input(placeholder="the caller's name", id="call-caller", compact=True)
        with Horizontal(classes="call-row", id="row-caller-phone"):
            yield Label("Call-back", classes="call-label")
            yield Input(
                placeholder="a number to call them back on",
                id="call-caller-phone",
                compact=True,
            )
        yield ChoiceRow("Priority", PRIORITIES, Priority.MEDIUM.value, id="call-priority")
        yield ChoiceRow("Category", CATEGORIES, Category.TECHNICAL.value, id="call-category")
        yield ChoiceRow(
            "Request",
            [(REQUEST_KEYS[r], r, REQUEST_WORDS[r]) for r in REQUEST_TYPES],
            "technical",
            id="call-request",
        )

    def open(self, v: Verdict) -> Input:
        """Set the form up for verdict `v` (the choices back at their defaults); the box to
        type in first, the subject, is returned."""
        held = v.state == HELD
        title = Text.assemble(("New ticket", "bold"), f" · {one_line(v.account)} · phone · ")
        if held:
            title.append("caller not listed: held for an owner", style="#d7af00")
        else:
            title.append(f"verified: {one_line(v.contact)}", style="#5fd75f")
        self.query_one("#call-form-title", Static).update(title)
        self.query_one("#row-caller-name").display = held
        self.query_one("#row-caller-phone").display = held
        for row in self.query(ChoiceRow):
            row.reset()
        return self.subject_box()

    def subject_box(self) -> Input:
        return self.query_one("#call-subject", Input)

    def fields(self) -> list[Widget]:
        """The boxes and choice rows shown, in the order Tab visits them."""
        return [
            w
            for w in self.query("Input, ChoiceRow")
            if w.display and (w.parent is None or w.parent.display)
        ]

    def new_ticket(self, held: bool) -> NewTicket:
        """The ticket as filled in (the caller's name and number only when `held`)."""
        caller = self.query_one("#call-caller", Input).value.strip() if held else ""
        phone = self.query_one("#call-caller-phone", Input).value.strip() if held else ""
        return NewTicket(
            self.subject_box().value.strip(),
            self.query_one("#call-priority", ChoiceRow).value,
            self.query_one("#call-category", ChoiceRow).value,
            self.query_one("#call-request", ChoiceRow).value,
            caller or None,
            phone or None,
        )


class CallFiling(CallBase):
    """From the verdict: a new ticket (the form), or the call on an open ticket (the list
    of them, then the notes)."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.ticket: OpenTicket | None = None  # the ticket the call is added to
        self.filed = False

    def _may_file(self) -> bool:
        return self.verdict is not None and self.verdict.state in (VERIFIED, HELD)

    # -- a new ticket ---------------------------------------------------------------------
    def action_new_ticket(self) -> None:
        self._key_seen()
        if self._may_file():
            self._enter(CallStage.NEW)
        self._settle_keys()

    def _open_form(self) -> None:
        assert self.verdict is not None
        self.set_focus(self.query_one(TicketForm).open(self.verdict))

    @on(Input.Submitted, "#call-subject, #call-caller, #call-caller-phone")
    def _form_submitted(self, _event: Input.Submitted) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        self._key_seen()
        try:
            self._submit_form()
        finally:
            self._settle_keys()

    def _submit_form(self) -> None:
        if self.stage != CallStage.NEW or self.busy or self.verdict is None:
            return
        form = self.query_one(TicketForm)
        v = self.verdict
        new = form.new_ticket(held=v.state == HELD)
        if not new.subject:
            self.notify("Give the ticket a subject", timeout=3)
            self.set_focus(form.subject_box())
            return
        self.busy = True
        self._paint()
        self.open_ticket(v, new)

    @work(thread=True, exclusive=True, exit_on_error=False, group="call-file", name="call-file")
    def open_ticket(self, v: Verdict, new: NewTicket) -> None:
        tid = tickets.create(
            self.desk,
            account=v.account,
            subject=new.subject,
            priority=new.priority,
            category=new.category,
            channel=Channel.PHONE,
            verification_id=v.verification_id,
            caller_name=new.caller_name,
            caller_phone=new.caller_phone,
            request_type=new.request,
        )
        what = f"Ticket #{tid} opened for {v.account}"
        if lookup.ticket_status(self.desk, tid) == HELD_STATUS:
            what += ": held, awaiting authorization by an owner"
        self.post_message(CallFiled(tid, what))

    # -- the call on an open ticket -------------------------------------------------------
    def action_add_call(self) -> None:
        if not self._may_file():
            return
        if self.card is None or not self.card.open_tickets:
            self.notify(f"{self.account} has no open tickets: n opens one", timeout=4)
            return
        self._enter(CallStage.ADD)

    def _fill_tickets(self) -> None:
        card = self.card
        items = card.open_tickets if card else ()  # held ones first (an owner confirms)
        width = self._list_width()
        options = []
        for n, t in enumerate(items, start=1):
            key = (f" {n} ", "bold reverse") if n <= 9 else ("   ", "")
            prompt = Text.assemble(key, (f" #{t.id}", "bold"))
            if t.status == HELD_STATUS:
                prompt.append(" ⏸ held", style="bold #d7af00")
            room = width - prompt.cell_len - 1
            if room >= SUBJECT_ON_ONE_LINE:
                prompt.append(f" {truncate(t.subject, room)}")
            else:  # a narrow list: the subject gets a line of its own, not ten characters
                prompt.append(f"\n    {truncate(t.subject, max(8, width - 4))}")
            options.append(Option(prompt, id=str(t.id)))
        self._set_options(options)

    def _pick_ticket(self, option_id: str) -> None:
        if self.card is not None:
            self.ticket = next(t for t in self.card.open_tickets if str(t.id) == option_id)
            self._enter(CallStage.NOTES)

    def _ask_notes(self) -> None:
        notes = self.query_one("#call-notes", Input)
        notes.value = ""
        self.set_focus(notes)

    def _will_confirm(self, t: OpenTicket) -> bool:
        v = self.verdict
        return (
            v is not None
            and v.state == VERIFIED
            and t.status == HELD_STATUS
            and t.request_type in v.may
        )

    @on(Input.Submitted, "#call-notes")
    def _notes_submitted(self, event: Input.Submitted) -> None:
        self._key_seen()
        if self.busy or self.ticket is None or self.verdict is None:
            self._settle_keys()
            return
        self.busy = True
        self._paint()
        self.add_call(
            self.ticket, self.verdict, event.value.strip(), self._will_confirm(self.ticket)
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="call-file", name="call-file")
    def add_call(self, t: OpenTicket, v: Verdict, notes: str, confirm: bool) -> None:
        tickets.log_call(self.desk, t.id, CallOutcome.SPOKE, notes)
        what, warning = f"Call logged on #{t.id}", False
        if confirm:
            assert v.verification_id is not None
            try:
                tickets.confirm(self.desk, t.id, v.verification_id)
                what += f"; confirmed by {v.contact}: #{t.id} is open"
            except DeskError as exc:
                what += f"; not confirmed: {exc}"
                warning = True
        self.post_message(CallFiled(t.id, what, warning))

    # -- filed ----------------------------------------------------------------------------
    def on_call_filed(self, message: CallFiled) -> None:
        self.notify(
            message.what,
            severity="warning" if message.warning else "information",
            markup=False,
            timeout=6,
        )
        app = self.desk_app
        self.filed = True  # the gate stays held: the ticket's screen releases it on mount
        self.dismiss()
        app.open_ticket(message.ticket_id)

    # -- keys and words -------------------------------------------------------------------
    def _filing_key(self, action: str) -> bool | None:
        """Whether the filing key `action` works now (None: `action` is not one of them)."""
        if action in ("new_ticket", "add_call"):
            return self.stage == CallStage.VERDICT and self._may_file()
        if action == "submit":
            return self.stage == CallStage.NEW
        return None

    def _filing_prompt(self, text: Text) -> None:
        """What to do in the form, the list of open tickets and the notes."""
        stage = self.stage
        if stage == CallStage.NEW:
            text.append("Enter opens it · Tab, then a letter: priority, category, request")
            text.append(" · Esc back")
        elif stage == CallStage.ADD:
            text.append("Add this call to which ticket? ", style="bold")
            text.append("1-9 / Enter · Esc back")
        elif stage == CallStage.NOTES and self.ticket is not None:
            text.append(f"Call on #{self.ticket.id}, spoke to the caller", style="bold")
            if self._will_confirm(self.ticket):
                text.append(f"; confirms #{self.ticket.id} (it opens)", style="bold")
            text.append(" · Enter logs it · Esc back")
