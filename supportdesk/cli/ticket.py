"""`supportdesk ticket ...`: open, read and work tickets, and the printers of a ticket and its
brief."""

from __future__ import annotations

from typing import Any

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import emit, inert, inert_lines, json_option, times_in, when
from supportdesk.cli.params import (
    CONTACT_ID,
    EVENT_ID,
    SERVICE_ID,
    TICKET_ID,
    VERIFICATION_ID,
    WINDOW_ID,
    choice,
    read_body,
)
from supportdesk.cli.ticket_group import ticket
from supportdesk.enums import CallOutcome, Category, Channel, Priority, ResolutionCode, Status
from supportdesk.errors import UsageError
from supportdesk.rules import limits
from supportdesk.rules.request_types import REQUEST_TYPES
from supportdesk.rules.request_words import describe
from supportdesk.services import escalation, templates, tickets
from supportdesk.services.incidents import maintenance
from supportdesk.services.intake import mail
from supportdesk.services.tickets.confirmation import request_confirmation


def _reporter(t: Any) -> str:
    """Who reported it: a listed contact, or an unlisted caller's name and number."""
    if t.caller_name or t.caller_phone:
        who = " · ".join(inert(x) for x in (t.caller_name, t.caller_phone) if x)
        return f"caller {who} (not listed)"
    return f"contact {inert(t.contact or '-')}"


def _ticket_text(t: Any) -> str:
    lines = [
        f"#{t.id}  {inert(t.subject)}",
        f"  status {t.status}   priority {t.priority}   category {t.category}   "
        f"channel {t.channel}   tier {t.tier}   holder {inert(t.holder or '-')}",
        f"  account {inert(t.account)} ({inert(t.company)})   {_reporter(t)}"
        + (f"   service {inert(t.service_label)}" if t.service_label else "")
        + (f"   confirmed by {inert(t.confirmed_by)}" if t.confirmed_by else ""),
        f"  created {when(t.created_at)}   first response {when(t.first_response_at)}"
        + (f"   resolved {when(t.resolved_at)} ({t.resolution_code})" if t.resolved_at else ""),
        "  Request: " + inert(describe(t.request_type, t.suggested_type, t.suggested_words)),
    ]
    if t.request_block:
        lines.append(f"  Blocked: {inert(t.request_block)}")
    if t.merged_into:
        lines.append(f"  merged into #{t.merged_into}")
    if t.description:
        lines += ["", *("  " + x for x in inert_lines(t.description))]
    lines.append("")
    shown = {e.id for e in t.events}
    mail = {d.event_id: d for d in t.deliveries if d.event_id in shown}
    loose = [d for d in t.deliveries if d.event_id not in shown]
    for e in t.events:
        while loose and loose[0].queued_at < e.at:
            lines += _automatic_lines(loose.pop(0))
        who = "customer" if e.from_customer else inert(e.author or "-")
        what = e.kind + (f" ({e.call_outcome})" if e.call_outcome else "")
        if e.old_value or e.new_value:
            old, new = times_in(e.old_value or "-"), times_in(e.new_value or "-")
            what += f" {inert(old)} -> {inert(new)}"
        if e.kind == "note":
            what += " [internal]"
        lines.append(f"  {when(e.at, seconds=True)}  {who:<10} {what}")
        if e.body:
            lines += ["      " + x for x in inert_lines(e.body)]
        for f in e.files:  # issue 20: `ticket attachment save ID` writes one
            state = "redacted" if f.redacted else f"{inert(f.kind)}, {f.size:,} bytes"
            lines.append(f"      file {f.id}: {inert(f.name)} ({state})")
        if e.id in mail:
            lines.append(f"      mail: {delivery_words(mail[e.id])}")
    for d in loose:
        lines += _automatic_lines(d)
    return "\n".join(lines)


def delivery_words(d: Any) -> str:
    """What became of one outgoing message, on one line (the server's words made inert)."""
    to = inert(d.to_addr)
    if d.state == "sent":
        words = f"sent {when(d.sent_at, seconds=True)} to {to}"
        words += f" ({inert(d.server_reply)[:120]})" if d.server_reply else ""
    elif d.state == "failed":
        words = (
            f"FAILED {when(d.failed_at, seconds=True)} to {to}: {inert(d.last_error or '')[:200]}"
        )
    elif d.state == "deferred":
        tries = f"{d.attempts} {'try' if d.attempts == 1 else 'tries'}"
        words = (
            f"deferred ({tries}), next try {when(d.send_after, seconds=True)}, "
            f"to {to}: {inert(d.last_error or '')[:200]}"
        )
    elif d.state == "queued":
        words = f"queued for {to}, due {when(d.send_after, seconds=True)}"
    elif d.state == "sending":
        words = f"sending to {to}"
    else:
        words = f"{d.state}: not sent"
    return words + (" [body redacted]" if d.redacted else "")


