"""The console in a real terminal (tmux): hostile subjects neither retitle nor clear it.

Skipped where tmux is missing (CI installs it). A private tmux server (its own socket) runs
`supportdesk` on a desk whose queue holds `\\x1b]0;pwned\\x07` and `\\x1b[2J` subjects; the
pane must show them literally and its title must not become "pwned". A control run first
proves this tmux obeys a raw OSC title, so the check can fail.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from supportdesk.core.desk import Desk
from supportdesk.services import tickets
from tests.helpers.tmux import Tmux, supportdesk_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
def test_console_in_tmux_is_not_retitled_or_cleared(
    desk: Desk, cli_env: dict[str, str], tmux: Tmux, size: tuple[int, int]
) -> None:
    # control: a raw OSC 0 does retitle a pane of this tmux
    tmux("new-session", "-d", "-s", "control", "-x", "80", "-y", "24", "sleep 60")
    tmux("send-keys", "-t", "control", "", "")
    subprocess.run(
        ["tmux", "-L", tmux.socket, "run-shell", "-t", "control",
         "printf '\\033]0;control-title\\007' > #{pane_tty}"],
        timeout=30,
    )  # fmt: skip
    deadline = time.monotonic() + 5
    while tmux.title("control") != "control-title" and time.monotonic() < deadline:
        time.sleep(0.1)
    if tmux.title("control") != "control-title":
        pytest.skip("this tmux ignores OSC titles: the check could not fail")

    for subject in ("\x1b]0;pwned\x07 title", "\x1b[2J clear", "[/var/www/html] markup"):
        tickets.create(
            desk,
            account="bluefin",
            subject=subject,
            priority="critical",
            category="technical",
            channel="phone",
        )
    command = supportdesk_command(cli_env)
    width, height = size
    tmux("new-session", "-d", "-s", "sd", "-x", str(width), "-y", str(height), command)
    screen = tmux.wait_for("sd", "[/var/www/html]")
    time.sleep(1.0)  # a few more frames: the countdowns tick
    screen = tmux("capture-pane", "-p", "-t", "sd")
    assert "␛]0;pwned␇" in screen, screen
    assert "␛[2J" in screen, screen
    assert tmux.title("sd") != "pwned"
    assert "pwned" not in tmux.title("sd")
    # still running (a MarkupError would have ended it): a key still works
    tmux("send-keys", "-t", "sd", "?")
    tmux.wait_for("sd", "Help")
    tmux("send-keys", "-t", "sd", "C-q")
