"""`supportdesk policy ...`: check, show, list and put in force an SLA policy."""

from __future__ import annotations

import sys

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import EXIT_NOTHING, emit, json_option, say
from supportdesk.core.policy import current_policy, load_policy_file, load_preset, preset_names
from supportdesk.errors import UsageError
from supportdesk.rules.policy_text import describe, to_json
from supportdesk.safe_text import clean
from supportdesk.services import sla


@click.group()
def policy() -> None:
    """The SLA policy: calendars, plans and their targets."""


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_env
def policy_check(env: Env, file: str) -> None:
    """Validate a policy file; errors name the line and the field."""
    p = load_policy_file(file)
    say(
        f"{file}: ok: {p.name}: {len(p.calendars)} calendars, {len(p.plans)} plans, "
        f"default plan {p.default_plan} ({p.digest})"
    )


@policy.command("show")
@click.option("--preset", help="Show a bundled preset instead of the policy in force.")
@json_option
@pass_env
def policy_show(env: Env, preset: str | None, as_json: bool) -> None:
    """Print the policy in force (or a bundled preset)."""
    p = load_preset(preset) if preset else current_policy(env.desk())
    emit(to_json(p), as_json, lambda: describe(p))


@policy.command("presets")
def policy_presets() -> None:
    """List the bundled presets (one per seed policy, and the demo's)."""
    for name in preset_names():
        say(f"{name:<24} {load_preset(name).name}")


def _plan_moves(values: tuple[str, ...]) -> dict[str, str]:
    """`--move-plan OLD=NEW` options as {old: new}; UsageError for a malformed one."""
    moves: dict[str, str] = {}
    for value in values:
        old, sep, new = (part.strip() for part in value.partition("="))
        if not sep or not old or not new:
            raise UsageError(f"--move-plan {clean(value)!r}: write it OLD=NEW (plan names)")
        if moves.get(old, new) != new:
            raise UsageError(f"--move-plan: plan {clean(old)!r} is moved twice")
        moves[old] = new
    return moves


@policy.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--move-plan",
    "move_plan",
    multiple=True,
    metavar="OLD=NEW",
    help="Move the accounts of plan OLD (one the new policy drops) to its plan NEW; "
    "their open tickets are recomputed. Repeatable.",
)
@pass_env
def policy_load(env: Env, file: str, move_plan: tuple[str, ...]) -> None:
    """Put a policy in force and recompute the due times of open tickets (leads only). A
    policy that drops a plan accounts still use is refused unless --move-plan says where
    they go."""
    moves = _plan_moves(move_plan)
    p = load_policy_file(file)
    result = sla.load_policy(env.desk(), p, move_plans=moves)
    if not result.changed:
        say(f"policy {clean(p.name)} ({p.digest}) is already in force")
        sys.exit(EXIT_NOTHING)
    for old, new, count in result.moved:
        say(f"plan {clean(old)} -> {clean(new)}: {count} accounts moved")
    say(
        f"policy {clean(p.name)} ({p.digest}) in force: {result.recomputed} open tickets recomputed"
    )
