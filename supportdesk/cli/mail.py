"""`supportdesk mail ...`: e-mail into tickets (`ingest` is a mail server's delivery agent:
exit 0 or 75, never a bounce), and the quarantine."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Any

import click

from supportdesk.cli.env import Env, pass_env
from supportdesk.cli.output import alarm_line, emit, fail, json_option, when
from supportdesk.cli.params import TICKET_ID
from supportdesk.core import permissions
from supportdesk.errors import DeskError
from supportdesk.safe_text import clean, truncate
from supportdesk.services.intake import mail as mail_service
from supportdesk.services.intake import mail_bounce, mail_parse
from supportdesk.services.intake import mail_quarantine as quarantine
from supportdesk.services.outbox import config as mail_config
from supportdesk.services.outbox import sending
from supportdesk.services.outbox import views as outbox_views
from supportdesk.store import describe_error


@click.group()
def mail() -> None:
    """E-mail into tickets and out to customers."""


BOUNCE_ACTIONS = ("bounce", "bounce_delayed", "delivery_report")
EX_TEMPFAIL = 75  # sysexits.h: the mail server keeps the message and tries again later


def _ingest_text(r: Any) -> str:
    if r.action == "quarantined":
        line = f"quarantined as Q{r.quarantine_id}: {clean(r.reason)}"
    elif r.action in BOUNCE_ACTIONS:
        line = f"{r.action.replace('_', ' ')} filed: {clean(r.reason or '')}"
        if r.ticket_id is not None:
            line += f" (ticket #{r.ticket_id})"
    elif r.action == "duplicate":
        line = f"{clean(r.reason)} (repeated Message-ID): nothing done"
    else:
        line = f"ticket #{r.ticket_id} {r.action} ({clean(r.account)}, from {clean(r.sender)})"
    if r.action == "reply_held":
        line += ": confirmation by e-mail not accepted, the ticket stays held"
    elif r.action == "reply_confirmed":
        line += ": confirmed by authenticated e-mail with a one-time code"
    return "\n".join([line, *(f"  note: {clean(n)}" for n in r.notes)])


@mail.command("ingest")
@click.option(
    "--sender",
    "envelope_sender",
    help="The envelope sender as the mail server passes it (Postfix pipe: ${sender}); "
    "default: the Return-Path header. Empty or <> marks a bounce.",
)
@click.option(
    "--recipient",
    help="The envelope recipient as the mail server passes it (Postfix pipe: "
    "${recipient}). Mail to the desk's bounce address bounces+ID@<desk domain> is a bounce "
    "of outgoing message ID; with [intake.mailboxes] it picks the mailbox's route "
    "(complaint, billing), and mail to an address not listed is filed closed. To: is "
    "never read for this.",
)
@json_option
@pass_env
def mail_ingest(
    env: Env, envelope_sender: str | None, recipient: str | None, as_json: bool
) -> None:
    """Read one RFC 822 message on stdin (a mail server's pipe) and file it: on the ticket
    its subject's [#N] names, as a new ticket, or in the quarantine (leads: `mail
    quarantine`).

    \b
    Exit codes, as a mail server's delivery agent:
      0   the message is filed: on a ticket, as a new ticket (also one closed or held
          for an unlisted sender), in the quarantine (malformed, larger than the
          policy's attachment limits allow (`policy show`: raw message), body over
          the desk's limit, automatic mail with no open ticket), or it was filed
          before (a repeated Message-ID)
      75  EX_TEMPFAIL: the database cannot be written now (locked past the busy
          timeout, PostgreSQL down, disk full, read-only) or the desk is not set up
          for it (unknown --as login, no audit key): the mail server keeps the
          message and retries
    With --recipient bounces+ID@<desk domain> (the envelope sender the desk sends
    with), a delivery report fails outgoing message ID (a delayed-delivery report
    fails nothing); the ID comes from that address only. An unknown ID, or mail
    there that is no delivery report, goes to the quarantine (exit 0).
    No other exit once the command line is read: mail is never bounced, so no
    backscatter goes to a forged sender. (2: the command line itself is wrong.)
    """
    stdin = sys.stdin.buffer if sys.stdin is not None else None
    try:
        desk = env.desk()
        # read up to the policy's raw limit: a larger message is drained, its first part kept
        received = mail_parse.read_limited(stdin, mail_parse.max_message(desk))
        r = mail_bounce.ingest_for(
            desk,
            received.data,
            size=received.size,
            envelope_sender=envelope_sender,
            recipient=recipient,
        )
    except DeskError as exc:
        _drain(stdin)
        fail(f"mail not filed, try again later: {exc}", EX_TEMPFAIL)
    except Exception as exc:  # anything else must not bounce the mail either
        _drain(stdin)
        what = (
            describe_error(exc)
            if type(exc).__module__.startswith(("sqlalchemy", "sqlite3", "psycopg"))
            else type(exc).__name__
        )
        fail(f"mail not filed, try again later: {what}", EX_TEMPFAIL)
    emit(r, as_json, lambda: _ingest_text(r))


def _drain(stdin: Any) -> None:
    """Read what is left of the message, holding none of it, so that the mail server's write
    ends before the exit status tells it to retry (the desk failed before reading it all)."""
    with contextlib.suppress(Exception):
        mail_parse.read_limited(stdin, 0, 0)


@mail.command("unlisted")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_env
def mail_unlisted(env: Env, limit: int, as_json: bool) -> None:
    """Mail from addresses no account lists: closed unanswered or held (leads)."""
    rows = mail_service.unlisted(env.desk(), limit)
    emit(
        rows,
        as_json,
        lambda: (
            "\n".join(
                f"#{r.ticket_id:<8} {r.status:<22} {clean(r.account):<16} "
                f"{clean(r.sender):<32} {truncate(r.subject, 50)}"
                for r in rows
            )
            or "no mail from unlisted senders"
        ),
    )


@mail.command("held")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_env
def mail_held(env: Env, limit: int, as_json: bool) -> None:
    """Held tickets that mail tried to confirm: confirmation by e-mail not accepted; an
    authorized contact confirms on a verified call, or a lead decides (leads)."""
    rows = mail_service.held(env.desk(), limit)
    emit(
        rows,
        as_json,
        lambda: (
            "\n".join(
                f"#{r.ticket_id:<8} {when(r.at, seconds=True)} {clean(r.account):<16} "
                f"{truncate(r.subject, 40):<40} {truncate(r.note, 120)}"
                for r in rows
            )
            or "no held ticket has mail on it"
        ),
    )


@mail.group("quarantine")
def mail_quarantine() -> None:
    """Mail that could not be filed, kept with its raw bytes (leads; every step audited)."""


@mail_quarantine.command("list")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_env
def quarantine_list(env: Env, limit: int, as_json: bool) -> None:
    """Quarantined messages, newest first."""
    rows = quarantine.list_quarantine(env.desk(), limit)
    emit(
        rows,
        as_json,
        lambda: (
            "\n".join(
                f"Q{r.id:<6} {when(r.received_at, seconds=True)} {r.size:>11,} B  "
                f"{clean(r.sender or '-')[:32]:<32} {clean(r.reason)[:80]}"
                for r in rows
            )
            or "the quarantine is empty"
        ),
    )


@mail_quarantine.command("show")
@click.argument("qid", metavar="ID", type=click.IntRange(1, 2**31 - 1))
@json_option
@pass_env
def quarantine_show(env: Env, qid: int, as_json: bool) -> None:
    """One quarantined message: its headers and body as inert text (never the raw bytes)."""
    v = quarantine.show(env.desk(), qid)

    def text() -> str:
        i = v.item
        out = [
            f"Q{i.id}  received {when(i.received_at, seconds=True)}  "
            f"{i.size:,} bytes" + (f" (first {i.kept:,} kept)" if i.kept < i.size else ""),
            f"  reason: {clean(i.reason)}",
            f"  envelope sender: {clean(i.envelope_sender or '-')}",
            "",
            *(f"{clean(k)}: {clean(val)}" for k, val in v.headers),
            "",
            clean(v.body, multiline=True),
        ]
        if v.body_chars > len(v.body):
            out.append(f"({v.body_chars - len(v.body):,} more characters not shown)")
        out += [f"  note: {clean(n)}" for n in v.notes]
        return "\n".join(out)

    emit(v, as_json, text)


@mail_quarantine.command("release")
@click.argument("qid", metavar="ID", type=click.IntRange(1, 2**31 - 1))
@json_option
@pass_env
def quarantine_release(env: Env, qid: int, as_json: bool) -> None:
    """File a quarantined message again (after a fix, or as a lead's decision); one that
    still cannot be filed stays, unchanged."""
    r = quarantine.release(env.desk(), qid)
    emit(r, as_json, lambda: _ingest_text(r))


@mail_quarantine.command("delete")
@click.argument("qid", metavar="ID", type=click.IntRange(1, 2**31 - 1))
@pass_env
def quarantine_delete(env: Env, qid: int) -> None:
    """Delete a quarantined message (its digest stays in the audit)."""
    quarantine.delete(env.desk(), qid)
    click.echo(f"Q{qid} deleted")


def _delivery_detail(m: Any) -> str:
    """What became of an outgoing message, in a few words (the server's are cleaned)."""
    if m.state == "sent":
        return f"sent {when(m.sent_at, seconds=True)}: {truncate(m.server_reply or '', 80)}"
    if m.state == "failed":
        return f"failed {when(m.failed_at, seconds=True)}: {truncate(m.last_error or '', 80)}"
    if m.state == "deferred":
        why = truncate(m.last_error or "", 60)
        return f"next try {when(m.send_after, seconds=True)} ({m.attempts} tries): {why}"
    if m.state == "queued":
        return f"due {when(m.send_after, seconds=True)}"
    return m.state


@mail.command("outbox")
@click.option("--state", type=click.Choice(outbox_views.STATES), help="Only messages in it.")
@click.option("--ticket", "ticket_id", type=TICKET_ID, help="Only this ticket's messages.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_env
def mail_outbox(
    env: Env, state: str | None, ticket_id: int | None, limit: int, as_json: bool
) -> None:
    """Outgoing mail, newest first, with what became of each message (leads). An open
    mail alarm (the transport itself fails) is shown first."""
    desk = env.desk()
    rows = outbox_views.outbox(desk, state=state, ticket_id=ticket_id, limit=limit)
    alarm = outbox_views.mail_alarm(desk)

    def text() -> str:
        lines = [alarm_line(alarm)] if alarm is not None else []
        for m in rows:
            where = f"#{m.ticket_id}" if m.ticket_id is not None else "-"
            flag = " [redacted]" if m.redacted else ""
            lines.append(
                f"{m.id:<7} {m.state:<9} {m.kind:<18} {where:<9} {truncate(m.to_addr, 40):<40}"
                f" {_delivery_detail(m)}{flag}"
            )
        return "\n".join(lines) or "no outgoing mail"

    emit({"alarm": alarm, "messages": rows} if as_json else rows, as_json, text)


@mail.command("retry")
@click.argument("message_id", metavar="ID", type=click.IntRange(1, 2**63 - 1))
@json_option
@pass_env
def mail_retry(env: Env, message_id: int, as_json: bool) -> None:
    """Put a failed or deferred outgoing message back in the queue, due now (leads;
    audited). It keeps its Message-ID; `mail send` delivers it."""
    m = outbox_views.retry(env.desk(), message_id)
    emit(m, as_json, lambda: f"message {m.id} to {clean(m.to_addr)} queued again")


@mail.command("send")
@click.option(
    "--once",
    is_flag=True,
    help="Deliver what is due now and exit (for cron: two runs at once never send one "
    "message twice).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="The transport's TOML file (default: mail.toml in the user's config folder, "
    "~/.config/supportdesk/mail.toml on Linux).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000_000),
    help="At most N messages taken per round.",
)
@json_option
@pass_env
def mail_send(
    env: Env, once: bool, config_path: str | None, limit: int | None, as_json: bool
) -> None:
    """Deliver the outbox: every due message by SMTP (or into a maildir), each taken by
    lease; without --once, keep delivering until SIGTERM or Ctrl-C. Prints what was sent,
    deferred and failed.

    \b
    The transport lives in a TOML file (the password in a file of its own, mode 0600):
      [transport]
      kind = "smtp"            # or "maildir" (with maildir = "/path/Maildir")
      host = "smtp.example.com"
      port = 587
      security = "starttls"    # starttls | tls | none (none: no username allowed)
      username = "desk@example.com"
      password_file = "~/.config/supportdesk/smtp-password"
      timeout = 30
      cafile = "/etc/ssl/private-ca.pem"   # optional
    \b
    Exit codes: 0 done (also when the policy has no [mail] domain: nothing is sent);
    1 a transport fault stopped the run (everything taken is deferred, the lead's
    board alarms); 2 a bad command line or configuration.
    """
    desk = env.desk()
    permissions.require(desk.actor, "mail.send")
    if not sending.mail_enabled(desk):
        summary = sending.SendSummary(enabled=False)
        emit(summary, as_json, summary.line)
        return
    cfg = mail_config.load_config(config_path)
    stop: threading.Event | None = None
    if not once:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _n, _f: stop.set())
    summary = sending.deliver(desk, cfg, limit=limit, stop=stop)
    emit(summary, as_json, summary.line)
    if summary.fault is not None and once:
        raise SystemExit(1)
