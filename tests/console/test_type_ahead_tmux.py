"""Type-ahead in a real terminal (tmux), at a headset agent's pace (issue 16 item 10): in
the call screen, the account's name, Enter, `1` and Enter sent 50 ms apart pick the account
and its first contact, and the search box keeps exactly what was typed. Skipped where tmux is
missing (CI installs it)."""

from __future__ import annotations

import shutil

import pytest

from supportdesk.core.desk import Desk
from tests.helpers.tmux import Tmux, supportdesk_command

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

KEY_GAP_S = 0.05


def test_enter_then_a_digit_at_50_ms_picks_the_contact(
    desk: Desk, cli_env: dict[str, str], tmux: Tmux
) -> None:
    command = supportdesk_command(cli_env)
    tmux("new-session", "-d", "-s", "sd", "-x", "80", "-y", "24", command)
    tmux.wait_for("sd", "Queue")
    for _ in range(4):
        tmux.type("sd", ["C-k", *"bluefin", "Enter", "1", "Enter"], KEY_GAP_S)
        screen = tmux.wait_for_line("sd", 0, "Call · bluefin")
        # the title names the contact picked, once the account is read
        screen = tmux.wait_for_line("sd", 0, "Bluefin Media · Priya Naidoo")
        assert screen.splitlines()[1].strip() == "bluefin", screen  # the box: as typed
        tmux.type("sd", ["Escape", "Escape", "Escape"], KEY_GAP_S)
        tmux.wait_for("sd", "Queue ·")
    tmux("send-keys", "-t", "sd", "C-q")
