"""The `ticket` group itself, light: its commands register on it from their modules, each
imported when it runs. Most live in cli/ticket.py; `ticket take` lives in cli/claim.py beside
`claim --next`, because both run core's one claim on the plain driver and must not load the
ORM that the other ticket commands need."""

from __future__ import annotations

import importlib

import click

DEFAULT_MODULE = "ticket"
MODULES = {
    "take": "claim",
    "attachment": "attachment",
}  # a command kept out of DEFAULT_MODULE, and where it lives


class TicketGroup(click.Group):
    """A group whose commands come from the module that holds each: running one imports
    that module alone; listing them (`ticket --help`) imports them all."""

    def _load(self, name: str) -> None:
        importlib.import_module(f"supportdesk.cli.{MODULES.get(name, DEFAULT_MODULE)}")

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in {DEFAULT_MODULE, *MODULES.values()}:
            importlib.import_module(f"supportdesk.cli.{module}")
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._load(cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=TicketGroup)
def ticket() -> None:
    """Create, read and work tickets."""
