"""How the CLI writes time and verdicts (issue 16, items 8 and 12), through real processes.

Text output shows times in the desk's one zone with its abbreviation, without microseconds
or "+00:00" (the `desk` fixture runs on the demo policy: its default plan's calendar is in
Johannesburg, so SAST); SUPPORTDESK_TZ overrides it per person and a zone that does not exist
is one line; JSON keeps ISO 8601 with the offset. `verify` prints the verification id that
`ticket new --verification` takes, and counts attempts in good English.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from subprocess import CompletedProcess
from zoneinfo import ZoneInfo

import pytest

from supportdesk.core.desk import Desk
from supportdesk.core.policy import load_preset
from supportdesk.services import tickets
from supportdesk.services.callers import verification
from tests.helpers.cli import NEW_TICKET, one_line_error, run

PRIYA = "priya@bluefin.example"
ISO_TAIL = re.compile(r"\d\d:\d\d:\d\d\.\d+|[+-]\d\d:\d\d\b")  # microseconds or an offset
TEXT_TIME = re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)? [A-Z]{3,5}\b")


def _ticket(cli_env: dict[str, str]) -> int:
    p = run(cli_env, *NEW_TICKET, "--json")
    assert p.returncode == 0, p.stderr
    return int(json.loads(p.stdout)["id"])


def _pin(desk: Desk) -> tuple[str, str]:
    """Priya's PIN, and one that is not."""
    pin = verification.set_pin(desk, "bluefin", PRIYA).pin
    return pin, str((int(pin) + 1) % 10 ** len(pin)).zfill(len(pin))


def _verify(cli_env: dict[str, str], pin: str, *extra: str) -> CompletedProcess[str]:
    return run(cli_env, "verify", "--account", "bluefin", "--contact", PRIYA, *extra, stdin=pin)


# -- item 12: the verification id, plurals, the counting -----------------------------------------
def test_verify_prints_the_id_that_ticket_new_takes(cli_env: dict[str, str], desk: Desk) -> None:
    pin, _ = _pin(desk)
    p = _verify(cli_env, pin)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("VERIFIED: Priya Naidoo")
    found = re.search(r"verification (\d+) \(ticket new --verification (\d+)\)", p.stdout)
    assert found is not None and found[1] == found[2], p.stdout
    made = run(cli_env, *NEW_TICKET, "--verification", found[1])
    assert made.returncode == 0, made.stderr


def test_verify_counts_attempts_in_english_and_says_when_in_the_desk_zone(
    cli_env: dict[str, str], desk: Desk
) -> None:
    _, wrong = _pin(desk)
    said = []
    for _ in range(5):
        p = _verify(cli_env, wrong)
        assert p.returncode == 1
        said.append(p.stdout.splitlines()[0])
    assert said[0] == "FAILED: not verified (4 attempts left)"
    assert said[3] == "FAILED: not verified (1 attempt left)"
    assert said[4].startswith("LOCKED: not verified: Priya Naidoo is now locked until ")
    assert TEXT_TIME.search(said[4]) and said[4].endswith(" SAST"), said[4]
    assert not ISO_TAIL.search(said[4]), said[4]
    p = _verify(cli_env, wrong)  # locked: the recent attempts, times in the desk's zone
    lines = p.stdout.splitlines()
    assert lines[0].startswith("LOCKED: Priya Naidoo is locked until ")
    attempts = [line for line in lines if line.startswith("  20")]
    assert len(attempts) >= 5
    assert all(TEXT_TIME.match(line.strip()) for line in attempts), lines
    assert not any(ISO_TAIL.search(line) for line in lines), lines
    # JSON keeps ISO 8601 with its offset
    p = _verify(cli_env, wrong, "--json")
    until = json.loads(p.stdout)["locked_until"]
    assert datetime.fromisoformat(until).utcoffset() is not None


# -- item 12 and 8: times in text output and report headers --------------------------------------
def test_text_output_times_are_in_the_desk_zone_without_microseconds_or_offsets(
    cli_env: dict[str, str], desk: Desk
) -> None:
    tid = _ticket(cli_env)
    created = tickets.show(desk, tid).created_at.astimezone(ZoneInfo("Africa/Johannesburg"))
    shown = run(cli_env, "ticket", "show", str(tid))
    assert shown.returncode == 0, shown.stderr
    assert f"created {created:%Y-%m-%d %H:%M} SAST" in shown.stdout, shown.stdout
    clocks = run(cli_env, "sla", "show", str(tid))
    assert clocks.returncode == 0, clocks.stderr
    report = run(cli_env, "report", "sla", "--from", "2026-11-01T00:00+02:00",
                 "--to", "2026-11-22T00:00+02:00")  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert report.stdout.splitlines()[0] == "2026-11-01 00:00 SAST to 2026-11-22 00:00 SAST"
    escalations = run(cli_env, "report", "escalations", "--from", "2026-11-01T00:00+02:00",
                      "--to", "2026-11-22T00:00+02:00")  # fmt: skip
    assert escalations.returncode == 0, escalations.stderr
    assert escalations.stdout.splitlines()[0] == report.stdout.splitlines()[0]
    for p in (shown, clocks, report, escalations):
        assert not ISO_TAIL.search(p.stdout), p.stdout
        assert TEXT_TIME.search(p.stdout), p.stdout
    as_json = json.loads(run(cli_env, "ticket", "show", str(tid), "--json").stdout)
    assert datetime.fromisoformat(as_json["created_at"]).utcoffset() is not None


