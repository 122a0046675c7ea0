"""`supportdesk wall` (hidden): the read-only board that `serve` starts for each browser; it
imports the wall, not textual-serve."""

from __future__ import annotations

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.console.wall import run_wall
from supportdesk.core import permissions


@click.command(hidden=True)
@click.option("--redact", is_flag=True)
@pass_env
def wall(env: Env, redact: bool) -> None:
    """The read-only board `serve` runs for each browser."""
    desk = env.desk()
    # one line, before the board takes the screen (no terminal check: textual-serve runs it
    # on pipes, its web driver's)
    permissions.require(desk.actor, "board.sla")
    run_wall(desk, redact=redact)
