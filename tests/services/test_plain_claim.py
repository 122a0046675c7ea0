"""The claim on the plain driver (issue 14), on SQLite and PostgreSQL: its transaction is as
strong as the ORM's, it writes exactly the rows the ORM path writes (the same audit row, byte
for byte, chained and verifiable), and `claim --next` / `ticket take` import no SQLAlchemy."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supportdesk.core import audit, claims
from supportdesk.core.desk import Desk
from supportdesk.errors import LostRace, NotAllowed, StoreError
from supportdesk.models import Setting
from supportdesk.services import escalation, tickets
from supportdesk.store import Store, Transaction, on_transaction, shown_url
from tests.helpers.desk import DeskFactory, new_ticket

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, office hours
AUDIT_AT = datetime(2026, 11, 23, 9, 30, 12, 345678, tzinfo=UTC)


class Undo(Exception):
    """Raised to roll a transaction back after reading what it wrote."""


@pytest.fixture
def demo_desk(desk: Desk) -> Desk:
    """The `desk` fixture marked as a demo, so that anyone may write under a frozen clock."""
    with desk.write() as (session, _record):
        session.add(Setting(key="demo", value="1"))
    return desk


def _escalated(make_desk: DeskFactory, subject: str) -> int:
    """A ticket amir opened, took and escalated to tier 2 (he watches it)."""
    amir = make_desk("amir", T0)
    tid = new_ticket(amir, subject, "high")
    tickets.claim(amir, tid)
    escalation.escalate(amir, tid, reason="needs root on web-cpt-14", tried="restarted php")
    return tid


def _written(tx: Transaction, marks: tuple[Any, ...], tid: int) -> dict[str, Any]:
    """Every row a claim of `tid` wrote or changed, as the driver returns what is stored."""
    seq, event, notice = marks
    return {
        "audit": tx.run("SELECT * FROM audit WHERE seq > ? ORDER BY seq", (seq,)),
        "ticket_events": tx.run(
            "SELECT ticket_id, kind, staff_id, from_customer, visible, body, call_outcome,"
            " old_value, new_value, created_at, redacted_at, nonce FROM ticket_events"
            " WHERE id > ? ORDER BY id",
            (event,),
        ),
        "ticket": tx.run(
            "SELECT holder_id, status, view, updated_at, touched_at FROM tickets WHERE id = ?",
            (tid,),
        ),
        "escalation": tx.run(
            "SELECT claimed_at, claimed_by_id FROM escalations WHERE ticket_id = ?", (tid,)
        ),
        # created_at is the real time a notice was written (never --at): left out
        "notices": tx.run(
            "SELECT staff_id, ticket_id, kind, body, by_id, seen_at FROM notices"
            " WHERE id > ? ORDER BY id",
            (notice,),
        ),
    }


def _marks(tx: Transaction) -> tuple[Any, ...]:
    return tuple(
        tx.scalar(f"SELECT coalesce(max({col}), 0) FROM {table}")
        for table, col in (("audit", "seq"), ("ticket_events", "id"), ("notices", "id"))
    )


def _claim_and_undo(desk: Desk, tid: int, *, orm: bool) -> dict[str, Any]:
    """Claim `tid` inside an ORM session (its Recorder appends the audit row through the
    ORM) or on the plain driver, read back what the claim wrote, and roll it all back."""
    written: dict[str, Any] = {}
    with pytest.raises(Undo):
        writer = desk.write() if orm else desk.write_plain()
        with writer as (where, record):
            tx = on_transaction(where)
            marks = _marks(tx)
            claims.claim_ticket(tx, desk, record, tid, via="claim next")
            written.update(_written(tx, marks, tid))
            raise Undo
    return written


def test_a_claim_writes_the_same_rows_through_the_orm_and_the_plain_driver(
    demo_desk: Desk, make_desk: DeskFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One claim each way from the same state, with the audit's wall clock held still: the
    audit row (canonical JSON, previous MAC, MAC) and every other row it writes are the same
    field by field, as stored. Then one claim each way for real: the chain verifies."""
    first = _escalated(make_desk, "Mail queue stuck")
    second = _escalated(make_desk, "Backups failing")
    tomas = make_desk("tomas", T0 + timedelta(minutes=20))
    monkeypatch.setattr(audit, "now_utc", lambda: AUDIT_AT)
    through_orm = _claim_and_undo(tomas, first, orm=True)
    plain = _claim_and_undo(tomas, first, orm=False)
    assert len(plain["audit"]) == 1 and len(plain["ticket_events"]) == 1
    assert plain["notices"], "amir watches the ticket: the claim tells him"
    for table, rows in plain.items():
        assert len(rows) == len(through_orm[table]), table
        for mine, theirs in zip(rows, through_orm[table], strict=True):
            for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
                assert (type(a), a) == (type(b), b), (table, i, a, b)
    row = dict(zip(audit.COLUMNS, plain["audit"][0], strict=True))
    assert row["action"] == "ticket.take" and row["entity_id"] == str(first)
    assert json.loads(row["changes"]) == {
        "holder": [None, "tomas"],
        "via": [None, "claim next"],
    }
    assert row["frozen_at"] is not None  # the desk's --at beside the real time
    monkeypatch.undo()

    # for real: an ORM-path claim, then a plain-driver one, on one chain
    with tomas.write() as (session, record):
        claims.claim_ticket(on_transaction(session), tomas, record, first, via="claim next")
    claims.claim_chosen(tomas, second)
    with tomas.store.read() as s:
        check = audit.verify(s, tomas.audit_key)
    assert check.ok, check.reason
    takes = tomas.store.query(
        "SELECT seq, prev_mac, mac FROM audit WHERE action = 'ticket.take' ORDER BY seq"
    )
    assert takes[-1][0] == check.head_seq  # the plain driver's row is the chain head
    for tid in (first, second):
        assert tomas.store.query(
            "SELECT s.login, t.status FROM tickets t JOIN staff s ON s.id = t.holder_id"
            " WHERE t.id = ?",
            (tid,),
        ) == [("tomas", "open")]


