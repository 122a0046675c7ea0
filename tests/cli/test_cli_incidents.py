"""The incident and maintenance CLI as a user runs it, on both databases: JSON, exit codes,
one-line errors that leave the database unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from supportdesk.core.desk import Desk
from supportdesk.services import incidents, tickets
from supportdesk.services.incidents import maintenance
from tests.helpers.cli import one_line_error, run
from tests.helpers.desk import new_ticket


def _as(env: dict[str, str], login: str) -> dict[str, str]:
    return env | {"SUPPORTDESK_AGENT": login}


def _state(desk: Desk) -> tuple:
    q = desk.store.query
    return (
        q("SELECT count(*) FROM audit")[0][0],
        tuple(q("SELECT id, status, window_id, first_response_at FROM tickets ORDER BY id")),
        q("SELECT count(*) FROM ticket_events")[0][0],
        tuple(q("SELECT id, state, acknowledged_at, next_update_due FROM incidents ORDER BY id")),
        q("SELECT count(*) FROM incident_links")[0][0],
        q("SELECT count(*) FROM incident_calls")[0][0],
        q("SELECT count(*) FROM incident_updates")[0][0],
        q("SELECT count(*) FROM maintenance_windows")[0][0],
    )


def test_incident_open_link_update_ack_resolve_list(
    cli_env: dict[str, str], desk: Desk, corvid: None
) -> None:
    first = new_ticket(desk, "Site down", "high")
    second = new_ticket(desk, "Shop down", "high", channel="email")
    other = new_ticket(desk, "DNS odd", account="corvid")
    amir = _as(cli_env, "amir")
    p = run(
        amir, "incident", "open", "--server", "web-cpt-14", "--title", "web-cpt-14 down",
        "--cadence", "45m", "--owner", "tomas", "--json",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    inc = json.loads(p.stdout)
    assert (inc["state"], inc["servers"], inc["owner"], inc["cadence_s"]) == (
        "investigating",
        ["web-cpt-14"],
        "tomas",
        45 * 60,
    )
    opened = datetime.fromisoformat(inc["opened_at"])
    assert datetime.fromisoformat(inc["next_update_due"]) - opened == timedelta(minutes=45)
    iid = str(inc["id"])

    p = run(amir, "incident", "link", iid, "--ticket", str(first), "--call", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {
        "incident_id": int(iid),
        "ticket_id": first,
        "account": "bluefin",
        "affected": True,
        "responded": True,
    }
    p = run(amir, "incident", "link", iid, "--ticket", str(second))
    assert p.returncode == 0 and f"ticket #{second} linked to incident #{iid}" in p.stdout
    p = run(amir, "incident", "link", iid, "--ticket", str(other), "--reason", "same DNS")
    assert p.returncode == 0 and "not affected: reason kept" in p.stdout
    p = run(amir, "incident", "call", iid, "--account", "bluefin", "--contact",
            "priya@bluefin.example", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["affected"] is True

    tomas = _as(cli_env, "tomas")
    p = run(tomas, "incident", "ack", iid, "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["acknowledged_by"] == "tomas"
    p = run(tomas, "incident", "update", iid, "Failed disk found", "--state", "identified",
            "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    upd = json.loads(p.stdout)
    assert sorted(upd["tickets_posted"]) == sorted([first, second, other])
    assert upd["state"] == "identified"
    p = run(tomas, "incident", "update", iid, stdin="From stdin: replacing the disk\n")
    assert p.returncode == 0 and "posted to 3 tickets" in p.stdout

    p = run(cli_env, "incident", "list", "--json")
    assert p.returncode == 0
    (listed,) = json.loads(p.stdout)
    assert (listed["id"], listed["linked"], listed["calls"]) == (int(iid), 3, 2)
    p = run(cli_env, "incident", "list")
    assert p.returncode == 0 and "web-cpt-14 down" in p.stdout and "ack tomas" in p.stdout

    p = run(tomas, "incident", "resolve", iid, "Disk replaced", "--keep-open", str(other),
            "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert sorted(res["resolved"]) == sorted([first, second])
    assert res["left_open"] == [other]
    p = run(cli_env, "incident", "show", iid, "--json")
    shown = json.loads(p.stdout)
    assert shown["incident"]["state"] == "resolved"
    assert [u["kind"] for u in shown["updates"]] == [
        "opened",
        "ack",
        "update",
        "update",
        "resolved",
    ]
    assert shown["affected_total"] == 1
    p = run(cli_env, "incident", "show", iid)
    assert p.returncode == 0 and "script (read to callers)" in p.stdout
    p = run(cli_env, "incident", "list")
    assert p.returncode == 0 and "no open incidents" in p.stdout
    p = run(cli_env, "incident", "list", "--all", "--json")
    assert [i["state"] for i in json.loads(p.stdout)] == ["resolved"]
    assert run(cli_env, "audit", "verify").returncode == 0


def test_maintenance_add_list_schedule_wake(cli_env: dict[str, str], desk: Desk) -> None:
    tid = new_ticket(desk, "Needs a PHP module on the server")
    tomas = _as(cli_env, "tomas")
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    end = start + timedelta(hours=4)
    p = run(tomas, "maintenance", "add", "--server", "web-cpt-14", "--from", start.isoformat(),
            "--to", end.isoformat(), "--notice", "Kernel upgrade", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    w = json.loads(p.stdout)
    assert (w["servers"], w["notice"], w["scheduled"]) == (["web-cpt-14"], "Kernel upgrade", 0)
    assert datetime.fromisoformat(w["starts_at"]) == start
    p = run(cli_env, "maintenance", "list")
    assert p.returncode == 0 and "upcoming" in p.stdout and "Kernel upgrade" in p.stdout

    amir = _as(cli_env, "amir")
    p = run(amir, "ticket", "schedule", str(tid), "--window", str(w["id"]), "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (r["status"], datetime.fromisoformat(r["paused_until"])) == ("scheduled", start)
    p = run(cli_env, "maintenance", "list", "--json")
    assert json.loads(p.stdout)[0]["scheduled"] == 1
    p = run(cli_env, "maintenance", "wake")
    assert p.returncode == 4
    assert "window has opened" in one_line_error(p)
    later = (start + timedelta(minutes=1)).isoformat()
    p = run(cli_env, "--at", later, "maintenance", "wake", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"woke": [tid]}
    assert tickets.show(desk, tid).status == "open"
    p = run(cli_env, "--at", later, "maintenance", "wake")
    assert p.returncode == 4


@pytest.mark.parametrize(
    ("who", "args", "code", "words"),
    [
        ("amir", ("incident", "open", "--server", "web-9", "--title", "x", "--owner", "tomas"),
         1, "no service runs on web-9"),
        ("amir", ("incident", "open", "--server", "web-cpt-14", "--title", "x"), 2, "--owner"),
        ("lena", ("incident", "open", "--server", "web-cpt-14", "--title", "x", "--cadence",
                  "1m"), 2, "between 5m and 24h"),
        ("lena", ("incident", "open", "--title", "x"), 2, "--server"),
        ("amir", ("incident", "link", "{inc}", "--ticket", "{unaffected}"), 2, "--reason"),
        ("amir", ("incident", "link", "{inc}", "--ticket", "4242"), 1, "no ticket #4242"),
        ("amir", ("incident", "link", "{inc}", "--ticket", "{linked}"), 4, "already linked"),
        ("amir", ("incident", "call", "{inc}", "--account", "corvid"), 2, "--reason"),
        ("amir", ("incident", "update", "{inc}", "x"), 1, "is for engineers and leads"),
        ("tomas", ("incident", "update", "{inc}", "x", "--state", "resolved"), 2, "--state"),
        ("amir", ("incident", "ack", "{inc}"), 1, "on-call engineer (tomas)"),
        ("lena", ("incident", "ack", "{resolved}"), 1, "is resolved"),
        ("lena", ("incident", "ack", "999"), 1, "no incident #999"),
        ("tomas", ("incident", "resolve", "{inc}", "x", "--keep-open", "4242"), 2, "not linked"),
        ("tomas", ("incident", "resolve", "{resolved}", "x"), 1, "is resolved"),
        ("tomas", ("maintenance", "add", "--server", "web-cpt-14", "--from", "{t2}", "--to",
                   "{t1}", "--notice", "x"), 2, "before it starts"),
        ("tomas", ("maintenance", "add", "--server", "web-cpt-14", "--from", "{t1}", "--to",
                   "{t3}", "--notice", "x"), 2, "overlaps maintenance window #1"),
        ("tomas", ("maintenance", "add", "--server", "db-7", "--from", "{t3}", "--to",
                   "{t4}", "--notice", "x"), 1, "no service runs on db-7"),
        ("tomas", ("maintenance", "add", "--server", "web-cpt-14", "--from", "soon", "--to",
                   "{t4}", "--notice", "x"), 2, "--from: not a time"),
        ("amir", ("maintenance", "add", "--server", "web-jnb-2", "--from", "{t3}", "--to",
                  "{t4}", "--notice", "x"), 1, "is for engineers and leads"),
        ("amir", ("ticket", "schedule", "{unaffected}", "--window", "1"), 2, "no service on"),
        ("amir", ("ticket", "schedule", "{linked}", "--window", "77"), 1, "no maintenance window"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_changes_nothing(
    cli_env: dict[str, str],
    desk: Desk,
    corvid: None,
    who: str,
    args: tuple[str, ...],
    code: int,
    words: str,
) -> None:
    linked = new_ticket(desk, "linked one")
    unaffected = new_ticket(desk, "corvid one", account="corvid")
    inc = incidents.open_incident(desk, ["web-cpt-14"], "Down", owner="tomas")
    incidents.link_ticket(desk, inc.id, linked)
    gone = incidents.open_incident(desk, ["web-jnb-2"], "Was down", owner="tomas")
    incidents.resolve(desk, gone.id, "over")
    base = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    times = {f"t{n}": (base + timedelta(hours=n)).isoformat() for n in range(5)}
    maintenance.add_window(
        desk, ["web-cpt-14"], base + timedelta(hours=0), base + timedelta(hours=2), "Planned"
    )
    values = {
        "inc": str(inc.id),
        "resolved": str(gone.id),
        "linked": str(linked),
        "unaffected": str(unaffected),
        **times,
    }
    before = _state(desk)
    p = run(_as(cli_env, who), *(a.format(**values) for a in args))
    assert p.returncode == code, (p.returncode, p.stderr)
    assert words in one_line_error(p)
    assert _state(desk) == before