def _automatic_lines(d: Any) -> list[str]:
    kind = d.kind.replace("_", " ")
    return [
        f"  {when(d.queued_at, seconds=True)}  {'desk':<10} {kind} (automatic): {inert(d.subject)}",
        f"      mail: {delivery_words(d)}",
    ]


@ticket.command("new")
@click.option("--account", required=True)
@click.option("--subject", required=True)
@click.option("--priority", required=True, type=choice(Priority))
@click.option("--category", required=True, type=choice(Category))
@click.option("--channel", required=True, type=choice(Channel))
@click.option("--contact", "contact_email", help="E-mail of the account's contact.")
@click.option("--service", "service_id", type=SERVICE_ID)
@click.option("--description", default="")
@click.option("--request-type", default="technical", show_default=True)
@click.option(
    "--during-verified-call",
    is_flag=True,
    help="Opened on a call whose --verification you made (in the last 2 h): counts as the "
    "first response (one ticket per verified call).",
)
@click.option(
    "--verification",
    "verification_id",
    type=VERIFICATION_ID,
    help="The verification of this call (`supportdesk verify` prints it).",
)
@click.option(
    "--from",
    "sender",
    help="E-mail: the sender's address; applies the e-mail rules like `mail ingest`.",
)
@click.option("--caller-name", help="Who called, when they are not a listed contact.")
@click.option("--caller-phone", help="Their number, when they are not a listed contact.")
@json_option
@pass_env
def ticket_new(env: Env, as_json: bool, sender: str | None, **kw: Any) -> None:
    """Open a new ticket."""
    limits.check(kw["subject"], limits.SUBJECT, what="--subject")
    limits.check(kw["description"], limits.DESCRIPTION, what="--description")
    if kw["during_verified_call"]:
        if sender is not None:
            raise UsageError("--during-verified-call is for a call, not mail (--from)")
        if kw["verification_id"] is None:
            raise UsageError("--during-verified-call needs --verification ID (this call's)")
    desk = env.desk()
    if sender is not None:
        limits.check(sender, limits.EMAIL, what="--from")

        if kw["channel"] != "email":
            raise UsageError("--from is for e-mail: use it with --channel email")
        result = mail.ingest_message(
            desk, mail.Message(sender, kw["subject"], kw["description"], None)
        )
        emit(
            result,
            as_json,
            f"ticket #{result.ticket_id} {result.action} ({inert(result.account)})",
        )
        return
    tid = tickets.create(desk, **kw)
    emit(tickets.show(desk, tid), as_json, f"ticket #{tid} created")


@ticket.command("confirm")
@click.argument("ticket_id", type=TICKET_ID)
@click.option(
    "--verification",
    "verification_id",
    type=VERIFICATION_ID,
    required=True,
    help="This call's verification of an authorized contact.",
)
@json_option
@pass_env
def ticket_confirm(env: Env, ticket_id: int, verification_id: int, as_json: bool) -> None:
    """An authorized contact confirms a ticket held for authorization: it opens."""
    tickets.confirm(env.desk(), ticket_id, verification_id)
    _after(env, ticket_id, as_json, f"ticket #{ticket_id} confirmed and open")


@ticket.command("request-confirmation")
@click.argument("ticket_id", type=TICKET_ID)
@click.option(
    "--contact",
    "contact_id",
    type=CONTACT_ID,
    required=True,
    help="The allowed contact asked to confirm (their address on file gets the code).",
)
@json_option
@pass_env
def ticket_request_confirmation(env: Env, ticket_id: int, contact_id: int, as_json: bool) -> None:
    """Mail an allowed contact a one-time code to confirm a held ticket by an authenticated
    reply (72 hours, once). The code is never shown here."""
    r = request_confirmation(env.desk(), ticket_id, contact_id)
    emit(
        r,
        as_json,
        lambda: (
            f"confirmation request for #{ticket_id} queued to {inert(r.to or '')}: "
            f"its code works until {when(r.expires_at)}"
        ),
    )


@ticket.command("show")
@click.argument("ticket_id", type=TICKET_ID)
@json_option
@pass_env
def ticket_show(env: Env, ticket_id: int, as_json: bool) -> None:
    """Show a ticket with its thread."""
    t = tickets.show(env.desk(), ticket_id)
    emit(t, as_json, lambda: _ticket_text(t))


