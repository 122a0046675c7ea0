"""`supportdesk ticket attachment list|save`: a ticket's files (issue 20). Saving writes the
bytes and nothing else: no file is opened, shown or run by the desk."""

from __future__ import annotations

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import emit, inert, json_option
from supportdesk.cli.params import TICKET_ID, IdType
from supportdesk.cli.ticket_group import ticket
from supportdesk.services.tickets.attachments import list_attachments, save
from supportdesk.services.tickets.redaction import redact_attachment

ATTACHMENT_ID = IdType("attachment id")


def size_words(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


@ticket.group("attachment")
def attachment() -> None:
    """A ticket's attachments: list them, save one's bytes."""


@attachment.command("list")
@click.argument("ticket_id", type=TICKET_ID)
@json_option
@pass_env
def attachment_list(env: Env, ticket_id: int, as_json: bool) -> None:
    """The files that came with ticket N's mail or went with its replies."""

    rows = list_attachments(env.desk(), ticket_id)

    def text() -> str:
        if not rows:
            return f"ticket #{ticket_id} has no attachments"
        lines = []
        for a in rows:
            state = "  redacted" if a.redacted_at else ""
            kind = a.detected_type
            if a.declared_type != a.detected_type:
                kind += f" (declared {inert(a.declared_type)})"
            where = f"event {a.event_id}" if a.event_id else "-"
            lines.append(
                f"{a.id:>6}  {inert(a.name)}  {kind}  {size_words(a.size)}  {where}"
                f"{'  inline' if a.inline else ''}{state}  sha256:{a.sha256}"
            )
        return "\n".join(lines)

    emit(rows, as_json, text)


@attachment.command("save")
@click.argument("attachment_id", type=ATTACHMENT_ID)
@click.argument("path", required=False)
@click.option("--force", is_flag=True, help="Overwrite PATH when it exists.")
@json_option
@pass_env
def attachment_save(
    env: Env, attachment_id: int, path: str | None, force: bool, as_json: bool
) -> None:
    """Write attachment ID's bytes to PATH (default: its name, in the current directory).
    Refuses to overwrite a file unless --force; never opens or runs what it wrote."""

    target = save(env.desk(), attachment_id, path, force=force)
    emit(
        {"path": str(target)}, as_json, f"saved attachment {attachment_id} to {inert(str(target))}"
    )


@attachment.command("redact")
@click.argument("attachment_id", type=ATTACHMENT_ID)
@click.option("--reason", required=True)
@json_option
@pass_env
def attachment_redact(env: Env, attachment_id: int, reason: str, as_json: bool) -> None:
    """Delete attachment ID's bytes, keeping its record (leads only; audited)."""

    r = redact_attachment(env.desk(), attachment_id, reason)
    emit({**r.to_json(), "note": r.note}, as_json, lambda: f"{inert(r.what)} redacted\n{r.note}")
