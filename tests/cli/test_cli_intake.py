"""`[intake]` through the CLI as real processes, on both databases (issue 19 item 3):
a refused channel is one line and exit 1 with the desk's words, the database unchanged; the
envelope recipient (`mail ingest --recipient`) picks the mailbox, never To:; `policy show`
prints the rules in words and JSON."""

from __future__ import annotations

import json

from supportdesk.core.desk import Desk
from supportdesk.core.policy import load_preset
from supportdesk.services import sla
from tests.helpers.cli import one_line_error, run, run_bytes
from tests.helpers.desk import dump
from tests.helpers.samples import message


def _preset(desk: Desk, name: str) -> None:
    p = load_preset(name)
    sla.load_policy(desk, p, move_plans={"gold": p.default_plan})


def test_seed_004_refuses_a_phone_ticket(desk: Desk, cli_env: dict[str, str]) -> None:
    _preset(desk, "seed-004-xstore")
    before = dump(desk.store)
    r = run(
        cli_env,
        *("ticket", "new", "--account", "bluefin", "--subject", "Call me"),
        *("--priority", "low", "--category", "technical", "--channel", "phone"),
    )
    assert r.returncode == 1
    assert one_line_error(r).endswith(load_preset("seed-004-xstore").intake.refusal)
    assert dump(desk.store) == before


def test_seed_000_holds_an_unverified_caller(desk: Desk, cli_env: dict[str, str]) -> None:
    _preset(desk, "seed-000-ihost")
    r = run(
        cli_env,
        *("ticket", "new", "--account", "bluefin", "--subject", "Reboot please", "--json"),
        *("--priority", "low", "--category", "technical", "--channel", "phone"),
        *("--caller-name", "Random Person"),
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "awaiting_authorization"


def test_mailboxes_by_envelope_recipient(desk: Desk, cli_env: dict[str, str]) -> None:
    _preset(desk, "seed-001-itpossible")
    priya = "priya@bluefin.example"
    complaint = run_bytes(
        cli_env,
        *("mail", "ingest", "--json", "--recipient", "complaint@itpossible.com"),
        stdin=message(priya, "Rude agent"),
    )
    assert complaint.returncode == 0, complaint.stderr
    tid = json.loads(complaint.stdout)["ticket"]
    shown = run(cli_env, "ticket", "show", str(tid))
    assert "complaint mailbox complaint@itpossible.com: reaches a supervisor" in shown.stdout
    other = run_bytes(  # To: support@desk.example in the message: not read
        cli_env,
        *("mail", "ingest", "--json", "--recipient", "sales@itpossible.com"),
        stdin=message(priya, "Wrong door"),
    )
    assert other.returncode == 0, other.stderr
    out = json.loads(other.stdout)
    assert out["action"] == "closed_mailbox"
    assert run(cli_env, "ticket", "show", str(out["ticket"]), "--json").returncode == 0


def test_policy_show_intake(cli_env: dict[str, str]) -> None:
    r = run(cli_env, "policy", "show", "--preset", "seed-004-xstore")
    assert r.returncode == 0, r.stderr
    assert "Intake: tickets are taken by email; phone, chat, portal refused" in r.stdout
    assert "once-off" in r.stdout and "Who may ask, per request type:" in r.stdout
    j = json.loads(run(cli_env, "policy", "show", "--preset", "seed-004-xstore", "--json").stdout)
    assert j["intake"]["channels"] == ["email"]
    assert j["intake"]["mailboxes"] == {"support@xstore.example": "support"}
