"""`supportdesk incident ...`: outages, their customer updates, linked tickets and calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import emit, inert, inert_lines, json_option, when
from supportdesk.cli.params import INCIDENT_ID, TICKET_ID, read_body
from supportdesk.rules.sla_engine import format_left
from supportdesk.safe_text import truncate
from supportdesk.services import incidents, tickets


@click.group()
def incident() -> None:
    """Outages: one incident, every call linked to it, updates to customers on a clock."""


def _left(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    return f"in {format_left(seconds)}" if seconds >= 0 else f"OVERDUE {format_left(-seconds)}"


def _incident_line(i: Any, now: datetime) -> str:
    ack = f"ack {inert(i.acknowledged_by)}" if i.acknowledged_by else "NOT ACKNOWLEDGED"
    due = (
        f"next update {when(i.next_update_due)} ({_left(i.update_left_s(now))})"
        if i.is_open and i.next_update_due
        else f"resolved {when(i.resolved_at)}"
    )
    return (
        f"#{i.id:<4} {i.state:<13} {inert(','.join(i.servers)):<20} {inert(i.title)}\n"
        f"      owner {inert(i.owner or '-')}  {ack}  {due}  "
        f"{i.linked} tickets, {i.calls} calls"
    )


def _incident_text(v: Any, now: datetime) -> str:
    i = v.incident
    out = [_incident_line(i, now), "", "script (read to callers):"]
    out += [f"  {line}" for line in inert_lines(i.script)]
    out.append("updates:")
    for u in v.updates:
        posted = f" (posted to {u.tickets_posted} tickets)" if u.tickets_posted else ""
        out.append(
            f"  {when(u.at, seconds=True)}  {inert(u.by or '-'):<10} {u.kind:<8} {u.state}{posted}"
        )
        if u.kind in ("update", "resolved"):
            out += [f"      {line}" for line in inert_lines(u.body)]
    out.append("linked tickets:")
    out += [
        f"  #{t.ticket_id:<7} {t.status:<22} {inert(t.account):<16} {truncate(t.subject, 50)}"
        + (" (left open)" if t.keep_open else "")
        + (f"  why: {inert(t.reason)}" if t.reason else "")
        for t in v.tickets
    ] or ["  none"]
    out.append("calls without a ticket:")
    out += [
        f"  {when(c.at, seconds=True)}  {inert(c.account):<16} "
        f"{inert(c.caller or '-'):<20} taken by {inert(c.by or '-')}"
        for c in v.calls
        if c.ticket_id is None
    ] or ["  none"]
    out.append(f"affected accounts: {v.affected_total}")
    out += [
        f"  {inert(a.account):<20} {inert(a.company)[:30]:<30} {inert(','.join(a.servers)):<16} "
        f"{a.open_tickets} open tickets"
        for a in v.affected[:50]
    ]
    if v.affected_total > 50:
        out.append(f"  … and {v.affected_total - 50} more (--json lists {len(v.affected)})")
    return "\n".join(out)


@incident.command("open")
@click.option("--server", "servers", multiple=True, required=True, help="A server that is down.")
@click.option("--title", required=True, help="What is wrong, in a line.")
@click.option("--cadence", default="30m", show_default=True, help="Customer updates every …")
@click.option(
    "--script",
    help="What agents read to callers (default: the first incident_script template by "
    "name, filled, else made from the title).",
)
@click.option("--owner", help="The on-call engineer who owns it (default: you).")
@json_option
@pass_env
def incident_open(
    env: Env,
    servers: tuple[str, ...],
    title: str,
    cadence: str,
    script: str | None,
    owner: str | None,
    as_json: bool,
) -> None:
    """Open an incident on one or more servers: every console shows it."""
    desk = env.desk()
    i = incidents.open_incident(desk, servers, title, cadence=cadence, script=script, owner=owner)
    emit(i, as_json, lambda: f"incident #{i.id} open\n" + _incident_line(i, desk.now()))


@incident.command("update")
@click.argument("incident_id", type=INCIDENT_ID)
@click.argument("text", required=False)
@click.option("--state", type=click.Choice(["investigating", "identified", "monitoring"]))
@click.option("--script", help="Replace the script agents read to callers.")
@json_option
@pass_env
def incident_update(
    env: Env,
    incident_id: int,
    text: str | None,
    state: str | None,
    script: str | None,
    as_json: bool,
) -> None:
    """Post a customer update (TEXT, or standard input) to every linked ticket."""
    r = incidents.post_update(env.desk(), incident_id, read_body(text), state=state, script=script)
    emit(
        r,
        as_json,
        f"incident #{incident_id} ({r.state}): update posted to {len(r.tickets_posted)} "
        f"tickets; next update due {when(r.next_update_due)}",
    )


@incident.command("link")
@click.argument("incident_id", type=INCIDENT_ID)
@click.option("--ticket", "ticket_id", type=TICKET_ID, required=True)
@click.option("--reason", help="Why, when the ticket's account is not on an affected server.")
@click.option("--call", is_flag=True, help="The customer is on the line and was told.")
@json_option
@pass_env
def incident_link(
    env: Env, incident_id: int, ticket_id: int, reason: str | None, call: bool, as_json: bool
) -> None:
    """Link a ticket to the incident (no new ticket); with --call the call is logged, which
    is the customer's response."""
    r = incidents.link_ticket(env.desk(), incident_id, ticket_id, reason=reason, call=call)
    emit(
        r,
        as_json,
        f"ticket #{ticket_id} linked to incident #{incident_id}"
        + (" (call logged: first response)" if r.responded else "")
        + ("" if r.affected else f" (account {inert(r.account)} not affected: reason kept)"),
    )


