"""The click CLI: the scriptable face of every service, and the console's launcher.

Exit codes: 0 done, 1 error, 2 usage, 3 lost a race, 4 nothing to do, 70 an internal error
(a bug: one line "supportdesk: internal error: ..."; SUPPORTDESK_DEBUG=1 shows the traceback
instead). Every failure is one line on stderr, never a traceback, and leaves the database as
it was. Arguments and environment values that are not valid UTF-8 are refused by name.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.enums import (
    CallOutcome,
    Category,
    Channel,
    ContactRole,
    Priority,
    ResolutionCode,
    Role,
    ServiceKind,
    Status,
)
from supportdesk.errors import DeskError, UsageError
from supportdesk.safe_text import clean, json_escape
from supportdesk.store import Store

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_RACE, EXIT_NOTHING = 0, 1, 2, 3, 4
EXIT_INTERNAL = 70  # EX_SOFTWARE: an exception no service turned into a message (a bug)
DEBUG_ENV = "SUPPORTDESK_DEBUG"  # "1": re-raise unexpected exceptions (tests, bug reports)
MAX_DB_TEXT = 4096
MAX_STDIN_TEXT = 4 * 200_000 + 4  # bytes: the longest body in UTF-8 (limits.BODY)
MAX_PIN_LINE = 64
MAX_ERROR_LINE = 500  # characters of an error message on stderr


def _choice(enum: Any) -> click.Choice:
    return click.Choice([e.value for e in enum], case_sensitive=False)


class IdType(click.ParamType):
    """A row id: a positive whole number below 2^63 (the services find nothing beyond the
    columns' range), refused in one line otherwise: never an overflow further in."""

    name = "id"

    def __init__(self, what: str) -> None:
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from supportdesk.rules.limits import MAX_CLI_ID

        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip().lstrip("#")
            if not (text.isascii() and text.isdigit()) or len(text) > 19:
                self.fail(f"{self.what}: must be a positive number below 2^63", param, ctx)
            number = int(text)
        if not 1 <= number <= MAX_CLI_ID:
            self.fail(f"{self.what}: must be a positive number below 2^63", param, ctx)
        return number


TICKET_ID = IdType("ticket id")
INCIDENT_ID = IdType("incident id")
VERIFICATION_ID = IdType("verification id")
SERVICE_ID = IdType("service id")
WINDOW_ID = IdType("window id")
EVENT_ID = IdType("event id")


class TierType(click.ParamType):
    """A tier number: small numbers go on to the service (which names the tiers it has);
    anything else is refused here, before it can overflow a SMALLINT."""

    name = "tier"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).strip()
        digits = text[1:] if text.startswith("-") else text
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 3:
            self.fail(f"tier: must be 1, 2 or 3, not {text[:20]!r}", param, ctx)
        return int(text)


TIER = TierType()


class LoginType(click.ParamType):
    """A staff login as typed for --as: bounded text, no NUL (the lookup says who is unknown)."""

    name = "login"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from supportdesk.errors import UsageError as DeskUsage
        from supportdesk.rules import limits

        try:
            return limits.check(str(value), limits.LOGIN, what="--as")
        except DeskUsage as exc:
            self.fail(str(exc), param, ctx)


class DbType(click.ParamType):
    """--db: a path or URL of bounded length without NUL (a path with one cannot be opened)."""

    name = "db"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from supportdesk.errors import UsageError as DeskUsage
        from supportdesk.rules import limits

        try:
            return limits.check(str(value), limits.Limit("--db", MAX_DB_TEXT))
        except DeskUsage as exc:
            self.fail(str(exc), param, ctx)


class Env:
    """Global options, turned into a Store and a Desk only when a command needs them."""

    def __init__(
        self,
        db: str | None,
        login: str | None,
        at: str | None,
        key: str | None,
        read_only: bool = False,
    ) -> None:
        self.db, self.login, self.at, self.key = db, login, at, key
        self.read_only = read_only
        self._desk: Desk | None = None

    def clock(self) -> Clock:
        return Clock.from_text(self.at)

    def desk(self, *, check_schema: bool = True) -> Desk:
        if self._desk is None:
            clock = self.clock()
            store = Store(self.db, read_only=self.read_only)
            if check_schema:
                store.check_schema()
            self._desk = Desk(store, self.login, clock, self.key)
        return self._desk

    def close(self) -> None:
        if self._desk is not None:
            self._desk.store.dispose()


def _store_from(db: str | None) -> Store:
    return Store(db)


pass_env = click.make_pass_decorator(Env)


def _t(value: Any) -> str:
    """One field of outside text for a one-line printer: line breaks, controls and bidi
    overrides shown as visible escapes (safe_text), so a subject can neither break the line
    nor drive the terminal."""
    return clean(value)


def _lines(value: Any) -> list[str]:
    """A body of outside text as lines, each made inert (tabs become spaces)."""
    return clean(value, multiline=True).split("\n")


def say(text: str) -> None:
    """Echo human-readable output; whatever outside text a printer let through is shown as
    visible escapes (the printers clean their fields already: this is the net)."""
    click.echo(clean(text, multiline=True))


def emit(value: Any, as_json: bool, text: Callable[[], str] | str | None = None) -> None:
    """Print a result as JSON (ISO 8601 times with offset; exact strings, with controls and
    lone surrogates written as JSON escapes) or as inert text."""
    if as_json:
        click.echo(json_escape(json.dumps(_jsonable(value), indent=2, ensure_ascii=False)))
    elif text is not None:
        say(text() if callable(text) else text)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


def _body(text: str | None) -> str:
    """Message text from the argument, or from stdin when it is `-` or missing: at most
    MAX_STDIN_TEXT bytes of UTF-8, else one line (the service then checks its length)."""
    if text is None or text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("give the text as an argument or on standard input")
        return _stdin_text("standard input", MAX_STDIN_TEXT).strip()
    return text


def _stdin_text(what: str, limit: int, *, line: bool = False) -> str:
    """Standard input (its first line if `line`) as UTF-8, read with a limit."""
    from supportdesk.rules import limits

    stream = getattr(sys.stdin, "buffer", sys.stdin)
    if line:
        raw = stream.readline(limit + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > limit:
            raise UsageError(f"{what}: longer than {limit} bytes")
    else:
        raw = limits.read_stream_bounded(stream, what, limit)
    return limits.decode_utf8(bytes(raw), what)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db", envvar="SUPPORTDESK_DB", type=DbType(), help="Database URL or SQLite file path."
)
@click.option(
    "--as", "login", envvar="SUPPORTDESK_AGENT", type=LoginType(), help="Staff login to act as."
)
@click.option("--at", envvar="SUPPORTDESK_NOW", help="Freeze 'now' (ISO 8601).")
@click.option("--audit-key", envvar="SUPPORTDESK_AUDIT_KEY", help="Audit key file.")
@click.option(
    "--read-only",
    is_flag=True,
    envvar="SUPPORTDESK_READ_ONLY",
    help="Open the database for reading only (a SQLite file that cannot be written is "
    "opened so anyway); every change is refused.",
)
@click.version_option(package_name="supportdesk")
@click.pass_context
def cli(
    ctx: click.Context,
    db: str | None,
    login: str | None,
    at: str | None,
    audit_key: str | None,
    read_only: bool,
) -> None:
    """supportdesk: the support desk console. With no command, opens the console."""
    ctx.obj = Env(db, login, at, audit_key, read_only)
    ctx.call_on_close(ctx.obj.close)  # in-process callers (tests) must not keep connections
    ctx.obj.clock()  # validate --at early
    if ctx.invoked_subcommand is None:
        _open_console(ctx.obj.desk())


def _open_console(desk: Desk) -> None:
    desk.actor  # noqa: B018 - fail with one line before the screen takes over
    from supportdesk.console.app import run_console

    run_console(desk)


# -- init / demo ---------------------------------------------------------------------------
@cli.command()
@click.option("--admin", help="Login of the first lead to create.")
@click.option("--admin-name", help="Full name of that lead.")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False),
    help="SLA policy TOML to put in force (default: the bundled one on a new database).",
)
@click.option(
    "--group",
    help="Share the desk with this group: new files 0660, new folders 2770 (default: 0600/0700).",
)
@pass_env
def init(
    env: Env,
    admin: str | None,
    admin_name: str | None,
    policy_file: str | None,
    group: str | None,
) -> None:
    """Create or upgrade the database schema, the audit key and the first lead. Files it
    creates are readable by you alone (or by --group); it takes others' access away from
    the desk's existing files and says so, and never widens anyone's."""
    from supportdesk.core.policy import load_policy_file
    from supportdesk.file_modes import make_dirs, sharing_for
    from supportdesk.services.admin.setup import init_database

    policy = load_policy_file(policy_file) if policy_file else None  # validate first
    sharing = sharing_for(group)
    if sharing.gid is not None and env.db and "://" not in env.db:
        make_dirs(Path(env.db).expanduser().resolve().parent, sharing.dir_mode, sharing)
    desk = env.desk(check_schema=False)
    result = init_database(desk, admin, admin_name, policy, sharing)
    before = result.revision_before or "empty"
    say(f"database {desk.store.display_name()}: schema {before} -> {result.revision_after}")
    say(f"audit key {result.key_path}" + (" (created)" if result.key_created else ""))
    for line in result.files:
        say(line)
    if result.admin_created:
        say(f"lead {result.admin_created} created")
    say(
        f"SLA policy {result.policy}"
        + (f": {result.recomputed} open tickets recomputed" if result.recomputed else "")
    )


