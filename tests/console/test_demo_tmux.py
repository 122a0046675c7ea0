"""`supportdesk --as LOGIN demo` opens the demo as that person, in a real terminal (tmux).

The demo opens as its lead unless `--as` is typed on the command line: SUPPORTDESK_AGENT
names the login of the desk a person works on, not one of the demo's, and is not followed.
Skipped where tmux is missing (CI installs it)."""

from __future__ import annotations

import os
import shlex
import shutil
import uuid
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.tmux import Tmux, supportdesk_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _login(tmux: Tmux, env: dict[str, str], args: str) -> str:
    """Who the console opened by `supportdesk ARGS` says it is (the header's right end: the
    login, then the clock)."""
    command = supportdesk_command(env, args)
    name = f"sd-{uuid.uuid4().hex[:8]}"  # a new name each time: a killed session may linger
    tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", command)
    try:
        header = tmux.wait_for(name, "Queue ·").splitlines()[0].split()
        return header[-3]
    finally:
        tmux("kill-session", "-t", name)


def test_as_typed_before_demo_opens_the_demo_as_that_person(tmp_path: Path, tmux: Tmux) -> None:
    # a session that outlives the consoles': the server stays up between them
    tmux("new-session", "-d", "-s", "keep", "-x", "40", "-y", "5", "sleep 600")
    db = tmp_path / "demo.db"
    env = dict(os.environ, SUPPORTDESK_AUDIT_KEY=str(tmp_path / "k.key"), SUPPORTDESK_AGENT="amir")
    env.pop("SUPPORTDESK_NOW", None)
    env.pop("SUPPORTDESK_DB", None)
    built = run(env, "--db", str(db), "demo", "--tickets", "40", "--no-open")
    assert built.returncode == 0, built.stderr
    where = f"--db {shlex.quote(str(db))}"
    # SUPPORTDESK_AGENT=amir is set: not followed, the lead opens it
    assert _login(tmux, env, f"{where} demo") == "lena"
    assert _login(tmux, env, f"{where} --as tomas demo") == "tomas"
    assert _login(tmux, env, f"{where} --as ingrid demo") == "ingrid"


def test_an_unknown_login_typed_before_demo_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    env = dict(os.environ, SUPPORTDESK_AUDIT_KEY=str(tmp_path / "k.key"))
    env.pop("SUPPORTDESK_AGENT", None)
    built = run(env, "--db", str(db), "demo", "--tickets", "40", "--no-open")
    assert built.returncode == 0, built.stderr
    p = run(env, "--db", str(db), "--as", "nobody", "demo")
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        "supportdesk: no staff member 'nobody': use --as LOGIN, or ask a lead to run "
        "`supportdesk staff add nobody ...`"
    ]
