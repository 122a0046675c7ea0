"""The form a lead adds or edits a template in (issue 20): name, kind, subject, body and what
it sets (status, category, priority).

ctrl+s saves through the templates service in a thread worker; a template the service
refuses (the sandbox's unsafe expressions, an unknown placeholder, a confirmation without
`{{ code }}`, a name taken, no permission) keeps the form open with the service's one-line
error under the fields, and nothing is saved. A field that already holds control characters
(a body written with the CLI) is shown inert and kept as it is: the terminal must never get
them raw, and an edit box would show them raw.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static, TextArea
from textual.worker import Worker, WorkerState

from supportdesk.console.screens.base import desk_app_of
from supportdesk.console.widgets.closing import SkipsMountWhenClosing
from supportdesk.enums import Category, Priority, Status, TemplateKind
from supportdesk.errors import DeskError
from supportdesk.safe_text import clean, has_controls
from supportdesk.services import templates
from supportdesk.services.templates import TemplateView

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk

NONE = ""  # a set left empty: the template changes nothing there
KINDS = [(k.value.replace("_", " "), k.value) for k in TemplateKind]
STATUSES = [
    ("status —", NONE),
    *((s.value.replace("_", " "), s.value) for s in Status if s not in (Status.NEW, Status.CLOSED)),
]
CATEGORIES = [("category —", NONE), *((c.value, c.value) for c in Category)]
PRIORITIES = [("priority —", NONE), *((p.value, p.value) for p in Priority)]


@dataclass(frozen=True)
class Draft:
    """What the form holds when saved; None: a field kept as it is (it holds controls)."""

    name: str
    kind: str
    subject: str | None
    body: str | None
    set_status: str
    set_category: str
    set_priority: str


def save(desk: Desk, editing: TemplateView | None, d: Draft) -> TemplateView:
    """Add the template, or change the one being edited to the draft (an empty set clears
    it); the service checks everything and refuses the whole of it or saves it."""
    if editing is None:
        return templates.add(
            desk,
            d.name,
            d.kind,
            d.subject or "",
            d.body or "",
            set_status=d.set_status,
            set_category=d.set_category,
            set_priority=d.set_priority,
        )
    return templates.edit(
        desk,
        editing.name,
        kind=d.kind,
        subject=d.subject,
        body=d.body,
        set_status=d.set_status,
        set_category=d.set_category,
        set_priority=d.set_priority,
    )


def _raw(text: str) -> bool:
    """`text` holds what an edit box would send the terminal raw (a tab is only spaces)."""
    return has_controls(text.replace("\t", "    "))


class TemplateForm(SkipsMountWhenClosing, ModalScreen[TemplateView | None]):
    """Add a template (`editing` None) or edit one; dismissed with what was saved, or None."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, editing: TemplateView | None = None) -> None:
        super().__init__(classes="desk-modal")
        self.editing = editing
        self.saving = False
        self.refused: str | None = None  # the service's last refusal, as shown
        e = editing
        self.keep_subject = e is not None and _raw(e.subject)
        self.keep_body = e is not None and _raw(e.body)

    def compose(self) -> ComposeResult:
        e = self.editing
        title = "New template" if e is None else f"Edit template {clean(e.name)}"
        with Vertical(classes="dialog template-form"):
            yield Label(title, classes="dialog-title", markup=False)
            with Horizontal(classes="tf-row"):
                yield Label("Name", classes="tf-label", markup=False)
                if e is None:
                    yield Input(placeholder="need-logs", id="tf-name", compact=True)
                else:  # the CLI's name stays: replies and scripts use it
                    yield Label(clean(e.name), id="tf-name", markup=False)
                yield Label("Kind", classes="tf-kind-label", markup=False)
                yield Select(
                    KINDS,
                    value=e.kind if e else TemplateKind.REPLY.value,
                    allow_blank=False,
                    id="tf-kind",
                    compact=True,
                )
            with Horizontal(classes="tf-row"):
                yield Label("Subject", classes="tf-label", markup=False)
                if self.keep_subject and e is not None:
                    yield Label(clean(e.subject) + "  (kept)", id="tf-subject", markup=False)
                else:
                    yield Input(
                        value=e.subject if e else "",
                        placeholder="{{ ticket.subject }} (may be empty for a reply)",
                        id="tf-subject",
                        compact=True,
                    )
            with Horizontal(classes="tf-row"):
                yield Label("Sets", classes="tf-label", markup=False)
                for key, options, now in (
                    ("status", STATUSES, e.set_status if e else None),
                    ("category", CATEGORIES, e.set_category if e else None),
                    ("priority", PRIORITIES, e.set_priority if e else None),
                ):
                    yield Select(
                        options,
                        value=now or NONE,
                        allow_blank=False,
                        id=f"tf-{key}",
                        classes="tf-set",
                        compact=True,
                    )
            yield Label(
                "Body · {{ ticket.id }}, {{ contact.first_name }} … fill in when it is used",
                classes="tf-body-label",
                markup=False,
            )
            if self.keep_body and e is not None:
                yield Static(
                    "The body holds control characters: it is kept as it is (change it with "
                    f"`supportdesk template edit {clean(e.name)} --body-file`).",
                    markup=False,
                )
                yield Static(Text(clean(e.body, multiline=True)), id="tf-body-kept", markup=False)
            else:
                yield TextArea(
                    e.body if e else "",
                    id="tf-body",
                    soft_wrap=True,
                    show_line_numbers=False,
                    tab_behavior="focus",
                )
            yield Static("", id="form-error", classes="form-error", markup=False)
            yield Static(
                "Tab next field · ctrl+s saves · Esc cancels", classes="dialog-hint", markup=False
            )

    def on_mount(self) -> None:
        self.query_one("#form-error").display = False
        for box in self.query(Input):
            box.cursor_blink = False
        for area in self.query(TextArea):
            area.cursor_blink = False
        first = "#tf-name" if self.editing is None else "#tf-kind"
        self.query_one(first).focus()

    # -- saving -------------------------------------------------------------------------
    def draft(self) -> Draft:
        """What the fields say now."""
        e = self.editing
        name = e.name if e is not None else self.query_one("#tf-name", Input).value.strip()
        subject = None if self.keep_subject else self.query_one("#tf-subject", Input).value
        body = None if self.keep_body else self.query_one("#tf-body", TextArea).text
        picked = {
            key: str(self.query_one(f"#tf-{key}", Select).value)
            for key in ("kind", "status", "category", "priority")
        }
        return Draft(
            name,
            picked["kind"],
            subject,
            body,
            picked["status"],
            picked["category"],
            picked["priority"],
        )

    def action_save(self) -> None:
        if self.saving:
            return  # the first ctrl+s is still on its way
        self.saving = True
        desk = desk_app_of(self.app).desk
        self.run_worker(
            partial(save, desk, self.editing, self.draft()),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group="template-save",
            name="template-save",
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state is WorkerState.SUCCESS:
            self.dismiss(worker.result)
        elif event.state is WorkerState.ERROR:
            self.saving = False
            error = worker.error
            if isinstance(error, DeskError):
                self.show_error(str(error))
            elif error is not None:
                self.show_error("not saved: an internal error (see the log)")
                desk_app_of(self.app).report_failure(error)

    def show_error(self, message: str) -> None:
        """The service's refusal, on one line under the fields."""
        self.refused = message
        error = self.query_one("#form-error", Static)
        error.update(Text(clean(message), end=""))
        error.display = True

    def action_cancel(self) -> None:
        self.dismiss(None)
