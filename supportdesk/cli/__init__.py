"""The click CLI: the scriptable face of every service, and the console's launcher.

Exit codes: 0 done, 1 error, 2 usage, 3 lost a race, 4 nothing to do, 70 an internal error
(a bug: one line "supportdesk: internal error: ..."; SUPPORTDESK_DEBUG=1 shows the traceback
instead). Every failure is one line on stderr, never a traceback, and leaves the database as
it was. Arguments and environment values that are not valid UTF-8 are refused by name.

One module per command group, imported only when one of its commands runs (root.py's
LazyGroup); the shared parts: env (global options, the desk), params (parameter types,
standard input), output (printing, exit codes), entry (`main`). Importing this package loads
those and click, nothing of the desk.
"""

from supportdesk.cli.entry import DEBUG_ENV, main
from supportdesk.cli.output import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_RACE,
    EXIT_USAGE,
)
from supportdesk.cli.root import cli

__all__ = [
    "DEBUG_ENV",
    "EXIT_ERROR",
    "EXIT_INTERNAL",
    "EXIT_NOTHING",
    "EXIT_OK",
    "EXIT_RACE",
    "EXIT_USAGE",
    "cli",
    "main",
]
