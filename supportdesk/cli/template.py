"""`supportdesk template ...`: canned replies and the desk's automatic messages (leads keep
them; everyone reads them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import emit, inert, inert_lines, json_option
from supportdesk.cli.params import choice, read_body
from supportdesk.enums import TemplateKind
from supportdesk.rules import limits, templating
from supportdesk.services import templates

BODY_FILE_LIMIT = 400_000  # bytes of a --body-file (the body is at most 200,000 characters)


def _body(body_file: str | None) -> str | None:
    if body_file is None:
        return None
    if body_file == "-":
        return read_body(None)
    raw = limits.read_bounded(Path(body_file), "--body-file", BODY_FILE_LIMIT)
    return limits.decode_utf8(raw, "--body-file")


SET_OPTIONS = (
    click.option("--set-status", help="The status a reply from it sets ('' for none)."),
    click.option("--set-category", help="The category a reply from it sets ('' for none)."),
    click.option("--set-priority", help="The priority a reply from it sets ('' for none)."),
)


def _with_sets(f: Any) -> Any:
    for option in reversed(SET_OPTIONS):
        f = option(f)
    return f


def _text(t: Any) -> str:
    sets = [
        f"{what} {value}"
        for what, value in (
            ("status", t.set_status),
            ("category", t.set_category),
            ("priority", t.set_priority),
        )
        if value
    ]
    lines = [
        f"{inert(t.name)}  ({t.kind})",
        f"  subject: {inert(t.subject) or '-'}",
        f"  sets: {', '.join(sets) or 'nothing'}",
        "",
        *("  " + x for x in inert_lines(t.body)),
    ]
    return "\n".join(lines)


def _placeholders() -> str:
    """The placeholders a template may print, for `add` and `edit`'s help (rules/templating's
    table, so the help never lists one that does not exist)."""
    rows = [f"  {ns:<9} {' '.join(names)}" for ns, names in templating.FIELDS.items()]
    return "\n".join(
        [
            "\b",
            'Placeholders, {{ namespace.field }} (plain text; "" where a message has none):',
            *rows,
            *(f"  {name:<9} (a confirmation's one-time code)" for name in templating.TOP_LEVEL),
            "",
            "\b",
            "Which message fills what:",
            "  reply, acknowledgement, confirmation: the ticket's (incident: its incident)",
            "  incident_update: the ticket's, incident.update_text the update",
            "  incident_script: incident.* of the new incident, agent.* who declares it",
            "  maintenance_notice: window.*; window.moved is the sentence that says a moved",
            '    window moved ("" otherwise: {% if window.moved %}), window.previous_start',
            "    and window.previous_end its times before the move",
            "  referral: the ticket's and reseller.*",
        ]
    )


@click.group()
def template() -> None:
    """Canned replies and the desk's automatic messages (leads keep them)."""


@template.command("add", epilog=_placeholders())
@click.argument("name")
@click.option("--kind", required=True, type=choice(TemplateKind))
@click.option("--subject", default="", help="Its subject (one line once filled).")
@click.option(
    "--body-file", required=True, help="The body's file (UTF-8), or - for standard input."
)
@_with_sets
@json_option
@pass_env
def template_add(
    env: Env,
    name: str,
    kind: str,
    subject: str,
    body_file: str,
    set_status: str | None,
    set_category: str | None,
    set_priority: str | None,
    as_json: bool,
) -> None:
    """Add a template (leads)."""
    body = _body(body_file)
    assert body is not None
    t = templates.add(
        env.desk(),
        name,
        kind,
        subject,
        body,
        set_status=set_status,
        set_category=set_category,
        set_priority=set_priority,
    )
    emit(t, as_json, f"template {inert(t.name)} added ({t.kind})")


@template.command("edit", epilog=_placeholders())
@click.argument("name")
@click.option("--kind", type=choice(TemplateKind))
@click.option("--subject")
@click.option("--body-file", help="The new body's file (UTF-8), or - for standard input.")
@_with_sets
@json_option
@pass_env
def template_edit(
    env: Env,
    name: str,
    kind: str | None,
    subject: str | None,
    body_file: str | None,
    set_status: str | None,
    set_category: str | None,
    set_priority: str | None,
    as_json: bool,
) -> None:
    """Change a template (leads)."""
    t = templates.edit(
        env.desk(),
        name,
        kind=kind,
        subject=subject,
        body=_body(body_file),
        set_status=set_status,
        set_category=set_category,
        set_priority=set_priority,
    )
    emit(t, as_json, f"template {inert(t.name)} saved")


@template.command("remove")
@click.argument("name")
@pass_env
def template_remove(env: Env, name: str) -> None:
    """Remove a template (leads)."""
    templates.remove(env.desk(), name)
    click.echo(f"template {inert(name)} removed")


@template.command("list")
@click.option("--kind", type=choice(TemplateKind))
@json_option
@pass_env
def template_list(env: Env, kind: str | None, as_json: bool) -> None:
    """List the templates, by kind and name."""
    rows = templates.list_templates(env.desk(), kind)
    emit(
        rows,
        as_json,
        lambda: (
            "\n".join(f"{inert(t.name):<24} {t.kind:<18} {inert(t.subject)[:60]}" for t in rows)
            or "no templates"
        ),
    )


@template.command("show")
@click.argument("name")
@json_option
@pass_env
def template_show(env: Env, name: str, as_json: bool) -> None:
    """A template's subject, body and the changes it makes."""
    t = templates.show(env.desk(), name)
    emit(t, as_json, lambda: _text(t))
