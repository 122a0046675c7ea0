"""A lead redacts an attachment from the ticket screen (issue 20): `V`, the file (when the
ticket has more than one), then a confirmation that says what goes and asks why.

The write is `redact_attachment` in the screen's write worker: its bytes are deleted, the
record (name, types, size, SHA-256) stays, the audit keeps the reason. Anyone else pressing
`V` is told the service's own rule at once, before choosing a file or typing a reason.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from supportdesk.console.screens.escalation_modals import ReasonModal
from supportdesk.console.screens.modals import Choice, ChoiceModal
from supportdesk.console.widgets.ticket_view import size_words
from supportdesk.core import permissions
from supportdesk.errors import NotAllowed
from supportdesk.safe_text import clean
from supportdesk.services.tickets.redaction import redact_attachment

if TYPE_CHECKING:
    from supportdesk.console.screens.base import DeskScreen
    from supportdesk.core.views import FileView, TicketView

ACTION = "ticket.redact"
KEYS = "123456789abcdefghijklmnopqrstuwxyz"
WHAT_GOES = (
    "Its bytes are deleted for good. Its name, type, size and SHA-256 stay on the ticket "
    "and in the audit, with your reason."
)


def may_redact(screen: DeskScreen) -> bool:
    return permissions.allowed(screen.desk.actor, ACTION)


def redactable(t: TicketView | None) -> list[FileView]:
    """The ticket's attachments that still have their bytes, in thread order."""
    if t is None:
        return []
    return [f for e in t.events for f in e.files if not f.redacted]


def refuse(screen: DeskScreen) -> None:
    """`V` from someone the service would refuse: its message, nothing asked."""
    try:
        permissions.require(screen.desk.actor, ACTION)
    except NotAllowed as exc:
        screen.notify(str(exc), title="Not allowed", severity="warning", markup=False, timeout=5)


def _describe(f: FileView) -> str:
    return f"{f.name} · {f.kind} · {size_words(f.size)}"


def redact_file(screen: DeskScreen, t: TicketView) -> None:
    """Pick the file (straight to the confirmation when there is one), confirm with a reason,
    then redact it in the screen's write worker; the thread reloads showing it redacted."""
    files = redactable(t)
    if not files:
        screen.notify("No attachment with its bytes left on this ticket", timeout=3)
        return
    if len(files) == 1:
        _confirm(screen, t.id, files[0])
        return
    by_id = {str(f.id): f for f in files}
    choices = [Choice(k, str(f.id), _describe(f)) for k, f in zip(KEYS, files, strict=False)]

    def picked(value: str | None) -> None:
        if value:
            _confirm(screen, t.id, by_id[value])

    screen.app.push_screen(ChoiceModal(f"Redact an attachment of #{t.id}", choices), picked)


def _confirm(screen: DeskScreen, ticket_id: int, f: FileView) -> None:
    def confirmed(reason: str | None) -> None:
        if reason:
            screen.run_write(
                lambda r: clean(f"#{ticket_id}: {r.what} redacted (its record stays)"),
                partial(redact_attachment, screen.desk, f.id, reason),
            )

    screen.app.push_screen(RedactFileModal(ticket_id, f), confirmed)


class RedactFileModal(ReasonModal):
    """The confirmation: which file, what is deleted and what stays, and a required reason
    (Enter redacts, Esc cancels and nothing changes)."""

    def __init__(self, ticket_id: int, f: FileView) -> None:
        super().__init__(
            f"Redact attachment {f.id} of #{ticket_id}?",
            "reason (required): e.g. a password in the log",
            missing="A reason is required: it stays in the audit with the redaction.",
            hint="Enter redacts · Esc cancels (nothing changes)",
        )
        self.file = f

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog redact-file"):
            yield Label(clean(self.title_text), classes="dialog-title", markup=False)
            yield Static(
                Text.assemble(
                    ("File  ", "dim"),
                    (clean(self.file.name), "bold"),
                    (f"  {clean(self.file.kind)} · {size_words(self.file.size)}", "dim"),
                ),
                id="redact-which",
                markup=False,
            )
            yield Static(WHAT_GOES, id="redact-what-goes", markup=False)
            answer = Input(placeholder=self.placeholder, id="answer", compact=True)
            answer.cursor_blink = False  # a steady cursor, as in every box of the console
            yield answer
            yield Static("", id="form-error", classes="form-error", markup=False)
            yield Static(clean(self.hint), classes="dialog-hint", markup=False)
