"""`supportdesk sla ...`: a ticket's SLA clocks, and "when is this due" on a calendar."""

from __future__ import annotations

from typing import Any

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import alarm_line, emit, inert, json_option, text_zone, times_in, when
from supportdesk.cli.params import TICKET_ID
from supportdesk.core.clock import parse_time
from supportdesk.core.policy import load_preset
from supportdesk.rules.sla_engine import format_left, format_span
from supportdesk.services import sla as sla_service
from supportdesk.services.reports import sla_board as board_service


@click.group()
def sla() -> None:
    """SLA clocks: a ticket's countdowns, and "when is this due" for disputes."""


def _sla_text(v: Any) -> str:
    zone = v.zone
    lines = [f"#{v.ticket_id}  plan {inert(v.plan)}   calendar {inert(v.calendar)} ({inert(zone)})"]
    for c in v.clocks:
        due = when(c.due, weekday=True)
        live = c.state in ("running", "warning", "breached", "paused")
        left = format_left(c.remaining_s) if live and c.remaining_s is not None else "-"
        extra = f"   paused: {c.paused.replace('_', ' ')}" if c.paused else ""
        if c.closed_until:
            extra += f"   closed until {when(c.closed_until, weekday=True)}"
        lines.append(
            f"  {c.name:<8} target {c.target:<11} {c.state:<9} due {due:<25} left {left:<10}"
            f" elapsed {format_span(c.used_s)}   paused {format_span(c.paused_s)}{extra}"
        )
    if v.history:
        lines.append("")
        for at, who, what in v.history:
            lines.append(
                f"  {when(at, seconds=True)}  {inert(who or '-'):<10} {inert(times_in(what))}"
            )
    return "\n".join(lines)


@sla.command("show")
@click.argument("ticket_id", type=TICKET_ID)
@json_option
@pass_env
def sla_show(env: Env, ticket_id: int, as_json: bool) -> None:
    """Both clocks of a ticket: target, due, remaining, state, elapsed and paused time."""
    v = sla_service.show(env.desk(), ticket_id)
    emit(v, as_json, lambda: _sla_text(v))


@sla.command("due")
@click.option("--calendar", "calendar_name", required=True, help="Calendar of the policy.")
@click.option(
    "--from",
    "start",
    required=True,
    help="Start time (ISO 8601, in the desk's zone unless it has an offset).",
)
@click.option(
    "--add",
    "duration",
    required=True,
    help="Business time: 90s, 30m, 4h, 1h30m, 2d, or ISO 8601 (PT1H30M, P1D = 24 h).",
)
@click.option("--preset", help="Use a bundled preset instead of the policy in force.")
@json_option
@pass_env
def sla_due(
    env: Env, calendar_name: str, start: str, duration: str, preset: str | None, as_json: bool
) -> None:
    """When is something due: START plus DURATION of business time on a calendar."""
    p = load_preset(preset) if preset else sla_service.current_policy(env.desk())
    moment = parse_time(start, what="--from", zone=text_zone())  # the zone it answers in
    result = sla_service.due(p, calendar_name, moment, duration)
    zone = p.calendars[calendar_name].zone
    local = result.astimezone(zone)
    emit(
        {"due": local.isoformat(), "due_utc": result.isoformat(), "calendar": calendar_name},
        as_json,
        lambda: f"due {when(result, weekday=True)} (calendar {inert(calendar_name)}, {zone.key})",
    )


@sla.command("board")
@json_option
@pass_env
def sla_board(env: Env, as_json: bool) -> None:
    """The lead's SLA board in brief: the mail alarm (mail is not going out), the counts,
    and the tickets flagged for the leads (leads; `supportdesk` shows it live)."""
    b = board_service.snapshot(env.desk())
    h = b.headline
    flagged = [(r.id, r.subject) for r in b.attention.complaints]
    value = {
        "at": b.at,
        "mail_alarm": b.mail_alarm,
        "breached": h.breached,
        "due_15": h.due_15,
        "due_60": h.due_60,
        "unclaimed": {str(k): v for k, v in h.unclaimed.items()},
        "held": h.held,
        "present": h.present,
        "flagged": [tid for tid, _subject in flagged],
    }

    def text() -> str:
        lines = [alarm_line(b.mail_alarm)] if b.mail_alarm is not None else []
        unclaimed = "   ".join(f"T{k} unclaimed {v}" for k, v in sorted(h.unclaimed.items()))
        lines.append(
            f"breached {h.breached}   due ≤15m {h.due_15}   due ≤60m {h.due_60}   "
            f"{unclaimed}   held {h.held}   present {h.present}"
        )
        lines += [f"  flagged #{tid}  {inert(subject)[:80]}" for tid, subject in flagged]
        return "\n".join(lines)

    emit(value, as_json, text)
