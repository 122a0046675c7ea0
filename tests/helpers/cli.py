"""The CLI as a user runs it: a real process, and its one-line errors."""

from __future__ import annotations

import subprocess
import sys

# A valid `ticket new` for the fixture's account (the database decides whether it may write).
NEW_TICKET = (
    "ticket",
    "new",
    "--account",
    "bluefin",
    "--subject",
    "x",
    "--priority",
    "low",
    "--category",
    "billing",
    "--channel",
    "phone",
)


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supportdesk", *args],
        env=env,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def one_line_error(p: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in p.stderr, p.stderr
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, p.stderr
    return lines[0]
