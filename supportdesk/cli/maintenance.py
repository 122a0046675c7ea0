"""`supportdesk maintenance ...`: maintenance windows (`ticket schedule` puts a ticket in one:
cli/ticket.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import emit, inert, json_option, when
from supportdesk.cli.params import WINDOW_ID
from supportdesk.core.clock import parse_time
from supportdesk.errors import NothingToDo
from supportdesk.services.incidents import maintenance as service


@click.group()
def maintenance() -> None:
    """Maintenance windows: planned work on servers, announced to the accounts on them."""


def _window_line(w: Any, now: datetime) -> str:
    return (
        f"#{w.id:<4} {w.state(now):<9} {when(w.starts_at)} to "
        f"{when(w.ends_at)}  {inert(','.join(w.servers)):<20} "
        f"{w.scheduled} tickets scheduled\n      {inert(w.notice)}"
    )


@maintenance.command("add")
@click.option("--server", "servers", multiple=True, required=True)
@click.option(
    "--from",
    "start",
    required=True,
    help="Start (ISO 8601, in the desk's zone unless it has an offset).",
)
@click.option(
    "--to", "end", required=True, help="End (ISO 8601, in the desk's zone unless it has an offset)."
)
@click.option("--notice", required=True, help="What customers and agents are told.")
@json_option
@pass_env
def maintenance_add(
    env: Env, servers: tuple[str, ...], start: str, end: str, notice: str, as_json: bool
) -> None:
    """Announce a maintenance window on one or more servers."""
    desk = env.desk()
    w = service.add_window(
        desk,
        servers,
        parse_time(start, what="--from", zone=desk.zone),
        parse_time(end, what="--to", zone=desk.zone),
        notice,
    )
    emit(w, as_json, lambda: f"maintenance window #{w.id} added\n" + _window_line(w, desk.now()))


@maintenance.command("move")
@click.argument("window_id", type=WINDOW_ID)
@click.option(
    "--from",
    "start",
    required=True,
    help="New start (ISO 8601, in the desk's zone unless it has an offset).",
)
@click.option(
    "--to",
    "end",
    required=True,
    help="New end (ISO 8601, in the desk's zone unless it has an offset).",
)
@json_option
@pass_env
def maintenance_move(env: Env, window_id: int, start: str, end: str, as_json: bool) -> None:
    """Move a window that has not started: its notices still queued move with it, and
    customers already told are told the new times."""
    desk = env.desk()
    w = service.move_window(
        desk,
        window_id,
        parse_time(start, what="--from", zone=desk.zone),
        parse_time(end, what="--to", zone=desk.zone),
    )
    emit(w, as_json, lambda: f"maintenance window #{w.id} moved\n" + _window_line(w, desk.now()))


@maintenance.command("list")
@click.option("--all", "include_past", is_flag=True, help="Past windows too.")
@json_option
@pass_env
def maintenance_list(env: Env, include_past: bool, as_json: bool) -> None:
    """Windows upcoming or running, soonest first."""
    desk = env.desk()
    rows = service.list_windows(desk, include_past=include_past)
    now = desk.now()
    emit(
        rows,
        as_json,
        lambda: "\n".join(_window_line(w, now) for w in rows) or "no maintenance windows",
    )


@maintenance.command("wake")
@json_option
@pass_env
def maintenance_wake(env: Env, as_json: bool) -> None:
    """Return to the queue the scheduled tickets whose window has opened (consoles do this
    too; safe to run from cron). Exit 4 when none is due."""
    woke = service.wake(env.desk())
    if not woke:
        raise NothingToDo("no scheduled ticket's maintenance window has opened")
    emit({"woke": woke}, as_json, f"back in the queue: {', '.join(f'#{n}' for n in woke)}")
