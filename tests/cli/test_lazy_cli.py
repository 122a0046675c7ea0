"""The CLI package loads lazily: the root group knows every command's name and summary
without importing the command's module, and a command imports only what it runs (seen
in the modules a real process has loaded when it exits)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click
import pytest

import supportdesk.cli as package
from supportdesk.cli import cli, ticket_group
from supportdesk.cli.root import COMMANDS

CLI_DIR = Path(package.__file__).parent
SHARED = {"__init__", "root", "env", "params", "output", "entry", "ticket_group"}
# the table's modules, and those the `ticket` group loads for its commands
COMMAND_MODULES = {f"supportdesk.cli.{e.module}" for e in COMMANDS.values()} | {
    f"supportdesk.cli.{m}" for m in {ticket_group.DEFAULT_MODULE, *ticket_group.MODULES.values()}
}
# the only imports inside a function: `ticket take --json` prints the whole ticket, which needs
# the ORM view that the claim itself (plain driver) must not load
INSIDE = {"claim": ["supportdesk.services"]}


# runs `args` as `python ARGS` would, then writes the names in sys.modules to argv[1] at exit
# (importlib.import_module, which the lazy group uses, does not show in -X importtime)
WRAPPER = """
import atexit, runpy, sys
out, args = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
if args[0] == "-c":
    sys.argv = ["-c", *args[2:]]
    exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
else:
    sys.argv = [args[1], *args[2:]]
    runpy.run_module(args[1], run_name="__main__", alter_sys=True)
"""


def _imported(tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> set[str]:
    """Every module a Python process started with `args` has imported when it exits."""
    out = tmp_path / "modules.txt"
    p = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    return set(out.read_text().split("\n"))


def _under(modules: set[str], *packages: str) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)}


@pytest.mark.parametrize(
    "args",
    [["-c", "import supportdesk.cli"], ["-m", "supportdesk", "--help"]],
    ids=["import", "help"],
)
def test_the_root_imports_no_command_and_nothing_of_the_desk(
    args: list[str], tmp_path: Path
) -> None:
    modules = _imported(tmp_path, args)
    assert "supportdesk.cli.root" in modules
    assert modules & COMMAND_MODULES == set()
    heavy = ("sqlalchemy", "textual", "rich", "alembic", "psycopg")
    desk = ("supportdesk.services", "supportdesk.models", "supportdesk.core", "supportdesk.store")
    assert _under(modules, *heavy, *desk) == set()


def test_the_root_lists_exactly_the_commands_of_its_table() -> None:
    assert cli.list_commands(click.Context(cli)) == sorted(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_describes_each_command_as_its_module_does(name: str) -> None:
    """The summary `supportdesk --help` prints from the table is what click would print from
    the command itself, at every terminal width; the table names the command's module."""
    entry = COMMANDS[name]
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.name == name
    assert command.hidden == entry.hidden
    for limit in range(1, 240):
        assert entry.short_help(limit) == command.get_short_help_str(limit), limit


def _imports_in(path: Path) -> tuple[list[str], list[str]]:
    """The modules `path` imports at its top level, and those it imports inside functions."""
    tree = ast.parse(path.read_text())
    top: list[str] = []
    inner: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            (top if node in tree.body else inner).extend(n or "" for n in names)
    return top, inner


@pytest.mark.parametrize("module", sorted(m.rsplit(".", 1)[1] for m in COMMAND_MODULES))
def test_a_command_module_imports_at_its_top_and_no_other_command_module(module: str) -> None:
    """Imports go at the top of a group module, and a group module loads no other group
    (only the shared env, params and output), so a command loads its own group alone."""
    top, inner = _imports_in(CLI_DIR / f"{module}.py")
    assert inner == INSIDE.get(module, [])
    other = {m for m in top if m.startswith("supportdesk.cli")}
    assert other <= {f"supportdesk.cli.{s}" for s in SHARED - {"__init__", "root", "entry"}}


def test_every_module_of_the_package_is_shared_or_in_the_table() -> None:
    found = {p.stem for p in CLI_DIR.glob("*.py")}
    assert found == SHARED | {m.rsplit(".", 1)[1] for m in COMMAND_MODULES}


def test_queue_imports_neither_the_orm_nor_the_models_nor_other_commands(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """`supportdesk queue` is the CLI's fast path: it reads with the plain driver."""
    modules = _imported(tmp_path, ["-m", "supportdesk", "queue", "--limit", "5"], cli_env)
    assert modules & COMMAND_MODULES == {"supportdesk.cli.queue"}
    assert _under(modules, "sqlalchemy.orm", "textual", "rich", "alembic") == set()
    if "://" not in cli_env["SUPPORTDESK_DB"]:  # PostgreSQL: Store.display_name uses its URL
        assert _under(modules, "sqlalchemy") == set()
    # PostgreSQL: the reads go through libpq alone (supportdesk/pgread.py); `import psycopg`
    # cost 0.2 s of the command's 0.5 s
    assert _under(modules, "psycopg", "psycopg_binary") == set()
    assert _under(modules, "supportdesk.models") <= {
        "supportdesk.models",
        "supportdesk.models.timefmt",
    }
    assert _under(modules, "supportdesk.services") <= {"supportdesk.services"} | _under(
        modules, "supportdesk.services.sla"
    )
