"""The templates screen (issue 20; ctrl+e from anywhere): every template the desk keeps, with
its kind, subject and what it sets, filtered as you type, and the highlighted one's body in a
preview exactly as kept (`[bold]{{ ticket.subject }}[/]` shows as those characters).

Everyone reads them; leads add (a), edit (e or Enter) and remove (d, after a yes) them: the
keys are not offered to anyone else, and the service refuses anyone else anyway (its refusal
is shown). `t` tries a reply template on a ticket: the preview shows what it would send.

The list is read in a worker and read again whenever the store changes while it is on
screen (another console, the CLI, `psql`), or when it comes back on top after a change;
the cursor stays on the same template.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from supportdesk.console.screens.base import HELP_BINDING, DeskScreen
from supportdesk.console.screens.modals import AskModal, ConfirmModal
from supportdesk.console.screens.template_form import TemplateForm
from supportdesk.console.screens.template_picker import ranked
from supportdesk.console.widgets.format import cell, one_line, stamp, truncate
from supportdesk.console.widgets.header_bar import HeaderBar
from supportdesk.console.widgets.inert import InertTable
from supportdesk.console.widgets.key_footer import KeyFooter
from supportdesk.console.widgets.quiet import show
from supportdesk.enums import TemplateKind
from supportdesk.safe_text import clean
from supportdesk.services import templates
from supportdesk.services.templates import Filled, TemplateView

WIDE = 120  # from this width the preview stands beside the list, else below it
LEAD_ACTIONS = ("add", "edit", "remove")


class TemplatesLoaded(Message):
    """Every template, as the service lists them (by kind, then name)."""

    def __init__(self, rows: tuple[TemplateView, ...]) -> None:
        super().__init__()
        self.rows = rows


class TemplateFilled(Message):
    """A reply template rendered for a ticket (`t`), for the preview."""

    def __init__(self, ticket_id: int, filled: Filled) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.filled = filled


def kind_label(kind: str) -> str:
    return kind.replace("_", " ")


def sets_words(t: TemplateView) -> list[str]:
    """What the template changes on a ticket, in words ("pending customer", "high")."""
    return [v.replace("_", " ") for v in (t.set_status, t.set_category, t.set_priority) if v]


def facts_text(t: TemplateView, now_text: str) -> Text:
    """The preview's head: name, kind, subject, what it sets, when it last changed."""
    out = Text(end="")
    out.append(clean(t.name), style="bold")
    out.append(f" · {kind_label(t.kind)}\n", style="dim")
    rows = (
        ("Subject", one_line(t.subject) or "—"),
        ("Status", (t.set_status or "no change").replace("_", " ")),
        ("Category", t.set_category or "no change"),
        ("Priority", t.set_priority or "no change"),
        ("Changed", now_text),
    )
    for i, (label, value) in enumerate(rows):
        out.append(("\n" if i else "") + f"{label:<9}", style="dim")
        out.append(value)
    return out


def body_text(heading: str, body: str) -> Text:
    """A body under its heading, every character as written (never markup, controls shown)."""
    out = Text(end="")
    out.append(f"{heading}\n", style="bold dim")
    out.append(clean(body, multiline=True))
    return out


