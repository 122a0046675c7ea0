"""`supportdesk audit verify`: check the audit trail's HMAC chain."""

from __future__ import annotations

import sys

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import EXIT_ERROR, emit, inert, json_option, say
from supportdesk.core import audit as audit_service


@click.group()
def audit() -> None:
    """The append-only audit trail."""


@audit.command("verify")
@click.option("--anchor", help="SEQ:HASH printed by an earlier verify; catches a cut tail.")
@json_option
@pass_env
def audit_verify(env: Env, anchor: str | None, as_json: bool) -> None:
    """Check the HMAC chain; name the first bad row."""
    desk = env.desk()
    with desk.store.read() as s:
        result = audit_service.verify(s, desk.audit_key, anchor)
    if as_json:
        emit(
            {
                "ok": result.ok,
                "rows": result.rows,
                "bad_row": result.bad_seq,
                "reason": result.reason,
                "anchor": result.anchor,
            },
            True,
        )
    elif result.ok:
        say(f"audit chain intact: {result.rows} rows")
        say(f"anchor: {inert(result.anchor)}")
    if not result.ok:
        if not as_json:
            click.echo(
                f"supportdesk: audit chain broken at row {result.bad_seq}: {inert(result.reason)}",
                err=True,
            )
        sys.exit(EXIT_ERROR)
