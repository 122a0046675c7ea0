"""`supportdesk staff ...`: the desk's staff."""

from __future__ import annotations

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import emit, inert, json_option
from supportdesk.cli.params import TIER, choice
from supportdesk.enums import Role
from supportdesk.services import directory


@click.group()
def staff() -> None:
    """The desk's staff (leads manage them)."""


@staff.command("add")
@click.argument("login")
@click.option("--name", required=True)
@click.option("--tier", required=True, type=TIER)
@click.option("--role", required=True, type=choice(Role))
@json_option
@pass_env
def staff_add(env: Env, login: str, name: str, tier: int, role: str, as_json: bool) -> None:
    """Add a staff member."""
    s = directory.add_staff(env.desk(), login, name, tier, role)
    emit(s, as_json, f"staff {inert(s.login)} added ({s.role}, tier {s.tier})")


@staff.command("list")
@json_option
@pass_env
def staff_list(env: Env, as_json: bool) -> None:
    """List staff."""
    rows = directory.list_staff(env.desk())
    emit(
        rows,
        as_json,
        lambda: "\n".join(
            f"{inert(s.login):<12} {s.role:<9} tier {s.tier}  {inert(s.name)}"
            + ("" if s.active else "  (inactive)")
            for s in rows
        ),
    )
