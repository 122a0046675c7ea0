"""Type-ahead in a real terminal (tmux), at a headset agent's pace (issue 16 item 10): in
the call screen, the account's name, Enter, `1` and Enter sent 50 ms apart pick the account
and its first contact, and the search box keeps exactly what was typed. Skipped where tmux is
missing (CI installs it)."""

from __future__ import annotations

import shutil

import pytest

from supportdesk.core.desk import Desk
from tests.helpers.desk import new_ticket
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


def test_esc_then_the_next_screens_keys_at_50_ms_are_read_as_typed(
    desk: Desk, cli_env: dict[str, str], tmux: Tmux
) -> None:
    """Esc closes the call and `/` then `mail`, 50 ms behind it, search the queue (Textual
    alone read Esc and `/` as one sequence: the Esc was lost and `/mail` went into the
    call's search box; console/escape_key.py). The queue holds tickets: its list, not its
    search box, has the focus when the call closes."""
    new_ticket(desk, "Mail bounces")
    command = supportdesk_command(cli_env)
    tmux("new-session", "-d", "-s", "sd", "-x", "80", "-y", "24", command)
    tmux.wait_for("sd", "Queue")
    for _ in range(3):
        tmux.type("sd", ["C-k", *"blue"], KEY_GAP_S)
        tmux.wait_for_line("sd", 1, "blue")  # the call's search box
        tmux.type("sd", ["Escape", "/", *"mail"], KEY_GAP_S)
        screen = tmux.wait_for_line("sd", 0, "Queue · “mail”")
        assert "blue" not in screen.splitlines()[1], screen  # the queue's box: only "mail"
        assert screen.splitlines()[1].rstrip().endswith("mail"), screen
        tmux.type("sd", ["Escape", "x"], KEY_GAP_S)  # leave the search, clear the filters
        tmux.wait_for_line("sd", 0, "Queue · priority order")
    tmux("send-keys", "-t", "sd", "C-q")
