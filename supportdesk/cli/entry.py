"""`main()`: run the root group and turn every failure into one line and an exit code."""

from __future__ import annotations

import os
import sys

import click

from supportdesk.cli.output import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    fail,
)
from supportdesk.cli.root import cli
from supportdesk.errors import DeskError
from supportdesk.rules.limits import has_surrogates
from supportdesk.safe_text import clean

DEBUG_ENV = "SUPPORTDESK_DEBUG"  # "1": re-raise unexpected exceptions (tests, bug reports)
DRIVER_MODULES = ("sqlalchemy", "sqlite3", "psycopg")  # their errors say what the database did


def not_utf8(argv: list[str]) -> str | None:
    """The name of the first argument or SUPPORTDESK_* variable that was not valid UTF-8
    (Python hands such bytes over as lone surrogates), or None."""
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
    args = list(sys.argv[1:] if argv is None else argv)
    bad = not_utf8(args)
    if bad is not None:
        fail(f"{bad}: not valid UTF-8", EXIT_USAGE)
    try:
        cli.main(args=args, prog_name="supportdesk", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        fail("aborted", EXIT_ERROR)
    except click.exceptions.NoArgsIsHelpError as exc:  # a group without its command
        path = exc.ctx.command_path if exc.ctx is not None else "supportdesk"
        group = path.partition(" ")[2] or path
        fail(f"`{group}` needs a command: `{path} --help` lists them", EXIT_USAGE)
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
        if type(exc).__module__.startswith(DRIVER_MODULES):
            # the store's module is imported here, on this error path only: `--help` and
            # `--version` open no store and must not pay for it
            from supportdesk.store import describe_error

            fail(describe_error(exc), EXIT_ERROR)
        fail(
            f"internal error: {type(exc).__name__}: {str(exc)[:300]} "
            f"(a bug; {DEBUG_ENV}=1 shows where)",
            EXIT_INTERNAL,
        )
    sys.exit(EXIT_OK)
