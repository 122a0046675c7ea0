"""Tier escalation: `escalate`, `deescalate`, `release`, `reassign`, `end-shift`, the `board`,
`claims` and `complaint ack` (`claim --next` has its own module, cli/claim.py)."""

from __future__ import annotations

from typing import Any

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import age, emit, inert, json_option
from supportdesk.cli.params import TICKET_ID, TIER
from supportdesk.core.desk import Desk
from supportdesk.errors import UsageError
from supportdesk.safe_text import truncate
from supportdesk.services import escalation
from supportdesk.services import sla as sla_service


@click.command()
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--to-tier", type=TIER, help="The tier to go to (default: one up).")
@click.option("--reason", required=True, help="Why it goes up (required).")
@click.option("--tried", default="", help="What was already tried.")
@click.option(
    "--supervisor", is_flag=True, help="A complaint: flag it for the leads (tier unchanged)."
)
@json_option
@pass_env
def escalate(
    env: Env,
    ticket_id: int,
    to_tier: int | None,
    reason: str,
    tried: str,
    supervisor: bool,
    as_json: bool,
) -> None:
    """Move a ticket up a tier (it lands unclaimed on that tier's board; you watch it)."""
    desk = env.desk()
    if supervisor:
        if to_tier is not None or tried:
            raise UsageError("--supervisor flags a complaint; it takes no --to-tier or --tried")
        r = escalation.to_supervisor(desk, ticket_id, reason=reason)
        emit(r, as_json, f"complaint on #{ticket_id} flagged for the leads")
        return
    r = escalation.escalate(desk, ticket_id, to_tier=to_tier, reason=reason, tried=tried)
    emit(
        r,
        as_json,
        f"#{r.ticket_id} escalated to tier {r.to_tier}: unclaimed on its board"
        + (f" ({r.previous_holder} no longer holds it)" if r.previous_holder else ""),
    )


@click.command()
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--reason", required=True, help="Why it goes back (required).")
@json_option
@pass_env
def deescalate(env: Env, ticket_id: int, reason: str, as_json: bool) -> None:
    """Hand a ticket back down to the tier and person that escalated it."""
    r = escalation.deescalate(env.desk(), ticket_id, reason=reason)
    emit(
        r,
        as_json,
        f"#{r.ticket_id} back at tier {r.to_tier}"
        + (f", held by {r.holder}" if r.holder else ", unclaimed"),
    )


@click.command()
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--reason", required=True, help="Why you put it back (required).")
@json_option
@pass_env
def release(env: Env, ticket_id: int, reason: str, as_json: bool) -> None:
    """Put a ticket you hold back on its board."""
    escalation.release(env.desk(), ticket_id, reason=reason)
    emit({"ticket_id": ticket_id, "holder": None}, as_json, f"#{ticket_id} released")


@click.command()
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--to", "to_login", required=True, help="Staff login (your own: take over).")
@json_option
@pass_env
def reassign(env: Env, ticket_id: int, to_login: str, as_json: bool) -> None:
    """Give a ticket to someone, or take it over (leads; the previous holder is told)."""
    r = escalation.reassign(env.desk(), ticket_id, to_login)
    emit(
        r,
        as_json,
        f"#{r.ticket_id} now held by {r.holder}"
        + (f" (was {r.previous_holder})" if r.previous_holder else ""),
    )


@click.command("end-shift")
@click.option("--note", required=True, help="Handover note left on every ticket released.")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Also release the tickets waiting on the customer, a schedule or an authorization "
    "(by default they stay yours).",
)
@json_option
@pass_env
def end_shift(env: Env, note: str, everything: bool, as_json: bool) -> None:
    """Release the tickets you hold to work on (new or open), each with the handover note."""
    done = escalation.end_shift(env.desk(), note, everything=everything)

    def text() -> str:
        n = len(done.released)
        line = f"released {n} ticket{'s' if n != 1 else ''}: " + ", ".join(
            f"#{i}" for i in done.released
        )
        if done.kept:
            k = len(done.kept)
            line += (
                f"\nkept {k} waiting or scheduled ticket{'s' if k != 1 else ''} "
                "(--all releases them): " + ", ".join(f"#{i}" for i in done.kept)
            )
        return line

    emit(done, as_json, text)


