"""The escalation CLI as a user runs it, on both databases: JSON, exit codes, one-line errors
that leave the database unchanged."""

from __future__ import annotations

import json

import pytest

from supportdesk.core.desk import Desk
from supportdesk.services import tickets
from tests.helpers.cli import one_line_error, run
from tests.helpers.desk import new_ticket


def _as(env: dict[str, str], login: str) -> dict[str, str]:
    return env | {"SUPPORTDESK_AGENT": login}


def _state(desk: Desk) -> tuple:
    return (
        desk.store.query("SELECT count(*) FROM audit")[0][0],
        tuple(desk.store.query("SELECT id, tier, holder_id, status FROM tickets ORDER BY id")),
        desk.store.query("SELECT count(*) FROM escalations")[0][0],
    )


def test_escalate_board_claim_release_reassign_end_shift(cli_env: dict[str, str], desk: Desk):
    first = new_ticket(desk, "Site down", "critical")
    second = new_ticket(desk, "Slow mail", "medium")
    amir = _as(cli_env, "amir")
    p = run(amir, "escalate", str(first), "--reason", "needs root", "--tried", "cache", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert (out["ticket_id"], out["from_tier"], out["to_tier"]) == (first, 1, 2)
    p = run(amir, "escalate", str(second), "--to-tier", "2", "--reason", "mailbox server")
    assert p.returncode == 0 and "unclaimed on its board" in p.stdout

    tomas = _as(cli_env, "tomas")
    p = run(tomas, "board", "--tier", "2", "--json")
    assert p.returncode == 0, p.stderr
    board = json.loads(p.stdout)
    rows = board["rows"]
    assert [r["ticket_id"] for r in rows] == [first, second]
    assert {"ticket_id", "holder", "escalated_at", "reason"} <= set(rows[0])
    assert rows[0]["reason"] == "needs root" and rows[0]["holder"] is None
    assert rows[0]["escalated_by"] == "amir" and rows[0]["respond"]["state"]
    p = run(tomas, "board")  # text, at tomas's own tier
    assert p.returncode == 0 and "tier 2 board: 2 unclaimed" in p.stdout

    p = run(tomas, "claim", "--next", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ticket_id"] == first
    p = run(_as(cli_env, "una"), "claim", "--next", "--tier", "2")
    assert p.returncode == 0 and f"#{second}" in p.stdout
    p = run(tomas, "claim", "--next")
    assert p.returncode == 4
    assert "nothing left to claim on the tier 2 board" in one_line_error(p)

    p = run(tomas, "release", str(first), "--reason", "needs network", "--json")
    assert p.returncode == 0 and json.loads(p.stdout) == {"ticket_id": first, "holder": None}
    p = run(cli_env, "reassign", str(first), "--to", "tomas", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["holder"] == "tomas"
    p = run(tomas, "end-shift", "--note", "all yours", "--json")
    assert p.returncode == 0 and json.loads(p.stdout) == {"released": [first], "kept": []}
    p = run(tomas, "end-shift", "--note", "again")
    assert p.returncode == 4

    p = run(cli_env, "ticket", "brief", str(first))
    assert p.returncode == 0, p.stderr
    assert "handed over:" in p.stdout and "handover by tomas:\n    all yours" in p.stdout
    assert "released by tomas:\n    needs network" in p.stdout
    p = run(cli_env, "ticket", "brief", str(first), "--json")
    assert p.returncode == 0
    brief = json.loads(p.stdout)
    assert [(h["by"], h["kind"], h["note"]) for h in brief["handovers"]] == [
        ("tomas", "release", "needs network"),
        ("tomas", "handover", "all yours"),
    ]
    assert brief["escalations"][0]["tried"] == "cache"
    assert brief["services"][0]["server"] == "web-cpt-14"
    p = run(cli_env, "claims", "--json")
    assert p.returncode == 0 and [c["ticket_id"] for c in json.loads(p.stdout)] == [second]
    p = run(cli_env, "report", "escalations", "--json")
    assert p.returncode == 0
    figures = json.loads(p.stdout)
    assert figures["escalations_by_tier"] == {"2": 2} and figures["claimed"] == 2

    p = run(_as(cli_env, "una"), "deescalate", str(second), "--reason", "a tier-1 fix")
    assert p.returncode == 0 and "held by amir" in p.stdout


def test_end_shift_keeps_waiting_tickets_unless_all(cli_env: dict[str, str], desk: Desk):
    working, waiting = (new_ticket(desk, f"t{i}", "medium") for i in range(2))
    amir, tomas = _as(cli_env, "amir"), _as(cli_env, "tomas")
    for tid in (working, waiting):
        assert run(amir, "escalate", str(tid), "--reason", "root").returncode == 0
        assert run(tomas, "ticket", "take", str(tid)).returncode == 0
    p = run(tomas, "ticket", "update", str(waiting), "--status", "pending_customer")
    assert p.returncode == 0, p.stderr
    p = run(tomas, "end-shift", "--note", "back Monday")
    assert p.returncode == 0, p.stderr
    assert p.stdout == (
        f"released 1 ticket: #{working}\n"
        f"kept 1 waiting or scheduled ticket (--all releases them): #{waiting}\n"
    )
    before = _state(desk)
    p = run(tomas, "end-shift", "--note", "again")
    assert p.returncode == 4 and "1 waiting or scheduled" in one_line_error(p)
    assert _state(desk) == before
    p = run(tomas, "end-shift", "--note", "off for two weeks", "--all", "--json")
    assert p.returncode == 0 and json.loads(p.stdout) == {"released": [waiting], "kept": []}
    p = run(cli_env, "ticket", "brief", str(waiting), "--json")
    assert [h["note"] for h in json.loads(p.stdout)["handovers"]] == ["off for two weeks"]


@pytest.mark.parametrize(
    ("who", "args", "code", "words"),
    [
        ("amir", ("escalate", "{closed}", "--reason", "x"), 1, "resolved"),
        ("amir", ("escalate", "{held}", "--reason", "x"), 1, "awaiting authorization"),
        ("lena", ("escalate", "{open}", "--to-tier", "4", "--reason", "x"), 2, "no tier 4"),
        ("amir", ("escalate", "{open}", "--reason", "  "), 2, "reason"),
        ("amir", ("escalate", "{open}"), 2, "--reason"),
        ("amir", ("escalate", "424242", "--reason", "x"), 1, "no ticket #424242"),
        ("amir", ("ticket", "take", "{held}"), 1, "awaiting authorization"),
        ("amir", ("ticket", "take", "424242"), 1, "no ticket #424242"),
        ("amir", ("ticket", "take", "{tier2}"), 1, "cannot take"),
        ("amir", ("claim", "--next", "--tier", "2"), 1, "cannot work the tier 2 board"),
        ("amir", ("claim",), 2, "ticket take ID"),
        ("tomas", ("release", "{tier2}", "--reason", "x"), 1, "you do not hold"),
        ("lena", ("reassign", "{tier2}", "--to", "ghost"), 1, "no staff member 'ghost'"),
        ("tomas", ("reassign", "{tier2}", "--to", "tomas"), 1, "is for leads"),
        ("ghost", ("claim", "--next"), 1, "no staff member 'ghost'"),
        ("amir", ("deescalate", "{open}", "--reason", "x"), 2, "not escalated"),
        ("lena", ("report", "escalations", "--from", "yesterday"), 2, "not a time"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    cli_env: dict[str, str], desk: Desk, who: str, args: tuple[str, ...], code: int, words: str
) -> None:
    ids = {
        "open": new_ticket(desk, "open one"),
        "closed": new_ticket(desk, "closed one"),
        "held": new_ticket(desk, "held one"),
        "tier2": new_ticket(desk, "tier 2 one"),
    }
    tickets.resolve(desk, ids["closed"], "fixed")
    tickets.update_fields(desk, ids["held"], status="awaiting_authorization")
    from supportdesk.services import escalation

    escalation.escalate(desk, ids["tier2"], reason="up")
    before = _state(desk)
    p = run(_as(cli_env, who), *(a.format(**ids) for a in args))
    assert p.returncode == code, (p.stdout, p.stderr)
    assert words in one_line_error(p)
    assert _state(desk) == before


def test_claims_and_the_board_say_the_whole_priority_and_mark_a_cut_subject(
    desk: Desk, cli_env: dict[str, str]
) -> None:
    """`medi` and a subject cut mid-word with nothing to say so (a new-user helper)."""
    subject = "Backups for bluefin.example stopped after the migration " + "x" * 60
    tid = new_ticket(desk, subject, "medium")
    tickets.claim(desk, tid)
    line = next(x for x in run(cli_env, "claims").stdout.splitlines() if x.startswith(f"#{tid}"))
    assert " medium " in line, line
    assert line.endswith("…") and "Backups for bluefin.example stopped" in line, line
    assert subject not in line
