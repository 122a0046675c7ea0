"""The command palette's provider: every action of the current screen and the app, by name.

It reads the same active bindings as the help screen, so a key added anywhere shows up in
the palette without being listed twice; a number typed in the palette opens that ticket.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .modals import binding_rows


class DeskCommands(Provider):
    """Lists the console's actions (with their keys) for ctrl+p."""

    def _commands(self) -> list[tuple[str, str, partial[object]]]:
        commands = []
        screen = self.screen
        for row in binding_rows(screen):
            run = partial(self.app.run_action, row.action, row.node)
            commands.append((row.description, row.keys, run))
        return commands

    async def discover(self) -> Hits:
        for desc, keys, run in self._commands():
            yield DiscoveryHit(desc, run, text=desc, help=f"key: {keys}")

    async def search(self, query: str) -> Hits:
        number = query.strip().lstrip("#")
        if number.isdigit():
            ticket_id = int(number)
            open_ticket = getattr(self.app, "open_ticket", None)
            if open_ticket is not None:
                yield Hit(1.0, f"Open ticket #{ticket_id}", partial(open_ticket, ticket_id))
        matcher = self.matcher(query)
        for desc, keys, run in self._commands():
            score = matcher.match(f"{desc} {keys}")
            if score > 0:
                yield Hit(score, matcher.highlight(desc), run, text=desc, help=f"key: {keys}")