def _default_demo_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("supportdesk", appauthor=False)) / "demo.db"


@cli.command()
@click.option("--tickets", default=5000, show_default=True, type=click.IntRange(1, 5_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--no-open", is_flag=True, help="Build the database but do not open the console.")
@pass_env
def demo(env: Env, tickets: int, seed: int, no_open: bool) -> None:
    """Build a realistic demo database and open the console on it as a demo lead. A demo
    file is built beside the old one and renamed into place: a build stopped at any moment
    leaves the old demo (or none), and the next build succeeds."""
    from supportdesk import demo as service
    from supportdesk.core.audit import key_path_for
    from supportdesk.file_modes import PRIVATE_DIR, make_dirs

    path = env.db
    if not path:
        default = _default_demo_path()
        make_dirs(default.parent, PRIVATE_DIR)
        path = str(default)
    store = _store_from(path)
    key = key_path_for(store.display_name(), env.key)
    admin = service.DEMO_ADMIN[0]
    if store.is_sqlite:  # refuse before the progress bar shows (checked again while building)
        if store.target.sqlite_uri:
            raise UsageError("demo needs a file path for --db, not an SQLite URI")
        service.check_replaceable(Path(str(store.target.sqlite_path)))
    elif store.schema_revision() is not None and not service.is_leftover_init(store):
        raise UsageError(f"{store.display_name()} already has a schema: demo needs an empty one")
    with click.progressbar(length=tickets, label="building demo", file=sys.stderr) as bar:
        last = [0]

        def progress(done: int, _total: int) -> None:
            bar.update(done - last[0])
            last[0] = done

        if store.is_sqlite:
            db_file = Path(str(store.target.sqlite_path))
            make_dirs(db_file.parent, PRIVATE_DIR)
            built = service.build_demo_file(
                db_file, key, env.clock(), tickets=tickets, seed=seed, progress=progress
            )
            result, pins = built.result, built.pins
        else:
            from supportdesk.services.admin.setup import init_database

            desk = Desk(store, admin, env.clock(), key)
            init_database(desk, admin=admin, admin_name=service.DEMO_ADMIN[1])
            service.stage_mark("init")
            result = service.build_demo(desk, tickets=tickets, seed=seed, progress=progress)
            pins = service.issue_demo_pins(Desk(store, admin, env.clock(), key))
    click.echo(
        f"demo database {store.display_name()}: {result.tickets:,} tickets, "
        f"{result.accounts:,} accounts in {result.seconds:.1f} s"
    )
    click.echo("logins:")
    for s in result.staff:
        click.echo(f"  {s.login:<10} {s.role:<9} tier {s.tier}  {s.name}")
    click.echo("demo callers with a support PIN (every other contact has none):")
    for account, name, address, pin in pins:
        click.echo(f"  account {account:<24} {name:<24} {address:<36} PIN {pin}")
    import shlex

    where = f" --db {shlex.quote(path)}"
    click.echo(f"open it as a phone agent: supportdesk{where} --as {result.agent_login}")
    click.echo(f"open it as an engineer:   supportdesk{where} --as {result.engineer_login}")
    if not no_open:
        _open_console(Desk(_store_from(path), result.lead_login, env.clock(), key))


# -- tickets -------------------------------------------------------------------------------
@cli.group()
def ticket() -> None:
    """Create, read and work tickets."""


def _ticket_text(t: Any) -> str:
    lines = [
        f"#{t.id}  {_t(t.subject)}",
        f"  status {t.status}   priority {t.priority}   category {t.category}   "
        f"channel {t.channel}   tier {t.tier}   holder {_t(t.holder or '-')}",
        f"  account {_t(t.account)} ({_t(t.company)})   contact {_t(t.contact or '-')}"
        + (f"   service {_t(t.service_label)}" if t.service_label else ""),
        f"  created {t.created_at.isoformat()}   first response "
        f"{t.first_response_at.isoformat() if t.first_response_at else '-'}"
        + (
            f"   resolved {t.resolved_at.isoformat()} ({t.resolution_code})"
            if t.resolved_at
            else ""
        ),
    ]
    if t.merged_into:
        lines.append(f"  merged into #{t.merged_into}")
    if t.description:
        lines += ["", *("  " + x for x in _lines(t.description))]
    lines.append("")
    for e in t.events:
        who = "customer" if e.from_customer else _t(e.author or "-")
        what = e.kind + (f" ({e.call_outcome})" if e.call_outcome else "")
        if e.old_value or e.new_value:
            what += f" {_t(e.old_value or '-')} -> {_t(e.new_value or '-')}"
        if e.kind == "note":
            what += " [internal]"
        lines.append(f"  {e.at.isoformat(timespec='seconds')}  {who:<10} {what}")
        if e.body:
            lines += ["      " + x for x in _lines(e.body)]
    return "\n".join(lines)


@ticket.command("new")
@click.option("--account", required=True)
@click.option("--subject", required=True)
@click.option("--priority", required=True, type=_choice(Priority))
@click.option("--category", required=True, type=_choice(Category))
@click.option("--channel", required=True, type=_choice(Channel))
@click.option("--contact", "contact_email", help="E-mail of the account's contact.")
@click.option("--service", "service_id", type=SERVICE_ID)
@click.option("--description", default="")
@click.option("--request-type", default="technical", show_default=True)
@click.option(
    "--during-verified-call",
    is_flag=True,
    help="Opened while on the phone with a verified caller: counts as the first response.",
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
    from supportdesk.rules import limits
    from supportdesk.services import tickets

    limits.check(kw["subject"], limits.SUBJECT, what="--subject")
    limits.check(kw["description"], limits.DESCRIPTION, what="--description")
    desk = env.desk()
    if sender is not None:
        from supportdesk.services.intake import mail

        limits.check(sender, limits.EMAIL, what="--from")

        if kw["channel"] != "email":
            raise UsageError("--from is for e-mail: use it with --channel email")
        result = mail.ingest_message(
            desk, mail.Message(sender, kw["subject"], kw["description"], None)
        )
        emit(result, as_json, f"ticket #{result.ticket_id} {result.action} ({_t(result.account)})")
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
    from supportdesk.services import tickets

    tickets.confirm(env.desk(), ticket_id, verification_id)
    _after(env, ticket_id, as_json, f"ticket #{ticket_id} confirmed and open")


@ticket.command("show")
@click.argument("ticket_id", type=TICKET_ID)
@json_option
@pass_env
def ticket_show(env: Env, ticket_id: int, as_json: bool) -> None:
    """Show a ticket with its thread."""
    from supportdesk.services import tickets

    t = tickets.show(env.desk(), ticket_id)
    emit(t, as_json, lambda: _ticket_text(t))


@ticket.command("brief")
@click.argument("ticket_id", type=TICKET_ID)
@json_option
@pass_env
def ticket_brief(env: Env, ticket_id: int, as_json: bool) -> None:
    """What the next person needs: services, servers, what was tried, who may authorize,
    the account's notes, other open tickets on the same server."""
    from supportdesk.services import escalation

    b = escalation.brief(env.desk(), ticket_id)

    def text() -> str:
        out = [
            f"#{b.ticket_id}  {_t(b.account)} ({_t(b.company)})",
            f"reported {b.reported_at.isoformat()}:",
        ]
        out += [f"  {line}" for line in _lines(b.reported or "-")[:20]]
        out.append("services:")
        out += [
            f"  {_t(sv.kind):<15} {_t(sv.label)[:30]:<30} {_t(' '.join(sv.domains))[:40]:<40} "
            f"{_t(sv.server or '-')}"
            for sv in b.services
        ] or ["  none"]
        out.append("escalations:")
        for e in b.escalations:
            claimed = (
                f", claimed by {_t(e.claimed_by)} {e.claimed_at.isoformat()}"
                if e.claimed_at
                else ""
            )
            move = (
                "to a supervisor" if e.kind == "supervisor" else f"tier {e.from_tier} → {e.to_tier}"
            )
            out.append(f"  {e.at.isoformat()} {move} by {_t(e.by or '-')}{claimed}")
            out.append(f"    reason: {_t(e.reason)}")
            if e.tried:
                out.append(f"    tried: {_t(e.tried)}")
        if not b.escalations:
            out.append("  none")
        out.append("may authorize changes:")
        out += [f"  {_t(a.name)} ({_t(a.role)}; {_t(a.scope)})" for a in b.authorizers] or [
            "  nobody listed"
        ]
        out.append(f"account notes: {_t(b.account_notes or '-')}")
        out.append("other open tickets on the same server:")
        out += [
            f"  #{n.ticket_id} {_t(n.server)} {n.priority} {n.status} {_t(n.account)}: "
            f"{_t(n.subject)[:50]}"
            for n in b.same_server
        ] or ["  none"]
        if b.watchers:
            out.append("watching: " + _t(", ".join(b.watchers)))
        return "\n".join(out)

    emit(b, as_json, text)


def _after(env: Env, ticket_id: int, as_json: bool, message: str) -> None:
    from supportdesk.services import tickets

    emit(tickets.show(env.desk(), ticket_id) if as_json else None, as_json, message)


@ticket.command("update")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--priority", type=_choice(Priority))
@click.option("--status", type=_choice(Status))
@click.option(
    "--code", type=_choice(ResolutionCode), help="Resolution code when resolving or closing."
)
@json_option
@pass_env
def ticket_update(
    env: Env,
    ticket_id: int,
    priority: str | None,
    status: str | None,
    code: str | None,
    as_json: bool,
) -> None:
    """Change a ticket's priority or status."""
    from supportdesk.services import tickets

    tickets.update_fields(env.desk(), ticket_id, priority=priority, status=status, code=code)
    _after(env, ticket_id, as_json, f"ticket #{ticket_id} updated")


@ticket.command("reply")
@click.argument("ticket_id", type=TICKET_ID)
@click.argument("text", required=False)
@json_option
@pass_env
def ticket_reply(env: Env, ticket_id: int, text: str | None, as_json: bool) -> None:
    """Reply to the customer (TEXT, or standard input)."""
    from supportdesk.services import tickets

    tickets.reply(env.desk(), ticket_id, _body(text))
    _after(env, ticket_id, as_json, f"replied on #{ticket_id}")


@ticket.command("call")
@click.argument("ticket_id", type=TICKET_ID)
@click.argument("text", required=False, default="")
@click.option("--outcome", required=True, type=_choice(CallOutcome))
@json_option
@pass_env
def ticket_call(env: Env, ticket_id: int, text: str, outcome: str, as_json: bool) -> None:
    """Log a call and its outcome."""
    from supportdesk.services import tickets

    tickets.log_call(env.desk(), ticket_id, outcome, text)
    _after(env, ticket_id, as_json, f"call logged on #{ticket_id} ({outcome})")


@ticket.command("note")
@click.argument("ticket_id", type=TICKET_ID)
@click.argument("text", required=False)
@json_option
@pass_env
def ticket_note(env: Env, ticket_id: int, text: str | None, as_json: bool) -> None:
    """Add an internal note (TEXT, or standard input)."""
    from supportdesk.services import tickets

    tickets.note(env.desk(), ticket_id, _body(text))
    _after(env, ticket_id, as_json, f"note added to #{ticket_id}")


@ticket.command("take")
@click.argument("ticket_id", type=TICKET_ID)
@json_option
@pass_env
def ticket_take(env: Env, ticket_id: int, as_json: bool) -> None:
    """Claim a ticket at or below your tier (exit 3 if someone else holds it)."""
    from supportdesk.services import escalation  # the claim path imports no SQLAlchemy

    escalation.take(env.desk(), ticket_id)
    if as_json:
        _after(env, ticket_id, as_json, f"you hold #{ticket_id}")
    else:
        say(f"you hold #{ticket_id}")


@ticket.command("resolve")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--code", required=True, type=_choice(ResolutionCode))
@json_option
@pass_env
def ticket_resolve(env: Env, ticket_id: int, code: str, as_json: bool) -> None:
    """Resolve a ticket with a resolution code."""
    from supportdesk.services import tickets

    tickets.resolve(env.desk(), ticket_id, code)
    _after(env, ticket_id, as_json, f"ticket #{ticket_id} resolved ({code})")


@ticket.command("merge")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--into", "into", required=True, type=TICKET_ID)
@json_option
@pass_env
def ticket_merge(env: Env, ticket_id: int, into: int, as_json: bool) -> None:
    """Merge a duplicate into another ticket: its thread moves, it closes as duplicate."""
    from supportdesk.services import tickets

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
    from supportdesk.services import tickets

    _redacted(tickets.redact(env.desk(), event_id, reason), as_json)


@ticket.command("redact-subject")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--reason", required=True)
@json_option
@pass_env
def ticket_redact_subject(env: Env, ticket_id: int, reason: str, as_json: bool) -> None:
    """Redact a secret from a ticket's subject (and the merge entry that quoted it), with
    its nonce (leads only; audited)."""
    from supportdesk.services import tickets

    _redacted(tickets.redact_ticket_text(env.desk(), ticket_id, "subject", reason), as_json)


@ticket.command("redact-description")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--reason", required=True)
@json_option
@pass_env
def ticket_redact_description(env: Env, ticket_id: int, reason: str, as_json: bool) -> None:
    """Redact a secret from a ticket's description (an e-mail ticket's first message), with
    its nonce (leads only; audited)."""
    from supportdesk.services import tickets

    _redacted(tickets.redact_ticket_text(env.desk(), ticket_id, "description", reason), as_json)


# -- queue ---------------------------------------------------------------------------------
def _age(then: datetime, now: datetime) -> str:
    secs = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


@cli.command()
@click.option(
    "--view",
    type=click.Choice(["queue", "held", "waiting", "scheduled"]),
    default="queue",
    show_default=True,
)
@click.option("--tier", type=click.IntRange(1, 3))
@click.option("--category", type=_choice(Category))
@click.option("--mine", is_flag=True)
@click.option("--unclaimed", is_flag=True)
@click.option("--search")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--sort",
    type=click.Choice(["priority", "due"]),
    default="priority",
    show_default=True,
    help="due: breaches first (earliest running due time).",
)
@json_option
@pass_env
def queue(
    env: Env,
    view: str,
    tier: int | None,
    category: str | None,
    mine: bool,
    unclaimed: bool,
    search: str | None,
    limit: int,
    sort: str,
    as_json: bool,
) -> None:
    """Print the queue in exactly the console's order."""
    from supportdesk.core import queue as q
    from supportdesk.enums import View
    from supportdesk.services import sla as sla_service

    desk = env.desk()
    filt = q.QueueFilter(View(view), tier, category, mine, unclaimed, search, sort)
    page = q.page(desk, filt, limit=limit)
    if as_json:
        emit(list(page.rows), True)
        return
    now = desk.now()
    if not page.rows:
        say(f"nothing in {_t(filt.describe())}")
        return
    policy = sla_service.current_policy(desk)
    for r in page.rows:
        due = sla_service.next_due_text(r.clocks, policy.plan_for(r.sla_plan), now)
        say(
            f"#{r.id:<8} {r.priority[:4]:<4} {_age(r.created_at, now):>4} {due:>10} "
            f"{_t(r.account)[:16]:<16} t{r.tier} {_t(r.holder or '-')[:10]:<10} {r.channel:<6} "
            f"{_t(r.subject)[:60]}"
        )


# -- tier escalation ---------------------------------------------------------------------
@cli.command()
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
    from supportdesk.services import escalation

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


@cli.command()
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--reason", required=True, help="Why it goes back (required).")
@json_option
@pass_env
def deescalate(env: Env, ticket_id: int, reason: str, as_json: bool) -> None:
    """Hand a ticket back down to the tier and person that escalated it."""
    from supportdesk.services import escalation

    r = escalation.deescalate(env.desk(), ticket_id, reason=reason)
    emit(
        r,
        as_json,
        f"#{r.ticket_id} back at tier {r.to_tier}"
        + (f", held by {r.holder}" if r.holder else ", unclaimed"),
    )


@cli.command()
@click.option("--next", "next_", is_flag=True, help="Take the top of the board.")
@click.option("--tier", type=TIER, help="Whose board (default: your tier).")
@json_option
@pass_env
def claim(env: Env, next_: bool, tier: int | None, as_json: bool) -> None:
    """Claim the top of a tier's board: priority, then time of escalation (exit 4 when
    nothing is left). A chosen ticket is claimed with `supportdesk ticket take ID`."""
    from supportdesk.services import escalation

    if not next_:
        raise UsageError("use `claim --next`, or `ticket take ID` to claim a chosen ticket")
    r = escalation.claim_next(env.desk(), tier)
    emit(r, as_json, f"you hold #{r.ticket_id} (tier {r.tier})")


@cli.command()
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--reason", required=True, help="Why you put it back (required).")
@json_option
@pass_env
def release(env: Env, ticket_id: int, reason: str, as_json: bool) -> None:
    """Put a ticket you hold back on its board."""
    from supportdesk.services import escalation

    escalation.release(env.desk(), ticket_id, reason=reason)
    emit({"ticket_id": ticket_id, "holder": None}, as_json, f"#{ticket_id} released")


@cli.command()
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--to", "to_login", required=True, help="Staff login (your own: take over).")
@json_option
@pass_env
def reassign(env: Env, ticket_id: int, to_login: str, as_json: bool) -> None:
    """Give a ticket to someone, or take it over (leads; the previous holder is told)."""
    from supportdesk.services import escalation

    r = escalation.reassign(env.desk(), ticket_id, to_login)
    emit(
        r,
        as_json,
        f"#{r.ticket_id} now held by {r.holder}"
        + (f" (was {r.previous_holder})" if r.previous_holder else ""),
    )


@cli.command("end-shift")
@click.option("--note", required=True, help="Handover note left on every ticket released.")
@json_option
@pass_env
def end_shift(env: Env, note: str, as_json: bool) -> None:
    """Release every ticket you hold, each with the handover note."""
    from supportdesk.services import escalation

    ids = escalation.end_shift(env.desk(), note)
    emit(
        {"released": ids},
        as_json,
        f"released {len(ids)} ticket{'s' if len(ids) != 1 else ''}: "
        + ", ".join(f"#{i}" for i in ids),
    )


def _board_text(b: Any, desk: Desk) -> str:
    from supportdesk.services import sla as sla_service

    now = b.at
    policy = sla_service.current_policy(desk)
    oldest = _age(b.oldest_wait_since, now) if b.oldest_wait_since else "-"
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
            touched = _age(row.touched_at, now) if row.touched_at else "never"
            who = f"{_t(r.holder or '-')[:10]:<10} touched {touched:>4} ago"
            who += " STALE" if row.stale else ""
        else:
            who = f"waited {_age(row.escalated_at or row.tier_since or r.created_at, now):>4}"
            who += f" by {_t(row.escalated_by or '-')}"
        flag = " ⚑" if row.flagged else ""
        lines.append(
            f"#{r.id:<8} {r.priority[:4]:<4} {due:>10} {r.status[:8]:<8} {who}{flag}  "
            f"{_t(r.subject)[:50]}"
            + (f"\n{'':10}reason: {_t(row.reason)[:100]}" if row.reason else "")
        )
    if not b.rows:
        lines.append("nothing on this board")
    return "\n".join(lines)


@cli.command()
@click.option("--tier", type=TIER, help="Which board (default: your tier).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@json_option
@pass_env
def board(env: Env, tier: int | None, limit: int, as_json: bool) -> None:
    """A tier's escalation board: your claims, then unclaimed by priority and time of
    escalation, then those waiting on something (and, for leads, others' claims)."""
    from supportdesk.services import escalation

    desk = env.desk()
    b = escalation.board(desk, escalation.default_tier(desk) if tier is None else tier,
                         limit=limit)  # fmt: skip
    emit(b, as_json, lambda: _board_text(b, desk))


@cli.command()
@click.option("--stale", is_flag=True, help="Only claims untouched past the policy's limit.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@json_option
@pass_env
def claims(env: Env, stale: bool, limit: int, as_json: bool) -> None:
    """Who holds what, least recently touched first."""
    from supportdesk.services import escalation

    desk = env.desk()
    rows = escalation.claims(desk, stale_only=stale, limit=limit)
    now = desk.now()

    def text() -> str:
        if not rows:
            return "no stale claims" if stale else "nobody holds a ticket"
        return "\n".join(
            f"#{c.ticket_id:<8} {_t(c.holder):<10} t{c.tier} {c.priority[:4]:<4} touched "
            f"{_age(c.touched_at, now) + ' ago' if c.touched_at else 'never':>8}"
            f"{' STALE' if c.stale else '':6} {_t(c.subject)[:60]}"
            for c in rows
        )

    emit(rows, as_json, text)


@cli.group()
def complaint() -> None:
    """Complaints escalated to a supervisor."""


@complaint.command("ack")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--note", required=True, help="What the lead did about it.")
@pass_env
def complaint_ack(env: Env, ticket_id: int, note: str) -> None:
    """Acknowledge a flagged complaint (leads): the flag clears, the note stays."""
    from supportdesk.services import escalation

    escalation.acknowledge_complaint(env.desk(), ticket_id, note=note)
    click.echo(f"complaint on #{ticket_id} acknowledged")


@cli.group()
def report() -> None:
    """Figures for the leads."""


def _window(start: str | None, end: str | None, desk: Desk) -> tuple[datetime, datetime]:
    from datetime import timedelta

    from supportdesk.core.clock import parse_time

    stop = parse_time(end, what="--to") if end else desk.now()
    begin = parse_time(start, what="--from") if start else stop - timedelta(days=30)
    return begin, stop


@report.command("escalations")
@click.option("--from", "start", help="Start (ISO 8601; default: 30 days before --to).")
@click.option("--to", "end", help="End (ISO 8601; default: now).")
@json_option
@pass_env
def report_escalations(env: Env, start: str | None, end: str | None, as_json: bool) -> None:
    """Tier-1 resolution share, escalations per tier, time from escalation to claim."""
    from supportdesk.rules.sla_engine import format_span
    from supportdesk.services import escalation

    desk = env.desk()
    begin, stop = _window(start, end, desk)
    f = escalation.figures(desk, begin, stop)

    def span(value: int | None) -> str:
        return "-" if value is None else format_span(value)

    def text() -> str:
        share = "-" if f.tier1_share is None else f"{f.tier1_share * 100:.1f} %"
        per_tier = _t(", ".join(f"tier {k}: {v}" for k, v in f.escalations_by_tier.items()))
        return "\n".join(
            [
                f"{f.start.isoformat()} to {f.end.isoformat()}",
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
@click.option("--from", "start", help="Start (ISO 8601; default: 30 days before --to).")
@click.option("--to", "end", help="End (ISO 8601; default: now).")
@click.option("--by", type=click.Choice(["tier", "category", "plan", "agent"]))
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one row per group).")
@json_option
@pass_env
def report_sla(
    env: Env, start: str | None, end: str | None, by: str | None, as_csv: bool, as_json: bool
) -> None:
    """SLA attainment, breaches, median first response and tier-1 share, from the outcomes
    stored when clocks stop (see `supportdesk.services.reports.report` for the definitions)."""
    from supportdesk.rules.sla_engine import format_span
    from supportdesk.services.reports import report as report_service

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
            f"{_t(g.key)[:14]:<14} respond {pct(g.respond_attainment):>7} "
            f"({g.respond_met} met, {g.respond_breached} breached)  resolve "
            f"{pct(g.resolve_attainment):>7} ({g.resolve_met} met, {g.resolve_breached} "
            f"breached)  median first response "
            f"{'-' if median is None else format_span(median)}  tier-1 share "
            f"{pct(g.tier1_share)} of {g.resolved}"
        )

    def text() -> str:
        out = [f"{r.start.isoformat()} to {r.end.isoformat()}", line(r.total)]
        out += [line(g) for g in r.groups]
        cats = _t(", ".join(f"{k} {v}" for k, v in r.breaches_by_category.items())) or "none"
        out.append(f"breaches by category: {cats}")
        claim = r.escalation_to_claim
        median = claim["median_seconds"]
        out.append(
            f"escalation to claim: median {'-' if median is None else format_span(median)} "
            f"over {claim['claimed']} claims"
        )
        return "\n".join(out)

    emit(r, as_json, text)


@cli.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--redact", is_flag=True, help="Hide subjects and customer names.")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the access token from this file (mode 0600) instead of generating one.",
)
@click.option(
    "--max-boards",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Boards (browser tabs, each a process) open at once.",
)
@pass_env
def serve(
    env: Env, port: int, host: str, redact: bool, token_file: Path | None, max_boards: int
) -> None:
    """The SLA board alone, read-only, in a web browser (a wall display), via textual-serve.
    Each browser gets its own board process; nothing on it changes data. Every visit needs
    the token (printed once at start, or kept in --token-file), exchanged on the first
    visit for a session cookie."""
    import os
    import shlex

    from supportdesk.core import permissions
    from supportdesk.serve import serve_board

    desk = env.desk()
    permissions.require(desk.actor, "ticket.override_holder")  # the board is for leads
    # the board processes inherit the database and login through the environment, so a
    # database URL with a password never shows in a process list; the token is never
    # passed to them at all
    os.environ["SUPPORTDESK_DB"] = env.db or desk.store.display_name()
    os.environ["SUPPORTDESK_AGENT"] = desk.login
    if env.at:
        os.environ["SUPPORTDESK_NOW"] = env.at
    if env.key:
        os.environ["SUPPORTDESK_AUDIT_KEY"] = env.key
    command = [sys.executable, "-m", "supportdesk", "wall"] + (["--redact"] if redact else [])
    serve_board(
        shlex.join(command),
        host=host,
        port=port,
        token_file=token_file,
        max_boards=max_boards,
        title="supportdesk SLA board",
        echo=say,
        what=f"the SLA board{' (redacted)' if redact else ''}",
    )


@cli.command(hidden=True)
@click.option("--redact", is_flag=True)
@pass_env
def wall(env: Env, redact: bool) -> None:
    """The read-only board `serve` runs for each browser."""
    from supportdesk.console.wall import run_wall

    run_wall(env.desk(), redact=redact)


# -- staff, accounts, services, contacts --------------------------------------------------
@cli.group()
def staff() -> None:
    """The desk's staff (leads manage them)."""


@staff.command("add")
@click.argument("login")
@click.option("--name", required=True)
@click.option("--tier", required=True, type=TIER)
@click.option("--role", required=True, type=_choice(Role))
@json_option
@pass_env
def staff_add(env: Env, login: str, name: str, tier: int, role: str, as_json: bool) -> None:
    """Add a staff member."""
    from supportdesk.services import directory

    s = directory.add_staff(env.desk(), login, name, tier, role)
    emit(s, as_json, f"staff {_t(s.login)} added ({s.role}, tier {s.tier})")


@staff.command("list")
@json_option
@pass_env
def staff_list(env: Env, as_json: bool) -> None:
    """List staff."""
    from supportdesk.services import directory

    rows = directory.list_staff(env.desk())
    emit(
        rows,
        as_json,
        lambda: "\n".join(
            f"{_t(s.login):<12} {s.role:<9} tier {s.tier}  {_t(s.name)}"
            + ("" if s.active else "  (inactive)")
            for s in rows
        ),
    )


@cli.group()
def account() -> None:
    """Customer accounts."""


@account.command("add")
@click.argument("account_id")
@click.option("--company", required=True)
@click.option("--plan", required=True)
@click.option("--notes", default="")
@json_option
@pass_env
def account_add(
    env: Env, account_id: str, company: str, plan: str, notes: str, as_json: bool
) -> None:
    """Add an account."""
    from supportdesk.services import directory

    a = directory.add_account(env.desk(), account_id, company, plan, notes)
    emit(a, as_json, f"account {_t(a.id)} added")


@account.command("list")
@click.option("--search")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_env
def account_list(env: Env, search: str | None, limit: int, as_json: bool) -> None:
    """List accounts (optionally matching TEXT in id or company)."""
    from supportdesk.services import directory

    rows = directory.list_accounts(env.desk(), search, limit)
    emit(
        rows,
        as_json,
        lambda: (
            "\n".join(
                f"{_t(a.id):<24} {_t(a.plan):<14} {a.status:<10} {_t(a.company)}" for a in rows
            )
            or "no accounts"
        ),
    )


@account.command("show")
@click.argument("account_id")
@json_option
@pass_env
def account_show(env: Env, account_id: str, as_json: bool) -> None:
    """Show an account with its contacts and services."""
    from supportdesk.services import directory

    a = directory.show_account(env.desk(), account_id)

    def text() -> str:
        out = [
            f"{_t(a.id)}  {_t(a.company)}",
            f"  plan {_t(a.plan)}   status {a.status}"
            + (f" ({_t(a.suspended_reason)})" if a.suspended_reason else "")
            + f"   open tickets {a.open_tickets}",
        ]
        if a.reseller:
            out.append(f"  end customer of reseller {_t(a.reseller)}")
        if a.notes:
            out.append(f"  notes: {_t(a.notes)}")
        out.append("  contacts:")
        out += [
            f"    {c.id:<6} {c.role:<11} {_t(c.name)}  {_t(' '.join(c.emails))}  "
            f"{_t(' '.join(c.phones))}"
            for c in a.contacts
        ]
        out.append("  services:")
        out += [
            f"    {s.id:<6} {s.kind:<15} {_t(s.label)}  {_t(' '.join(s.domains))}  "
            f"{_t(s.server or '')}"
            for s in a.services
        ]
        return "\n".join(out)

    emit(a, as_json, text)


@account.command("plan")
@click.argument("account_id")
@click.argument("plan")
@pass_env
def account_plan(env: Env, account_id: str, plan: str) -> None:
    """Move an account to another SLA plan (recomputes its open tickets' clocks)."""
    from supportdesk.services import directory

    changed = directory.set_plan(env.desk(), account_id, plan)
    say(f"account {_t(account_id)} on plan {_t(plan)}: {changed} open tickets recomputed")


@cli.group()
def service() -> None:
    """An account's services."""


@service.command("add")
@click.option("--account", "account_id", required=True)
@click.option("--kind", required=True, type=_choice(ServiceKind))
@click.option("--label", default="")
@click.option("--domain", "domains", multiple=True)
@click.option("--server")
@json_option
@pass_env
def service_add(
    env: Env,
    account_id: str,
    kind: str,
    label: str,
    domains: tuple[str, ...],
    server: str | None,
    as_json: bool,
) -> None:
    """Add a service to an account."""
    from supportdesk.services import directory

    s = directory.add_service(env.desk(), account_id, kind, label, list(domains), server)
    emit(s, as_json, f"service {s.id} added to {_t(account_id)}")


@cli.group()
def contact() -> None:
    """An account's contacts."""


@contact.command("add")
@click.option("--account", "account_id", required=True)
@click.option("--name", required=True)
@click.option("--email", "emails", multiple=True)
@click.option("--phone", "phones", multiple=True)
@click.option("--role", required=True, type=_choice(ContactRole))
@click.option(
    "--service", "services", multiple=True, type=SERVICE_ID, help="Limit to this service."
)
@click.option("--allow", "requests", multiple=True, help="Sub-account: a request type allowed.")
@click.option(
    "--verification",
    "verification_id",
    type=VERIFICATION_ID,
    help="The primary or secondary contact's verification on this call (non-leads).",
)
@json_option
@pass_env
def contact_add(
    env: Env,
    account_id: str,
    name: str,
    emails: tuple[str, ...],
    phones: tuple[str, ...],
    role: str,
    services: tuple[int, ...],
    requests: tuple[str, ...],
    verification_id: int | None,
    as_json: bool,
) -> None:
    """Add a contact to an account (a lead, or an owner's verified request)."""
    from supportdesk.services import directory

    c = directory.add_contact(
        env.desk(),
        account_id,
        name,
        list(emails),
        list(phones),
        role,
        services=list(services),
        requests=list(requests),
        verification_id=verification_id,
    )
    emit(c, as_json, f"contact {c.id} ({c.role}) added to {_t(account_id)}")


@contact.command("pin")
@click.option("--account", "account_id", required=True)
@click.option("--contact", "contact_ref", required=True, help="E-mail, phone, id or name.")
@click.option("--rotate", is_flag=True, help="Replace an existing PIN.")
@json_option
@pass_env
def contact_pin(env: Env, account_id: str, contact_ref: str, rotate: bool, as_json: bool) -> None:
    """Generate a contact's support PIN; it is printed this once and never again."""
    from supportdesk.services.callers import verification

    r = verification.set_pin(env.desk(), account_id, contact_ref, rotate=rotate)
    emit(r, as_json, f"PIN for {_t(r.contact)}: {r.pin}   (shown once; tell the contact now)")


@contact.command("unlock")
@click.option("--account", "account_id", required=True)
@click.option("--contact", "contact_ref", required=True, help="E-mail, phone, id or name.")
@pass_env
def contact_unlock(env: Env, account_id: str, contact_ref: str) -> None:
    """Lift a PIN lockout (leads), after showing the recent attempts."""
    from supportdesk.services.callers import verification

    recent = verification.unlock(env.desk(), account_id, contact_ref)
    for a in recent:
        say(
            f"  {a.at.isoformat(timespec='seconds')}  {_t(a.agent or '-'):<10} {a.channel:<6} "
            f"{a.method:<9} {a.result}"
        )
    say(f"{_t(contact_ref)} unlocked")


def _read_pin() -> str:
    """The PIN from a hidden prompt on a terminal, else the first line of stdin (never argv)."""
    if sys.stdin is not None and sys.stdin.isatty():
        return str(click.prompt("PIN", hide_input=True, default="", show_default=False))
    if sys.stdin is None:
        raise UsageError("no PIN: type it at the prompt or give it on standard input")
    return _stdin_text("PIN", MAX_PIN_LINE, line=True).rstrip("\r\n")


@cli.command("verify")
@click.option("--account", "account_id", required=True)
@click.option("--contact", "contact_ref", help="E-mail, phone, id or name (omit: not listed).")
@click.option("--channel", type=click.Choice(["phone", "chat"]), default="phone")
@click.option("--request", "request_type", help="What the caller asks for (e.g. password_reset).")
@click.option("--service", "service_id", type=SERVICE_ID, help="The service the request is about.")
@click.option("--callback", "callback_number", help="Number you called back (phone, no PIN).")
@json_option
@pass_env
def verify_cmd(
    env: Env,
    account_id: str,
    contact_ref: str | None,
    channel: str,
    request_type: str | None,
    service_id: int | None,
    callback_number: str | None,
    as_json: bool,
) -> None:
    """Verify a caller: the PIN is read from a prompt or standard input, never from argv."""
    from supportdesk.services.callers import verification

    desk = env.desk()
    pin = None
    if contact_ref is not None and callback_number is None:
        pin = _read_pin()
    v = verification.verify(
        desk,
        account_id,
        contact_ref,
        channel,
        pin=pin,
        callback_number=callback_number,
        request=request_type,
        service=service_id,
    )

    def text() -> str:
        lines = [f"{v.state.upper()}: {_t(v.message)}"]
        if v.verified:
            lines.append(f"  may:     {', '.join(v.may) or '-'}")
            lines.append(f"  may not: {', '.join(v.may_not) or '-'}")
            if v.who_can:
                lines.append(f"  who can: {_t(', '.join(v.who_can))}")
        for a in v.recent:
            lines.append(
                f"  {a.at.isoformat(timespec='seconds')}  {_t(a.agent or '-'):<10} {a.channel:<6}"
                f" {a.method:<9} {a.result}"
            )
        return "\n".join(lines)

    emit(v, as_json, text)
    if v.state in (verification.FAILED, verification.LOCKED):
        sys.exit(EXIT_ERROR)


@cli.group()
def mail() -> None:
    """E-mail into tickets."""


EX_TEMPFAIL = 75  # sysexits.h: the mail server keeps the message and tries again later


def _ingest_text(r: Any) -> str:
    from supportdesk.safe_text import clean

    if r.action == "quarantined":
        line = f"quarantined as Q{r.quarantine_id}: {clean(r.reason)}"
    elif r.action == "duplicate":
        line = f"{clean(r.reason)} (repeated Message-ID): nothing done"
    else:
        line = f"ticket #{r.ticket_id} {r.action} ({clean(r.account)}, from {clean(r.sender)})"
    if r.action == "reply_held":
        line += ": confirmation by e-mail not accepted, the ticket stays held"
    return "\n".join([line, *(f"  note: {clean(n)}" for n in r.notes)])


@mail.command("ingest")
@click.option(
    "--sender",
    "envelope_sender",
    help="The envelope sender as the mail server passes it (Postfix pipe: ${sender}); "
    "default: the Return-Path header. Empty or <> marks a bounce.",
)
@json_option
@pass_env
def mail_ingest(env: Env, envelope_sender: str | None, as_json: bool) -> None:
    """Read one RFC 822 message on stdin (a mail server's pipe) and file it: on the ticket
    its subject's [#N] names, as a new ticket, or in the quarantine (leads: `mail
    quarantine`).

    \b
    Exit codes, as a mail server's delivery agent:
      0   the message is filed: on a ticket, as a new ticket (also one closed or held
          for an unlisted sender), in the quarantine (malformed, over 10 MB, body
          over the desk's limit, automatic mail with no open ticket), or it was filed
          before (a repeated Message-ID)
      75  EX_TEMPFAIL: the database cannot be written now (locked past the busy
          timeout, PostgreSQL down, disk full, read-only) or the desk is not set up
          for it (unknown --as login, no audit key): the mail server keeps the
          message and retries
    No other exit once the command line is read: mail is never bounced, so no
    backscatter goes to a forged sender. (2: the command line itself is wrong.)
    """
    from supportdesk.services.intake import mail as mail_service
    from supportdesk.services.intake import mail_parse

    stdin = sys.stdin.buffer if sys.stdin is not None else None
    received = mail_parse.read_limited(stdin)
    try:
        r = mail_service.ingest(
            env.desk(), received.data, size=received.size, envelope_sender=envelope_sender
        )
    except DeskError as exc:
        fail(f"mail not filed, try again later: {exc}", EX_TEMPFAIL)
    except Exception as exc:  # anything else must not bounce the mail either
        from supportdesk.store import describe_error

        what = (
            describe_error(exc)
            if type(exc).__module__.startswith(("sqlalchemy", "sqlite3", "psycopg"))
            else type(exc).__name__
        )
        fail(f"mail not filed, try again later: {what}", EX_TEMPFAIL)
    emit(r, as_json, lambda: _ingest_text(r))


@mail.command("unlisted")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_env
def mail_unlisted(env: Env, limit: int, as_json: bool) -> None:
    """Mail from addresses no account lists: closed unanswered or held (leads)."""
    from supportdesk.safe_text import clean
    from supportdesk.services.intake import mail as mail_service

    rows = mail_service.unlisted(env.desk(), limit)
    emit(
        rows,
        as_json,
        lambda: (
            "\n".join(
                f"#{r.ticket_id:<8} {r.status:<22} {clean(r.account):<16} "
                f"{clean(r.sender):<32} {clean(r.subject[:50])}"
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
    from supportdesk.safe_text import clean
    from supportdesk.services.intake import mail as mail_service

    rows = mail_service.held(env.desk(), limit)
    emit(
        rows,
        as_json,
        lambda: (
            "\n".join(
                f"#{r.ticket_id:<8} {r.at.isoformat(timespec='seconds')} {clean(r.account):<16} "
                f"{clean(r.subject[:40]):<40} {clean(r.note[:120])}"
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
    from supportdesk.safe_text import clean
    from supportdesk.services.intake import mail_quarantine as q

    rows = q.list_quarantine(env.desk(), limit)
    emit(
        rows,
        as_json,
        lambda: (
            "\n".join(
                f"Q{r.id:<6} {r.received_at.isoformat(timespec='seconds')} {r.size:>11,} B  "
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
    from supportdesk.safe_text import clean
    from supportdesk.services.intake import mail_quarantine as q

    v = q.show(env.desk(), qid)

    def text() -> str:
        i = v.item
        out = [
            f"Q{i.id}  received {i.received_at.isoformat(timespec='seconds')}  "
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
    from supportdesk.services.intake import mail_quarantine as q

    r = q.release(env.desk(), qid)
    emit(r, as_json, lambda: _ingest_text(r))


@mail_quarantine.command("delete")
@click.argument("qid", metavar="ID", type=click.IntRange(1, 2**31 - 1))
@pass_env
def quarantine_delete(env: Env, qid: int) -> None:
    """Delete a quarantined message (its digest stays in the audit)."""
    from supportdesk.services.intake import mail_quarantine as q

    q.delete(env.desk(), qid)
    click.echo(f"Q{qid} deleted")


# -- audit ---------------------------------------------------------------------------------
@cli.group()
def audit() -> None:
    """The append-only audit trail."""


@audit.command("verify")
@click.option("--anchor", help="SEQ:HASH printed by an earlier verify; catches a cut tail.")
@json_option
@pass_env
def audit_verify(env: Env, anchor: str | None, as_json: bool) -> None:
    """Check the HMAC chain; name the first bad row."""
    from supportdesk.core import audit as audit_service

    desk = env.desk()
    with desk.store.read() as s:
        result = audit_service.verify(s, desk.audit_key, anchor)
    if as_json:
        emit(
            {
                "ok": result.ok,
                "rows": result.rows,
                "bad_row": result.bad_seq,
                "reason": result.reason,
                "anchor": result.anchor,
            },
            True,
        )
    elif result.ok:
        say(f"audit chain intact: {result.rows} rows")
        say(f"anchor: {_t(result.anchor)}")
    if not result.ok:
        if not as_json:
            click.echo(
                f"supportdesk: audit chain broken at row {result.bad_seq}: {_t(result.reason)}",
                err=True,
            )
        sys.exit(EXIT_ERROR)


@cli.command()
@json_option
@pass_env
def doctor(env: Env, as_json: bool) -> None:
    """Who can read the desk's files (database, -wal, -shm, audit key, their folders) and
    whether the schema is current; exit 1 when something is open to others or wrong."""
    from supportdesk.core.audit_key import key_path_for
    from supportdesk.safe_text import clean
    from supportdesk.services.admin.doctor import examine

    store = _store_from(env.db)
    try:
        report = examine(store, key_path_for(store.display_name(), env.key))
    finally:
        store.dispose()

    def text() -> str:
        schema = report.schema or "none"
        current = " (current)" if report.schema == report.schema_expected else ""
        lines = [f"database {clean(report.database)} ({report.kind}), schema {schema}{current}"]
        for c in report.files:
            if not c.exists:
                lines.append(f"  {c.what:<26} {clean(c.path)}: absent")
                continue
            lines.append(
                f"  {c.what:<26} {clean(c.path)}: {c.mode} {clean(c.owner or '')}:"
                f"{clean(c.group or '')}, group {c.group_access or 'nothing'}, "
                f"others {c.others_access or 'nothing'}"
            )
        lines += [f"note: {n}" for n in report.notes]
        lines += [f"problem: {clean(p)}" for p in report.problems]
        if report.ok:
            lines.append(
                "no problems: nobody but the owner (and the group shown) can read the desk"
            )
        return "\n".join(lines)

    emit({**report.to_json(), "ok": report.ok}, as_json, text)
    if not report.ok:
        sys.exit(EXIT_ERROR)


# -- SLA policy and clocks -----------------------------------------------------------------
@cli.group()
def policy() -> None:
    """The SLA policy: calendars, plans and their targets."""


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_env
def policy_check(env: Env, file: str) -> None:
    """Validate a policy file; errors name the line and the field."""
    from supportdesk.core.policy import load_policy_file

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
    from supportdesk.core.policy import current_policy, load_preset
    from supportdesk.rules.policy_text import describe, to_json

    p = load_preset(preset) if preset else current_policy(env.desk())
    emit(to_json(p), as_json, lambda: describe(p))


@policy.command("presets")
def policy_presets() -> None:
    """List the bundled presets (one per seed policy, and the demo's)."""
    from supportdesk.core.policy import load_preset, preset_names

    for name in preset_names():
        say(f"{name:<24} {load_preset(name).name}")


def _plan_moves(values: tuple[str, ...]) -> dict[str, str]:
    """`--move-plan OLD=NEW` options as {old: new}; UsageError for a malformed one."""
    from supportdesk.safe_text import clean

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
    from supportdesk.core.policy import load_policy_file
    from supportdesk.safe_text import clean
    from supportdesk.services import sla

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


@cli.group()
def sla() -> None:
    """SLA clocks: a ticket's countdowns, and "when is this due" for disputes."""


def _sla_text(v: Any) -> str:
    from supportdesk.rules.sla_engine import format_left, format_span

    zone = v.zone
    lines = [f"#{v.ticket_id}  plan {_t(v.plan)}   calendar {_t(v.calendar)} ({_t(zone)})"]
    for c in v.clocks:
        due = c.due.astimezone(_zone(zone)).strftime("%a %Y-%m-%d %H:%M") if c.due else "-"
        live = c.state in ("running", "warning", "breached", "paused")
        left = format_left(c.remaining_s) if live and c.remaining_s is not None else "-"
        extra = f"   paused: {c.paused.replace('_', ' ')}" if c.paused else ""
        if c.closed_until:
            until = c.closed_until.astimezone(_zone(zone)).strftime("%a %H:%M")
            extra += f"   closed until {until}"
        lines.append(
            f"  {c.name:<8} target {c.target:<11} {c.state:<9} due {due:<20} left {left:<10}"
            f" elapsed {format_span(c.used_s)}   paused {format_span(c.paused_s)}{extra}"
        )
    if v.history:
        lines.append("")
        for at, who, what in v.history:
            lines.append(f"  {at.isoformat(timespec='seconds')}  {_t(who or '-'):<10} {_t(what)}")
    return "\n".join(lines)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@sla.command("show")
@click.argument("ticket_id", type=TICKET_ID)
@json_option
@pass_env
def sla_show(env: Env, ticket_id: int, as_json: bool) -> None:
    """Both clocks of a ticket: target, due, remaining, state, elapsed and paused time."""
    from supportdesk.services import sla as sla_service

    v = sla_service.show(env.desk(), ticket_id)
    emit(v, as_json, lambda: _sla_text(v))


@sla.command("due")
@click.option("--calendar", "calendar_name", required=True, help="Calendar of the policy.")
@click.option("--from", "start", required=True, help="Start time (ISO 8601).")
@click.option("--add", "duration", required=True, help="Business time: 30m, 4h, 1h30m, 2d.")
@click.option("--preset", help="Use a bundled preset instead of the policy in force.")
@json_option
@pass_env
def sla_due(
    env: Env, calendar_name: str, start: str, duration: str, preset: str | None, as_json: bool
) -> None:
    """When is something due: START plus DURATION of business time on a calendar."""
    from supportdesk.core.clock import parse_time
    from supportdesk.core.policy import load_preset
    from supportdesk.services import sla as sla_service

    moment = parse_time(start, what="--from")
    p = load_preset(preset) if preset else sla_service.current_policy(env.desk())
    result = sla_service.due(p, calendar_name, moment, duration)
    zone = p.calendars[calendar_name].zone
    local = result.astimezone(zone)
    emit(
        {"due": local.isoformat(), "due_utc": result.isoformat(), "calendar": calendar_name},
        as_json,
        f"due {local.strftime('%a %Y-%m-%d %H:%M')} {zone.key} ({result.isoformat()})",
    )


# -- incidents and maintenance ------------------------------------------------------------
@cli.group()
def incident() -> None:
    """Outages: one incident, every call linked to it, updates to customers on a clock."""


def _left(seconds: int | None) -> str:
    from supportdesk.rules.sla_engine import format_left

    if seconds is None:
        return "-"
    return f"in {format_left(seconds)}" if seconds >= 0 else f"OVERDUE {format_left(-seconds)}"


def _incident_line(i: Any, now: datetime) -> str:
    ack = f"ack {_t(i.acknowledged_by)}" if i.acknowledged_by else "NOT ACKNOWLEDGED"
    due = (
        f"next update {i.next_update_due.isoformat(timespec='minutes')} "
        f"({_left(i.update_left_s(now))})"
        if i.is_open and i.next_update_due
        else f"resolved {i.resolved_at.isoformat(timespec='minutes') if i.resolved_at else '-'}"
    )
    return (
        f"#{i.id:<4} {i.state:<13} {_t(','.join(i.servers)):<20} {_t(i.title)}\n"
        f"      owner {_t(i.owner or '-')}  {ack}  {due}  "
        f"{i.linked} tickets, {i.calls} calls"
    )


def _incident_text(v: Any, now: datetime) -> str:
    i = v.incident
    out = [_incident_line(i, now), "", "script (read to callers):"]
    out += [f"  {line}" for line in _lines(i.script)]
    out.append("updates:")
    for u in v.updates:
        posted = f" (posted to {u.tickets_posted} tickets)" if u.tickets_posted else ""
        out.append(
            f"  {u.at.isoformat(timespec='seconds')}  {_t(u.by or '-'):<10} {u.kind:<8} "
            f"{u.state}{posted}"
        )
        if u.kind in ("update", "resolved"):
            out += [f"      {line}" for line in _lines(u.body)]
    out.append("linked tickets:")
    out += [
        f"  #{t.ticket_id:<7} {t.status:<22} {_t(t.account):<16} {_t(t.subject)[:50]}"
        + (" (left open)" if t.keep_open else "")
        + (f"  why: {_t(t.reason)}" if t.reason else "")
        for t in v.tickets
    ] or ["  none"]
    out.append("calls without a ticket:")
    out += [
        f"  {c.at.isoformat(timespec='seconds')}  {_t(c.account):<16} {_t(c.caller or '-'):<20} "
        f"taken by {_t(c.by or '-')}"
        for c in v.calls
        if c.ticket_id is None
    ] or ["  none"]
    out.append(f"affected accounts: {v.affected_total}")
    out += [
        f"  {_t(a.account):<20} {_t(a.company)[:30]:<30} {_t(','.join(a.servers)):<16} "
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
@click.option("--script", help="What agents read to callers (default: made from the title).")
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
    from supportdesk.services import incidents

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
    from supportdesk.services import incidents

    r = incidents.post_update(env.desk(), incident_id, _body(text), state=state, script=script)
    emit(
        r,
        as_json,
        f"incident #{incident_id} ({r.state}): update posted to {len(r.tickets_posted)} "
        f"tickets; next update due {r.next_update_due.isoformat() if r.next_update_due else '-'}",
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
    from supportdesk.services import incidents

    r = incidents.link_ticket(env.desk(), incident_id, ticket_id, reason=reason, call=call)
    emit(
        r,
        as_json,
        f"ticket #{ticket_id} linked to incident #{incident_id}"
        + (" (call logged: first response)" if r.responded else "")
        + ("" if r.affected else f" (account {_t(r.account)} not affected: reason kept)"),
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
    from supportdesk.services import incidents, tickets

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
    emit(r, as_json, f"call from {_t(account)} recorded against incident #{incident_id}")


@incident.command("ack")
@click.argument("incident_id", type=INCIDENT_ID)
@json_option
@pass_env
def incident_ack(env: Env, incident_id: int, as_json: bool) -> None:
    """Acknowledge an incident (a lead or its on-call engineer): no console rings again."""
    from supportdesk.services import incidents

    i = incidents.acknowledge(env.desk(), incident_id)
    emit(i, as_json, f"incident #{i.id} acknowledged by {_t(i.acknowledged_by)}")


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
    from supportdesk.services import incidents

    r = incidents.resolve(env.desk(), incident_id, _body(text), keep_open=keep_open)
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
    from supportdesk.services import incidents

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
    from supportdesk.services import incidents

    desk = env.desk()
    v = incidents.show(desk, incident_id)
    emit(v, as_json, lambda: _incident_text(v, desk.now()))


@cli.group()
def maintenance() -> None:
    """Maintenance windows: planned work on servers, announced to the accounts on them."""


def _window_line(w: Any, now: datetime) -> str:
    return (
        f"#{w.id:<4} {w.state(now):<9} {w.starts_at.isoformat(timespec='minutes')} to "
        f"{w.ends_at.isoformat(timespec='minutes')}  {_t(','.join(w.servers)):<20} "
        f"{w.scheduled} tickets scheduled\n      {_t(w.notice)}"
    )


@maintenance.command("add")
@click.option("--server", "servers", multiple=True, required=True)
@click.option("--from", "start", required=True, help="Start (ISO 8601).")
@click.option("--to", "end", required=True, help="End (ISO 8601).")
@click.option("--notice", required=True, help="What customers and agents are told.")
@json_option
@pass_env
def maintenance_add(
    env: Env, servers: tuple[str, ...], start: str, end: str, notice: str, as_json: bool
) -> None:
    """Announce a maintenance window on one or more servers."""
    from supportdesk.core.clock import parse_time
    from supportdesk.services.incidents import maintenance as service

    desk = env.desk()
    w = service.add_window(
        desk,
        servers,
        parse_time(start, what="--from"),
        parse_time(end, what="--to"),
        notice,
    )
    emit(w, as_json, lambda: f"maintenance window #{w.id} added\n" + _window_line(w, desk.now()))


@maintenance.command("list")
@click.option("--all", "include_past", is_flag=True, help="Past windows too.")
@json_option
@pass_env
def maintenance_list(env: Env, include_past: bool, as_json: bool) -> None:
    """Windows upcoming or running, soonest first."""
    from supportdesk.services.incidents import maintenance as service

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
    from supportdesk.errors import NothingToDo
    from supportdesk.services.incidents import maintenance as service

    woke = service.wake(env.desk())
    if not woke:
        raise NothingToDo("no scheduled ticket's maintenance window has opened")
    emit({"woke": woke}, as_json, f"back in the queue: {', '.join(f'#{n}' for n in woke)}")


@ticket.command("schedule")
@click.argument("ticket_id", type=TICKET_ID)
@click.option("--window", "window_id", type=WINDOW_ID, required=True, help="Maintenance window #.")
@json_option
@pass_env
def ticket_schedule(env: Env, ticket_id: int, window_id: int, as_json: bool) -> None:
    """Schedule a ticket's server work into a maintenance window: its clocks pause until the
    window opens, when it returns to the queue."""
    from supportdesk.services.incidents import maintenance as service

    r = service.schedule(env.desk(), ticket_id, window_id)
    emit(
        r,
        as_json,
        f"ticket #{ticket_id} scheduled into window #{window_id} "
        f"({_t(','.join(r.servers))}): clocks paused until {r.paused_until.isoformat()}",
    )


# -- import ----------------------------------------------------------------------------------
def _import_text(r: Any) -> str:
    from collections import Counter

    from supportdesk.safe_text import clean
    from supportdesk.services.intake.export_records import NOTE_SUMMARY

    verb = "would import" if r.dry_run else "imported"
    span = f" as #{r.first_ticket}-#{r.last_ticket}" if r.first_ticket is not None else ""
    lines = [
        f"{verb} {r.imported:,} tickets from {clean(r.source)} ({r.format}){span}"
        + (" (dry run: nothing was changed)" if r.dry_run else ""),
        f"  export {clean(r.export_key)} (--source names it; ticket ids count within it)",
        f"  accounts: {r.accounts_created:,} created, {r.accounts_matched:,} already on the desk;"
        f" contacts created: {r.contacts_created:,}",
        "  status: " + _t(", ".join(f"{k} {v:,}" for k, v in sorted(r.by_status.items()))),
    ]
    if r.already:
        lines.append(f"  skipped {r.already:,} tickets the desk has already (left as they are):")
        for p in r.skipped[:20]:
            lines.append(f"    {clean(p.ref)}: {p.text}")
        if len(r.skipped) > 20:
            lines.append(f"    {len(r.skipped) - 20:,} more (--json lists them all)")
    kinds = Counter(p.kind for p in r.notes)
    if kinds:
        lines.append("  kept, with a note in their history or here:")
        for kind, count in kinds.most_common():
            sample = [p for p in r.notes if p.kind == kind]
            refs = ", ".join(clean(p.ref) for p in sample[:5]) + (", ..." if count > 5 else "")
            what = NOTE_SUMMARY.get(kind, sample[0].text)
            lines.append(f"    {count:,} {what} (export ids {refs})")
    for p in r.rejected_rows[:20]:
        lines.append(
            f"  left out: line {p.line}"
            + (f" ({clean(p.ref)})" if p.ref else "")
            + f": {clean(p.text)}"
        )
    if len(r.rejected_rows) > 20:
        lines.append(f"  left out: {len(r.rejected_rows) - 20:,} more rows (--json lists them all)")
    return "\n".join(lines)


@cli.command("import")
@click.argument("path")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "kaggle", "servicenow"]),
    default="auto",
    show_default=True,
    help="The export's layout (auto: told by its header).",
)
@click.option("--plan", help="SLA plan of the accounts it creates (default: the policy's).")
@click.option(
    "--timezone", "zone", default="UTC", show_default=True, help="Zone of times without offset."
)
@click.option("--skip-bad", is_flag=True, help="Import the other rows when some cannot be.")
@click.option("--dry-run", is_flag=True, help="Check and report everything; change nothing.")
@click.option(
    "--source",
    help="Name of the export (default: told by its first tickets, whatever the file is "
    "called); ticket ids are matched within one export.",
)
@json_option
@pass_env
def import_export(
    env: Env,
    path: str,
    fmt: str,
    plan: str | None,
    zone: str,
    skip_bad: bool,
    dry_run: bool,
    source: str | None,
    as_json: bool,
) -> None:
    """Import another helpdesk's ticket export (CSV; PATH or - for standard input): its
    customers become accounts with a primary contact (or are matched by e-mail), its tickets
    come with their history and SLA clocks. Leads only; all or nothing; importing the same
    export again (even renamed) adds only what is new, and says what it skipped."""
    from supportdesk.services.intake import importer

    if source is not None:
        importer.check_source(source)
    desk = env.desk()
    from supportdesk.rules.limits import MAX_EXPORT_BYTES, read_stream_bounded

    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    data = read_stream_bounded(stdin, "import", MAX_EXPORT_BYTES) if path == "-" else None
    export = importer.read_export_file(
        "standard input" if path == "-" else path, fmt=fmt, zone=zone, now=desk.now(), data=data
    )
    r = importer.import_export(
        desk, export, plan=plan, skip_bad=skip_bad, dry_run=dry_run, source=source
    )
    emit(r, as_json, lambda: _import_text(r))


# -- entry point ---------------------------------------------------------------------------
def fail(message: str, code: int) -> NoReturn:
    """One line on stderr: outside text in a message shows its controls as escapes."""
    line = " ".join(clean(part) for part in message.split("\n") if part.strip())
    if len(line) > MAX_ERROR_LINE:  # a message that echoes a megabyte of input
        line = line[: MAX_ERROR_LINE - 1] + "…"
    click.echo(f"supportdesk: {line}", err=True)
    sys.exit(code)


def _not_utf8(argv: list[str]) -> str | None:
    """The name of the first argument or SUPPORTDESK_* variable that was not valid UTF-8
    (Python hands such bytes over as lone surrogates), or None."""
    import os

    from supportdesk.rules.limits import has_surrogates

    for i, arg in enumerate(argv):
        if not has_surrogates(arg):
            continue
        if arg.startswith("--") and "=" in arg:
            return arg.split("=", 1)[0]
        if i and argv[i - 1].startswith("-") and not has_surrogates(argv[i - 1]):
            return argv[i - 1]
        return f"argument {i + 1}"
    for name, value in os.environ.items():
        if name.startswith("SUPPORTDESK_") and has_surrogates(value):
            return name
    return None


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; turn every expected failure into one line and an exit code. Anything
    else is a bug: one line and EXIT_INTERNAL, or its traceback with SUPPORTDESK_DEBUG=1."""
    import os

    from supportdesk.store import describe_error

    args = list(sys.argv[1:] if argv is None else argv)
    bad = _not_utf8(args)
    if bad is not None:
        fail(f"{bad}: not valid UTF-8", EXIT_USAGE)
    try:
        cli.main(args=args, prog_name="supportdesk", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        fail("aborted", EXIT_ERROR)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except DeskError as exc:
        fail(str(exc) or type(exc).__name__, exc.exit_code)
    except UnicodeError as exc:  # invalid UTF-8 on the command line or in a file read
        bad = exc.object[exc.start : exc.end] if isinstance(exc, UnicodeEncodeError) else ""
        where = f" ({clean(bad)})" if bad else ""
        fail(f"text is not valid UTF-8{where}", EXIT_USAGE)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(EXIT_OK)
    except Exception as exc:
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        if type(exc).__module__.startswith(("sqlalchemy", "sqlite3", "psycopg")):
            fail(describe_error(exc), EXIT_ERROR)
        fail(
            f"internal error: {type(exc).__name__}: {str(exc)[:300]} "
            f"(a bug; {DEBUG_ENV}=1 shows where)",
            EXIT_INTERNAL,
        )
    sys.exit(EXIT_OK)