class TemplatesScreen(DeskScreen):
    """Every template: a list to filter, the highlighted one's body, and (leads) changes."""

    TITLE = "Templates"
    HELP = (
        "The desk's templates: canned replies agents pick with / in the reply editor, and "
        "the text of the automatic messages (acknowledgement, confirmation request, incident "
        "update, maintenance notice, referral, incident script), each used when a template "
        "of its kind exists. The preview shows the body exactly as kept: {{ ... }} are "
        "placeholders filled from the ticket when it is used. / filters by name or subject. "
        "t fills a reply template for a ticket to see what it would send.\n"
        "Leads add (a), edit (e or Enter) and remove (d) templates; every change is audited. "
        "A template the sandbox refuses (an unsafe expression, an unknown placeholder, a "
        "confirmation without {{ code }}) is not saved: the form says why."
    )
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("a", "add", "Add", tooltip="a new template (leads)"),
        Binding("e", "edit", "Edit", tooltip="change the highlighted template (leads)"),
        Binding("d", "remove", "Remove", tooltip="remove the highlighted template (leads)"),
        Binding("t", "try_on", "Try on #", tooltip="fill a reply template for a ticket"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "back", "Back"),
        HELP_BINDING,
    ]
    DEFAULT_CSS = """
    TemplatesScreen #tpl-title { height: 1; background: $primary; color: $text; }
    TemplatesScreen #tpl-filter { height: 1; border: none; background: $boost; }
    TemplatesScreen #tpl-body { height: 1fr; }
    TemplatesScreen #tpl-table { width: 55%; height: 1fr; }
    TemplatesScreen #tpl-preview {
        width: 1fr; height: 1fr; padding: 0 1; border-left: tall $primary 50%;
    }
    TemplatesScreen #tpl-facts { margin-bottom: 1; }
    TemplatesScreen.-narrow #tpl-body { layout: vertical; }
    TemplatesScreen.-narrow #tpl-table { width: 1fr; height: auto; max-height: 45%; }
    TemplatesScreen.-narrow #tpl-preview { border-left: none; border-top: tall $primary 50%; }
    """

    def __init__(self) -> None:
        super().__init__(id="templates-screen")
        self.rows: tuple[TemplateView, ...] | None = None  # None until the first read lands
        self.shown: list[TemplateView] = []
        self.filled: tuple[int, Filled] | None = None  # `t`'s result, until the cursor moves
        self.loads = 0
        self._select_after: str | None = None
        self._widths: tuple[int, ...] = ()

    def compose(self) -> ComposeResult:
        self.set_class(self._narrow, "-narrow")  # before the children mount: styled once
        yield self.header_bar("tpl-title")
        yield Input(placeholder="/ filter by name or subject", id="tpl-filter", compact=True)
        with Horizontal(id="tpl-body"):
            yield InertTable(id="tpl-table", cursor_type="row", zebra_stripes=False)
            with VerticalScroll(id="tpl-preview"):
                yield Static(id="tpl-facts", markup=False)
                yield Static(id="tpl-text", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#tpl-filter", Input).cursor_blink = False
        self._fit()
        self._paint_title()
        self.query_one(DataTable).focus()
        self.reload()

    def on_resize(self) -> None:
        self._fit()

    @property
    def _narrow(self) -> bool:
        return self.app.size.width < WIDE

    def _fit(self) -> None:
        """Preview beside the list when wide, below it when narrow; the subject column
        takes what the others leave."""
        width = self.app.size.width
        narrow = self._narrow
        self.set_class(narrow, "-narrow")
        box = width if narrow else int(width * 0.55)
        name, kind, sets = (16, 12, 14) if narrow else (20, 15, 22)
        subject = max(10, box - name - kind - sets - 2 * 4 - 2)
        widths = (name, kind, subject, sets)
        if widths == self._widths:
            return
        self._widths = widths
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for key, label, w in zip(
            ("name", "kind", "subject", "sets"),
            ("Name", "Kind", "Subject", "Sets"),
            widths,
            strict=True,
        ):
            table.add_column(label, key=key, width=w)
        self._fill()

    # -- data ---------------------------------------------------------------------------
    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="templates", name="templates")
    def load(self) -> None:
        rows = tuple(templates.list_templates(self.desk))
        if not get_current_worker().is_cancelled:
            self.post_message(TemplatesLoaded(rows))

    def on_templates_loaded(self, message: TemplatesLoaded) -> None:
        self.loads += 1
        if message.rows == self.rows and self._select_after is None:
            return  # a change elsewhere in the desk: nothing here moved
        self.rows = message.rows
        self._fill()
        self._select_after = None  # the template just saved is in view (or gone again)

    @property
    def query_text(self) -> str:
        return self.query_one("#tpl-filter", Input).value.strip()

    def _fill(self) -> None:
        """The rows that match the filter (all, in the service's order, when it is empty);
        the cursor stays on the template it was on, or goes to the one just saved."""
        if self.rows is None:
            return
        keep = self._select_after or self.selected_name  # read before the rows change
        query = self.query_text
        self.shown = ranked(query, self.rows) if query else list(self.rows)
        table = self.query_one(DataTable)
        with self.app.batch_update():
            table.clear()
            name_w, kind_w, subject_w, sets_w = self._widths
            for t in self.shown:
                sets = " · ".join(sets_words(t))
                table.add_row(
                    cell(t.name, name_w, "bold"),
                    cell(kind_label(t.kind), kind_w),
                    cell(t.subject, subject_w),
                    cell(sets, sets_w) if sets else Text("—", style="dim"),
                    key=t.name,
                )
            names = [t.name for t in self.shown]
            if keep in names:
                table.move_cursor(row=names.index(keep))
        self._paint_title()
        self._paint_preview()
        self.refresh_bindings()

    @property
    def selected(self) -> TemplateView | None:
        table = self.query_one(DataTable)
        if not table.row_count or not self.shown:
            return None
        row = table.cursor_row
        return self.shown[row] if 0 <= row < len(self.shown) else None

    @property
    def selected_name(self) -> str | None:
        t = self.selected
        return t.name if t is not None else None

    def _paint_title(self) -> None:
        bar = self.query_one("#tpl-title", HeaderBar)
        title = Text(" Templates", style="bold", end="")
        if self.rows is not None:
            title.append(f" · {len(self.rows)} kept")
            if self.query_text:
                title.append(f" · {len(self.shown)} match")
        if not self.desk.actor.is_lead:
            title.append(" · read only: leads keep them", style="italic")
        show(bar, title)

    def _paint_preview(self) -> None:
        facts = self.query_one("#tpl-facts", Static)
        text = self.query_one("#tpl-text", Static)
        t = self.selected
        if t is None:
            show(facts, self._empty_text())
            show(text, "")
            return
        now = self.desk.now()
        show(facts, facts_text(t, stamp(t.updated_at, now)))
        if self.filled is not None and self.filled[1].name == t.name:
            tid, filled = self.filled
            heading = f"Filled for #{tid}: {truncate(filled.subject, 60) or '(no subject)'}"
            show(text, body_text(heading, filled.body))
        else:
            show(text, body_text("Body, exactly as kept", t.body))

    def _empty_text(self) -> Text:
        if self.rows is None:
            return Text("reading the templates…", style="dim")
        if self.rows and not self.shown:
            return Text("No template matches the filter. Esc clears it.", style="dim")
        if self.desk.actor.is_lead:
            return Text("No templates yet. a adds one.", style="dim")
        return Text("No templates yet: leads keep them.", style="dim")

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        if self.filled is not None and self.filled[1].name != self.selected_name:
            self.filled = None
        self._paint_preview()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self, _event: DataTable.RowSelected) -> None:
        if self.desk.actor.is_lead:
            self.action_edit()

    # -- the filter ---------------------------------------------------------------------
    @on(Input.Changed, "#tpl-filter")
    def _typed(self, _event: Input.Changed) -> None:
        self._fill()
        table = self.query_one(DataTable)
        if table.row_count and self._select_after is None:
            table.move_cursor(row=0)  # the best match

    @on(Input.Submitted, "#tpl-filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def action_filter(self) -> None:
        self.query_one("#tpl-filter", Input).focus()

    def action_back(self) -> None:
        box = self.query_one("#tpl-filter", Input)
        if box.has_focus or box.value:
            box.value = ""
            self.query_one(DataTable).focus()
            return
        self.app.pop_screen()

    # -- a lead's changes -----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in LEAD_ACTIONS:
            if not self.desk.actor.is_lead:
                return False  # not offered: the keys are not shown and do nothing
            return True if action == "add" else (self.selected is not None or None)
        if action == "try_on":
            t = self.selected
            return (t is not None and t.kind == TemplateKind.REPLY.value) or None
        return True

    def action_add(self) -> None:
        self.app.push_screen(TemplateForm(None), self._saved)

    def action_edit(self) -> None:
        t = self.selected
        if t is not None:
            self.app.push_screen(TemplateForm(t), self._saved)

    def _saved(self, view: TemplateView | None) -> None:
        if view is None:
            return
        known = {t.name for t in self.rows or ()}
        self.notify(
            f"template {view.name} {'saved' if view.name in known else 'added'}",
            markup=False,
            timeout=3,
        )
        self.query_one("#tpl-filter", Input).value = ""
        self._select_after = view.name
        self.filled = None
        self.reload()

    def action_remove(self) -> None:
        t = self.selected
        if t is None:
            return
        name = t.name
        after = (
            "Agents can no longer pick it."
            if t.kind == TemplateKind.REPLY.value
            else f"The {kind_label(t.kind)} uses the next template of its kind, or the "
            "built-in text."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_write(
                    f"template {name} removed", lambda: templates.remove(self.desk, name)
                )

        self.app.push_screen(
            ConfirmModal(f"Remove template {name}?", f"{after} The audit keeps the change."),
            answered,
        )

    # -- trying a reply on a ticket -----------------------------------------------------------
    def action_try_on(self) -> None:
        t = self.selected
        if t is None:
            return
        name = t.name

        def picked(value: str | None) -> None:
            if value and value.isdigit():
                self._fill_for(int(value), name)

        self.app.push_screen(
            AskModal(f"Fill {name} for ticket #", "ticket number", digits=True), picked
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="template-try", name="try")
    def _fill_for(self, ticket_id: int, name: str) -> None:
        filled = templates.fill(self.desk, ticket_id, name)
        self.post_message(TemplateFilled(ticket_id, filled))

    def on_template_filled(self, message: TemplateFilled) -> None:
        if message.filled.name == self.selected_name:
            self.filled = (message.ticket_id, message.filled)
            self._paint_preview()
