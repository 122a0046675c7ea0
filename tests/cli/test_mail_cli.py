"""`supportdesk mail ingest` as a mail server's delivery agent, in real subprocesses on both
databases (issue 12): exit 0 once a message is filed anywhere, 75 only when the database
cannot be written (and then nothing changed); the quarantine commands for leads."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from supportdesk.core.desk import Desk
from supportdesk.services import tickets
from supportdesk.services.intake import mail, mail_parse
from tests.helpers.cli import one_line_error, run, run_bytes
from tests.helpers.postgres import plain, with_setting
from tests.helpers.settle import TIMING

EX_TEMPFAIL = 75


def ingest(
    env: dict[str, str], data: bytes, tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[bytes]:
    """`supportdesk mail ingest ARGS < file`, as a mail server's pipe runs it."""
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "message.eml"
    path.write_bytes(data)
    with path.open("rb") as stdin:
        return run_bytes(env, "mail", "ingest", *args, stdin=stdin.fileno())


def msg(sender: str, subject: str, message_id: str, *extra: str, body: str = "Hi.") -> bytes:
    head = [f"From: {sender}", f"Subject: {subject}", f"Message-ID: {message_id}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


def snapshot(desk: Desk) -> list[object]:
    return [
        desk.store.query(f"SELECT count(*) FROM {t}")[0][0]
        for t in ("tickets", "ticket_events", "mail_messages", "audit", "accounts")
    ]


def test_every_filed_message_exits_0(desk: Desk, cli_env: dict[str, str], tmp_path: Path) -> None:
    listed = msg("priya@bluefin.example", "Site down", "<a1@x>")
    p = ingest(cli_env, listed, tmp_path, "--json")
    assert p.returncode == 0 and not p.stderr, p.stderr
    first = json.loads(p.stdout)
    assert first["action"] == "opened"
    p = ingest(cli_env, listed, tmp_path)  # the mail server delivers it again
    assert p.returncode == 0
    assert p.stdout.decode().startswith(f"already filed as #{first['ticket']}")
    p = ingest(cli_env, msg("x@nowhere.example", "hi", "<a2@x>"), tmp_path)
    assert p.returncode == 0 and b"closed_unlisted" in p.stdout
    p = ingest(cli_env, b"\x00\xff garbage", tmp_path)
    assert p.returncode == 0 and p.stdout.startswith(b"quarantined as Q")
    auto = msg("mailer-daemon@x.example", "Undelivered", "<a3@x>", "Auto-Submitted: auto-replied")
    p = ingest(cli_env, auto, tmp_path)
    assert p.returncode == 0 and b"automatic mail" in p.stdout
    p = ingest(cli_env, msg("bounce@x.example", "Failure", "<a4@x>"), tmp_path, "--sender", "")
    assert p.returncode == 0 and b"a bounce" in p.stdout


def test_help_documents_the_exit_codes(cli_env: dict[str, str]) -> None:
    p = run(cli_env, "mail", "ingest", "--help")
    assert p.returncode == 0
    assert "EX_TEMPFAIL" in p.stdout and "75" in p.stdout and "  0 " in p.stdout


def test_oversized_mail_is_drained_and_quarantined_with_its_first_part(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    head = b"From: priya@bluefin.example\r\nSubject: huge\r\nMessage-ID: <big@x>\r\n\r\n"
    limit = mail_parse.max_message(desk)
    data = head + b"y" * (limit + 5000)
    p = ingest(cli_env, data, tmp_path, "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (
        r["action"] == "quarantined"
        and r["reason"].startswith(f"oversized: {len(data):,} bytes (at most {limit:,}, ")
        and r["ticket"] is None
    )
    row = desk.store.query(
        "SELECT size, raw, message_id, sender FROM mail_messages WHERE id = ?", (r["quarantine"],)
    )[0]
    assert row[0] == len(data) and bytes(row[1]) == data[: 1024 * 1024]
    assert row[2:] == ("<big@x>", "priya@bluefin.example")  # read from the part kept
    lead = run(cli_env, "mail", "quarantine", "release", str(r["quarantine"]))
    assert lead.returncode == 2 and "only the first 1,048,576" in one_line_error(lead)


def test_a_400_mb_message_is_not_held_in_memory(desk: Desk, cli_env: dict[str, str]) -> None:
    """Streamed through a pipe; the child's peak RSS stays near a small message's."""
    feeder = (
        "import sys\n"
        "o = sys.stdout.buffer\n"
        "o.write(b'From: a@b.example\\r\\nSubject: big\\r\\nMessage-ID: <m@x>\\r\\n\\r\\n')\n"
        "line = b'y' * 1023 + b'\\n'\n"
        "for _ in range(100 * 1024): o.write(line)\n"  # 100 MB keeps the test quick
    )
    # A child's peak RSS starts from its parent's at fork and exec, so a small Python in
    # between starts the ingest and reports that grandchild's own peak (as /usr/bin/time).
    measure = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, '-m', 'supportdesk', 'mail', 'ingest'])\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(f'rc={p.returncode} peak_kb={peak}', file=sys.stderr)\n"
    )
    gen = subprocess.Popen([sys.executable, "-c", feeder], stdout=subprocess.PIPE)
    p = subprocess.run(
        [sys.executable, "-c", measure],
        stdin=gen.stdout,
        capture_output=True,
        env=cli_env,
        timeout=300,
    )
    assert gen.stdout is not None
    gen.stdout.close()
    assert gen.wait(timeout=60) == 0  # the feeder wrote everything: drained, not cut off
    assert p.stdout.startswith(b"quarantined"), p.stderr
    rc, peak = p.stderr.decode().split()[-2:]
    assert rc == "rc=0"
    peak_kb = int(peak.removeprefix("peak_kb="))
    assert peak_kb < (mail_parse.max_message(desk) // 1024) + 120 * 1024, peak_kb


def _tempfail(p: subprocess.CompletedProcess[bytes]) -> str:
    assert p.returncode == EX_TEMPFAIL, (p.returncode, p.stderr)
    assert b"Traceback" not in p.stderr
    lines = [x for x in p.stderr.decode().splitlines() if x.strip()]
    assert len(lines) == 1, p.stderr
    return lines[0]


def test_database_locked_past_the_timeout_exits_75_and_changes_nothing(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """SQLite: another writer holds the file past the busy timeout. PostgreSQL: another
    session holds the table, and the ingest's lock_timeout runs out."""
    env = dict(cli_env)
    before = snapshot(desk)
    data = msg("priya@bluefin.example", "x", "<l1@x>")
    if desk.store.is_sqlite:
        holder = sqlite3.connect(str(desk.store.target.sqlite_path), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            p = ingest(env, data, tmp_path)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert "locked" in _tempfail(p)
    else:
        import psycopg

        env["SUPPORTDESK_DB"] = with_setting(env["SUPPORTDESK_DB"], "lock_timeout", "1500")
        with psycopg.connect(plain(cli_env["SUPPORTDESK_DB"])) as c:  # the desk's search_path
            c.execute("LOCK TABLE mail_messages IN ACCESS EXCLUSIVE MODE")
            p = ingest(env, data, tmp_path)
            c.rollback()
        assert "lock timeout" in _tempfail(p)
    assert snapshot(desk) == before
    p = ingest(cli_env, data, tmp_path)  # the mail server's retry
    assert p.returncode == 0 and b"opened" in p.stdout


def test_read_only_database_exits_75_and_changes_nothing(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(cli_env)
    if desk.store.is_sqlite:
        env["SUPPORTDESK_DB"] = f"sqlite:///{desk.store.target.sqlite_path}?mode=ro&uri=true"
    else:
        env["SUPPORTDESK_DB"] = with_setting(
            cli_env["SUPPORTDESK_DB"], "default_transaction_read_only", "on"
        )
    before = snapshot(desk)
    for data in (msg("priya@bluefin.example", "x", "<r1@x>"), b"garbage to quarantine"):
        p = ingest(env, data, tmp_path)
        assert "try again later" in _tempfail(p)
    assert snapshot(desk) == before


def test_unreachable_database_exits_75(desk: Desk, cli_env: dict[str, str], tmp_path: Path) -> None:
    env = dict(cli_env)
    if desk.store.is_sqlite:
        env["SUPPORTDESK_DB"] = str(tmp_path / "missing-folder" / "desk.db")
    else:
        env["SUPPORTDESK_DB"] = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # closed port
    p = ingest(env, msg("priya@bluefin.example", "x", "<u1@x>"), tmp_path)
    _tempfail(p)


def test_a_desk_not_set_up_for_mail_exits_75(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    before = snapshot(desk)
    p = ingest(
        dict(cli_env, SUPPORTDESK_AGENT="postfix"), msg("a@b.example", "x", "<n@x>"), tmp_path
    )
    assert "no staff member 'postfix'" in _tempfail(p)
    assert snapshot(desk) == before


def test_quarantine_commands_for_leads(desk: Desk, cli_env: dict[str, str], tmp_path: Path) -> None:
    hostile = msg(
        "=?utf-8?q?=1B]0;pwned=07?= <bot@spam.example>",
        "[bold]x[/] \x1b[2J",
        "<q1@x>",
        "Precedence: bulk",
        body="\x1b]0;owned\x07 body [link=x]y[/link]",
    )
    p = ingest(cli_env, hostile, tmp_path, "--json")
    qid = json.loads(p.stdout)["quarantine"]
    bad = ingest(cli_env, b"From: nobody\r\n\r\n\x1b[2J", tmp_path, "--json")
    bad_id = json.loads(bad.stdout)["quarantine"]
    listed = run(cli_env, "mail", "quarantine", "list")
    assert listed.returncode == 0 and f"Q{qid}" in listed.stdout and f"Q{bad_id}" in listed.stdout
    assert "\x1b" not in listed.stdout
    rows = json.loads(run(cli_env, "mail", "quarantine", "list", "--json").stdout)
    assert {r["id"] for r in rows} == {qid, bad_id}
    shown = run(cli_env, "mail", "quarantine", "show", str(qid))
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "␛]0;pwned␇" in shown.stdout and "[link=x]y[/link]" in shown.stdout
    assert "Precedence: bulk" in shown.stdout
    as_json = json.loads(run(cli_env, "mail", "quarantine", "show", str(qid), "--json").stdout)
    assert "\x1b]0;owned\x07" in as_json["body"]  # --json keeps the exact text
    # not for agents
    agent = run(dict(cli_env, SUPPORTDESK_AGENT="amir"), "mail", "quarantine", "list")
    assert agent.returncode == 1 and "for leads" in one_line_error(agent)
    # still malformed: release fails in one line and changes nothing
    before = snapshot(desk)
    again = run(cli_env, "mail", "quarantine", "release", str(bad_id))
    assert again.returncode == 2 and "still cannot be filed" in one_line_error(again)
    assert snapshot(desk)[:3] == before[:3]
    # a lead releases the bulk mail: it is filed as a person's mail
    rel = run(cli_env, "mail", "quarantine", "release", str(qid), "--json")
    assert rel.returncode == 0, rel.stderr
    r = json.loads(rel.stdout)
    assert r["action"] == "closed_unlisted" and r["ticket"]
    assert desk.store.query(
        "SELECT state, ticket_id, raw FROM mail_messages WHERE id = ?", (qid,)
    ) == [("released", r["ticket"], None)]
    gone = run(cli_env, "mail", "quarantine", "show", str(qid))
    assert gone.returncode == 1 and f"no quarantined message Q{qid}" in one_line_error(gone)
    # delete
    d = run(cli_env, "mail", "quarantine", "delete", str(bad_id))
    assert d.returncode == 0 and desk.store.query("SELECT count(*) FROM mail_messages") == [(1,)]
    actions = [
        a
        for (a,) in desk.store.query("SELECT action FROM audit WHERE entity = 'mail' ORDER BY seq")
    ]
    assert actions == [
        "mail.quarantine",
        "mail.quarantine",
        "mail.quarantine.list",
        "mail.quarantine.list",
        "mail.quarantine.show",
        "mail.quarantine.show",
        "mail.release",
        "mail.quarantine.delete",
    ]
    v = run(cli_env, "audit", "verify")
    assert v.returncode == 0, v.stderr


def test_release_after_the_ticket_it_names_is_open(desk: Desk, tmp_path: Path) -> None:
    """Automatic mail quarantined for want of a ticket; released, it is filed normally."""
    r = mail.ingest(desk, msg("priya@bluefin.example", "Out of office", "<ooo@x>",
                              "Auto-Submitted: auto-replied"))  # fmt: skip
    assert r.action == "quarantined" and r.quarantine_id
    from supportdesk.services.intake import mail_quarantine

    done = mail_quarantine.release(desk, r.quarantine_id)
    assert done.action == "opened" and done.ticket_id
    notes = [e.body for e in tickets.show(desk, done.ticket_id).events if e.kind == "note"]
    assert notes == ["mail: automatic mail, released from the quarantine by a lead"]


@TIMING  # eight processes racing: with the other races, one at a time
def test_one_message_delivered_eight_times_at_once_is_filed_once_and_each_exits_0(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A mail server that delivers one message to eight pipes at once (a retry storm): one
    ticket, the other seven "already filed", every process exit 0 (on PostgreSQL some
    exited 75 with the unique index's text)."""
    data = msg("priya@bluefin.example", "Site down", "<storm@x>")
    before = snapshot(desk)
    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(lambda i: ingest(cli_env, data, tmp_path / str(i)), range(8)))
    assert [p.returncode for p in done] == [0] * 8, [p.stderr for p in done]
    outs = sorted(p.stdout.decode().split(" ", 1)[0] for p in done)
    assert outs.count("already") == 7, outs
    tickets_before, *_ = before
    assert snapshot(desk)[0] == tickets_before + 1
    assert len(desk.store.query("SELECT id FROM mail_messages")) == 1
