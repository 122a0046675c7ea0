"""Delivery you can see from the command line (issue 18, item 5), in real processes on both
databases: a bounce by VERP through `mail ingest --recipient`, what became of each message in
`ticket show` (and its --json), `mail outbox` and `mail retry` for leads, and the mail alarm
in `sla board`. The mail server's words are outside text: shown inert, exact in --json."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from supportdesk.core.desk import Desk
from supportdesk.services.outbox import failures
from tests.helpers.cli import one_line_error, run, run_bytes
from tests.helpers.desk import new_ticket
from tests.helpers.outbox import (
    DOMAIN,
    TO,
    dsn,
    fail,
    mailed_reply,
    mark,
    queued,
    row,
    use_mail_policy,
)

HOSTILE = "550 \x1b[2J\x1b]0;pwned\x07[red]no[/red] [link=http://x]user\u202e\x00 gone"


def ingest(
    env: dict[str, str], data: bytes, tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[bytes]:
    path = tmp_path / "dsn.eml"
    path.write_bytes(data)
    with path.open("rb") as stdin:
        return run_bytes(env, "mail", "ingest", *args, stdin=stdin.fileno())


def _replied(desk: Desk) -> tuple[int, int]:
    use_mail_policy(desk)
    tid = new_ticket(desk, contact_email=TO)
    return tid, mailed_reply(desk, tid)


def test_a_bounce_by_verp_through_mail_ingest(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    tid, mid = _replied(desk)
    mark(desk, mid, state="sent", sent_at=desk.now(), server_reply="250 2.0.0 Ok: queued")
    p = ingest(cli_env, dsn(), tmp_path, "--sender", "", "--recipient", f"bounces+{mid}@{DOMAIN}")
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert out.startswith("bounce filed: outgoing message") and f"(ticket #{tid})" in out
    assert row(desk, mid).state == "failed"
    # an unknown id, and the same report again (a repeated Message-ID): exit 0 both
    p = ingest(
        cli_env,
        dsn(message_id="<other@mx>"),
        tmp_path,
        "--recipient",
        f"bounces+{mid + 99}@{DOMAIN}",
    )
    assert p.returncode == 0 and p.stdout.startswith(b"quarantined as Q")
    p = ingest(cli_env, dsn(), tmp_path, "--recipient", f"bounces+{mid}@{DOMAIN}")
    assert p.returncode == 0 and b"already filed" in p.stdout


def test_ticket_show_prints_each_message_state_with_the_server_words_inert(
    desk: Desk, cli_env: dict[str, str]
) -> None:
    tid, mid = _replied(desk)
    ack = queued(desk, tid)
    fail(desk, mid, HOSTILE)
    p = run(cli_env, "ticket", "show", str(tid))
    assert p.returncode == 0, p.stderr
    assert "\x1b" not in p.stdout and "\x07" not in p.stdout and "\u202e" not in p.stdout
    line = next(x for x in p.stdout.splitlines() if "mail: FAILED" in x)
    assert f"to {TO}: 550 ␛[2J" in line and "[red]no[/red]" in line
    assert "acknowledgement (automatic)" in p.stdout
    assert f"queued for {TO}" in p.stdout
    assert "Reply not delivered" not in p.stdout  # the CLI prints the flag event as it is
    assert "flag - -> mail failed" in p.stdout
    j = json.loads(run(cli_env, "ticket", "show", str(tid), "--json").stdout)
    by_id = {d["id"]: d for d in j["deliveries"]}
    assert by_id[mid]["state"] == "failed" and by_id[ack]["state"] == "queued"
    assert by_id[mid]["last_error"] == failures.storable(HOSTILE)


def test_mail_outbox_and_retry_for_leads(desk: Desk, cli_env: dict[str, str]) -> None:
    tid, mid = _replied(desk)
    fail(desk, mid, "550 5.1.1 no such user")
    p = run(cli_env, "mail", "outbox", "--state", "failed")
    assert p.returncode == 0, p.stderr
    assert f"{mid:<7} failed" in p.stdout and "550 5.1.1 no such user" in p.stdout
    agent = {**cli_env, "SUPPORTDESK_AGENT": "amir"}
    p = run(agent, "mail", "outbox")
    assert p.returncode != 0 and "is for leads" in one_line_error(p)
    p = run(agent, "mail", "retry", str(mid))
    assert p.returncode != 0 and "is for leads" in one_line_error(p)
    p = run(cli_env, "mail", "retry", str(mid))
    assert p.returncode == 0 and p.stdout.strip() == f"message {mid} to {TO} queued again"
    assert row(desk, mid).state == "queued"
    p = run(cli_env, "mail", "retry", str(mid))
    assert p.returncode != 0 and "still to be sent" in one_line_error(p)
    p = run(cli_env, "mail", "outbox", "--ticket", str(tid), "--json")
    assert [m["state"] for m in json.loads(p.stdout)["messages"]] == ["queued"]


def test_the_mail_alarm_in_sla_board_and_mail_outbox(desk: Desk, cli_env: dict[str, str]) -> None:
    _tid, mid = _replied(desk)
    with desk.write() as (s, _r):
        failures.transport_fault(s, desk, "535 5.7.8 \x1b[31mauthentication failed")
    for args in (("sla", "board"), ("mail", "outbox")):
        p = run(cli_env, *args)
        assert p.returncode == 0, p.stderr
        first = p.stdout.splitlines()[0]
        assert first.startswith("MAIL ALARM: Mail is not going out since ")
        assert "535 5.7.8 ␛[31mauthentication failed — 1 message waiting" in first
    j = json.loads(run(cli_env, "sla", "board", "--json").stdout)
    assert j["mail_alarm"]["reason"] == "535 5.7.8 \x1b[31mauthentication failed"
    with desk.write() as (s, _r):
        failures.transport_ok(s, desk)
    assert "MAIL ALARM" not in run(cli_env, "sla", "board").stdout
    assert mid
