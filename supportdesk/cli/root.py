"""The root command group: the global options, the console when no command is given, and
every command by name, each imported from its module only when it runs.

click's documented LazyGroup pattern: `list_commands` returns the known names and
`get_command` imports `supportdesk.cli.<module>` on demand. `supportdesk --help` lists each
command's summary from the table below, so it imports no command module either; a test
(tests/cli/test_lazy_cli.py) holds the table to the commands' own help texts.
"""

from __future__ import annotations

import importlib
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click
from click.core import ParameterSource

from supportdesk.cli.env import Env, open_console
from supportdesk.cli.params import DbType, LoginType


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives, and its summary for the root's `--help`."""

    module: str  # under supportdesk.cli
    attr: str  # the click command (or group) in that module
    summary: str  # the first sentence of its help: what click lists under "Commands"
    hidden: bool = False

    def load(self) -> click.Command:
        module = importlib.import_module(f"supportdesk.cli.{self.module}")
        command = getattr(module, self.attr)
        if not isinstance(command, click.Command):  # a wrong table entry: a bug, said plainly
            raise TypeError(f"supportdesk.cli.{self.module}.{self.attr} is not a command")
        return command

    def short_help(self, limit: int) -> str:
        """The summary cut to `limit` characters as click cuts a command's help."""
        if len(self.summary) <= limit:
            return self.summary
        if limit < len("..."):
            return "..."
        return textwrap.shorten(self.summary, limit, placeholder="...", break_on_hyphens=False)


class LazyGroup(click.Group):
    """A group whose commands are imported on first use; listing them imports nothing."""

    def __init__(self, *args: Any, lazy: Mapping[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = self.lazy.get(cmd_name)
        if entry is None:
            return super().get_command(ctx, cmd_name)
        return entry.load()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own listing, with a lazy command's summary read from the table instead of
        from its imported module (a command added with `add_command` is asked as usual)."""
        names = [name for name in self.list_commands(ctx) if not self._hidden(ctx, name)]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, self._short_help(ctx, name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _hidden(self, ctx: click.Context, name: str) -> bool:
        if name in self.lazy:
            return self.lazy[name].hidden
        command = super().get_command(ctx, name)
        return command is None or command.hidden

    def _short_help(self, ctx: click.Context, name: str, limit: int) -> str:
        if name in self.lazy:
            return self.lazy[name].short_help(limit)
        command = super().get_command(ctx, name)
        return command.get_short_help_str(limit) if command is not None else ""


COMMANDS: dict[str, LazyCommand] = {
    "account": LazyCommand("account", "account", "Customer accounts."),
    "audit": LazyCommand("audit", "audit", "The append-only audit trail."),
    "board": LazyCommand(
        "escalation",
        "board",
        "A tier's escalation board: your claims, then unclaimed by priority and time of "
        "escalation, then those waiting on something (and, for leads, others' claims).",
    ),
    "claim": LazyCommand(
        "claim",
        "claim",
        "Claim the top of a tier's board: priority, then time of escalation (exit 4 when "
        "nothing is left).",
    ),
    "claims": LazyCommand("escalation", "claims", "Who holds what, least recently touched first."),
    "complaint": LazyCommand("escalation", "complaint", "Complaints escalated to a supervisor."),
    "contact": LazyCommand("contact", "contact", "An account's contacts."),
    "deescalate": LazyCommand(
        "escalation",
        "deescalate",
        "Hand a ticket back down to the tier and person that escalated it.",
    ),
    "demo": LazyCommand(
        "demo",
        "demo",
        "Open the demo database as a demo lead (or as `--as LOGIN` typed before `demo`), "
        "building it first when there is none (--fresh builds a new one in its place).",
    ),
    "doctor": LazyCommand(
        "doctor",
        "doctor",
        "Who can read the desk's files (database, -wal, -shm, audit key, their folders) and "
        "whether the schema is current; exit 1 when something is open to others or wrong.",
    ),
    "end-shift": LazyCommand(
        "escalation",
        "end_shift",
        "Release the tickets you hold to work on (new or open), each with the handover note.",
    ),
    "escalate": LazyCommand(
        "escalation",
        "escalate",
        "Move a ticket up a tier (it lands unclaimed on that tier's board; you watch it).",
    ),
    "export": LazyCommand(
        "import_export",
        "export_cmd",
        "Write every ticket, its thread and its files (base64) to PATH, or - for standard "
        "output, as JSON Lines that `supportdesk import` reads back.",
    ),
    "import": LazyCommand(
        "import_export",
        "import_export",
        "Import another helpdesk's ticket export (CSV; PATH or - for standard input): its "
        "customers become accounts with a primary contact (or are matched by e-mail), its "
        "tickets come with their history and SLA clocks.",
    ),
    "incident": LazyCommand(
        "incident",
        "incident",
        "Outages: one incident, every call linked to it, updates to customers on a clock.",
    ),
    "init": LazyCommand(
        "init",
        "init",
        "Create or upgrade the database schema, the audit key and the first lead.",
    ),
    "mail": LazyCommand("mail", "mail", "E-mail into tickets and out to customers."),
    "maintenance": LazyCommand(
        "maintenance",
        "maintenance",
        "Maintenance windows: planned work on servers, announced to the accounts on them.",
    ),
    "policy": LazyCommand(
        "policy", "policy", "The SLA policy: calendars, plans and their targets."
    ),
    "queue": LazyCommand(
        "queue",
        "queue",
        "Print the queue in exactly the console's order, a page at a time (--after the cursor "
        "printed below a page) or --all of it.",
    ),
    "reassign": LazyCommand(
        "escalation",
        "reassign",
        "Give a ticket to someone, or take it over (leads; the previous holder is told).",
    ),
    "release": LazyCommand("escalation", "release", "Put a ticket you hold back on its board."),
    "report": LazyCommand("report", "report", "Figures for the leads."),
    "serve": LazyCommand(
        "serve",
        "serve",
        "The SLA board alone, read-only, in a web browser (a wall display), via textual-serve.",
    ),
    "service": LazyCommand("account", "service", "An account's services."),
    "sla": LazyCommand(
        "sla", "sla", 'SLA clocks: a ticket\'s countdowns, and "when is this due" for disputes.'
    ),
    "staff": LazyCommand("staff", "staff", "The desk's staff (leads manage them)."),
    "template": LazyCommand(
        "template",
        "template",
        "Canned replies and the desk's automatic messages (leads keep them).",
    ),
    "ticket": LazyCommand("ticket_group", "ticket", "Create, read and work tickets."),
    "verify": LazyCommand(
        "contact",
        "verify_cmd",
        "Verify a caller: the PIN is read from a prompt or standard input, never from argv.",
    ),
    "wall": LazyCommand(
        "wall", "wall", "The read-only board `serve` runs for each browser.", hidden=True
    ),
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
    typed = ctx.get_parameter_source("login") is ParameterSource.COMMANDLINE
    ctx.obj = Env(db, login, at, audit_key, read_only, login_typed=typed)
    ctx.call_on_close(ctx.obj.close)  # in-process callers (tests) must not keep connections
    ctx.obj.clock()  # validate --at early
    ctx.obj.check_zone()  # and SUPPORTDESK_TZ
    if ctx.invoked_subcommand is None:
        open_console(ctx.obj.desk())
