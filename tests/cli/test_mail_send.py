"""`supportdesk mail send` as a real process (issue 18) against a real aiosmtpd on loopback,
on SQLite and PostgreSQL: the summary and --json, a policy without [mail], a bad
configuration, eight senders racing, and senders killed with SIGKILL before DATA, during DATA
and after the server's 250 (before the commit): every message arrives, once, or twice with
one Message-ID after a kill after the 250."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supportdesk.core.desk import Desk
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import sla
from tests.helpers.cli import command, one_line_error, run
from tests.helpers.policy import POLICY
from tests.helpers.smtp import Behaviour, Tls, queue, smtp_server, with_mail, write_config

WAIT = 120  # seconds a test waits for a process or a server step before giving up


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return Tls.make(tmp_path)


def states(desk: Desk) -> Counter[str]:
    return Counter(s for (s,) in desk.store.query("SELECT state FROM outbox"))


def message_ids(desk: Desk) -> list[str]:
    return sorted(m for (m,) in desk.store.query("SELECT message_id FROM outbox"))


def later(minutes: int = 10) -> str:
    """An --at past any lease a killed sender left behind."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def test_send_once_prints_the_summary_and_json(
    desk: Desk, cli_env: dict[str, str], tls: Tls, tmp_path: Path
):
    with_mail(desk)
    queue(desk)
    queue(desk, to="ops@corvid.example")
    with smtp_server(tls) as srv:
        config = str(write_config(tmp_path, srv, tls))
        p = run(cli_env, "mail", "send", "--once", "--config", config)
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "sent 2, deferred 0, failed 0"
        queue(desk)
        p = run(cli_env, "mail", "send", "--once", "--config", config, "--json")
        assert p.returncode == 0, p.stderr
        out = json.loads(p.stdout)
        assert (out["sent"], out["deferred"], out["failed"], out["fault"]) == (1, 0, 0, None)
        assert out["transport"] == f"smtp 127.0.0.1:{srv.port} (starttls)"
    assert len(srv.messages) == 3 and states(desk) == {"sent": 3}


def test_a_transport_fault_exits_1_with_the_summary(
    desk: Desk, cli_env: dict[str, str], tls: Tls, tmp_path: Path
):
    with_mail(desk)
    queue(desk)
    with smtp_server(tls) as srv:
        config = str(write_config(tmp_path, srv, None, security="starttls"))  # CA not trusted
        p = run(cli_env, "mail", "send", "--once", "--config", config)
    assert p.returncode == 1
    assert "transport fault" in p.stdout and "certificate" in p.stdout
    assert states(desk) == {"deferred": 1}


def test_no_mail_domain_says_so_and_sends_nothing(desk: Desk, cli_env: dict[str, str]):
    sla.load_policy(desk, parse_policy(POLICY, "no-mail.toml"))  # no [mail] table
    queue_rows = desk.store.query("SELECT count(*) FROM outbox")[0][0]
    p = run(cli_env, "mail", "send", "--once", "--config", "/nonexistent/mail.toml")
    assert p.returncode == 0, p.stderr
    assert "no [mail] domain" in p.stdout
    assert desk.store.query("SELECT count(*) FROM outbox")[0][0] == queue_rows


def test_a_bad_configuration_is_one_line_and_exit_2(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
):
    with_mail(desk)
    mid = queue(desk)
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    pw.chmod(0o640)
    config = tmp_path / "mail.toml"
    config.write_text(f'[transport]\nhost = "h"\nusername = "u"\npassword_file = "{pw}"\n')
    p = run(cli_env, "mail", "send", "--once", "--config", str(config))
    assert p.returncode == 2
    line = one_line_error(p)
    assert "transport.password_file" in line and "0640" in line and "secret" not in line
    p = run(cli_env, "mail", "send", "--once", "--config", str(tmp_path / "none.toml"))
    assert p.returncode == 2 and "no mail configuration" in one_line_error(p)
    assert states(desk) == {"queued": 1} and mid


