"""`supportdesk serve`: the SLA board in a web browser via textual-serve (each browser's board
process runs the hidden `wall` command, cli/wall.py)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import say
from supportdesk.core import permissions
from supportdesk.serve import serve_board


@click.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--redact", is_flag=True, help="Hide subjects and customer names.")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the access token from this file (mode 0600) instead of generating one.",
)
@click.option(
    "--max-boards",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Boards (browser tabs, each a process) open at once.",
)
@pass_env
def serve(
    env: Env, port: int, host: str, redact: bool, token_file: Path | None, max_boards: int
) -> None:
    """The SLA board alone, read-only, in a web browser (a wall display), via textual-serve.
    Each browser gets its own board process; nothing on it changes data. Every visit needs
    the token (printed once at start, or kept in --token-file), exchanged on the first
    visit for a session cookie."""
    desk = env.desk()
    permissions.require(desk.actor, "board.sla")
    # the board processes inherit the database and login through the environment, so a
    # database URL with a password never shows in a process list; the token is never
    # passed to them at all
    os.environ["SUPPORTDESK_DB"] = env.db or desk.store.display_name()
    os.environ["SUPPORTDESK_AGENT"] = desk.login
    if env.at:
        os.environ["SUPPORTDESK_NOW"] = env.at
    if env.key:
        os.environ["SUPPORTDESK_AUDIT_KEY"] = env.key
    command = [sys.executable, "-m", "supportdesk", "wall"] + (["--redact"] if redact else [])
    serve_board(
        shlex.join(command),
        host=host,
        port=port,
        token_file=token_file,
        max_boards=max_boards,
        title="supportdesk SLA board",
        echo=say,
        what=f"the SLA board{' (redacted)' if redact else ''}",
    )
