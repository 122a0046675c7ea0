"""Outside text is never a terminal control in any CLI printer (issue 12).

The hostile desk (tests/helpers/hostile.py) is printed by every human-readable command as a
real process: its stdout must be valid UTF-8 with no ESC, BEL, C1 CSI or bidi override, and
must show the strings as visible escapes (`␛]0;pwned␇`); `--json` must give back the exact
strings. Both databases.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest

from supportdesk.core import queue as q
from supportdesk.core.desk import Desk
from supportdesk.safe_text import json_escape
from supportdesk.services import tickets
from tests.helpers.cli import run_bytes
from tests.helpers.hostile import HOSTILE_STRINGS, SERVER, SUBJECT_LIMIT, storable, unsafe_chars

Env = dict[str, str]
Printer = Callable[[Desk, dict[str, Any], Env], None]
T = TypeVar("T")
PARTS = 3  # the hostile tickets are shown in this many cases


def _part(items: Sequence[T], part: int) -> list[T]:
    """Every PARTS-th item, from `part`: the PARTS parts hold each item once."""
    return list(items[part::PARTS])


RAW = (b"\x1b", b"\x07", "\x9b".encode(), "\u202e".encode(), "\u200b".encode(), b"\x00")


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return run_bytes(env, *args)


def printed(env: dict[str, str], *args: str) -> str:
    """The command's stdout, checked: exit 0, no traceback, valid UTF-8, nothing a terminal
    would obey."""
    p = run(env, *args)
    assert p.returncode == 0, (args, p.stderr.decode(errors="replace"))
    assert b"Traceback" not in p.stderr
    for raw in RAW:
        assert raw not in p.stdout, (args, raw, p.stdout[:2000])
    out = p.stdout.decode("utf-8")  # strict: a lone surrogate would have failed to print
    assert not unsafe_chars(out), (args, unsafe_chars(out))
    return out


def _shows_the_first_ticket_and_a_brief(desk: Desk, evil: dict[str, Any], env: Env) -> None:
    first = str(evil["first"])  # subject "\x1b]0;pwned\x07", thread full of hostile text
    shown = printed(env, "ticket", "show", first)
    assert "#" + first + "  ␛]0;pwned␇" in shown
    assert "[/var/www/html]" in shown and "␛[2J" in shown and "\\u202e" in shown
    brief = printed(env, "ticket", "brief", str(evil["tickets"][1]))
    assert "Evil [/var/www/html] ␛]0;pwned␇ Corp" in brief


def _shows_tickets(part: int) -> Printer:
    def check(desk: Desk, evil: dict[str, Any], env: Env) -> None:
        for tid in _part(evil["tickets"], part):
            printed(env, "ticket", "show", str(tid))

    return check


def _shows_the_queue(desk: Desk, evil: dict[str, Any], env: Env) -> None:
    queue = printed(env, "queue", "--limit", "100")
    assert "␛]0;pwned␇" in queue and "[/var/www/html]" in queue
    rows = q.page(desk, q.QueueFilter(), limit=100).rows
    assert len(queue.splitlines()) == 1 + len(rows)  # the header; a subject never breaks its line


def _shows_accounts_and_staff(desk: Desk, evil: dict[str, Any], env: Env) -> None:
    account = printed(env, "account", "show", "evil")
    assert "[@click=app.quit]x[/] ␛[31mMallory\\u202e" in account
    assert "srv-␛]0;pwned␇[/x]" in account
    assert "Evil [/var/www/html]" in printed(env, "account", "list")
    staff = printed(env, "staff", "list")
    assert "Mal [/x] ␛]0;pwned␇ \\u202eroy" in staff


def _shows_the_board_and_claims(desk: Desk, evil: dict[str, Any], env: Env) -> None:
    board = printed(env, "board", "--tier", "2")
    assert "␛[2J" in board or "[/x]" in board
    printed(env, "claims")


def _shows_incidents_and_maintenance(desk: Desk, evil: dict[str, Any], env: Env) -> None:
    incidents_out = printed(env, "incident", "list")
    assert "Outage [/var/www/html] ␛]0;pwned␇ \\u202eevil" in incidents_out
    shown_incident = printed(env, "incident", "show", str(evil["incident"]))
    assert "␛]0;pwned␇" in shown_incident
    assert "Patch [/x] ␛[2J \\u202e night" in printed(env, "maintenance", "list")


def _shows_sla_and_reports(desk: Desk, evil: dict[str, Any], env: Env) -> None:
    printed(env, "sla", "show", str(evil["first"]))
    printed(env, "report", "sla", "--by", "agent")
    printed(env, "report", "escalations")


PRINTERS: dict[str, Printer] = {
    "ticket-and-brief": _shows_the_first_ticket_and_a_brief,
    **{f"tickets{i}": _shows_tickets(i) for i in range(PARTS)},
    "queue": _shows_the_queue,
    "account-and-staff": _shows_accounts_and_staff,
    "board-and-claims": _shows_the_board_and_claims,
    "incidents-and-maintenance": _shows_incidents_and_maintenance,
    "sla-and-reports": _shows_sla_and_reports,
}


@pytest.mark.parametrize("printer", list(PRINTERS))
def test_every_printer_shows_hostile_text_as_visible_escapes(
    desk: Desk, evil_env: tuple[dict[str, Any], dict[str, str]], printer: str
) -> None:
    """One case per group of printers (each on its own copy of the hostile desk), so that
    workers share them; together they print every hostile ticket and every listing."""
    evil, env = evil_env
    PRINTERS[printer](desk, evil, env)


@pytest.mark.parametrize("part", [*range(PARTS), "account"])
def test_json_keeps_the_exact_strings(
    desk: Desk, evil_env: tuple[dict[str, Any], dict[str, str]], part: int | str
) -> None:
    """One case per part of the hostile tickets, and one for the account; together every
    hostile string."""
    evil, env = evil_env
    if part == "account":
        account = json.loads(run(env, "account", "show", "evil", "--json").stdout)
        assert account["company"] == "Evil [/var/www/html] \x1b]0;pwned\x07 Corp"
        assert account["services"][0]["server"] == SERVER
        return
    assert isinstance(part, int)
    pg = True  # the fixture drops NUL on both databases (the service limits refuse it)
    pairs = list(zip(evil["tickets"], HOSTILE_STRINGS, strict=True))
    for tid, text in _part(pairs, part):
        p = run(env, "ticket", "show", str(tid), "--json")
        assert p.returncode == 0, p.stderr
        for raw in RAW:  # controls are JSON escapes, not raw bytes
            assert raw not in p.stdout, (tid, raw)
        data = json.loads(p.stdout.decode("utf-8"))
        expected = storable(text, SUBJECT_LIMIT, postgres=pg)
        assert data["subject"] == (expected or "empty"), tid
        assert data["description"] == (storable(text, 200_000, postgres=pg) or "-")


def test_json_escape_round_trips_and_never_fails_to_encode() -> None:
    """What `--json` prints: the same value for a JSON reader, nothing raw for a terminal,
    and a lone surrogate (not storable, but it can reach a printer) no encoding error."""
    for text in HOSTILE_STRINGS:
        dumped = json_escape(json.dumps({"s": text}, ensure_ascii=False))
        dumped.encode("utf-8")  # strict
        assert json.loads(dumped)["s"] == text
        assert not unsafe_chars(dumped)


def test_errors_quoting_outside_text_are_one_inert_line(cli_env: dict[str, str]) -> None:
    for value in ("[/x] \x1b]0;pwned\x07", "\x1b[2J\u202e", "a\nb"):
        p = run(cli_env, "account", "show", value)
        assert p.returncode != 0
        err = p.stderr.decode("utf-8")
        assert "Traceback" not in err
        assert len([x for x in err.splitlines() if x.strip()]) == 1, err
        for raw in RAW:
            assert raw not in p.stderr


def test_invalid_utf8_in_argv_is_a_one_line_error_and_changes_nothing(
    desk: Desk, cli_env: dict[str, str]
) -> None:
    """Invalid UTF-8 on the command line (decoded with surrogateescape) cannot be stored:
    one line, non-zero, and no ticket."""
    before = tickets.create(
        desk, account="bluefin", subject="x", priority="low", category="billing", channel="phone"
    )
    p = run_bytes(
        cli_env,
        "ticket",
        "new",
        "--account",
        "bluefin",
        "--subject",
        os.fsdecode(b"bad \xff subject"),
        "--priority",
        "low",
        "--category",
        "billing",
        "--channel",
        "phone",
    )
    assert p.returncode != 0
    err = p.stderr.decode("utf-8")
    assert "Traceback" not in err, err
    assert len([x for x in err.splitlines() if x.strip()]) == 1, err
    assert "\\udcff" in err or "UTF-8" in err
    rows = q.page(desk, q.QueueFilter(), limit=100).rows
    assert max(r.id for r in rows) == before
