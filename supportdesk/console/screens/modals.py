"""Small modal screens: pick one of a few choices by key, type one value, read the help.

Every choice has a one-letter key so a trained agent never needs the arrows: `p` then `h`
makes a ticket high priority.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from supportdesk.console.widgets.closing import SkipsMountWhenClosing
from supportdesk.safe_text import clean


@dataclass(frozen=True)
class Choice:
    """One option of a ChoiceModal: the key that picks it, the value returned, a label."""

    key: str
    value: str
    label: str
    current: bool = False


CHOICES_IN_VIEW = 12  # app.tcss: `.dialog OptionList { max-height: 12 }`


class ChoiceModal(SkipsMountWhenClosing, ModalScreen[str | None]):
    """Pick one value: press its key, or move with the arrows and press Enter."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, choices: Sequence[Choice], *, rows: int | None = None) -> None:
        super().__init__(classes="desk-modal")
        self.title_text = title
        self.choices = tuple(choices)
        self.rows = rows  # choices in view at once (default: the stylesheet's, 12)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(clean(self.title_text), classes="dialog-title", markup=False)
            options = []
            for c in self.choices:
                prompt = Text.assemble((f" {c.key} ", "bold reverse"), "  ", clean(c.label))
                if c.current:
                    prompt.append("  (now)", style="dim")
                options.append(Option(prompt, id=c.value))
            yield OptionList(*options, id="choices")
            hint = "key or ↑↓ Enter · Esc cancels"
            hidden = len(self.choices) - (self.rows or CHOICES_IN_VIEW)
            if hidden > 0:  # the list scrolls: say there is more than is in view
                hint = f"{len(self.choices)} to choose from, {hidden} more below ↓ · {hint}"
            yield Static(hint, classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.rows is not None:
            options.styles.max_height = self.rows
        options.focus()
        for i, c in enumerate(self.choices):
            if c.current:
                options.highlighted = i

    def on_key(self, event: events.Key) -> None:
        for c in self.choices:
            if event.character is not None and event.character.lower() == c.key:
                event.stop()
                self.dismiss(c.value)
                return

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AskModal(SkipsMountWhenClosing, ModalScreen[str | None]):
    """Ask for one line of text (a ticket number, a search); Enter confirms, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, placeholder: str = "", *, digits: bool = False, hint: str = ""
    ) -> None:
        super().__init__(classes="desk-modal")
        self.title_text = title
        self.placeholder = placeholder
        self.digits = digits
        self.hint = hint or "Enter confirms · Esc cancels"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(clean(self.title_text), classes="dialog-title", markup=False)
            yield Input(
                placeholder=self.placeholder,
                restrict=r"#?[0-9]*" if self.digits else None,
                id="answer",
                compact=True,
            )
            yield Static(clean(self.hint), classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        answer = self.query_one(Input)
        answer.cursor_blink = False
        answer.focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip().lstrip("#")
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class BindingRow:
    """One action as help and the palette show it: its keys, what it does, where it runs."""

    keys: str
    description: str
    detail: str
    action: str
    node: DOMNode

    @property
    def is_global(self) -> bool:
        return self.node is self.node.app


def binding_rows(screen: Screen[Any]) -> list[BindingRow]:
    """Every described binding active on `screen`, one row per action, so help and the
    command palette list the same things."""
    rows: dict[str, tuple[list[str], str, str, DOMNode]] = {}
    app = screen.app
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or binding.system:
            continue
        if active.node not in (screen, app) and not binding.show:
            continue  # widgets' own keys (cursor movement, editing) go without saying
        if binding.action.startswith(("app.", "screen.")) or binding.action == "command_palette":
            continue  # Textual's own (focus next, copy)
        display = app.get_key_display(binding) if key == binding.key else key
        detail = binding.tooltip
        if active.node is app and not binding.priority and not detail:
            detail = "not while typing"  # a text box takes the key first
        keys, _, _, _ = rows.setdefault(
            binding.action, ([], binding.description, detail, active.node)
        )
        if display not in keys:
            keys.append(display)
    return [
        BindingRow(" ".join(k), d, detail, action, n) for action, (k, d, detail, n) in rows.items()
    ]


def every_key_row(screen: Screen[Any]) -> list[BindingRow]:
    """Every described key of `screen`'s own BINDINGS, whether or not it works at this
    moment (a screen that moves through stages: its help lists them all), then the app's."""
    rows: dict[str, BindingRow] = {}
    for binding in screen.BINDINGS:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        display = binding.key_display or screen.app.get_key_display(binding)
        row = rows.get(binding.description)
        if row is None:
            rows[binding.description] = BindingRow(
                display, binding.description, binding.tooltip, binding.action, screen
            )
        elif display not in row.keys.split():
            rows[binding.description] = BindingRow(
                f"{row.keys} {display}", row.description, row.detail, row.action, screen
            )
    return [*rows.values(), *(r for r in binding_rows(screen) if r.is_global)]


class TextModal(SkipsMountWhenClosing, ModalScreen[None]):
    """Customer text (an attachment) to read: cleaned like every other customer text, never
    markup; Esc closes."""

    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__(classes="desk-modal")
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog text-view"):
            yield Label(clean(self.title_text), classes="dialog-title", markup=False)
            with VerticalScroll():
                yield Static(Text(clean(self.text, multiline=True)), markup=False)
            yield Static("↑↓ scroll · Esc closes", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class HelpModal(SkipsMountWhenClosing, ModalScreen[None]):
    """Every key of the screen underneath, with what it does; Esc or ? closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close"),
    ]

    def __init__(
        self, screen: Screen[Any], intro: str, rows: list[BindingRow] | None = None
    ) -> None:
        super().__init__(classes="desk-modal")
        self.intro = intro
        self.rows = binding_rows(screen) if rows is None else rows
        self.screen_title = screen.title or type(screen).__name__

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label(f"Help · {clean(self.screen_title)}", classes="dialog-title", markup=False)
            with VerticalScroll():
                yield Static(self._table(local=True), classes="help-keys")
                yield Label("Everywhere (even while typing)", classes="help-heading")
                yield Static(self._table(local=False), classes="help-keys")
                if self.intro:
                    yield Static(self.intro.strip(), classes="help-intro")
            yield Static("Esc closes · ctrl+p lists every command", classes="dialog-hint")

    def _table(self, *, local: bool) -> Text:
        rows = [r for r in self.rows if r.is_global is not local]
        width = max((len(r.keys) for r in rows), default=4)
        text = Text()
        for r in rows:
            text.append(f"{r.keys:>{width}}", style="bold")
            text.append(f"  {r.description}")
            if r.detail:
                text.append(f" · {r.detail}", style="dim")
            text.append("\n")
        text.rstrip()
        return text if text.plain else Text("—")

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmModal(SkipsMountWhenClosing, ModalScreen[bool]):
    """Ask before something that cannot be undone: y (or Enter on Yes) confirms, n or Esc
    keeps things as they are."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, detail: str = "") -> None:
        super().__init__(classes="desk-modal")
        self.title_text = title
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(clean(self.title_text), classes="dialog-title", markup=False)
            if self.detail:
                yield Static(Text(clean(self.detail, multiline=True)), markup=False)
            yield OptionList(
                Option(Text.assemble((" n ", "bold reverse"), "  No, keep it"), id="no"),
                Option(Text.assemble((" y ", "bold reverse"), "  Yes"), id="yes"),
                id="confirm-choices",
            )
            yield Static("y or n · Esc keeps it", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0  # Enter alone keeps it: the safe answer
        options.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
