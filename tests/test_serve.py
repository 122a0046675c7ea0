"""`supportdesk serve`: the SLA board, read-only, in a real headless Chromium through
textual-serve; it renders and follows changes made by another process. The server is a
real process on a free loopback port, reached with real HTTP and websocket clients: a token
exchanged for a cookie, Host and Origin checks, a cap on board processes, and the token
kept out of `ps` and the access log.

Chromium is Debian's `chromium`. Without it the browser test skips with the reason, unless
SUPPORTDESK_REQUIRE_BROWSER=1 (CI sets it), which makes it fail instead."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from supportdesk.wall import WallApp
from tests.conftest_console import NOW, DeskFixture, build_desk
from tests.test_cli import one_line_error

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRE = os.environ.get("SUPPORTDESK_REQUIRE_BROWSER") == "1"


def need_chromium() -> str:
    if CHROMIUM is None:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
        if REQUIRE:
            pytest.fail(f"{reason} (SUPPORTDESK_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fx(tmp_path: Path) -> DeskFixture:
    return build_desk(tmp_path)


def _env(fx: DeskFixture, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SUPPORTDESK_DB=str(fx.path),
        SUPPORTDESK_AUDIT_KEY=str(fx.key),
        SUPPORTDESK_AGENT="lena",
        SUPPORTDESK_NOW=NOW.isoformat(),
        **extra,
    )
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _wait(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _announced(out: Path, proc: subprocess.Popen[bytes]) -> str:
    """The URL the server prints once it listens."""
    found: list[str] = []

    def up() -> bool:
        assert proc.poll() is None, f"serve exited {proc.returncode}: {out.read_text()}"
        found[:] = re.findall(r"on (http://\S+)", out.read_text())
        return bool(found)

    _wait(up, 60, "the server to listen")
    return found[0]


@pytest.fixture
def served(fx: DeskFixture, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    trace = tmp_path / "wall.trace"
    out = tmp_path / "serve.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "supportdesk", "serve", "--port", str(port)],
            env=_env(fx, SUPPORTDESK_WALL_TRACE=str(trace)),
            stdout=sink,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield _announced(out, proc), trace
    finally:
        _stop(proc)


def test_the_board_renders_in_chromium_and_follows_changes(
    fx: DeskFixture, served: tuple[str, Path], tmp_path: Path
) -> None:
    chromium = need_chromium()
    url, trace = served
    assert "?token=" in url
    # the browser opens the tokened URL: the server swaps the token for a cookie and
    # redirects to the page, whose websocket then starts the board
    browser = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,900",
            "--remote-debugging-port=0",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # the browser's connection starts a board process, which draws the board
        _wait(lambda: trace.exists() and "breached" in trace.read_text(), 60, "the board")
        first = trace.read_text().splitlines()[-1]
        assert "read-only" in first
        breached = int(first.split("✖", 1)[1].split()[0])
        # another process records a critical outage call nobody answered yesterday
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "supportdesk",
                "--at",
                (NOW - timedelta(days=1)).isoformat(),
                *("ticket", "new", "--account", "acme", "--subject", "web-14 down"),
                *("--priority", "critical", "--category", "infrastructure", "--channel", "phone"),
            ],
            env=_env(fx),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert p.returncode == 0, p.stderr
        want = f"✖ {breached + 1} breached"
        _wait(lambda: want in trace.read_text(), 30, "the board to update")
    finally:
        _stop(browser)


def test_serve_is_for_leads(fx: DeskFixture) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "supportdesk", "--as", "ana", "serve", "--port", "1"],
        env=_env(fx),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 1
    assert "needs lead" in one_line_error(p)


def test_the_wall_app_allows_nothing_that_writes(fx: DeskFixture) -> None:
    app = WallApp(fx.desk, redact=True)
    for action in ("call", "goto_ticket", "board", "sla_board", "command_palette", "reload"):
        assert not app.check_action(action, ())
    assert app.check_action("quit", ())
    assert not WallApp.ENABLE_COMMAND_PALETTE
