"""The global options (--db, --as, --at, --audit-key, --read-only) as one object every command
receives, turned into a Store and a Desk only when a command needs them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from supportdesk.errors import UsageError

if TYPE_CHECKING:
    from supportdesk.core.clock import Clock
    from supportdesk.core.desk import Desk
    from supportdesk.demo import Welcome


class Env:
    """Global options, turned into a Store and a Desk only when a command needs them.

    The desk's modules are imported inside the methods: the root group imports this module,
    and `--help`, `--version` and `import supportdesk.cli` must not pay for the store."""

    def __init__(
        self,
        db: str | None,
        login: str | None,
        at: str | None,
        key: str | None,
        read_only: bool = False,
        login_typed: bool = False,
    ) -> None:
        self.db, self.login, self.at, self.key = db, login, at, key
        self.read_only = read_only
        # --as typed on this command line (not SUPPORTDESK_AGENT, which names the login of
        # the desk a person works on, not of a demo)
        self.login_typed = login_typed
        self._desk: Desk | None = None

    def clock(self) -> Clock:
        from supportdesk.core.clock import Clock

        return Clock.from_text(self.at)

    def check_zone(self) -> None:
        """A SUPPORTDESK_TZ that names no zone is one line before anything runs."""
        from supportdesk.core.desk_zone import env_zone

        env_zone()

    def desk(self, *, check_schema: bool = True) -> Desk:
        if self._desk is None:
            from supportdesk.core.desk import Desk
            from supportdesk.store import Store

            clock = self.clock()
            store = Store(self.db, read_only=self.read_only)
            if check_schema:
                store.check_schema()
            self._desk = Desk(store, self.login, clock, self.key)
            from supportdesk.cli.output import times_from

            desk = self._desk
            times_from(lambda: desk.zone)  # text output in the desk's zone, read when needed
        return self._desk

    def close(self) -> None:
        if self._desk is not None:
            self._desk.store.dispose()


pass_env = click.make_pass_decorator(Env)


def need_terminal(what: str = "the console") -> None:
    """One line, exit 2, when standard input or output is not a terminal: a full-screen
    app there reads nothing and writes escape codes into a pipe or file until killed."""
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            f"{what} needs a terminal (standard input and output are not one): "
            "run it in one, or use a command (supportdesk --help)"
        )


def open_console(desk: Desk, welcome: Welcome | None = None) -> None:
    """Open the Textual console on `desk` (Textual is imported only here); `welcome`: a demo
    just built, for the first-run panel."""
    desk.actor  # noqa: B018 - fail with one line before the screen takes over
    need_terminal()
    from supportdesk.console.app import run_console

    run_console(desk, welcome=welcome)
