"""`supportdesk claim --next`: take the top of a tier's board.

A module of its own because engineers run it in a loop against each other: it imports only
what the claim itself needs, not the other escalation commands' printers."""

from __future__ import annotations

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import emit, json_option
from supportdesk.cli.params import TICKET_ID, TIER
from supportdesk.cli.ticket_group import ticket
from supportdesk.errors import UsageError
from supportdesk.services import escalation


@click.command()
@click.option("--next", "next_", is_flag=True, help="Take the top of the board.")
@click.option("--tier", type=TIER, help="Whose board (default: your tier).")
@json_option
@pass_env
def claim(env: Env, next_: bool, tier: int | None, as_json: bool) -> None:
    """Claim the top of a tier's board: priority, then time of escalation (exit 4 when
    nothing is left). A chosen ticket is claimed with `supportdesk ticket take ID`."""
    if not next_:
        raise UsageError("use `claim --next`, or `ticket take ID` to claim a chosen ticket")
    r = escalation.claim_next(env.desk(), tier)
    emit(r, as_json, f"you hold #{r.ticket_id} (tier {r.tier})")


@ticket.command("take")
@click.argument("ticket_id", type=TICKET_ID)
@json_option
@pass_env
def ticket_take(env: Env, ticket_id: int, as_json: bool) -> None:
    """Claim a ticket at or below your tier (exit 3 if someone else holds it)."""
    escalation.claim(env.desk(), ticket_id)  # core's one claim, on the plain driver
    if as_json:  # the whole ticket, as `ticket show --json` prints it: only then the ORM view
        from supportdesk.services import tickets

        emit(tickets.show(env.desk(), ticket_id), as_json)
    else:
        emit(None, as_json, f"you hold #{ticket_id}")
