"""The CLI tests' processes (tests/helpers/cli.py): a command forked by the fork server is the
process a fresh interpreter would be. Same bytes on stdout and stderr and the same exit code,
the request's environment and standard input, nothing left from the command before. Both
databases, on the hostile desk."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

from supportdesk.core.desk import Desk
from tests.helpers.cli import command, run, run_bytes


def _fresh(env: dict[str, str], *args: str, stdin: bytes | None = None) -> tuple[Any, ...]:
    p = subprocess.run(command(*args), env=env, input=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def _forked(env: dict[str, str], *args: str, stdin: bytes | None = None) -> tuple[Any, ...]:
    p = run_bytes(env, *args, stdin=stdin)
    return p.returncode, p.stdout, p.stderr


def test_a_forked_command_prints_what_a_fresh_process_prints(
    desk: Desk, evil_env: tuple[dict[str, Any], dict[str, str]]
) -> None:
    evil, env = evil_env
    # a day on: ages and countdowns read the same in both processes
    env = env | {"SUPPORTDESK_NOW": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
    first = str(evil["first"])
    commands: list[tuple[str, ...]] = [
        ("--help",),
        ("nosuch",),
        ("queue", "--limit", "100"),
        ("ticket", "show", first),
        ("account", "show", "evil", "--json"),
        ("account", "show", "[/x] \x1b]0;pwned\x07"),
        ("ticket", "new", "--account", "nobody", "--subject", "x"),
    ]
    for args in commands:
        assert _forked(env, *args) == _fresh(env, *args), args
    stdin = "From stdin: \u241b and a line\n".encode()
    update = ("incident", "update", str(evil["incident"]))
    assert _forked(env, *update, stdin=stdin)[0] == _fresh(env, *update, stdin=stdin)[0] == 0
    shown = json.loads(run_bytes(env, "incident", "show", str(evil["incident"]), "--json").stdout)
    assert [u["body"] for u in shown["updates"]].count(stdin.decode().strip()) == 2


def test_nothing_of_one_command_reaches_the_next(cli_env: dict[str, str]) -> None:
    """Each command reads its own environment and fails or succeeds on its own."""
    p = run(cli_env | {"SUPPORTDESK_AGENT": "nobody"}, "queue")
    assert p.returncode != 0 and "nobody" in p.stderr
    assert run(cli_env, "queue").returncode == 0
    p = run(cli_env | {"SUPPORTDESK_DB": cli_env["SUPPORTDESK_DB"] + "-missing"}, "queue")
    assert p.returncode != 0
    p = run(cli_env, "incident", "update", "999", stdin="text from stdin\n")
    assert p.returncode != 0 and "999" in p.stderr
    assert run(cli_env, "audit", "verify").returncode == 0
