"""`supportdesk policy ...` and `supportdesk sla ...` as a user runs them (real processes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import one_line_error, run
from tests.helpers.desk import new_ticket

PRESETS = Path(__file__).resolve().parents[2] / "data" / "policies"


def test_sla_due_answers_the_dispute_question(cli_env: dict[str, str]) -> None:
    # preset 003 (I One Tech): critical responds within 1 h, Mon-Fri 08:00-18:00
    p = run(
        cli_env,
        "sla",
        "due",
        "--preset",
        "seed-003-ione",
        "--calendar",
        "office",
        "--from",
        "2026-11-20T17:30:00+07:00",
        "--add",
        "1h",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["due"] == "2026-11-23T08:30:00+07:00"  # Friday -> Monday


@pytest.mark.parametrize(
    ("add", "due"),
    [
        ("90s", "2026-11-20T17:31:30+07:00"),
        ("PT1H30M", "2026-11-23T09:00:00+07:00"),  # 30 min on Friday, 1 h on Monday
        ("P1D", "2026-11-25T11:30:00+07:00"),  # 24 business hours: 0.5 + 10 + 10 + 3.5
    ],
)
def test_sla_due_takes_seconds_and_iso_8601(cli_env: dict[str, str], add: str, due: str) -> None:
    # preset 003 (I One Tech): Mon-Fri 08:00-18:00; Friday 17:30
    p = run(
        cli_env,
        "sla",
        "due",
        "--preset",
        "seed-003-ione",
        "--calendar",
        "office",
        "--from",
        "2026-11-20T17:30:00+07:00",
        "--add",
        add,
        "--json",
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["due"] == due


def test_sla_due_bad_input_is_one_line(cli_env: dict[str, str]) -> None:
    base = ("sla", "due", "--calendar", "office", "--from", "2026-11-20T17:30:00+02:00")
    p = run(cli_env, *base, "--add", "soon")
    assert p.returncode == 2 and "not a duration" in one_line_error(p)
    p = run(cli_env, *base, "--add", "P1M")
    assert p.returncode == 2 and "years and months" in one_line_error(p)
    p = run(cli_env, "sla", "due", "--calendar", "nowhere", "--from", "2026-11-20", "--add", "1h")
    assert p.returncode == 2 and "no calendar 'nowhere'" in one_line_error(p)


def test_sla_show_json(cli_env: dict[str, str], desk) -> None:  # type: ignore[no-untyped-def]
    tid = new_ticket(desk, priority="critical")
    p = run(cli_env, "sla", "show", str(tid), "--json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    for clock in ("respond", "resolve"):
        assert {"due", "state", "remaining_seconds"} <= set(data[clock])
    assert data["plan"] == "gold" and data["respond"]["state"] in ("running", "warning")
    p = run(cli_env, "sla", "show", "999999")
    assert p.returncode == 1 and "no ticket #999999" in one_line_error(p)


def test_policy_check_names_line_and_field(cli_env: dict[str, str], tmp_path: Path) -> None:
    good = run(cli_env, "policy", "check", str(PRESETS / "demo.toml"))
    assert good.returncode == 0 and "ok" in good.stdout
    bad = tmp_path / "bad.toml"
    text = (PRESETS / "demo.toml").read_text().replace('critical = "1h"', 'critical = "soon"', 1)
    bad.write_text(text)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if '"soon"' in x)
    p = run(cli_env, "policy", "check", str(bad))
    assert p.returncode == 2
    message = one_line_error(p)
    assert f"bad.toml:{line}:" in message and "respond.critical" in message


def test_policy_load_recomputes_and_refuses_agents(
    cli_env: dict[str, str],
    desk,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    tid = new_ticket(desk, priority="critical")
    before = json.loads(run(cli_env, "sla", "show", str(tid), "--json").stdout)
    faster = tmp_path / "faster.toml"
    faster.write_text(
        (PRESETS / "demo.toml")
        .read_text()
        .replace('respond = { critical = "4h"', 'respond = { critical = "2h"')
    )
    agent = dict(cli_env, SUPPORTDESK_AGENT="amir")
    p = run(agent, "policy", "load", str(faster))
    assert p.returncode == 1 and "lead" in one_line_error(p)
    p = run(cli_env, "policy", "load", str(faster))
    assert p.returncode == 0 and "1 open tickets recomputed" in p.stdout, p.stderr
    after = json.loads(run(cli_env, "sla", "show", str(tid), "--json").stdout)
    assert before["respond"]["target_seconds"] == 4 * 3600
    assert after["respond"]["target_seconds"] == 2 * 3600
    p = run(cli_env, "policy", "load", str(faster))
    assert p.returncode == 4  # nothing to do: already in force
    shown = run(cli_env, "policy", "show", "--json")
    assert json.loads(shown.stdout)["plans"]["gold"]["respond"]["critical"]["text"] == "2h"


def test_init_with_a_policy_file(tmp_path: Path, cli_env: dict[str, str]) -> None:
    env = dict(cli_env, SUPPORTDESK_DB=str(tmp_path / "fresh.db"))
    env["SUPPORTDESK_AUDIT_KEY"] = str(tmp_path / "fresh.key")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n')
    p = run(env, "init", "--admin", "lena", "--policy", str(bad))
    assert p.returncode == 2 and "bad.toml" in one_line_error(p)
    assert not (tmp_path / "fresh.db").exists()  # validated before anything was created
    p = run(env, "init", "--admin", "lena", "--policy", str(PRESETS / "seed-003-ione.toml"))
    assert p.returncode == 0, p.stderr
    assert "SLA policy I One" in p.stdout or "seed 003" in p.stdout
    shown = json.loads(run(env, "policy", "show", "--json").stdout)
    assert shown["default_plan"] in shown["plans"]