@incident.command("call")
@click.argument("incident_id", type=INCIDENT_ID)
@click.option("--account", required=True)
@click.option("--contact", "contact_email", help="E-mail of the account's contact who called.")
@click.option("--caller-name", help="Who called, when they are not a listed contact.")
@click.option("--caller-phone")
@click.option("--note", default="")
@click.option("--reason", help="Why, when the account is not on an affected server.")
@json_option
@pass_env
def incident_call(
    env: Env,
    incident_id: int,
    account: str,
    contact_email: str | None,
    caller_name: str | None,
    caller_phone: str | None,
    note: str,
    reason: str | None,
    as_json: bool,
) -> None:
    """Record a call about the incident from a customer with no ticket (none is opened)."""
    desk = env.desk()
    contact_id = None
    if contact_email:
        with desk.store.read() as s:
            contact_id = tickets.find_contact(s, account, contact_email).id
    r = incidents.log_call(
        desk,
        incident_id,
        account,
        contact_id=contact_id,
        caller_name=caller_name,
        caller_phone=caller_phone,
        note=note,
        reason=reason,
    )
    emit(r, as_json, f"call from {inert(account)} recorded against incident #{incident_id}")


@incident.command("ack")
@click.argument("incident_id", type=INCIDENT_ID)
@json_option
@pass_env
def incident_ack(env: Env, incident_id: int, as_json: bool) -> None:
    """Acknowledge an incident (a lead or its on-call engineer): no console rings again."""
    i = incidents.acknowledge(env.desk(), incident_id)
    emit(i, as_json, f"incident #{i.id} acknowledged by {inert(i.acknowledged_by)}")


@incident.command("resolve")
@click.argument("incident_id", type=INCIDENT_ID)
@click.argument("text", required=False)
@click.option(
    "--keep-open",
    "keep_open",
    type=TICKET_ID,
    multiple=True,
    help="A linked ticket to leave open (repeat).",
)
@json_option
@pass_env
def incident_resolve(
    env: Env, incident_id: int, text: str | None, keep_open: tuple[int, ...], as_json: bool
) -> None:
    """Resolve the incident: the last update goes to every linked ticket, which is resolved
    (fixed) unless kept open."""
    r = incidents.resolve(env.desk(), incident_id, read_body(text), keep_open=keep_open)
    emit(
        r,
        as_json,
        f"incident #{incident_id} resolved: {len(r.resolved)} tickets resolved"
        + (f", left open: {', '.join(f'#{n}' for n in r.left_open)}" if r.left_open else ""),
    )


@incident.command("list")
@click.option("--all", "include_resolved", is_flag=True, help="Resolved ones too (newest first).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@json_option
@pass_env
def incident_list(env: Env, include_resolved: bool, limit: int, as_json: bool) -> None:
    """Open incidents (with --all, resolved ones too)."""
    desk = env.desk()
    rows = incidents.list_incidents(desk, include_resolved=include_resolved, limit=limit)
    now = desk.now()
    emit(
        rows,
        as_json,
        lambda: "\n".join(_incident_line(i, now) for i in rows) or "no open incidents",
    )


@incident.command("show")
@click.argument("incident_id", type=INCIDENT_ID)
@json_option
@pass_env
def incident_show(env: Env, incident_id: int, as_json: bool) -> None:
    """An incident: state, script, updates, linked tickets, calls, affected accounts."""
    desk = env.desk()
    v = incidents.show(desk, incident_id)
    emit(v, as_json, lambda: _incident_text(v, desk.now()))