def test_the_plain_claim_refuses_and_rolls_back_as_before(
    demo_desk: Desk, make_desk: DeskFactory
) -> None:
    tid = _escalated(make_desk, "Mail queue stuck")
    before = demo_desk.store.query("SELECT count(*) FROM audit")[0][0]
    amir = make_desk("amir", T0 + timedelta(minutes=5))
    with pytest.raises(NotAllowed, match=r"cannot take ticket #\d+ at tier 2"):
        tickets.claim(amir, tid)  # the UPDATE passed; the tier check rolled it back
    assert demo_desk.store.query("SELECT holder_id FROM tickets WHERE id = ?", (tid,)) == [(None,)]
    escalation.claim(make_desk("una", T0 + timedelta(minutes=6)), tid)
    with pytest.raises(LostRace, match=f"ticket #{tid} is held by una"):
        claims.claim_chosen(make_desk("tomas", T0 + timedelta(minutes=7)), tid)
    after = demo_desk.store.query("SELECT count(*) FROM audit")[0][0]
    assert after == before + 1  # una's claim; nothing from the refusals


def test_a_plain_transaction_is_as_strong_as_the_orm_write(desk: Desk) -> None:
    store = desk.store
    if store.is_sqlite:
        with store.transaction():
            other = sqlite3.connect(str(store.target.sqlite_path), timeout=0)
            try:  # the write lock is taken at BEGIN (IMMEDIATE), not at the first write
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
    with pytest.raises(Undo), store.transaction() as tx:
        tx.run("INSERT INTO settings (key, value) VALUES ('probe', '1')")
        raise Undo
    assert store.query("SELECT count(*) FROM settings WHERE key = 'probe'") == [(0,)]
    with pytest.raises(StoreError), store.transaction() as tx:
        tx.run("INSERT INTO no_such_table VALUES (1)")
    with store.transaction() as tx:  # the pooled connection came back usable
        tx.run("INSERT INTO settings (key, value) VALUES ('probe', '2')")
    assert store.query("SELECT value FROM settings WHERE key = 'probe'") == [("2",)]
    if store.is_sqlite:
        ro = Store(str(store.target.sqlite_path), read_only=True)
        try:
            with pytest.raises(StoreError, match="read-only"), ro.transaction():
                pass
        finally:
            ro.dispose()


