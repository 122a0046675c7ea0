"""The CLI as a user runs it: real processes, one-line errors, exit codes, races."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from supportdesk.core import audit
from supportdesk.models import AuditEvent, Ticket
from tests.helpers.cli import NEW_TICKET, one_line_error, run
from tests.helpers.desk import new_ticket


def test_ticket_lifecycle_with_json(cli_env):
    p = run(
        cli_env,
        "ticket",
        "new",
        "--account",
        "bluefin",
        "--subject",
        "Mail bouncing 550",
        "--priority",
        "high",
        "--category",
        "technical",
        "--channel",
        "email",
        "--contact",
        "priya@bluefin.example",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    t = json.loads(p.stdout)
    for k in (
        "id",
        "account",
        "contact",
        "service",
        "subject",
        "priority",
        "category",
        "channel",
        "status",
        "tier",
        "created_at",
        "holder",
    ):
        assert k in t
    assert t["created_at"].endswith("+00:00")
    tid = str(t["id"])
    assert run(cli_env, "ticket", "reply", tid, "Checking the MX").returncode == 0
    assert run(cli_env, "ticket", "note", tid, "-", stdin="internal from stdin").returncode == 0
    assert run(cli_env, "ticket", "call", tid, "--outcome", "spoke", "called back").returncode == 0
    assert run(cli_env, "ticket", "take", tid).returncode == 0
    p = run(cli_env, "ticket", "take", tid)
    assert p.returncode == 4  # nothing to do: already yours
    p = run(cli_env, "queue", "--json")
    assert [r["id"] for r in json.loads(p.stdout)] == [t["id"]]
    assert run(cli_env, "ticket", "resolve", tid, "--code", "fixed").returncode == 0
    p = run(cli_env, "queue")
    assert p.returncode == 0 and "nothing" in p.stdout
    p = run(cli_env, "ticket", "show", tid)
    assert "internal from stdin" in p.stdout and "[internal]" in p.stdout
    p = run(cli_env, "audit", "verify")
    assert p.returncode == 0 and "intact" in p.stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (
            (
                "ticket",
                "new",
                "--account",
                "bluefin",
                "--subject",
                "x",
                "--priority",
                "urgent",
                "--category",
                "technical",
                "--channel",
                "phone",
            ),
            2,
            "priority",
        ),
        (
            (
                "ticket",
                "new",
                "--account",
                "bluefin",
                "--subject",
                "x",
                "--priority",
                "low",
                "--category",
                "sales",
                "--channel",
                "phone",
            ),
            2,
            "category",
        ),
        (
            (
                "ticket",
                "new",
                "--account",
                "bluefin",
                "--subject",
                "x",
                "--priority",
                "low",
                "--category",
                "billing",
                "--channel",
                "fax",
            ),
            2,
            "channel",
        ),
        (
            (
                "ticket",
                "new",
                "--account",
                "nobody",
                "--subject",
                "x",
                "--priority",
                "low",
                "--category",
                "billing",
                "--channel",
                "phone",
            ),
            1,
            "no account",
        ),
        (("ticket", "show", "424242"), 1, "no ticket #424242"),
        (("ticket", "update", "1", "--status", "nonsense"), 2, "status"),
        (("ticket", "update", "1", "--status", "new"), 1, "cannot go back"),
        (("ticket", "resolve", "1", "--code", "whatever"), 2, "code"),
        (("--as", "ghost", "queue"), 1, "no staff member 'ghost'"),
        (
            (
                "--as",
                "amir",
                "staff",
                "add",
                "zed",
                "--name",
                "Z",
                "--tier",
                "1",
                "--role",
                "agent",
            ),
            1,
            "is for leads",
        ),
        (("--at", "yesterday", "queue"), 2, "not a time"),
        (("ticket", "reply", "1"), 2, "text"),
        # a group without its command: its whole help was flattened onto one line
        (("ticket",), 2, "`ticket` needs a command: `supportdesk ticket --help` lists them"),
        (("mail", "quarantine"), 2, "`mail quarantine` needs a command"),
    ],
)
def test_bad_input_one_line_and_exit_code(cli_env, desk, args, code, needle):
    tid = new_ticket(desk)
    from supportdesk.services import tickets

    tickets.reply(desk, tid, "open it")
    with desk.store.read() as s:
        before = (
            s.scalar(select(func.count()).select_from(Ticket)),
            s.scalar(select(func.count()).select_from(AuditEvent)),
        )
    p = run(cli_env, *args, stdin="")
    assert p.returncode == code, (p.returncode, p.stderr)
    assert needle in one_line_error(p)
    with desk.store.read() as s:
        after = (
            s.scalar(select(func.count()).select_from(Ticket)),
            s.scalar(select(func.count()).select_from(AuditEvent)),
        )
    assert after == before


def test_not_a_database_and_unwritable(tmp_path):
    env = dict(os.environ)
    bogus = tmp_path / "notes.txt"
    bogus.write_text("this is not a database\n" * 100)
    p = run(env, "--db", str(bogus), "queue")
    assert p.returncode == 1 and "not a supportdesk database" in one_line_error(p)
    p = run(env, "--db", str(tmp_path / "missing" / "x.db"), "queue")
    assert p.returncode == 1 and "does not exist" in one_line_error(p)
    p = run(env, "--db", str(tmp_path / "empty.db"), "queue")
    assert p.returncode == 1 and "supportdesk init" in one_line_error(p)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a read-only SQLite file
def test_read_only_database_is_one_line_and_unchanged(cli_env, desk):
    env = dict(cli_env)
    env["SUPPORTDESK_DB"] = f"sqlite:///file:{desk.store.url.database}?mode=ro&uri=true"
    p = run(env, *NEW_TICKET)
    assert p.returncode == 1 and "cannot be written" in one_line_error(p)
    with desk.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0


# PostgreSQL writers never lock the whole database: this is SQLite's busy timeout
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_locked_database_is_one_line_and_unchanged(cli_env, desk, tmp_path):
    import sqlite3

    holder = sqlite3.connect(str(desk.store.url.database), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        p = run(cli_env, *NEW_TICKET)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert p.returncode == 1 and "locked" in one_line_error(p)
    with desk.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0


def test_racing_processes_exactly_one_wins(cli_env, desk, make_desk):
    from supportdesk.services import directory

    for i in range(6):
        directory.add_staff(desk, f"agent{i}", f"Agent {i}", 1, "agent")
    tid = new_ticket(desk)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "supportdesk", "--as", f"agent{i}", "ticket", "take", str(tid)],
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(c for c, _ in results)
    assert codes == [0, 3, 3, 3, 3, 3], results
    winner = next(i for i, (c, _) in enumerate(results) if c == 0)
    for c, err in results:
        if c == 3:
            assert f"held by agent{winner}" in err
    with desk.store.read() as s:
        assert audit.verify(s, desk.audit_key).ok  # concurrent appends did not fork the chain


def test_demo_and_init_on_a_fresh_home_create_their_directories(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_DATA_HOME="", XDG_CONFIG_HOME="")
    for key in (
        "SUPPORTDESK_DB",
        "SUPPORTDESK_AUDIT_KEY",
        "SUPPORTDESK_NOW",
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
    ):
        env.pop(key, None)
    p = run(env, "demo", "--tickets", "300", "--no-open")
    assert p.returncode == 0, p.stderr
    assert "open it as a phone agent: supportdesk --db" in p.stdout
    p = run(env, "--as", "lena", "init", "--admin", "lena")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "home" / ".local" / "share" / "supportdesk" / "desk.db").exists()


def test_queue_pages_with_headers_cursors_and_all(cli_env, desk):
    """Column headers; `--after` the cursor printed below a page walks the whole queue with
    no row twice and none missed (in the console's order, as --all and the JSON give it);
    ties on the same second and priority are broken by id."""
    ids = [new_ticket(desk, f"t{i}", ("critical", "low", "medium")[i % 3]) for i in range(7)]
    p = run(cli_env, "queue", "--json", "--limit", "1000")
    order = [r["id"] for r in json.loads(p.stdout)]
    assert sorted(order) == sorted(ids)
    for sort in ("priority", "due"):
        p = run(cli_env, "queue", "--sort", sort, "--json")
        everything = [r["id"] for r in json.loads(p.stdout)]
        seen: list[int] = []
        args: tuple[str, ...] = ()
        while True:
            p = run(cli_env, "queue", "--sort", sort, "--limit", "3", *args)
            assert p.returncode == 0, p.stderr
            lines = p.stdout.splitlines()
            assert lines[0].split() == [
                "ID", "PRI", "AGE", "DUE", "ACCOUNT", "T", "HOLDER", "CHAN", "SUBJECT"
            ]  # fmt: skip
            rows = [x for x in lines[1:] if x.startswith("#")]
            seen += [int(x.split()[0][1:]) for x in rows]
            if not lines[-1].startswith("-- more:"):
                assert len(lines) == 1 + len(rows)
                break
            assert len(rows) == 3
            args = ("--after", lines[-1].rsplit(" ", 1)[1])
        assert seen == everything, sort
        p = run(cli_env, "queue", "--sort", sort, "--all")
        assert [int(x.split()[0][1:]) for x in p.stdout.splitlines()[1:]] == everything
        p = run(cli_env, "queue", "--sort", sort, "--all", "--json")
        rows = json.loads(p.stdout)
        assert [r["id"] for r in rows] == everything
        # each row's cursor starts the page right after it
        p = run(cli_env, "queue", "--sort", sort, "--json", "--after", rows[2]["cursor"])
        assert [r["id"] for r in json.loads(p.stdout)] == everything[3:]
    p = run(cli_env, "queue", "--after", "p9.1.1")
    assert p.returncode == 2 and "not a queue cursor" in one_line_error(p)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--after", "bogus"), "not a queue cursor"),
        (("--after", "p0.1.99999999999999999999"), "not a queue cursor"),
        (("--after", "d-1.1"), "from --sort due"),
        (("--sort", "due", "--after", "p0.1.1"), "from --sort priority"),
        (("--all", "--limit", "5"), "leave out --limit"),
        (("--after", "p0.1.1\x1b[2J"), "not a queue cursor"),
    ],
)
def test_queue_bad_paging_is_one_line(cli_env, args, needle):
    p = run(cli_env, "queue", *args)
    assert p.returncode == 2
    line = one_line_error(p)
    assert needle in line and "\x1b" not in line


def test_the_console_and_the_board_without_a_terminal_are_one_line_not_a_hang(
    desk: object, cli_env: dict[str, str]
) -> None:
    """`supportdesk < /dev/null` (a cron job, a pipe) wrote full-screen escape codes and never
    exited (an auditing helper); the hidden `wall` (what `serve` runs on its pipes) opened
    its board for an agent."""
    for env, args, what in (
        (cli_env, (), "the console needs a terminal"),
        (dict(cli_env, SUPPORTDESK_AGENT="amir"), (), "the console needs a terminal"),
    ):
        p = run(env, *args, stdin="")
        assert p.returncode == 2, p
        assert what in one_line_error(p) and not p.stdout
    p = run(dict(cli_env, SUPPORTDESK_AGENT="amir"), "wall", stdin="")
    assert p.returncode == 1
    assert one_line_error(p) == "supportdesk: amir is an agent: the lead's SLA board is for leads"
    for args, words in (
        (("mail", "outbox"), "the outbox is for leads"),
        (("sla", "board"), "the lead's SLA board is for leads"),
        (
            ("mail", "unlisted"),
            "reviewing mail from unlisted senders and held tickets is for leads",
        ),
    ):
        p = run(dict(cli_env, SUPPORTDESK_AGENT="amir"), *args)
        assert p.returncode == 1 and f"amir is an agent: {words}" in one_line_error(p), p


def test_account_list_json_gives_no_figures_it_did_not_read(
    desk: object, cli_env: dict[str, str]
) -> None:
    """`account list --json` said "open_tickets": 0 and no contacts for an account with
    both (an auditing helper): the list gives what it reads; `account show` the rest."""
    new_ticket(desk)  # type: ignore[arg-type]
    [listed] = json.loads(run(cli_env, "account", "list", "--json").stdout)
    assert listed["id"] == "bluefin" and listed["plan"] == "gold"
    assert not {"open_tickets", "contacts", "services"} & set(listed)
    shown = json.loads(run(cli_env, "account", "show", "bluefin", "--json").stdout)
    assert shown["open_tickets"] == 1 and len(shown["contacts"]) == 1


def test_errors_name_the_option_the_command_has(desk: object, cli_env: dict[str, str]) -> None:
    """`end-shift --note ""` said "(--reason)", and `ticket update` asked for a --category it
    did not take (an auditing helper): it takes it now."""
    p = run(cli_env, "end-shift", "--note", "")
    assert p.returncode == 2 and "give a handover note (--note)" in one_line_error(p)
    tid = new_ticket(desk)  # type: ignore[arg-type]
    p = run(cli_env, "ticket", "update", str(tid), "--category", "billing", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["category"] == "billing"