@ticket.command("brief")
@click.argument("ticket_id", type=TICKET_ID)
@json_option
@pass_env
def ticket_brief(env: Env, ticket_id: int, as_json: bool) -> None:
    """What the next person needs: services, servers, what was tried, who may authorize,
    the account's notes, other open tickets on the same server."""
    b = escalation.brief(env.desk(), ticket_id)

    def text() -> str:
        out = [
            f"#{b.ticket_id}  {inert(b.account)} ({inert(b.company)})",
            f"reported {when(b.reported_at)}:",
        ]
        out += [f"  {line}" for line in inert_lines(b.reported or "-")[:20]]
        if b.handovers:
            out.append("handed over:")
            for h in b.handovers:
                what = "handover" if h.kind == "handover" else "released"
                out.append(f"  {when(h.at)} {what} by {inert(h.by or '-')}:")
                out += [f"    {line}" for line in inert_lines(h.note)[:20]]
        out.append("services:")
        out += [
            f"  {inert(sv.kind):<15} {inert(sv.label)[:30]:<30} "
            f"{inert(' '.join(sv.domains))[:40]:<40} {inert(sv.server or '-')}"
            for sv in b.services
        ] or ["  none"]
        out.append("escalations:")
        for e in b.escalations:
            claimed = (
                f", claimed by {inert(e.claimed_by)} {when(e.claimed_at)}" if e.claimed_at else ""
            )
            move = (
                "to a supervisor" if e.kind == "supervisor" else f"tier {e.from_tier} → {e.to_tier}"
            )
            out.append(f"  {when(e.at)} {move} by {inert(e.by or '-')}{claimed}")
            out.append(f"    reason: {inert(e.reason)}")
            if e.tried:
                out.append(f"    tried: {inert(e.tried)}")
        if not b.escalations:
            out.append("  none")
        out.append("may authorize changes:")
        out += [
            f"  {inert(a.name)} ({inert(a.role)}; {inert(a.scope)})" for a in b.authorizers
        ] or ["  nobody listed"]
        out.append(f"account notes: {inert(b.account_notes or '-')}")
        out.append("other open tickets on the same server:")
        out += [
            f"  #{n.ticket_id} {inert(n.server)} {n.priority} {n.status} {inert(n.account)}: "
            f"{inert(n.subject)[:50]}"
            for n in b.same_server
        ] or ["  none"]
        if b.watchers:
            out.append("watching: " + inert(", ".join(b.watchers)))
        return "\n".join(out)

    emit(b, as_json, text)


def _after(env: Env, ticket_id: int, as_json: bool, message: str) -> None:
    emit(tickets.show(env.desk(), ticket_id) if as_json else None, as_json, message)


@ticket.command("update")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--priority", type=choice(Priority))
@click.option("--category", type=choice(Category))
@click.option(
    "--request-type",
    type=click.Choice(REQUEST_TYPES, case_sensitive=False),
    help="What the customer asks for (a person's choice; a restricted type is checked again).",
)
@click.option("--status", type=choice(Status))
@click.option(
    "--code", type=choice(ResolutionCode), help="Resolution code when resolving or closing."
)
@json_option
@pass_env
def ticket_update(
    env: Env,
    ticket_id: int,
    priority: str | None,
    category: str | None,
    request_type: str | None,
    status: str | None,
    code: str | None,
    as_json: bool,
) -> None:
    """Change a ticket's priority, category, request type or status."""
    desk = env.desk()
    tickets.update_fields(
        desk,
        ticket_id,
        priority=priority,
        category=category,
        status=status,
        code=code,
        request_type=request_type,
    )
    if request_type is None or as_json:
        _after(env, ticket_id, as_json, f"ticket #{ticket_id} updated")
        return
    t = tickets.show(desk, ticket_id)
    lines = [f"ticket #{ticket_id} updated: request type {request_type.replace('_', ' ')}"]
    if t.status == Status.AWAITING_AUTHORIZATION.value:
        lines.append("  held: awaiting authorization")
    if t.request_block:
        lines.append(f"  Blocked: {inert(t.request_block)}")
    emit(None, False, "\n".join(lines))


