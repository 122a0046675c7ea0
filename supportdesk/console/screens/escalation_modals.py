"""The small forms of tier escalation: a required reason (release, hand back, complaint, end
of shift, acknowledgement) and the escalation itself (to which tier, why, what was tried).

A required field left empty is refused here, in the form, with a line saying what is
missing: nothing is sent, so nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from supportdesk.console.widgets.choice_row import ChoiceRow
from supportdesk.console.widgets.closing import SkipsMountWhenClosing
from supportdesk.safe_text import clean


class ReasonModal(SkipsMountWhenClosing, ModalScreen[str | None]):
    """Ask for one required line of text; Enter confirms, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, placeholder: str, *, missing: str, hint: str = "", value: str = ""
    ) -> None:
        super().__init__(classes="desk-modal")
        self.title_text = title
        self.placeholder = placeholder
        self.missing = missing
        self.hint = hint or "Enter confirms · Esc cancels"
        self.value = value
        self.refused = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(clean(self.title_text), classes="dialog-title", markup=False)
            yield Input(value=self.value, placeholder=self.placeholder, id="answer", compact=True)
            yield Static("", id="form-error", classes="form-error", markup=False)
            yield Static(clean(self.hint), classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#form-error").display = False
        answer = self.query_one(Input)
        answer.cursor_blink = False
        answer.focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self.refused = True
            error = self.query_one("#form-error", Static)
            error.update(self.missing)
            error.display = True
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class EscalateRequest:
    to_tier: int
    reason: str
    tried: str


class EscalateModal(SkipsMountWhenClosing, ModalScreen[EscalateRequest | None]):
    """Escalate a ticket: the tier (default one up), the reason (required) and what was
    tried. Tab moves between the fields; Enter in the last one (or ctrl+s) sends."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "send", "Escalate", priority=True),
    ]

    def __init__(self, ticket_id: int, tier: int, top: int = 3) -> None:
        super().__init__(classes="desk-modal")
        self.ticket_id = ticket_id
        self.tier = tier
        self.tiers = tuple(range(tier + 1, top + 1))
        self.refused = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog escalate"):
            yield Label(
                f"Escalate #{self.ticket_id} from tier {self.tier}",
                classes="dialog-title",
                markup=False,
            )
            choices = [(str(t), str(t), f"tier {t}") for t in self.tiers]
            yield ChoiceRow("To", choices, str(self.tiers[0]), id="to-tier")
            yield Label("Why (required): what the next tier must do", classes="form-label")
            yield Input(placeholder="reason", id="reason", compact=True)
            yield Label("What was tried already", classes="form-label")
            yield Input(placeholder="steps taken, results (optional)", id="tried", compact=True)
            yield Static("", id="form-error", classes="form-error", markup=False)
            yield Static(
                "Tab next field · Enter in the last field or ctrl+s escalates · Esc cancels",
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#form-error").display = False
        for box in self.query(Input):
            box.cursor_blink = False
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def _reason_done(self) -> None:
        self.query_one("#tried", Input).focus()

    @on(Input.Submitted, "#tried")
    def _tried_done(self) -> None:
        self.action_send()

    def action_send(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.refused = True
            error = self.query_one("#form-error", Static)
            error.update("A reason is required: say why it needs the next tier.")
            error.display = True
            self.query_one("#reason", Input).focus()
            return
        tried = self.query_one("#tried", Input).value.strip()
        to_tier = int(self.query_one(ChoiceRow).value)
        self.dismiss(EscalateRequest(to_tier, reason, tried))

    def action_cancel(self) -> None:
        self.dismiss(None)
