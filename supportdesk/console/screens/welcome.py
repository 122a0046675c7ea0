"""The demo's first-run panel: who to be, the logins, and the callers given a support PIN.

Shown once, over the queue, when `supportdesk demo` has just built a demo; the PINs come from
memory (the database keeps them hashed) and are gone when the panel closes."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from supportdesk.console.widgets.closing import SkipsMountWhenClosing
from supportdesk.console.widgets.toasts import HoldsToasts
from supportdesk.safe_text import clean

if TYPE_CHECKING:
    from supportdesk.demo import Welcome

KEYS = (
    ("ctrl+k", "take a call: find and verify the caller"),
    ("ctrl+l", "the SLA board (leads)"),
    ("ctrl+t", "the tier boards (escalations)"),
    ("ctrl+n", "incidents (outages)"),
    ("?", "every key of the screen you are on"),
    ("ctrl+q", "quit"),
)


class WelcomeModal(HoldsToasts, SkipsMountWhenClosing, ModalScreen[None]):
    """The demo's logins and PINs; Enter, Esc or q closes it. Toasts wait until it closes:
    at 80x24 one would cover the PINs, which are shown once."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close"),
    ]

    def __init__(self, welcome: Welcome, login: str) -> None:
        super().__init__(classes="desk-modal")
        self.welcome = welcome
        self.login = login

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog welcome"):
            yield Label(
                f"Welcome to the supportdesk demo · you are {clean(self.login)}",
                classes="dialog-title",
                markup=False,
            )
            with VerticalScroll(id="welcome-body"):
                yield Static(self._body(), markup=False)
            yield Static(
                "Enter closes · these PINs are shown once (stored hashed)", classes="dialog-hint"
            )

    def on_mount(self) -> None:
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        # the body scrolls within the terminal, leaving the title and the hint in view
        # (border 2, title 2, hint 2, and a line above and below the dialog)
        body = self.query_one("#welcome-body", VerticalScroll)
        body.styles.max_height = max(4, self.app.size.height - 8)

    def _body(self) -> Text:
        w = self.welcome
        text = Text()
        text.append("Callers with a support PIN", style="bold")
        text.append(" (ctrl+k, then the e-mail or account)\n", style="dim")
        for account, name, address, pin in w.pins:
            text.append("  PIN ")
            text.append(pin, style="bold reverse")
            text.append(f"  {clean(address)}\n", style="bold")
            text.append(f"              {clean(name)} · account {clean(account)}\n")
        if not w.pins:
            text.append("  none\n", style="dim")
        text.append("\nKeys\n", style="bold")
        for key, what in KEYS:
            text.append(f"  {key:>6}", style="bold")
            text.append(f"  {what}\n")
        text.append("\nBe someone else", style="bold")
        text.append(" (in another terminal)\n", style="dim")
        for role, login in (("a phone agent", w.agent), ("an engineer", w.engineer)):
            text.append(f"  {role}: ")
            text.append(f"supportdesk {clean(w.where)} --as {clean(login)}\n", style="bold")
        text.append("\nLogins\n", style="bold")
        for login, role, tier, name in w.staff:
            text.append(f"  {clean(login):<8}", style="bold")
            text.append(f" {role:<8} tier {tier}  {clean(name)}\n")
        text.rstrip()
        return text

    def action_close(self) -> None:
        self.dismiss(None)