def _board_text(b: Any, desk: Desk) -> str:
    now = b.at
    policy = sla_service.current_policy(desk)
    oldest = age(b.oldest_wait_since, now) if b.oldest_wait_since else "-"
    lines = [
        f"tier {b.tier} board: {b.unclaimed} unclaimed (oldest waiting {oldest}), "
        f"{b.waiting} waiting on something, you hold {b.mine} here "
        f"(limit {b.limit} to work on)"
    ]
    titles = {
        "mine": "my claims",
        "unclaimed": "unclaimed",
        "waiting": "waiting (customer, schedule, authorization)",
        "others": "claimed by others",
    }
    section = None
    for row in b.rows:
        if row.section != section:
            section = row.section
            lines.append(f"-- {titles[section]}")
        r = row.row
        due = sla_service.next_due_text(r.clocks, policy.plan_for(r.sla_plan), now)
        if row.section in ("mine", "others"):
            touched = age(row.touched_at, now) if row.touched_at else "never"
            who = f"{inert(r.holder or '-')[:10]:<10} touched {touched:>4} ago"
            who += " STALE" if row.stale else ""
        else:
            who = f"waited {age(row.escalated_at or row.tier_since or r.created_at, now):>4}"
            who += f" by {inert(row.escalated_by or '-')}"
        flag = " ⚑" if row.flagged else ""
        lines.append(
            f"#{r.id:<8} {r.priority:<8} {due:>10} {r.status[:8]:<8} {who}{flag}  "
            f"{truncate(r.subject, 50)}"
            + (f"\n{'':10}reason: {truncate(row.reason, 100)}" if row.reason else "")
        )
    if not b.rows:
        lines.append("nothing on this board")
    return "\n".join(lines)


@click.command()
@click.option("--tier", type=TIER, help="Which board (default: your tier).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@json_option
@pass_env
def board(env: Env, tier: int | None, limit: int, as_json: bool) -> None:
    """A tier's escalation board: your claims, then unclaimed by priority and time of
    escalation, then those waiting on something (and, for leads, others' claims)."""
    desk = env.desk()
    b = escalation.tier_board(desk, escalation.default_tier(desk) if tier is None else tier,
                         limit=limit)  # fmt: skip
    emit(b, as_json, lambda: _board_text(b, desk))


@click.command()
@click.option("--stale", is_flag=True, help="Only claims untouched past the policy's limit.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@json_option
@pass_env
def claims(env: Env, stale: bool, limit: int, as_json: bool) -> None:
    """Who holds what, least recently touched first."""
    desk = env.desk()
    rows = escalation.claims(desk, stale_only=stale, limit=limit)
    now = desk.now()

    def text() -> str:
        if not rows:
            return "no stale claims" if stale else "nobody holds a ticket"
        return "\n".join(
            f"#{c.ticket_id:<8} {inert(c.holder):<10} t{c.tier} {c.priority:<8} touched "
            f"{age(c.touched_at, now) + ' ago' if c.touched_at else 'never':>8}"
            f"{' STALE' if c.stale else '':6} {truncate(c.subject, 60)}"
            for c in rows
        )

    emit(rows, as_json, text)


@click.group()
def complaint() -> None:
    """Complaints escalated to a supervisor."""


@complaint.command("ack")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--note", required=True, help="What the lead did about it.")
@pass_env
def complaint_ack(env: Env, ticket_id: int, note: str) -> None:
    """Acknowledge a flagged complaint (leads): the flag clears, the note stays."""
    escalation.acknowledge_complaint(env.desk(), ticket_id, note=note)
    click.echo(f"complaint on #{ticket_id} acknowledged")
