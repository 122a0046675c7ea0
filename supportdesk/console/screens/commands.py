"""The command palette's provider: every action of the current screen and the app, by name.

It reads the same active bindings as the help screen, so a key added anywhere shows up in
the palette without being listed twice; a number typed in the palette opens that ticket.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from supportdesk.console.base import DeskApp
from supportdesk.console.screens.modals import binding_rows


class DeskCommands(Provider):
    """Lists the console's actions (with their keys) for ctrl+p."""

    def _commands(self) -> list[tuple[str, str, partial[Any]]]:
        commands = []
        for row in binding_rows(self.screen):
            run = partial(self.app.run_action, row.action, row.node)
            help_text = f"{row.detail} · key: {row.keys}" if row.detail else f"key: {row.keys}"
            commands.append((row.description, help_text, run))
        return commands

    async def discover(self) -> Hits:
        for desc, help_text, run in self._commands():
            yield DiscoveryHit(desc, run, text=desc, help=help_text)

    async def search(self, query: str) -> Hits:
        number = query.strip().lstrip("#")
        if number.isdigit():
            ticket_id = int(number)
            app = self.app
            if isinstance(app, DeskApp):
                yield Hit(1.0, f"Open ticket #{ticket_id}", partial(app.open_ticket, ticket_id))
        matcher = self.matcher(query)
        for desc, help_text, run in self._commands():
            score = matcher.match(desc)
            if score > 0:
                yield Hit(score, matcher.highlight(desc), run, text=desc, help=help_text)
