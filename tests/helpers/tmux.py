"""A private tmux server (its own socket) for tests that drive the console in a real
terminal; tests using it skip where tmux is missing."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping


class Tmux:
    def __init__(self) -> None:
        self.socket = f"sd-{uuid.uuid4().hex[:10]}"

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30
        )
        return done.stdout

    def title(self, target: str) -> str:
        """The pane's title (what an OSC 0 sequence would set)."""
        return self("display", "-p", "-t", target, "#{pane_title}").strip()

    def screen(self, target: str) -> str:
        return self("capture-pane", "-p", "-t", target)

    def wait_for(self, target: str, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(target)
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared:\n{screen}")

    def wait_for_line(self, target: str, row: int, text: str, timeout: float = 20.0) -> str:
        """Until line `row` of the screen holds `text`; returns the whole screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(target)
            lines = screen.splitlines()
            if len(lines) > row and text in lines[row]:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared on line {row}:\n{screen}")

    def type(self, target: str, keys: list[str], gap: float) -> None:
        """Each key `gap` seconds after the one before: a one-character key literally, a
        longer one by its tmux name (Enter, C-k, Escape)."""
        for key in keys:
            if len(key) == 1:
                self("send-keys", "-t", target, "-l", key)
            else:
                self("send-keys", "-t", target, key)
            time.sleep(gap)


def supportdesk_command(env: Mapping[str, str], args: str = "") -> str:
    """The shell command a tmux pane runs: `supportdesk ARGS` with the SUPPORTDESK_ variables
    of `env` (the pane's shell gets the server's environment, not the test's)."""
    values = " ".join(
        f"{k}={shlex.quote(v)}" for k, v in env.items() if k.startswith("SUPPORTDESK_")
    )
    return f"env {values} {shlex.quote(sys.executable)} -m supportdesk {args}".rstrip()
