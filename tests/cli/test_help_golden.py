"""Every command's `--help`, word for word, against the files in tests/golden/help/.

The CLI is about to be split into a package of lazily loaded modules; these files are what
it must still print. A change to a help text is then a visible diff in review, never an
accident. Regenerate after an intended change with

    SUPPORTDESK_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/cli/test_help_golden.py

and read the diff before committing it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from supportdesk.cli import cli

GOLDEN = Path(__file__).parent / "golden" / "help"
UPDATE = os.environ.get("SUPPORTDESK_UPDATE_GOLDEN") == "1"
WIDTH = "80"  # the terminal width the help is wrapped to (click also caps it at 80)


def _walk(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under `group` (the group itself first), through `list_commands`
    and `get_command` so that a lazily loaded group is walked the same way."""
    ctx = click.Context(group, info_name="supportdesk")
    found = [path]
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{' '.join((*path, name))}: listed but not loadable"
        if isinstance(command, click.Group):
            found += _walk(command, (*path, name))
        else:
            found.append((*path, name))
    return found


COMMANDS = _walk(cli)


def _file(path: tuple[str, ...]) -> Path:
    return GOLDEN / (("-".join(path) or "supportdesk") + ".txt")


def _help(path: tuple[str, ...]) -> str:
    # no SUPPORTDESK_* settings from the caller's shell: help would not show them anyway,
    # but a bad one (say SUPPORTDESK_NOW) must not make --help fail here
    env = {k: None for k in os.environ if k.startswith("SUPPORTDESK_")}
    result = CliRunner().invoke(
        cli, [*path, "--help"], prog_name="supportdesk", env={**env, "COLUMNS": WIDTH}
    )
    assert result.exit_code == 0, f"supportdesk {' '.join(path)} --help: {result.output}"
    return result.output


def test_the_walk_finds_the_known_commands() -> None:
    """The walk itself works: it sees groups, their commands and plain commands."""
    assert () in COMMANDS and ("demo",) in COMMANDS and ("ticket",) in COMMANDS
    assert ("ticket", "show") in COMMANDS
    assert len(COMMANDS) > 50


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "supportdesk")
def test_help_matches_golden(path: tuple[str, ...]) -> None:
    text = _help(path)
    golden = _file(path)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        return
    if not golden.exists():
        pytest.fail(
            f"no golden help for `supportdesk {' '.join(path)}` ({golden.name}): "
            "run with SUPPORTDESK_UPDATE_GOLDEN=1 to write it"
        )
    expected = golden.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"golden/help/{golden.name}",
                "supportdesk " + " ".join((*path, "--help")),
            )
        )
        pytest.fail(
            f"`supportdesk {' '.join(path)} --help` changed "
            f"(SUPPORTDESK_UPDATE_GOLDEN=1 accepts it):\n{diff}",
            pytrace=False,
        )


def test_no_stale_golden_files() -> None:
    """A removed or renamed command takes its golden file with it."""
    wanted = {_file(p).name for p in COMMANDS}
    stale = sorted(p.name for p in GOLDEN.glob("*.txt") if p.name not in wanted)
    if UPDATE:
        for name in stale:
            (GOLDEN / name).unlink()
        return
    assert not stale, f"golden help for commands that no longer exist: {stale}"
