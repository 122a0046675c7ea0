"""The template picker (issue 20): `/` at the start of a reply opens it; typing filters the
reply templates by a fuzzy match on their names and subjects (the letters in order, closest
first), Enter picks the highlighted one, Esc goes back to the reply as it was. The ticket
screen then fills the template in a worker and puts the text in the reply to edit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from supportdesk.console.widgets.closing import SkipsMountWhenClosing
from supportdesk.safe_text import clean

if TYPE_CHECKING:
    from supportdesk.services.templates import TemplateView


def fuzzy_score(query: str, text: str) -> int | None:
    """How well `query`'s letters match `text` in order (lower is better: the gaps between
    them, a match at the start counting least); None when they do not."""
    query, text = query.lower().replace(" ", ""), text.lower()
    if not query:
        return 0
    score, at = 0, -1
    for ch in query:
        found = text.find(ch, at + 1)
        if found < 0:
            return None
        score += found - at - 1
        at = found
    return score


def ranked(query: str, rows: Sequence[TemplateView]) -> list[TemplateView]:
    """The templates that match `query` by name (or else subject), best first, then by name."""
    scored = []
    for t in rows:
        by_name = fuzzy_score(query, t.name)
        by_subject = fuzzy_score(query, t.subject)
        if by_subject is not None:
            by_subject += 50  # a name that matches comes before a subject that does
        best = min((s for s in (by_name, by_subject) if s is not None), default=None)
        if best is not None:
            scored.append((best, t.name, t))
    return [t for _score, _name, t in sorted(scored, key=lambda x: (x[0], x[1]))]


class TemplatePicker(SkipsMountWhenClosing, ModalScreen[str | None]):
    """Pick a reply template by typing a few letters of its name; Enter takes the first."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(self, ticket_id: int, rows: Sequence[TemplateView]) -> None:
        super().__init__(classes="desk-modal")
        self.ticket_id = ticket_id
        self.rows = tuple(rows)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                f"Reply to #{self.ticket_id} from a template", classes="dialog-title", markup=False
            )
            typed = Input(placeholder="type to filter", id="template-filter")
            typed.cursor_blink = False  # a steady cursor, as in every box of the console
            yield typed
            yield OptionList(id="templates")
            yield Static(
                "letters filter · ↑↓ Enter picks · Esc back to the reply",
                classes="dialog-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        found = ranked(query, self.rows)
        width = max((len(clean(t.name)) for t in self.rows), default=0) + 2
        for t in found:
            prompt = Text(clean(t.name).ljust(width), "bold")
            if t.subject:
                prompt.append(clean(t.subject), style="dim")
            if t.set_status:
                prompt.append(f"  → {t.set_status.replace('_', ' ')}", style="italic")
            options.add_option(Option(prompt, id=t.name))
        if not found:
            text = "no reply templates yet" if not self.rows else "no template matches"
            options.add_option(Option(Text(text, "dim"), id="", disabled=True))
        else:
            options.highlighted = 0

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted)
    def _entered(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        picked = options.get_option_at_index(options.highlighted)
        if picked.id:
            self.dismiss(picked.id)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(event.option.id)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            now = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, now + step))

    def action_cancel(self) -> None:
        self.dismiss(None)