@ticket.command("reply")
@click.argument("ticket_id", type=TICKET_ID)
@click.argument("text", required=False)
@click.option(
    "--attach",
    "files",
    multiple=True,
    metavar="FILE",
    help="A file to send with the reply (repeatable); kept on the ticket.",
)
@click.option(
    "--template",
    "template_name",
    help="Reply with this template, filled for the ticket (and make its changes).",
)
@click.option("--edit", is_flag=True, help="With --template: edit the text before it goes.")
@json_option
@pass_env
def ticket_reply(
    env: Env,
    ticket_id: int,
    text: str | None,
    files: tuple[str, ...],
    template_name: str | None,
    edit: bool,
    as_json: bool,
) -> None:
    """Reply to the customer (TEXT, or standard input, or --template NAME)."""
    desk = env.desk()
    if template_name is None:
        if edit:
            raise UsageError("--edit goes with --template")
        mailed = tickets.reply(desk, ticket_id, read_body(text), files)
    else:
        if text is not None:
            raise UsageError("give TEXT or --template, not both")
        if files:
            raise UsageError("--attach goes with a typed reply, not with --template")
        body = None
        if edit:
            filled = templates.fill(desk, ticket_id, template_name)
            body = click.edit(filled.body, require_save=True)
            if body is None or not body.strip():
                raise UsageError("nothing sent: the text was not saved, or is empty")
            body = body.strip()
        mailed = templates.reply_with(desk, ticket_id, template_name, body=body)
    _after(env, ticket_id, as_json, inert(mailed.words(f"reply on #{ticket_id}")))


@ticket.command("call")
@click.argument("ticket_id", type=TICKET_ID)
@click.argument("text", required=False, default="")
@click.option("--outcome", required=True, type=choice(CallOutcome))
@json_option
@pass_env
def ticket_call(env: Env, ticket_id: int, text: str, outcome: str, as_json: bool) -> None:
    """Log a call and its outcome."""
    tickets.log_call(env.desk(), ticket_id, outcome, text)
    _after(env, ticket_id, as_json, f"call logged on #{ticket_id} ({outcome})")


@ticket.command("note")
@click.argument("ticket_id", type=TICKET_ID)
@click.argument("text", required=False)
@json_option
@pass_env
def ticket_note(env: Env, ticket_id: int, text: str | None, as_json: bool) -> None:
    """Add an internal note (TEXT, or standard input)."""
    tickets.note(env.desk(), ticket_id, read_body(text))
    _after(env, ticket_id, as_json, f"note added to #{ticket_id}")


@ticket.command("resolve")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--code", required=True, type=choice(ResolutionCode))
@json_option
@pass_env
def ticket_resolve(env: Env, ticket_id: int, code: str, as_json: bool) -> None:
    """Resolve a ticket with a resolution code."""
    tickets.resolve(env.desk(), ticket_id, code)
    _after(env, ticket_id, as_json, f"ticket #{ticket_id} resolved ({code})")


@ticket.command("merge")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--into", "into", required=True, type=TICKET_ID)
@json_option
@pass_env
def ticket_merge(env: Env, ticket_id: int, into: int, as_json: bool) -> None:
    """Merge a duplicate into another ticket: its thread moves, it closes as duplicate."""
    moved = tickets.merge(env.desk(), ticket_id, into)
    _after(env, into, as_json, f"#{ticket_id} merged into #{into} ({moved} events moved)")


def _redacted(r: Any, as_json: bool) -> None:
    emit({**r.to_json(), "note": r.note}, as_json, lambda: f"{r.what} redacted\n{r.note}")


@ticket.command("redact")
@click.argument("event_id", type=EVENT_ID)
@click.option("--reason", required=True)
@json_option
@pass_env
def ticket_redact(env: Env, event_id: int, reason: str, as_json: bool) -> None:
    """Redact a secret from a thread entry, with the nonce that salted its audit digest
    (leads only; audited)."""
    _redacted(tickets.redact(env.desk(), event_id, reason), as_json)


@ticket.command("redact-subject")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--reason", required=True)
@json_option
@pass_env
def ticket_redact_subject(env: Env, ticket_id: int, reason: str, as_json: bool) -> None:
    """Redact a secret from a ticket's subject (and the merge entry that quoted it), with
    its nonce (leads only; audited)."""
    _redacted(tickets.redact_ticket_text(env.desk(), ticket_id, "subject", reason), as_json)


@ticket.command("redact-description")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--reason", required=True)
@json_option
@pass_env
def ticket_redact_description(env: Env, ticket_id: int, reason: str, as_json: bool) -> None:
    """Redact a secret from a ticket's description (an e-mail ticket's first message), with
    its nonce (leads only; audited)."""
    _redacted(tickets.redact_ticket_text(env.desk(), ticket_id, "description", reason), as_json)


@ticket.command("schedule")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--window", "window_id", type=WINDOW_ID, required=True, help="Maintenance window #.")
@json_option
@pass_env
def ticket_schedule(env: Env, ticket_id: int, window_id: int, as_json: bool) -> None:
    """Schedule a ticket's server work into a maintenance window: its clocks pause until the
    window opens, when it returns to the queue."""
    r = maintenance.schedule(env.desk(), ticket_id, window_id)
    emit(
        r,
        as_json,
        f"ticket #{ticket_id} scheduled into window #{window_id} "
        f"({inert(','.join(r.servers))}): clocks paused until {when(r.paused_until)}",
    )
