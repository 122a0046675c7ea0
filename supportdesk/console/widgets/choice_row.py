"""One line of choices picked by a letter, for forms a trained agent fills without arrows:

    Priority  c critical  h high  [m medium]  l low

The letter picks; ← → step through; the current choice is in reverse video.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget

LABEL_WIDTH = 9


class ChoiceRow(Widget, can_focus=True):
    """`choices` are (key, value, label); `value` is the one picked."""

    DEFAULT_CSS = """
    ChoiceRow { height: 1; width: 1fr; }
    ChoiceRow:focus { background: $boost; }
    """
    BINDINGS = [
        Binding("left", "step(-1)", "Previous choice", show=False),
        Binding("right", "step(1)", "Next choice", show=False),
    ]

    value: reactive[str] = reactive("")

    def __init__(
        self,
        label: str,
        choices: Sequence[tuple[str, str, str]],
        value: str,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.label = label
        self.choices = tuple(choices)
        self.default = value
        self.set_reactive(ChoiceRow.value, value)

    def render(self) -> Text:
        text = Text(f"{self.label:<{LABEL_WIDTH}}", style="bold")
        for key, value, label in self.choices:
            if value == self.value:
                text.append(f" {key} {label} ", style="bold reverse")
            else:
                text.append(" ")
                text.append(key, style="bold underline")
                text.append(f" {label} ")
        return text

    def on_key(self, event: events.Key) -> None:
        if event.character is None:
            return
        for key, value, _label in self.choices:
            if event.character.lower() == key:
                event.stop()
                event.prevent_default()
                self.value = value
                return

    def action_step(self, step: int) -> None:
        values = [v for _k, v, _l in self.choices]
        i = values.index(self.value) if self.value in values else 0
        self.value = values[(i + step) % len(values)]

    def reset(self, value: str | None = None) -> None:
        self.value = value if value is not None else self.default