def test_eight_senders_racing_never_send_one_message_twice(
    desk: Desk, cli_env: dict[str, str], tls: Tls, tmp_path: Path
):
    with_mail(desk)
    for i in range(80):
        queue(desk, to=f"c{i}@bluefin.example")
    with smtp_server(tls) as srv:
        config = str(write_config(tmp_path, srv, tls))
        results: list[subprocess.CompletedProcess[str]] = []

        def sender() -> None:
            results.append(run(cli_env, "mail", "send", "--once", "--config", config, "--json"))

        threads = [threading.Thread(target=sender) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(p.returncode == 0 for p in results), [p.stderr for p in results]
    sent = [json.loads(p.stdout)["sent"] for p in results]
    assert sum(sent) == 80
    assert sorted(srv.message_ids()) == message_ids(desk)  # each exactly once
    assert states(desk) == {"sent": 80}


@contextmanager
def sender_process(env: dict[str, str], config: str) -> Iterator[subprocess.Popen[bytes]]:
    p = subprocess.Popen(
        command("mail", "send", "--once", "--config", config),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate(timeout=WAIT)


def kill(p: subprocess.Popen[bytes]) -> None:
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=WAIT)


def wait_for(event: threading.Event, p: subprocess.Popen[bytes]) -> None:
    if not event.wait(WAIT):
        out, err = p.communicate(timeout=WAIT)
        pytest.fail(f"the sender never got there: {out!r} {err!r}")


@pytest.mark.parametrize("where", ["before DATA", "during DATA"])
def test_a_sender_killed_before_the_250_delivers_once_on_the_next_run(
    desk: Desk, cli_env: dict[str, str], tls: Tls, tmp_path: Path, where: str
):
    with_mail(desk)
    queue(desk)
    b = Behaviour(hold_rcpt=where == "before DATA", hold_data=where == "during DATA")
    with smtp_server(tls, behaviour=b) as srv:
        config = str(write_config(tmp_path, srv, tls))
        with sender_process(cli_env, config) as p:
            wait_for(b.at_rcpt if where == "before DATA" else b.at_data, p)
            kill(p)
        b.release.set()
        assert srv.messages == []
        assert states(desk) == {"sending": 1}  # leased by the dead sender
        b.hold_rcpt = b.hold_data = False
        p2 = run(cli_env, "--at", later(), "mail", "send", "--once", "--config", config)
        assert p2.returncode == 0, p2.stderr
        assert p2.stdout.strip() == "sent 1, deferred 0, failed 0"
    assert srv.message_ids() == message_ids(desk)  # exactly once
    assert states(desk) == {"sent": 1}


@contextmanager
def commit_blocked(desk: Desk, mid: int) -> Iterator[None]:
    """Hold what the sender's commit after the 250 needs: the writer's turn and SQLite's
    write lock, or the outbox row's lock on PostgreSQL."""
    if desk.store.is_sqlite:
        with desk.store.transaction():
            yield
        return
    import psycopg

    with psycopg.connect(str(desk.store.target.conninfo)) as conn:
        conn.execute("SELECT id FROM outbox WHERE id = %s FOR UPDATE", (mid,))
        yield
        conn.rollback()


def test_a_sender_killed_after_the_250_before_its_commit_sends_twice_with_one_message_id(
    desk: Desk, cli_env: dict[str, str], tls: Tls, tmp_path: Path
):
    with_mail(desk)
    mid = queue(desk)
    b = Behaviour(accept_then_hold=True)
    with smtp_server(tls, behaviour=b) as srv:
        config = str(write_config(tmp_path, srv, tls))
        with sender_process(cli_env, config) as p:
            wait_for(b.at_data, p)  # the server has the message
            with commit_blocked(desk, mid):
                b.release.set()  # the 250 goes out; the sender cannot record it
                kill(p)
        assert len(srv.messages) == 1
        assert states(desk) == {"sending": 1}
        b.accept_then_hold = False
        p2 = run(cli_env, "--at", later(), "mail", "send", "--once", "--config", config)
        assert p2.returncode == 0, p2.stderr
    ids = srv.message_ids()
    assert len(ids) == 2 and len(set(ids)) == 1 and ids[0] == message_ids(desk)[0]
    assert states(desk) == {"sent": 1}


def test_mail_send_keeps_delivering_until_sigterm(
    desk: Desk, cli_env: dict[str, str], tls: Tls, tmp_path: Path
):
    with_mail(desk)
    queue(desk)
    with smtp_server(tls) as srv:
        config = str(write_config(tmp_path, srv, tls))
        p = subprocess.Popen(
            command("mail", "send", "--config", config, "--json"),
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            got = threading.Event()
            srv.behaviour.at_data = got
            srv.behaviour.accept_then_hold = True
            srv.behaviour.release.set()  # no hold: just tell the test
            wait_for(got, p)
            got.clear()
            queue(desk, to="ops@corvid.example")  # a store change wakes it
            wait_for(got, p)
            os.kill(p.pid, signal.SIGTERM)
            out, err = p.communicate(timeout=WAIT)
        finally:
            if p.poll() is None:
                p.kill()
    assert p.returncode == 0, err
    assert json.loads(out)["sent"] == 2
    assert len(srv.messages) == 2


@contextmanager
def commits_blocked(desk: Desk, ids: list[int]) -> Iterator[None]:
    """`commit_blocked` for several messages: the writer's turn on SQLite, each row's lock on
    PostgreSQL."""
    if desk.store.is_sqlite:
        with desk.store.transaction():
            yield
        return
    import psycopg

    with psycopg.connect(str(desk.store.target.conninfo)) as conn:
        conn.execute("SELECT id FROM outbox WHERE id = ANY(%s) FOR UPDATE", (ids,))
        yield
        conn.rollback()


def test_a_sender_killed_with_a_batch_sent_but_not_recorded_resends_each_with_its_message_id(
    desk: Desk, cli_env: dict[str, str], tls: Tls, tmp_path: Path
):
    """What went is recorded for several messages in one write: a sender killed after the
    250s of a whole batch, before that write, leaves every one of them to go again, each with
    its own Message-ID; nothing is lost."""
    with_mail(desk)
    ids = [queue(desk, to=f"c{i}@bluefin.example") for i in range(3)]
    b = Behaviour(accept_then_hold=True)
    with smtp_server(tls, behaviour=b) as srv:
        config = str(write_config(tmp_path, srv, tls))
        with sender_process(cli_env, config) as p:
            wait_for(b.at_data, p)  # the first is accepted (the batch is leased)
            with commits_blocked(desk, ids):
                b.release.set()  # the rest go through without a hold
                deadline = time.monotonic() + WAIT
                while len(srv.messages) < 3 and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert len(srv.messages) == 3
                kill(p)
        assert states(desk) == {"sending": 3}
        b.accept_then_hold = False
        p2 = run(cli_env, "--at", later(), "mail", "send", "--once", "--config", config)
        assert p2.returncode == 0, p2.stderr
        assert p2.stdout.strip() == "sent 3, deferred 0, failed 0"
    assert Counter(srv.message_ids()) == {m: 2 for m in message_ids(desk)}
    assert states(desk) == {"sent": 3}
