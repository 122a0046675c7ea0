"""The templates screen (issue 20): ctrl+e from anywhere; a lead adds, edits and removes
templates through a form whose refusals are the service's own words (and save nothing); an
agent reads them and is offered no change; bodies show literally; another connection's new
template shows up on its own. Both databases; snapshots at 80x24 and 160x48."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static, TextArea

from supportdesk.console.app import SupportDeskApp
from supportdesk.console.screens.modals import ConfirmModal
from supportdesk.console.screens.queue import QueueScreen
from supportdesk.console.screens.template_form import TemplateForm
from supportdesk.console.screens.templates import TemplatesScreen
from supportdesk.core.desk import Desk
from supportdesk.services import templates
from tests.helpers.call import sync
from tests.helpers.console import DeskFixture
from tests.helpers.desk import DeskFactory, new_ticket
from tests.helpers.hostile import short_ones, storable, unsafe_chars
from tests.helpers.screens import queue_ready
from tests.helpers.settle import settle, until, workers_done
from tests.helpers.toasts import screen_rows

SnapCompare = Callable[..., bool]
LITERAL = "[bold]{{ ticket.subject }}[/]"
WAIT = 8.0


def template_names(desk: Desk) -> list[str]:
    return [t.name for t in templates.list_templates(desk)]


def template_audits(desk: Desk) -> int:
    rows = desk.store.query("SELECT count(*) FROM audit WHERE action LIKE ?", ("template.%",))
    return int(rows[0][0])


def screen_text(app: SupportDeskApp) -> str:
    return "\n".join(screen_rows(app))


def add_some(desk: Desk) -> None:
    templates.add(
        desk,
        "need-logs",
        "reply",
        "Logs please",
        "Hello {{ contact.first_name }},\nplease send the error log for #{{ ticket.id }}.\n\n"
        + LITERAL,
        set_status="pending_customer",
    )
    templates.add(
        desk,
        "password-reset",
        "reply",
        "Password reset [/x]",
        "We reset it. [link=file:///etc/passwd]x[/link]",
        set_status="resolved",
        set_category="security",
        set_priority="low",
    )
    templates.add(desk, "ack", "acknowledgement", "[#{{ ticket.id }}] received", "We have it.")


async def open_templates(pilot: Pilot[Any]) -> TemplatesScreen:
    """The queue up, then ctrl+e: the templates screen with its first read landed."""
    app = pilot.app
    assert isinstance(app, SupportDeskApp)
    await until(pilot, lambda: isinstance(app.screen, QueueScreen), WAIT, "the queue")
    await workers_done(app)
    await pilot.press("ctrl+e")
    await until(pilot, lambda: isinstance(app.screen, TemplatesScreen), WAIT, "templates")
    screen = app.screen
    assert isinstance(screen, TemplatesScreen)
    await until(pilot, lambda: screen.rows is not None, WAIT, "the templates read")
    await settle(pilot)
    return screen


def shown_names(screen: TemplatesScreen) -> list[str]:
    return [str(key.value) for key in screen.query_one(DataTable).rows]  # in the order shown


def preview(screen: TemplatesScreen) -> str:
    parts = [screen.query_one(f"#{w}", Static).content for w in ("tpl-facts", "tpl-text")]
    return "\n".join(str(getattr(p, "plain", p)) for p in parts)


async def select(pilot: Pilot[Any], screen: TemplatesScreen, name: str) -> None:
    names = shown_names(screen)
    screen.query_one(DataTable).move_cursor(row=names.index(name))
    await until(pilot, lambda: screen.selected_name == name, what=f"cursor on {name}")
    await pilot.pause(0.05)


async def form_open(pilot: Pilot[Any]) -> TemplateForm:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, TemplateForm), WAIT, "the form")
    form = app.screen
    assert isinstance(form, TemplateForm)
    await pilot.pause(0.05)
    return form


async def saved_or_refused(pilot: Pilot[Any], form: TemplateForm) -> None:
    await pilot.press("ctrl+s")
    await until(
        pilot,
        lambda: not form.is_attached or form.refused is not None,
        WAIT,
        "the save to land",
    )
    await settle(pilot)


# -- a lead's day -----------------------------------------------------------------------------
@sync
async def test_lead_adds_edits_and_removes_a_template(desk: Desk, make_desk: DeskFactory) -> None:
    check = make_desk("lena")
    app = SupportDeskApp(make_desk("lena"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_templates(pilot)
        assert shown_names(screen) == []
        assert "No templates yet. a adds one." in preview(screen)
        # add: every field typed as a lead would
        await pilot.press("a")
        form = await form_open(pilot)
        await pilot.press(*"need-logs", "tab")  # name, then kind (reply already)
        await pilot.press("tab", *"Logs for #{{ ticket.id }}", "tab")
        form.query_one("#tf-status", Select).value = "pending_customer"
        form.query_one("#tf-body", TextArea).focus()
        await pilot.press(*"Please send the log, {{ contact.first_name }}.")
        await saved_or_refused(pilot, form)
        assert form.refused is None
        await until(pilot, lambda: shown_names(screen) == ["need-logs"], WAIT, "the new row")
        added = templates.show(check, "need-logs")
        assert (added.kind, added.subject, added.set_status) == (
            "reply",
            "Logs for #{{ ticket.id }}",
            "pending_customer",
        )
        assert added.body == "Please send the log, {{ contact.first_name }}."
        assert "Please send the log, {{ contact.first_name }}." in preview(screen)
        # edit (Enter on the row): the body changes, and so does the preview
        await pilot.press("enter")
        form = await form_open(pilot)
        body = form.query_one("#tf-body", TextArea)
        body.focus()
        body.move_cursor(body.document.end)
        await pilot.press("enter", *"Thanks, {{ agent.name }}")
        form.query_one("#tf-status", Select).value = ""  # it no longer sets a status
        await saved_or_refused(pilot, form)
        assert form.refused is None
        edited = templates.show(check, "need-logs")
        assert edited.body.endswith("\nThanks, {{ agent.name }}")
        assert edited.set_status is None
        await until(pilot, lambda: "Thanks, {{ agent.name }}" in preview(screen), WAIT, "preview")
        # remove: n keeps it, y removes it
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), WAIT, "the question")
        await pilot.press("n")
        await settle(pilot)
        assert template_names(check) == ["need-logs"]
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), WAIT, "the question")
        await pilot.press("y")
        await until(pilot, lambda: template_names(check) == [], WAIT, "the removal")
        await until(pilot, lambda: shown_names(screen) == [], WAIT, "the row gone")
    actions = check.store.query(
        "SELECT action FROM audit WHERE action LIKE ? ORDER BY seq", ("template.%",)
    )
    assert [a[0] for a in actions] == ["template.add", "template.edit", "template.remove"]


@pytest.mark.parametrize(
    ("body", "kind", "says"),
    [
        ("{{ ticket.__class__.__mro__ }}", "reply", "unsafe"),
        ("{{ 2 ** 100 }}", "reply", "pow is not allowed"),
        ("Hello {{ nosuch.thing }}", "reply", "unknown placeholder nosuch"),
        ("Your request is held.", "confirmation", "must contain {{ code }}"),
    ],
)
@sync
async def test_a_refused_template_shows_the_service_error_and_saves_nothing(
    desk: Desk, make_desk: DeskFactory, body: str, kind: str, says: str
) -> None:
    check = make_desk("lena")
    add_some(check)
    before = [t for t in templates.list_templates(check)]
    audits = template_audits(check)
    app = SupportDeskApp(make_desk("lena"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_templates(pilot)
        # a new one refused
        await pilot.press("a")
        form = await form_open(pilot)
        await pilot.press(*"risky")
        form.query_one("#tf-kind", Select).value = kind
        form.query_one("#tf-body", TextArea).text = body
        await saved_or_refused(pilot, form)
        assert form.refused is not None and says in form.refused
        assert app.screen is form  # still open, to fix
        error = form.query_one("#form-error", Static)
        assert error.display and says in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, WAIT, "back on the list")
        # an existing one edited into the same: refused, kept as it was
        await select(pilot, screen, "need-logs")
        await pilot.press("e")
        form = await form_open(pilot)
        form.query_one("#tf-kind", Select).value = kind
        form.query_one("#tf-body", TextArea).text = body
        await saved_or_refused(pilot, form)
        assert form.refused is not None and says in form.refused
        await pilot.press("escape")
        await settle(pilot)
    assert templates.list_templates(check) == before
    assert template_audits(check) == audits


# -- an agent reads --------------------------------------------------------------------------
@sync
async def test_an_agent_reads_templates_but_is_offered_no_change(
    desk: Desk, make_desk: DeskFactory
) -> None:
    check = make_desk("lena")
    add_some(check)
    tid = new_ticket(check, subject="Mail bounces")
    audits = template_audits(check)
    app = SupportDeskApp(make_desk("amir"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_templates(pilot)
        assert shown_names(screen) == ["ack", "need-logs", "password-reset"]
        actions = {b.binding.action for b in screen.active_bindings.values()}
        assert not actions & {"add", "edit", "remove"}
        footer = screen_rows(app)[-1]
        assert "Add" not in footer and "Remove" not in footer and "Edit" not in footer
        assert "read only" in screen_rows(app)[0]
        await select(pilot, screen, "need-logs")
        for key in ("a", "e", "d", "enter"):
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is screen, f"{key} opened {type(app.screen).__name__}"
        # t fills a reply for a ticket: reading, which an agent may do
        await pilot.press("t")
        await pilot.press(*str(tid), "enter")
        await until(pilot, lambda: "Filled for" in preview(screen), WAIT, "the filled reply")
        assert f"error log for #{tid}." in preview(screen)
        # the form reached anyway: the service refuses, the form says so, nothing saved
        app.push_screen(TemplateForm(None))
        form = await form_open(pilot)
        await pilot.press(*"sneaky")
        form.query_one("#tf-body", TextArea).text = "hello"
        await saved_or_refused(pilot, form)
        assert form.refused is not None and "changing templates is for leads" in form.refused
    assert template_names(check) == ["ack", "need-logs", "password-reset"]
    assert template_audits(check) == audits


# -- literal text, live list, filter ---------------------------------------------------------
@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
@sync
async def test_hostile_template_text_is_shown_literally(
    desk: Desk, make_desk: DeskFactory, size: tuple[int, int]
) -> None:
    check = make_desk("lena")
    hostile = [storable(s, 200, postgres=True) for s in short_ones()]
    body = "\n".join([LITERAL, *hostile])
    templates.add(check, "evil", "reply", "[/x] \x1b]0;pwned\x07 subject", body)
    templates.add(check, "tame", "reply", "Tame", LITERAL)
    app = SupportDeskApp(make_desk("lena"))
    async with app.run_test(size=size) as pilot:
        screen = await open_templates(pilot)
        await select(pilot, screen, "evil")
        await settle(pilot)
        text = screen_text(app)
        assert not unsafe_chars(text), sorted(map(repr, unsafe_chars(text)))
        for wanted in (LITERAL, "[/x] ␛]0;pwned␇ subject", "[@click=app.quit]x[/]", "␛[2J"):
            assert wanted in text, f"{wanted!r} not shown literally:\n{text}"
        # the form: the body holds controls, so it is shown inert and kept as it is
        await pilot.press("e")
        form = await form_open(pilot)
        assert form.keep_body and form.keep_subject
        await settle(pilot)
        text = screen_text(app)
        assert not unsafe_chars(text)
        assert "kept as it is" in text
        form.query_one("#tf-status", Select).value = "open"
        await saved_or_refused(pilot, form)
        assert form.refused is None
        kept = templates.show(check, "evil")
        assert (kept.body, kept.set_status) == (body, "open")
        # a body without controls is edited as text, brackets and all
        await select(pilot, screen, "tame")
        await pilot.press("e")
        form = await form_open(pilot)
        assert form.query_one("#tf-body", TextArea).text == LITERAL
        await pilot.press("escape")
        assert app.is_running


@sync
async def test_a_template_added_elsewhere_shows_up(desk: Desk, make_desk: DeskFactory) -> None:
    """Another connection (the CLI, another console) adds and removes: the list follows,
    and the cursor stays on the template it was on."""
    other = make_desk("lena")
    add_some(other)
    app = SupportDeskApp(make_desk("lena"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_templates(pilot)
        await select(pilot, screen, "password-reset")
        templates.add(other, "dns-wait", "reply", "DNS", "DNS takes up to 48 hours.")
        await until(pilot, lambda: "dns-wait" in shown_names(screen), WAIT, "the new template")
        assert screen.selected_name == "password-reset"
        templates.edit(other, "password-reset", body="We reset it again.")
        await until(pilot, lambda: "We reset it again." in preview(screen), WAIT, "the edit")
        # while a dialog covers it, the list waits; it catches up when it is back on top
        await pilot.press("slash")
        await pilot.press("escape")
        app.push_screen(ConfirmModal("Anything?"))
        await settle(pilot)
        templates.remove(other, "dns-wait")
        await pilot.pause(0.6)
        await pilot.press("n")
        await until(pilot, lambda: "dns-wait" not in shown_names(screen), WAIT, "the removal")


@sync
async def test_the_filter_narrows_as_you_type(desk: Desk, make_desk: DeskFactory) -> None:
    add_some(make_desk("lena"))
    app = SupportDeskApp(make_desk("lena"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_templates(pilot)
        await pilot.press("slash", "p", "w")
        await settle(pilot)
        assert shown_names(screen) == ["password-reset"]
        assert "1 match" in screen_rows(app)[0]
        await pilot.press("backspace", "backspace", *"zzz")
        await settle(pilot)
        assert shown_names(screen) == []
        assert "No template matches" in preview(screen)
        await pilot.press("escape")  # clears the filter
        await settle(pilot)
        assert shown_names(screen) == ["ack", "need-logs", "password-reset"]
        assert screen.query_one("#tpl-filter", Input).value == ""
        # a template added while filtering: the filter goes, the cursor is on the new one
        await pilot.press("slash", *"pw", "enter", "a")
        form = await form_open(pilot)
        await pilot.press(*"zz-new")
        form.query_one("#tf-body", TextArea).text = "New."
        await saved_or_refused(pilot, form)
        await until(pilot, lambda: "zz-new" in shown_names(screen), WAIT, "the new template")
        await settle(pilot)
        assert shown_names(screen)[-1] == "zz-new" and screen.selected_name == "zz-new"
        assert screen.query_one("#tpl-filter", Input).value == ""
        await pilot.press("escape")  # and back to the queue
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), WAIT, "the queue")


# -- pictures ------------------------------------------------------------------------------
@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_templates_screen_snapshot(
    fx: DeskFixture, snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    add_some(fx.desk)

    async def run_before(pilot: Pilot[Any]) -> None:
        await queue_ready(pilot)
        screen = await open_templates(pilot)
        await select(pilot, screen, "need-logs")
        await settle(pilot)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=size, run_before=run_before)


@pytest.mark.usefixtures("utc")
def test_template_form_snapshot(fx: DeskFixture, snap_compare: SnapCompare) -> None:
    """The form at 80x24 with the service's refusal under the fields."""
    add_some(fx.desk)

    async def run_before(pilot: Pilot[Any]) -> None:
        await queue_ready(pilot)
        screen = await open_templates(pilot)
        await select(pilot, screen, "need-logs")
        await pilot.press("e")
        form = await form_open(pilot)
        form.query_one("#tf-body", TextArea).text = "Hello {{ nosuch }}"
        await saved_or_refused(pilot, form)
        form.query_one("#tf-body", TextArea).focus()
        await settle(pilot)

    assert snap_compare(SupportDeskApp(fx.desk), terminal_size=(80, 24), run_before=run_before)
