"""`supportdesk report ...`: figures for the leads (escalations, SLA attainment)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import emit, inert, json_option, when
from supportdesk.core.clock import parse_time
from supportdesk.core.desk import Desk
from supportdesk.errors import UsageError
from supportdesk.rules.sla_engine import format_span
from supportdesk.services import escalation
from supportdesk.services.reports import report as report_service


@click.group()
def report() -> None:
    """Figures for the leads."""


def _window(start: str | None, end: str | None, desk: Desk) -> tuple[datetime, datetime]:
    zone = desk.zone  # a date or a time without an offset is the desk's
    stop = parse_time(end, what="--to", zone=zone) if end else desk.now()
    begin = parse_time(start, what="--from", zone=zone) if start else stop - timedelta(days=30)
    return begin, stop


F = TypeVar("F", bound=Callable[..., Any])


def window_options(f: F) -> F:
    """--from and --to: the report's window (`_window`)."""
    f = click.option(
        "--to",
        "end",
        help="End (ISO 8601 or a date, in the desk's zone unless it has an offset; default: now).",
    )(f)
    return click.option(
        "--from",
        "start",
        help=(
            "Start (ISO 8601 or a date, in the desk's zone unless it has an offset;"
            " default: 30 days before --to)."
        ),
    )(f)


@report.command("escalations")
@window_options
@json_option
@pass_env
def report_escalations(env: Env, start: str | None, end: str | None, as_json: bool) -> None:
    """Tier-1 resolution share, escalations per tier, time from escalation to claim."""
    desk = env.desk()
    begin, stop = _window(start, end, desk)
    f = escalation.figures(desk, begin, stop)

    def span(value: int | None) -> str:
        return "-" if value is None else format_span(value)

    def text() -> str:
        share = "-" if f.tier1_share is None else f"{f.tier1_share * 100:.1f} %"
        per_tier = inert(", ".join(f"tier {k}: {v}" for k, v in f.escalations_by_tier.items()))
        return "\n".join(
            [
                f"{when(f.start)} to {when(f.end)}",
                f"resolved (fixed): {f.resolved}, at tier 1 without escalation: "
                f"{f.resolved_at_tier1} ({share})",
                f"escalations: {per_tier or 'none'}; complaints to a supervisor: {f.complaints}",
                f"escalation to claim: median {span(f.median_claim_seconds)}, mean "
                f"{span(f.mean_claim_seconds)}, 90th percentile {span(f.p90_claim_seconds)} "
                f"({f.claimed} claimed; {f.unclaimed} open escalations never claimed)",
            ]
        )

    emit(f, as_json, text)


@report.command("sla")
@window_options
@click.option("--by", type=click.Choice(["tier", "category", "plan", "agent"]))
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one row per group).")
@json_option
@pass_env
def report_sla(
    env: Env, start: str | None, end: str | None, by: str | None, as_csv: bool, as_json: bool
) -> None:
    """SLA attainment, breaches, median first response and tier-1 share, from the outcomes
    stored when clocks stop (see `supportdesk.services.reports.report` for the definitions)."""
    if as_csv and as_json:
        raise UsageError("--csv and --json exclude each other")
    desk = env.desk()
    begin, stop = _window(start, end, desk)
    r = report_service.sla_report(desk, begin, stop, by)
    if as_csv:
        click.echo(r.to_csv(), nl=False)
        return

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.1f} %"

    def line(g: Any) -> str:
        median = g.median_first_response_seconds
        return (
            f"{inert(g.key)[:14]:<14} respond {pct(g.respond_attainment):>7} "
            f"({g.respond_met} met, {g.respond_breached} breached)  resolve "
            f"{pct(g.resolve_attainment):>7} ({g.resolve_met} met, {g.resolve_breached} "
            f"breached)  median first response "
            f"{'-' if median is None else format_span(median)}  tier-1 share "
            f"{pct(g.tier1_share)} of {g.resolved}"
        )

    def text() -> str:
        out = [f"{when(r.start)} to {when(r.end)}", line(r.total)]
        out += [line(g) for g in r.groups]
        cats = inert(", ".join(f"{k} {v}" for k, v in r.breaches_by_category.items())) or "none"
        out.append(f"breaches by category: {cats}")
        claim = r.escalation_to_claim
        median = claim["median_seconds"]
        out.append(
            f"escalation to claim: median {'-' if median is None else format_span(median)} "
            f"over {claim['claimed']} claims"
        )
        return "\n".join(out)

    emit(r, as_json, text)