def test_supportdesk_tz_puts_text_output_in_the_persons_zone(
    cli_env: dict[str, str], desk: Desk
) -> None:
    tid = _ticket(cli_env)
    created = tickets.show(desk, tid).created_at.astimezone(ZoneInfo("Europe/Amsterdam"))
    p = run(dict(cli_env, SUPPORTDESK_TZ="Europe/Amsterdam"), "ticket", "show", str(tid))
    assert p.returncode == 0, p.stderr
    zone = created.tzname()
    assert f"created {created:%Y-%m-%d %H:%M} {zone}" in p.stdout, p.stdout
    assert "SAST" not in p.stdout


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Africa", "../etc/passwd"])
def test_a_zone_that_does_not_exist_is_one_line_and_changes_nothing(
    cli_env: dict[str, str], desk: Desk, zone: str
) -> None:
    count = "SELECT COUNT(*) FROM tickets"
    before = desk.store.query(count)
    p = run(dict(cli_env, SUPPORTDESK_TZ=zone), *NEW_TICKET)
    assert p.returncode == 2
    line = one_line_error(p)
    assert line.startswith("supportdesk: SUPPORTDESK_TZ: ") and "time zone" in line, line
    assert desk.store.query(count) == before


def test_policy_check_refuses_an_unknown_desk_zone_in_one_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(load_preset("demo").text + '\n[desk]\ntimezone = "Mars/Olympus"\n')
    p = run(cli_env, "policy", "check", str(bad))
    assert p.returncode == 2
    line = one_line_error(p)
    assert "desk.timezone: unknown time zone 'Mars/Olympus'" in line, line
    good = tmp_path / "good.toml"
    good.write_text(load_preset("demo").text + '\n[desk]\ntimezone = "Asia/Tokyo"\n')
    assert run(cli_env, "policy", "check", str(good)).returncode == 0


# the desk's zone (the demo policy's, or a person's SUPPORTDESK_TZ), how it names 1 and 2
# November's midnights (New York leaves summer time on the 1st), its offset on 20 January, and
# when 17:30 there on Friday 20 November plus an hour of the office calendar (Johannesburg,
# 08:00-18:00) falls: half an hour that evening and half on Monday, or all of it on Monday
ZONES = [
    (None, ("SAST", "SAST"), 2, "2026-11-23T06:30:00+00:00"),
    ("Europe/Amsterdam", ("CET", "CET"), 1, "2026-11-23T07:00:00+00:00"),
    ("America/New_York", ("EDT", "EST"), -5, "2026-11-23T07:00:00+00:00"),
]


@pytest.mark.parametrize(("zone", "names", "offset_h", "due_utc"), ZONES)
def test_a_date_or_a_time_without_an_offset_is_read_in_the_desks_zone(
    cli_env: dict[str, str], zone: str | None, names: tuple[str, str], offset_h: int, due_utc: str
) -> None:
    """`report --from 2026-11-01` is that day's midnight where the desk is (it was the
    machine's: 02:00 SAST on a UTC server), and so is a maintenance window's start without
    an offset, and `sla due`'s start (which it answers in the same zone)."""
    env = cli_env if zone is None else dict(cli_env, SUPPORTDESK_TZ=zone)
    window = f"2026-11-01 00:00 {names[0]} to 2026-11-02 00:00 {names[1]}"
    for kind in ("sla", "escalations"):
        p = run(env, "report", kind, "--from", "2026-11-01", "--to", "2026-11-02")
        assert p.returncode == 0, p.stderr
        assert p.stdout.splitlines()[0] == window, p.stdout
    p = run(env, "maintenance", "add", "--server", "web-cpt-14", "--from", "2027-01-20T22:00",
            "--to", "2027-01-20T23:00", "--notice", "Disk swap", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    starts = datetime.fromisoformat(json.loads(p.stdout)["starts_at"])
    assert starts == datetime(2027, 1, 20, 22, tzinfo=ZoneInfo("UTC")) - timedelta(hours=offset_h)
    p = run(env, "sla", "due", "--calendar", "office", "--from", "2026-11-20T17:30", "--add", "1h",
            "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["due_utc"] == due_utc, p.stdout