def _modules(stderr: str) -> set[str]:
    """The modules `python -X importtime` reported importing."""
    found = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", stderr, re.MULTILINE)
    return set(found)


def _run(cli_env: dict[str, str], login: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(cli_env, SUPPORTDESK_AGENT=login)
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "supportdesk", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_claim_next_and_ticket_take_import_no_sqlalchemy(
    demo_desk: Desk, make_desk: DeskFactory, cli_env: dict[str, str]
) -> None:
    """The whole claim, from the command line: the board's top and a chosen ticket, with
    their history, watchers' notices and audit rows, and no SQLAlchemy in the process."""
    top = _escalated(make_desk, "Mail queue stuck")
    chosen = _escalated(make_desk, "Backups failing")
    done = _run(cli_env, "tomas", "claim", "--next", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["ticket_id"] == top
    imported = _modules(done.stderr)
    assert "supportdesk.services.escalation" in imported
    assert not {m for m in imported if m.split(".")[0] == "sqlalchemy"}
    done = _run(cli_env, "una", "ticket", "take", str(chosen))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"you hold #{chosen}"
    assert not {m for m in _modules(done.stderr) if m.split(".")[0] == "sqlalchemy"}
    again = _run(cli_env, "tomas", "ticket", "take", str(chosen))
    assert again.returncode == 3 and f"ticket #{chosen} is held by una" in again.stderr
    store = demo_desk.store
    assert store.query(
        "SELECT body FROM notices WHERE kind = 'watch' ORDER BY id DESC LIMIT 2"
    ) == [(f"#{chosen} claimed by una",), (f"#{top} claimed by tomas",)]  # amir watches both
    verify = subprocess.run(
        [sys.executable, "-m", "supportdesk", "audit", "verify"],
        env=dict(cli_env, SUPPORTDESK_AGENT="lena"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0 and "audit chain intact" in verify.stdout, verify.stderr


URL_PART = st.text(alphabet="ab:/@?&=%[]+ .-_~#5é\\", max_size=12)


@settings(max_examples=400, deadline=None)
@given(
    user=st.one_of(st.none(), URL_PART),
    password=st.one_of(st.none(), URL_PART),
    host=st.one_of(st.none(), URL_PART, st.just("[::1]")),
    port=st.one_of(st.none(), st.sampled_from(["5432", "05432", "", "x", " 5", "+5"])),
    database=st.one_of(st.none(), URL_PART),
    query=st.one_of(st.none(), URL_PART, st.just("options=-csearch_path%3Dt_1&b=2&a=1&a=0")),
)
def test_a_postgresql_desk_is_named_as_sqlalchemy_names_it(
    user: str | None,
    password: str | None,
    host: str | None,
    port: str | None,
    database: str | None,
    query: str | None,
) -> None:
    """The plain paths name a PostgreSQL desk without SQLAlchemy; the name picks its default
    audit key file, so it must be SQLAlchemy's text exactly (or defer to SQLAlchemy)."""
    from sqlalchemy.engine import make_url

    url = "postgresql+psycopg://"
    if user is not None:
        url += user + (f":{password}" if password is not None else "") + "@"
    url += (host or "") + (f":{port}" if port is not None else "")
    url += (f"/{database}" if database is not None else "") + (f"?{query}" if query else "")
    shown = shown_url(url)
    try:
        expected = make_url(url).render_as_string(hide_password=True)
    except Exception:
        assert shown is None, url  # SQLAlchemy refuses it: so must the caller, through it
        return
    assert shown in (None, expected), url


def test_common_postgresql_urls_are_named_without_sqlalchemy() -> None:
    for url in (
        "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dt_1",
        "postgresql+psycopg://desk:s%40cret@db.example:5432/support",
        "postgresql+psycopg:///support?host=/run/postgresql",
        "postgresql+psycopg://[::1]/support",
    ):
        assert shown_url(url) is not None, url
    assert (
        shown_url("postgresql+psycopg://desk:hunter2@db/x") == "postgresql+psycopg://desk:***@db/x"
    )
