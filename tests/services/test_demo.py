"""The demo database generator: realistic, consistent, deterministic, on SQLite and PostgreSQL.

Most checks share one 2,000-ticket demo built once on a real SQLite file (building is the slow
part); the checks themselves are plain SQL over it.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from supportdesk import demo
from supportdesk.core import audit
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.demo.generate import Generator, Times
from supportdesk.demo.load import SqliteLoader
from supportdesk.demo.rows import DAY
from supportdesk.demo.texts import demo_texts
from supportdesk.demo.workers import Workers
from supportdesk.enums import VIEW_OF_STATUS, Priority, Status
from supportdesk.errors import DeskError, UsageError
from supportdesk.models import AuditEvent, Base, Setting, Ticket, sqlite_timestamp
from supportdesk.rules.sla_engine import to_us
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store
from tests.helpers.cli import one_line_error, run

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
N = 2000
TABLES = (
    "staff",
    "accounts",
    "services",
    "contacts",
    "contact_points",
    "tickets",
    "ticket_events",
    "escalations",
)


def _build(folder: Path, tickets: int = N, seed: int = 1) -> tuple[Desk, demo.DemoResult]:
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(str(folder / "d.db"))
    desk = Desk(store, "lena", clock=Clock(NOW), audit_key_path=folder / "k.key")
    init_database(desk, admin="lena")
    return desk, demo.build_demo(desk, tickets=tickets, seed=seed)


def _rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    if table == "staff":  # the admin's created_at is the real time of `init`
        rows = [row[:-1] for row in rows]
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Desk, demo.DemoResult, Path]]:
    folder = tmp_path_factory.mktemp("demo")
    desk, result = _build(folder)
    yield desk, result, folder / "d.db"
    desk.store.dispose()


@pytest.fixture(scope="module")
def db(built: tuple[Desk, demo.DemoResult, Path]) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(built[2])
    yield conn
    conn.close()


def _one(db: sqlite3.Connection, sql: str) -> object:
    return db.execute(sql).fetchone()[0]


def test_result_names_the_demo_staff(built: tuple[Desk, demo.DemoResult, Path]) -> None:
    _desk, result, _path = built
    assert result.tickets == N
    assert result.accounts == N // 10
    assert result.lead_login == "lena"
    assert result.agent_login == "amir"
    assert result.engineer_login == "tomas"
    assert {m.login for m in result.staff} == {m.login for m in demo.DEMO_STAFF}
    lena = next(m for m in result.staff if m.login == "lena")
    assert lena.name == "lena"  # the admin `init` made keeps its own name


def test_staff_roles_and_tiers(db: sqlite3.Connection) -> None:
    staff = db.execute("SELECT login, role, tier FROM staff").fetchall()
    assert len(staff) == len(demo.DEMO_STAFF)  # lena (the admin) is not added twice
    roles = Counter(role for _login, role, _tier in staff)
    assert roles["agent"] == 8 and roles["engineer"] == 8 and roles["lead"] == 2
    for _login, role, tier in staff:
        assert (role, tier) in {("agent", 1), ("engineer", 2), ("engineer", 3), ("lead", 3)}


def test_every_value_occurs(db: sqlite3.Connection) -> None:
    def values(column: str) -> set[object]:
        return {row[0] for row in db.execute(f"SELECT DISTINCT {column} FROM tickets")}

    assert values("priority_rank") == {0, 1, 2, 3}
    assert values("category") == {"technical", "billing", "infrastructure", "security"}
    assert values("channel") == {"phone", "email", "chat", "portal"}
    assert values("status") == {s.value for s in Status}
    assert values("tier") == {1, 2, 3}
    assert values("request_type") == {
        "technical",
        "billing",
        "password_reset",
        "contact_change",
        "cancellation",
    }
    codes = values("resolution_code") - {None}
    assert codes == {"fixed", "duplicate", "out_of_scope", "no_response", "not_authorized",
                     "unlisted_sender"}  # fmt: skip


def test_shares_of_status_priority_and_tier(db: sqlite3.Connection) -> None:
    status = Counter(dict(db.execute("SELECT status, count(*) FROM tickets GROUP BY status")))
    assert 0.15 * N <= status["new"] + status["open"] <= 0.25 * N
    assert status["awaiting_authorization"] <= 0.05 * N
    assert status["pending_customer"] <= 0.06 * N
    assert status["scheduled"] <= 0.03 * N
    assert status["resolved"] + status["closed"] >= 0.65 * N
    rank = Counter(dict(db.execute("SELECT priority_rank, count(*) FROM tickets GROUP BY 1")))
    assert rank[2] + rank[3] > 0.7 * N  # skewed to medium and low
    assert rank[0] < rank[1] < rank[2]
    tier = Counter(dict(db.execute("SELECT tier, count(*) FROM tickets GROUP BY tier")))
    assert tier[1] > 0.7 * N and tier[2] > tier[3]


def test_view_is_generated_from_status(db: sqlite3.Connection) -> None:
    queue = _one(db, "SELECT count(*) FROM tickets WHERE view = 'queue'")
    assert queue == _one(db, "SELECT count(*) FROM tickets WHERE status IN ('new', 'open')")
    for status, view in db.execute("SELECT DISTINCT status, view FROM tickets"):
        assert VIEW_OF_STATUS[Status(status)].value == view


def test_older_tickets_are_the_done_ones(db: sqlite3.Connection) -> None:
    age = dict(
        db.execute(
            "SELECT view = 'done', avg(julianday(:now) - julianday(created_at)) "
            "FROM tickets GROUP BY 1",
            {"now": sqlite_timestamp(NOW)},
        )
    )
    assert age[1] > 2 * age[0]
    oldest, newest = db.execute("SELECT min(created_at), max(created_at) FROM tickets").fetchone()
    assert oldest >= sqlite_timestamp(NOW - timedelta(days=91))
    assert newest < sqlite_timestamp(NOW)


def test_holders_have_a_fitting_tier(db: sqlite3.Connection) -> None:
    held = db.execute(
        "SELECT t.status, t.tier, s.tier FROM tickets t JOIN staff s ON s.id = t.holder_id"
    ).fetchall()
    assert len(held) > 0.01 * N  # the rest were handed over (test_nobody_holds_too_much)
    for status, ticket_tier, staff_tier in held:
        assert staff_tier >= ticket_tier
        assert status in ("open", "pending_customer", "scheduled")
    orphans = "SELECT count(*) FROM tickets WHERE holder_id NOT IN (SELECT id FROM staff)"
    assert _one(db, orphans) == 0


def _claims_and_escalations_hold(desk: Desk) -> None:
    """On either database: nobody holds more than the policy lets them claim past, what was
    handed over reads like an end of shift, and every escalated ticket has its escalation."""
    from supportdesk.services import escalation, sla

    store = desk.store
    limit = sla.current_policy(desk).escalation.max_claims
    held = store.query(
        "SELECT holder_id, view = 'queue', count(*) FROM tickets"
        " WHERE view <> 'done' AND holder_id IS NOT NULL GROUP BY 1, 2"
    )
    assert held
    for _holder, working, count in held:
        assert count <= (limit - 2 if working else demo.WAITING_CLAIMS_CAP)
    for (holder,) in store.query("SELECT DISTINCT holder_id FROM tickets WHERE view = 'queue'"):
        if holder is not None:
            with store.read() as s:
                assert escalation.holding(s, holder) <= limit - 2
    assert _scalar(desk, "SELECT count(*) FROM tickets WHERE holder_id IS NOT NULL"
                         " AND view <> 'done' AND touched_at IS NULL") == 0  # fmt: skip
    # handovers: a holder event by the holder, the last of its ticket, after the activity
    # before it and not after now; the ticket is nobody's and untouched, its last activity
    # the message before
    now = store.timestamp_param(NOW)
    handovers = store.query(
        "SELECT e.ticket_id, e.id, e.staff_id, s.login, e.old_value, e.body, e.created_at,"
        " t.holder_id, t.touched_at, t.last_activity_at, t.updated_at,"
        " (SELECT max(p.created_at) FROM ticket_events p WHERE p.ticket_id = e.ticket_id"
        " AND p.id < e.id), (SELECT max(x.id) FROM ticket_events x"
        " WHERE x.ticket_id = e.ticket_id)"
        " FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id"
        " LEFT JOIN staff s ON s.id = e.staff_id"
        " WHERE e.kind = 'holder' AND e.new_value IS NULL"
    )
    assert handovers
    for (
        tid,
        eid,
        _sid,
        login,
        old,
        body,
        at,
        holder,
        touched,
        last,
        updated,
        before,
        top,
    ) in handovers:
        assert old == login and body.startswith("Handover: "), tid
        assert holder is None and touched is None, tid
        assert eid == top and updated == at, tid
        # a handover is no message: the last activity (the queue's "Last") stays before it
        assert last < at, tid
        assert before < at <= now, tid
    # escalations: every ticket above tier 1 has its open (or solved) tier escalation, and
    # reached its tier then; tier-1 tickets reached it when they were created
    bad = store.query(
        "SELECT t.id FROM tickets t LEFT JOIN escalations x ON x.id = t.escalation_id"
        " WHERE t.tier > 1 AND (x.id IS NULL OR x.ticket_id <> t.id OR x.kind <> 'tier'"
        " OR x.to_tier <> t.tier OR t.tier_since IS NULL OR t.tier_since <> x.at"
        " OR t.escalations <> 1)"
    )
    assert bad == []
    assert _scalar(desk, "SELECT count(*) FROM tickets WHERE tier = 1 AND"
                         " (tier_since <> created_at OR tier_since IS NULL"
                         " OR escalation_id IS NOT NULL)") == 0  # fmt: skip
    assert _scalar(desk, "SELECT count(*) FROM escalations") == _scalar(
        desk, "SELECT count(*) FROM tickets WHERE tier > 1"
    )


def _scalar(desk: Desk, sql: str) -> object:
    return desk.store.query(sql)[0][0]


def test_nobody_holds_too_much(built: tuple[Desk, demo.DemoResult, Path]) -> None:
    _claims_and_escalations_hold(built[0])


def test_an_engineer_can_claim_on_a_fresh_demo(db_url: str, tmp_path: Path) -> None:
    """The point of the handovers: the holding limit leaves room, and the boards have work
    (on both databases)."""
    from supportdesk.services import escalation

    store = Store(db_url)
    try:
        desk = Desk(store, "lena", clock=Clock(NOW), audit_key_path=tmp_path / "k.key")
        init_database(desk, admin="lena")
        result = demo.build_demo(desk, tickets=800, seed=4)
        _claims_and_escalations_hold(desk)
        for login, tier in ((result.engineer_login, 2), ("ingrid", 3), (result.agent_login, 1)):
            person = Desk(store, login, clock=Clock(NOW), audit_key_path=tmp_path / "k.key")
            before = escalation.tier_board(person, tier)
            assert before.unclaimed > 0, login
            top = next(r for r in before.rows if r.section == "unclaimed")
            claim = escalation.claim_next(person, tier)
            assert claim.ticket_id == top.ticket_id and claim.holder == login
            assert escalation.claim_next(person, tier).ticket_id != claim.ticket_id
        with store.read() as s:
            assert audit.verify(s, desk.audit_key).ok
    finally:
        store.dispose()


def test_resolution_fields_only_on_done_tickets(db: sqlite3.Connection) -> None:
    done = "status IN ('resolved', 'closed')"
    missing = f"{done} AND (resolved_at IS NULL OR resolution_code IS NULL)"
    assert _one(db, f"SELECT count(*) FROM tickets WHERE {missing}") == 0
    extra = f"NOT {done} AND (resolved_at IS NOT NULL OR resolution_code IS NOT NULL)"
    assert _one(db, f"SELECT count(*) FROM tickets WHERE {extra}") == 0
    fixed = _one(db, f"SELECT count(*) FROM tickets WHERE {done} AND resolution_code = 'fixed'")
    assert fixed > 0.7 * _one(db, f"SELECT count(*) FROM tickets WHERE {done}")
    merged = db.execute(
        "SELECT t.id, o.id, t.account_id = o.account_id, t.category = o.category, "
        "t.subject = o.subject FROM tickets t JOIN tickets o ON o.id = t.merged_into_id"
    ).fetchall()
    assert merged
    for ticket_id, into, same_account, same_category, _same_subject in merged:
        assert into < ticket_id and same_account and same_category
    assert sum(row[4] for row in merged) > len(merged) / 2  # mostly the very same request


STOPPED_BY_MISSING = (
    "SELECT count(*) FROM tickets WHERE (first_response_at IS NOT NULL AND responded_by IS NULL)"
    " OR (resolution_code IS NOT NULL AND resolution_code <> 'unlisted_sender'"
    " AND resolved_by IS NULL)"
)


def test_clocks_say_who_stopped_them(db: sqlite3.Connection) -> None:
    """Who answered first and who resolved (issue 16), as `report sla --by agent` reads."""
    assert _one(db, STOPPED_BY_MISSING) == 0
    assert _one(db, "SELECT count(*) FROM tickets WHERE resolved_by IS NOT NULL") > 0
    stray = "SELECT count(*) FROM tickets WHERE resolved_at IS NULL AND resolved_by IS NOT NULL"
    assert _one(db, stray) == 0


def test_times_are_in_order(db: sqlite3.Connection) -> None:
    bad = (
        "SELECT count(*) FROM tickets WHERE first_response_at < created_at "
        "OR resolved_at < created_at OR last_activity_at < created_at "
        "OR updated_at < last_activity_at OR last_activity_at > :now"
    )
    assert db.execute(bad, {"now": sqlite_timestamp(NOW)}).fetchone()[0] == 0
    no_response = _one(
        db, "SELECT count(*) FROM tickets WHERE status <> 'new' AND first_response_at IS NULL"
    )
    assert no_response < 0.05 * N  # only the automatically closed ones
    answered = "SELECT count(*) FROM tickets WHERE status = 'new' AND first_response_at IS NOT NULL"
    assert _one(db, answered) == 0


def test_events_belong_to_their_tickets(db: sqlite3.Connection) -> None:
    count = _one(db, "SELECT count(*) FROM ticket_events")
    assert N <= count <= 4 * N
    assert _one(db, "SELECT count(*) FROM ticket_events e LEFT JOIN tickets t "
                    "ON t.id = e.ticket_id WHERE t.id IS NULL") == 0  # fmt: skip
    early = "SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id " \
        "WHERE e.created_at < t.created_at"  # fmt: skip
    assert _one(db, early) == 0
    kinds = {row[0] for row in db.execute("SELECT DISTINCT kind FROM ticket_events")}
    assert {"created", "reply", "call", "note", "status", "holder", "tier", "merge"} <= kinds
    outcomes = {row[0] for row in db.execute("SELECT DISTINCT call_outcome FROM ticket_events")}
    assert outcomes == {None, "spoke", "voicemail", "no_answer"}


def test_threads_match_the_ticket(db: sqlite3.Connection) -> None:
    events: dict[int, list[tuple[object, ...]]] = {}
    for row in db.execute(
        "SELECT ticket_id, id, kind, from_customer, staff_id, created_at, new_value "
        "FROM ticket_events ORDER BY ticket_id, id"
    ):
        events.setdefault(row[0], []).append(row)
    tickets = db.execute(
        "SELECT id, status, last_speaker, last_activity_at, first_response_at, holder_id "
        "FROM tickets"
    ).fetchall()
    assert len(events) == len(tickets)
    for ticket_id, status, speaker, last_at, first_response, holder in tickets:
        thread = events[ticket_id]
        assert thread[0][2] == "created"
        times = [e[5] for e in thread]
        assert times == sorted(times)  # ids follow time within a ticket
        # the last activity is the last entry, but for a handover (a release is no message)
        said = [e[5] for e in thread if not (e[2] == "holder" and e[6] is None)]
        assert last_at == said[-1]
        talk = [e for e in thread if e[2] in ("created", "reply", "call")]
        assert speaker == ("customer" if talk[-1][3] else "staff")
        staff_talk = [e[5] for e in talk if not e[3] and e[4] is not None]
        if first_response is not None:
            assert first_response == staff_talk[0]
        if holder is not None:
            claims = [e for e in thread if e[2] == "holder"]
            assert claims and claims[-1][4] == holder
        status_changes = [e[6] for e in thread if e[2] == "status"]
        if status_changes:
            assert status_changes[-1] == status


def test_texts_read_like_hosting_support(db: sqlite3.Connection) -> None:
    subjects = [row[0] for row in db.execute("SELECT subject FROM tickets")]
    assert len(set(subjects)) > N // 2
    assert not any("{" in s or "%(" in s for s in subjects)
    bodies = [row[0] for row in db.execute("SELECT description FROM tickets")] + [
        row[0] for row in db.execute("SELECT body FROM ticket_events WHERE body IS NOT NULL")
    ]
    assert not any("{" in b or "%(" in b for b in bodies)
    assert any(re.search(r"\b\d\d:\d\d\b", b) for b in bodies)  # times, as seed 001 asks
    assert any("550 5.7.1" in b for b in bodies)
    assert len(demo_texts().templates) >= 40


def test_directory(db: sqlite3.Connection) -> None:
    accounts = db.execute("SELECT id, plan, status, suspended_reason, notes, reseller_id "
                          "FROM accounts").fetchall()  # fmt: skip
    assert len(accounts) == N // 10
    for account_id, plan, status, reason, _notes, _reseller in accounts:
        assert re.fullmatch(r"[a-z0-9-]+", account_id)
        assert plan in {"standard", "gold", "silver", "per-incident", "hosting-24x7"}
        assert (status == "suspended") == (reason is not None)
    resellers = {a[5] for a in accounts if a[5]}
    assert resellers
    kinds = dict(db.execute("SELECT account_id, group_concat(kind) FROM services GROUP BY 1"))
    assert all("reseller" in kinds[r] for r in resellers)
    assert {k for v in kinds.values() for k in v.split(",")} == {
        "managed_server", "shared_hosting", "reseller", "email", "domain",
    }  # fmt: skip
    servers = [row[0] for row in db.execute("SELECT server FROM services WHERE server IS NOT NULL")]
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)?-\d\d\d?", s) for s in servers)
    primaries = Counter(row[0] for row in db.execute(
        "SELECT account_id FROM contacts WHERE role = 'primary'"))  # fmt: skip
    assert set(primaries.values()) == {1} and len(primaries) == len(accounts)
    assert _one(db, "SELECT max(n) FROM (SELECT count(*) AS n FROM contacts "
                    "WHERE role = 'authorized' GROUP BY account_id)") <= 3  # fmt: skip
    assert _one(db, "SELECT count(*) FROM contacts WHERE pin_hash IS NOT NULL") == 0
    for kind, value in db.execute("SELECT kind, value FROM contact_points"):
        if kind == "email":
            assert value == value.lower() and re.fullmatch(r"[^@\s]+@[a-z0-9.-]+", value)
        else:
            assert kind == "phone" and re.fullmatch(r"\+\d{10,13}", value)
    callers = "SELECT count(*) FROM tickets WHERE contact_id IS NULL AND caller_name IS NULL"
    assert _one(db, callers) == 0


def test_timestamps_are_what_the_orm_writes(built: tuple[Desk, demo.DemoResult, Path]) -> None:
    desk, _result, path = built
    with desk.store.read() as s:
        ticket = s.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(1)).one()
        created = ticket.created_at
    assert created.tzinfo is not None
    with sqlite3.connect(path) as conn:
        raw = conn.execute("SELECT created_at FROM tickets WHERE id = ?", (ticket.id,)).fetchone()
    assert raw[0] == sqlite_timestamp(created)
    times = Times(True, to_us(NOW) - 100 * DAY, 110)
    rng = random.Random(5)
    for _ in range(2000):
        moment = NOW - timedelta(days=rng.uniform(-5, 3000), microseconds=rng.randrange(10**6))
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        assert times(to_us(moment)) == sqlite_timestamp(moment)


def test_audit_chain_and_demo_setting(built: tuple[Desk, demo.DemoResult, Path]) -> None:
    desk, _result, _path = built
    with desk.store.read() as s:
        assert audit.verify(s, desk.audit_key).ok
        assert s.get(Setting, "demo") is not None
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == "demo.build")).all()
    assert len(rows) == 1
    assert rows[0].changes == '{"seed":[null,1],"tickets":[null,2000]}'
    assert desk.is_demo


def test_database_is_left_as_the_console_expects(db: sqlite3.Connection) -> None:
    assert _one(db, "PRAGMA journal_mode") == "wal"
    assert _one(db, "PRAGMA integrity_check") == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    for table in demo.BULK_TABLES:
        for index in Base.metadata.tables[table].indexes:
            assert index.name in names
    assert _one(db, "SELECT count(*) FROM sqlite_stat1") > 0


def test_the_search_words_hold_the_live_tickets(built: tuple[Desk, demo.DemoResult, Path]) -> None:
    """The loader fills the queue search's word table once after the load (its triggers
    dropped during it) and puts the triggers back: it holds exactly the live tickets, and a
    search finds what a walk of the view finds."""
    from supportdesk.core import queue

    desk = built[0]
    store = desk.store
    triggers = store.query("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY 1")
    assert {"ticket_words_insert", "ticket_words_delete", "ticket_words_update"} <= {
        str(r[0]) for r in triggers
    }
    live = store.query("SELECT count(*) FROM tickets WHERE view <> 'done'")[0][0]
    assert store.query("SELECT count(*) FROM ticket_words_docsize")[0][0] == live > 0
    for text_ in ("bounc", "invoice", "qzxqv", "cPanel password"):
        filt = queue.QueueFilter(search=text_)
        assert queue.search_ids(desk, filt) is not None, text_
        where, params = queue.where_clause(filt, None, words=False)
        walked = store.query(
            "SELECT t.id FROM tickets t" + where + queue.order_by(filt) + " LIMIT 500", params
        )
        assert [r.id for r in queue.page(desk, filt, limit=500).rows] == [r[0] for r in walked]


def test_connection_settings_are_restored(built: tuple[Desk, demo.DemoResult, Path]) -> None:
    desk, _result, _path = built
    with desk.store.engine.connect() as conn:
        pragma = {n: conn.exec_driver_sql(f"PRAGMA {n}").scalar() for n in
                  ("foreign_keys", "synchronous", "cache_size", "journal_mode")}  # fmt: skip
    assert pragma == {"foreign_keys": 1, "synchronous": 1, "cache_size": -16000,
                      "journal_mode": "wal"}  # fmt: skip
    assert (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters


def test_load_leaves_wal_only_when_alone(tmp_path: Path) -> None:
    """The bulk load writes pages once (rollback journal) when nobody else has the file
    open, and stays in WAL at once, without waiting, when someone does."""
    path = tmp_path / "w.db"
    sqlite3.connect(path, isolation_level=None).execute("PRAGMA journal_mode=WAL").close()
    alone = sqlite3.connect(path, isolation_level=None)
    loader = SqliteLoader(alone)
    loader.before()
    assert loader.left_wal and _one(alone, "PRAGMA journal_mode") == "delete"
    loader.after()
    assert _one(alone, "PRAGMA journal_mode") == "wal"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("SELECT count(*) FROM sqlite_master").fetchone()
    loader = SqliteLoader(alone)
    loader.before()
    assert not loader.left_wal and _one(alone, "PRAGMA journal_mode") == "wal"
    loader.after()
    other.close()
    alone.close()


def test_same_seed_same_rows(tmp_path: Path, built: tuple[Desk, demo.DemoResult, Path]) -> None:
    desk, _result = _build(tmp_path / "again")
    desk.store.dispose()
    for table in TABLES:
        assert _rows(tmp_path / "again" / "d.db", table) == _rows(built[2], table), table


def test_other_seed_other_rows(tmp_path: Path, built: tuple[Desk, demo.DemoResult, Path]) -> None:
    desk, _result = _build(tmp_path / "other", seed=2)
    desk.store.dispose()
    assert _rows(tmp_path / "other" / "d.db", "tickets") != _rows(built[2], "tickets")


def test_worker_processes_make_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large demos are made by worker processes writing part files; they must give exactly
    the rows this process would (checked small, with small chunks so several parts exist)."""
    monkeypatch.setattr(demo.generate, "CHUNK", 300)  # read where chunks are made
    monkeypatch.setattr(demo.build, "PARALLEL_MIN", 10**9)  # read where workers are chosen
    serial, _ = _build(tmp_path / "serial", tickets=1500)
    monkeypatch.setattr(demo.build, "PARALLEL_MIN", 1)
    calls: list[tuple[int, int]] = []
    store = Store(str(tmp_path / "parallel.db"))
    desk = Desk(store, "lena", clock=Clock(NOW), audit_key_path=tmp_path / "p.key")
    init_database(desk, admin="lena")
    demo.build_demo(desk, tickets=1500, progress=lambda done, total: calls.append((done, total)))
    for d in (serial, desk):
        d.store.dispose()
    for table in TABLES:
        assert _rows(tmp_path / "parallel.db", table) == _rows(
            tmp_path / "serial" / "d.db", table
        ), table
    assert calls[0] == (0, 1500) and calls[-1] == (1500, 1500) and len(calls) == 6
    assert not list(tmp_path.glob(".supportdesk-demo-*"))  # part files removed


def test_a_failing_worker_is_reported(tmp_path: Path) -> None:
    """A worker that cannot write its part file says why; the build raises it, and the
    workers and their folder are cleaned up."""
    gen = Generator(1, NOW, 600, sqlite=True, chunk_size=200)
    gen.directory(20)
    staff = [(2, "amir", 1, "agent", "Amir", "Amir Haddad")]
    workers = Workers(gen, staff, str(tmp_path), 2)
    try:
        Path(workers.folder).rmdir()  # nowhere to write the parts
        workers.send_accounts(gen.accts)
        with pytest.raises(DeskError, match="a demo worker failed"):
            workers.wait(0)
    finally:
        workers.close()
    assert all(proc.poll() is not None for proc in workers.procs)
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_database_with_data(built: tuple[Desk, demo.DemoResult, Path]) -> None:
    desk, _result, _path = built
    with pytest.raises(UsageError, match="already has tickets"):
        demo.build_demo(desk, tickets=10)


def test_progress_is_reported(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    folder = tmp_path / "p"
    folder.mkdir()
    store = Store(str(folder / "d.db"))
    desk = Desk(store, "lena", clock=Clock(NOW), audit_key_path=folder / "k.key")
    init_database(desk, admin="lena")
    demo.build_demo(desk, tickets=50, progress=lambda done, total: calls.append((done, total)))
    store.dispose()
    assert calls[0] == (0, 50) and calls[-1] == (50, 50)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


@pytest.mark.postgres
def test_postgres(pg_url: str, tmp_path: Path) -> None:
    store = Store(pg_url)
    desk = Desk(store, "lena", clock=Clock(NOW), audit_key_path=tmp_path / "k.key")
    try:
        init_database(desk, admin="lena")
        result = demo.build_demo(desk, tickets=1200, seed=3)
        assert result.tickets == 1200 and result.accounts == 120
        _claims_and_escalations_hold(desk)
        with store.read() as s:
            counts = {t: s.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}
            assert counts["tickets"] == 1200 and counts["accounts"] == 120
            assert counts["staff"] == len(demo.DEMO_STAFF)
            assert 1200 <= counts["ticket_events"] <= 4800
            queue = s.scalar(text("SELECT count(*) FROM tickets WHERE view = 'queue'"))
            assert queue == s.scalar(
                text("SELECT count(*) FROM tickets WHERE status IN ('new', 'open')")
            )
            early = text(
                "SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
                "WHERE e.created_at < t.created_at"
            )
            assert s.scalar(early) == 0
            assert s.scalar(text("SELECT count(*) FROM ticket_events WHERE from_customer")) > 0
            assert s.scalar(text(STOPPED_BY_MISSING)) == 0
            assert s.scalar(text("SELECT count(*) FROM tickets WHERE resolved_by > 0")) > 0
            assert audit.verify(s, desk.audit_key).ok
            assert s.get(Setting, "demo") is not None
            # the demo's mail: recent staff replies in the outbox (issue 18)
            assert s.scalar(text("SELECT count(*) FROM outbox WHERE kind = 'reply'")) > 0
            # the sequences continue after the explicit ids of the load
            for table in (
                "services", "contacts", "contact_points", "tickets", "ticket_events", "escalations",
            ):  # fmt: skip
                nextval = s.scalar(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"))
                assert nextval == s.scalar(text(f"SELECT max(id) FROM {table}")) + 1
    finally:
        store.dispose()


def test_sla_clocks_follow_the_policy_and_the_history(
    built: tuple[Desk, demo.DemoResult, Path], db: sqlite3.Connection
) -> None:
    """Every demo ticket carries the clocks its account's plan and its history imply."""
    from supportdesk.rules.sla_engine import CLOCKS, ClockState, TicketClocks
    from supportdesk.services import sla

    desk, _result, _path = built
    policy = sla.current_policy(desk)
    assert (
        _one(
            db,
            "SELECT count(*) FROM tickets t JOIN accounts a ON a.id = t.account_id"
            " WHERE t.sla_plan IS NOT a.plan",
        )
        == 0
    )
    with desk.store.read() as s:
        rows = s.scalars(select(Ticket)).all()
        states: Counter[str] = Counter()
        for t in rows:
            clocks = sla.clocks_of(t)
            plan = policy.plan_for(t.sla_plan)
            assert t.sla_key == clocks.sort_key
            for name in CLOCKS:
                c = clocks.get(name)
                states[f"{name}:{c.state.value}"] += 1
                target = plan.target(name, Priority.from_rank(t.priority_rank))
                if target.kind == "none":
                    assert c.state is ClockState.NONE
                    continue
                assert c.target_s == target.seconds
                if c.state in (ClockState.MET, ClockState.BREACHED):
                    assert (c.state is ClockState.BREACHED) == (
                        c.target_s is not None and c.used_s > c.target_s
                    )
                if c.state is ClockState.RUNNING and c.target_s is not None:
                    assert c.since is not None
                    expected = plan.calendar.add(c.since, timedelta(seconds=c.target_s - c.used_s))
                    assert c.due == expected
                if t.status in ("resolved", "closed"):
                    assert c.state in (ClockState.MET, ClockState.BREACHED)
            if t.status == "pending_customer":
                assert clocks.resolve.state in (ClockState.PAUSED, ClockState.NONE)
                assert clocks.respond.state is not ClockState.RUNNING
            assert isinstance(clocks, TicketClocks)
    # the mix the console shows: running, paused, met and breached clocks all occur
    for key in (
        "respond:running",
        "respond:met",
        "respond:breached",
        "resolve:running",
        "resolve:paused",
        "resolve:met",
        "resolve:breached",
    ):
        assert states[key] > 0, (key, states)


# -- every seed and size; PINs; a build killed at any moment (issue 12) ------------------
def _pins_hold(desk: Desk, pins: list[tuple[str, str, str, str]]) -> None:
    """Three PINs, one per primary contact, each for an address that contact has."""
    assert len(pins) == 3
    q = desk.store.query
    holders = q("SELECT id FROM contacts WHERE pin_hash IS NOT NULL")
    assert len(holders) == 3
    for account, _name, address, pin in pins:
        assert re.fullmatch(r"\d{6}", pin)
        (role,) = q(
            "SELECT c.role FROM contacts c JOIN contact_points p ON p.contact_id = c.id"
            " WHERE c.account_id = ? AND p.value = ? AND c.pin_hash IS NOT NULL",
            (account, address),
        )
        assert role == ("primary",)


def test_a_primary_contact_with_two_addresses_gets_one_pin(db_url: str, tmp_path: Path) -> None:
    """Seed 5 at 50 tickets puts a primary contact with two addresses among the first
    three: it used to be picked twice and the second PIN failed the whole demo."""
    store = Store(db_url)
    desk = Desk(store, "lena", clock=Clock(NOW), audit_key_path=tmp_path / "k.key")
    try:
        init_database(desk, admin="lena")
        demo.build_demo(desk, tickets=50, seed=5)
        two = store.query(
            "SELECT c.id FROM contacts c JOIN contact_points p ON p.contact_id = c.id"
            " WHERE c.role = 'primary' AND p.kind = 'email' GROUP BY c.id"
            " HAVING count(*) > 1 ORDER BY c.id LIMIT 1"
        )
        pins = demo.issue_demo_pins(desk)
        _pins_hold(desk, pins)
        assert two and two[0] in store.query("SELECT id FROM contacts WHERE pin_hash IS NOT NULL")
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("seed", "n"),
    [(seed, n) for seed in range(1, 9) for n in (50, 200, 1000, 5000)] + [(1, 20_000)],
    ids=[f"seed{seed}-{n}" for seed in range(1, 9) for n in (50, 200, 1000, 5000)] + ["20000"],
)
def test_every_seed_and_size_builds(tmp_path: Path, seed: int, n: int) -> None:
    """Seeds 1-8 at 50, 200, 1,000 and 5,000 tickets, and one demo of 20,000 (the heavy
    case), each with its PINs, through build_demo_file; one case per seed and size, so that
    workers share them."""
    path = tmp_path / f"s{seed}-{n}.db"
    built = demo.build_demo_file(path, tmp_path / "k.key", Clock(NOW), tickets=n, seed=seed)
    assert built.result.tickets == n, (seed, n)
    store = Store(str(path))
    try:
        _pins_hold(Desk(store, "lena", Clock(NOW), tmp_path / "k.key"), built.pins)
        assert store.query("SELECT count(*) FROM tickets") == [(n,)]
    finally:
        store.dispose()
    path.unlink()


def _demo_env(tmp_path: Path, db: str) -> dict[str, str]:
    import os

    env = dict(os.environ, SUPPORTDESK_DB=db, SUPPORTDESK_AUDIT_KEY=str(tmp_path / "k.key"))
    env["SUPPORTDESK_DEMO_STAGES"] = "1"
    env.pop("SUPPORTDESK_NOW", None)
    return env


def _kill_at(env: dict[str, str], stage: str, tickets: int, *extra: str) -> int:
    """Run `demo` in a process and SIGKILL it as soon as it reports `stage`."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "supportdesk",
            "demo",
            "--tickets",
            str(tickets),
            "--no-open",
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.strip().startswith(f"stage {stage}"):
            proc.send_signal(signal.SIGKILL)
            break
    code = proc.wait(timeout=120)
    proc.stderr.close()
    assert any(x.strip().startswith(f"stage {stage}") for x in seen), seen
    return code


def _demo_tickets(db: str) -> int | None:
    store = Store(db)
    try:
        if store.schema_revision() is None or not store.query(
            "SELECT 1 FROM settings WHERE key = 'demo'"
        ):
            return None
        return int(store.query("SELECT count(*) FROM tickets")[0][0])
    finally:
        store.dispose()


@pytest.mark.parametrize("stage", ["init", "load", "built"])
def test_a_killed_demo_build_leaves_the_old_demo_and_the_next_one_succeeds(
    tmp_path: Path, stage: str
) -> None:
    path = tmp_path / "demo.db"
    env = _demo_env(tmp_path, str(path))
    # no demo yet: a killed build leaves none (or, killed just after its rename, a whole one;
    # after "built" only the rename is left, which a busy machine may let finish)
    assert _kill_at(env, stage, 400) in ((-9, 0) if stage == "built" else (-9,))
    assert _demo_tickets(str(path)) in (None, 400)
    assert (tmp_path / "demo.db.demo-tmp").exists() or _demo_tickets(str(path)) == 400
    first = run(env, "demo", "--tickets", "300", "--no-open", "--fresh")
    assert first.returncode == 0, first.stderr
    assert _demo_tickets(str(path)) == 300
    # an old demo is there: a killed rebuild leaves it as it was (until the rename)
    code = _kill_at(env, stage, 400, "--fresh")
    if stage != "built":
        assert code == -9 and _demo_tickets(str(path)) == 300
    else:
        assert (code, _demo_tickets(str(path))) in ((-9, 300), (-9, 400), (0, 400))
    again = run(env, "demo", "--tickets", "350", "--no-open", "--fresh")
    assert again.returncode == 0, again.stderr
    assert _demo_tickets(str(path)) == 350
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "demo.db",
        "demo.db.demo-lock",
        "k.key",
    ]
    store = Store(str(path))
    try:
        with store.read() as s:
            assert audit.verify(s, audit.load_key(tmp_path / "k.key")).ok
    finally:
        store.dispose()


def test_a_demo_left_after_init_by_an_older_build_is_rebuilt(db_url: str, tmp_path: Path) -> None:
    """An older `demo` killed after `init` left a schema with only the demo lead: it is
    taken for a demo, on both databases; a desk with more in it is refused."""
    store = Store(db_url)
    init_database(Desk(store, "lena", Clock(NOW), tmp_path / "k.key"), admin="lena")
    store.dispose()
    env = _demo_env(tmp_path, db_url)
    p = run(env, "demo", "--tickets", "60", "--no-open")
    assert p.returncode == 0, p.stderr
    assert _demo_tickets(db_url) == 60
    real = tmp_path / "real.db"
    desk = Desk(Store(str(real)), "lena", Clock(NOW), tmp_path / "real.key")
    init_database(desk, admin="lena")
    from supportdesk.services import directory

    directory.add_account(desk, "bluefin", "Bluefin Media", "gold")
    desk.store.dispose()
    refused = run(dict(env, SUPPORTDESK_DB=str(real)), "demo", "--tickets", "60", "--no-open")
    assert refused.returncode == 2
    assert one_line_error(refused).endswith("holds a real desk, not a demo: choose another --db")


def test_demo_opens_an_existing_demo_as_it_is_and_fresh_rebuilds(
    db_url: str, tmp_path: Path
) -> None:
    """Running `demo` again keeps the demo (a ticket typed into it stays, the PINs stay
    valid); `--fresh` builds a new one (SQLite; on PostgreSQL it needs an empty database)."""
    env = _demo_env(tmp_path, db_url)
    p = run(env, "demo", "--tickets", "60", "--no-open")
    assert p.returncode == 0, p.stderr
    assert "PIN" in p.stdout
    store = Store(db_url)
    desk = Desk(store, "lena", Clock(NOW), tmp_path / "k.key")
    from supportdesk.services import tickets as ticket_service

    typed = ticket_service.create(
        desk,
        account=str(store.query("SELECT id FROM accounts ORDER BY id LIMIT 1")[0][0]),
        subject="typed into the demo",
        priority="low",
        category="billing",
        channel="phone",
    )
    pins = store.query("SELECT id, pin_hash FROM contacts WHERE pin_hash IS NOT NULL ORDER BY id")
    store.dispose()
    p = run(env, "demo", "--tickets", "90", "--no-open")
    assert p.returncode == 0, p.stderr
    assert p.stdout == (
        f"demo database {Store(db_url).display_name()}: 61 tickets, opened as it is "
        "(`supportdesk demo --fresh` builds a new one)\n"
    )
    assert "PIN" not in p.stdout
    store = Store(db_url)
    try:
        assert store.query("SELECT subject FROM tickets WHERE id = ?", (typed,)) == [
            ("typed into the demo",)
        ]
        assert (
            store.query("SELECT id, pin_hash FROM contacts WHERE pin_hash IS NOT NULL ORDER BY id")
            == pins
        )
    finally:
        store.dispose()
    p = run(env, "demo", "--tickets", "90", "--no-open", "--fresh")
    if db_url.startswith("postgresql"):
        assert p.returncode == 2
        assert "--fresh on PostgreSQL needs an empty database" in one_line_error(p)
        assert _demo_tickets(db_url) == 61
    else:
        assert p.returncode == 0, p.stderr
        assert _demo_tickets(db_url) == 90 and "PIN" in p.stdout


@pytest.mark.postgres
@pytest.mark.parametrize("stage", ["init", "load"])
def test_a_killed_demo_build_on_postgres_can_be_rebuilt(
    pg_url: str, fresh_pg: str, tmp_path: Path, stage: str
) -> None:
    env = _demo_env(tmp_path, pg_url)
    assert _kill_at(env, stage, 400) == -9
    assert _demo_tickets(pg_url) is None  # the build is one transaction: nothing of it stays
    # killed once every ticket is in: the indexes, keys and triggers the load took off are
    # back with the rollback
    assert _pg_catalog(pg_url) == _pg_catalog(fresh_pg)
    p = run(env, "demo", "--tickets", "300", "--no-open")
    assert p.returncode == 0, p.stderr
    assert _demo_tickets(pg_url) == 300
    assert _pg_catalog(pg_url) == _pg_catalog(fresh_pg)


# ------------------------------------------------------------------ PostgreSQL bulk load
def _pg_desk(url: str, folder: Path) -> Desk:
    desk = Desk(Store(url), "lena", clock=Clock(NOW), audit_key_path=folder / "k.key")
    init_database(desk, admin="lena")
    return desk


@pytest.fixture
def fresh_pg(pg_url: str, tmp_path: Path) -> Iterator[str]:
    """A second schema beside `pg_url`'s, with a freshly initialised desk: what the desk's
    catalog must look like after any demo build, finished or failed."""
    import uuid

    import psycopg

    from tests.helpers.postgres import PG_URL

    schema = "t_" + uuid.uuid4().hex[:12]
    plain = PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        _pg_desk(url, tmp_path / "fresh").store.dispose()
        yield url
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _pg_catalog(url: str) -> dict[str, list[tuple[object, ...]]]:
    """The desk's indexes, constraints and triggers (with their enabled state), named
    without the schema, so that two desks in two schemas compare equal."""
    import psycopg

    schema_of = "(SELECT relnamespace FROM pg_class WHERE oid = 'tickets'::regclass)"
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        schema = conn.execute(f"SELECT {schema_of}::regnamespace::text").fetchone()[0]  # type: ignore[index]
        queries: dict[str, tuple[str, tuple[str, ...]]] = {
            "indexes": (
                "SELECT tablename, indexname, replace(indexdef, %s, '') FROM pg_indexes"
                " WHERE schemaname = %s ORDER BY 1, 2",
                (f"{schema}.", schema),
            ),
            "constraints": (
                "SELECT c.conrelid::regclass::text, c.conname, c.contype,"
                " pg_get_constraintdef(c.oid), c.convalidated FROM pg_constraint c"
                f" JOIN pg_class r ON r.oid = c.conrelid WHERE r.relnamespace = {schema_of}"
                " ORDER BY 1, 2",
                (),
            ),
            "triggers": (
                "SELECT r.relname, t.tgname, t.tgenabled, t.tgfoid::regproc::text"
                " FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid"
                f" WHERE r.relnamespace = {schema_of} AND NOT t.tgisinternal ORDER BY 1, 2",
                (),
            ),
        }
        return {
            name: [tuple(row) for row in conn.execute(sql, params).fetchall()]  # type: ignore[arg-type]
            for name, (sql, params) in queries.items()
        }


@pytest.mark.postgres
def test_a_postgres_demo_is_vacuumed_for_index_only_scans(pg_url: str, tmp_path: Path) -> None:
    """Every page of the loaded tables is all-visible once the build returns: an index-only
    scan (the queue's and the boards' counts) then never reads the table itself."""
    import psycopg

    desk = _pg_desk(pg_url, tmp_path)
    try:
        demo.build_demo(desk, tickets=1200, seed=3)
    finally:
        desk.store.dispose()
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        pages = conn.execute(
            "SELECT relname, relpages, relallvisible FROM pg_class"
            " WHERE oid IN ('tickets'::regclass, 'ticket_events'::regclass) ORDER BY relname"
        ).fetchall()
    assert [name for name, _p, _v in pages] == ["ticket_events", "tickets"]
    assert all(p > 0 and v == p for _name, p, v in pages), pages


@pytest.mark.postgres
def test_a_postgres_demo_vacuums_again_what_an_open_snapshot_held_back(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction elsewhere in the database that took its snapshot before the load
    committed keeps VACUUM from marking the new rows' pages all-visible (what a busy server
    did to the test above once). The build vacuums such tables again once that transaction
    is gone: here it ends while the build pauses before its second VACUUM."""
    import psycopg

    from supportdesk.demo import pgload

    blocker = psycopg.connect(pg_url.replace("+psycopg", ""))
    blocker.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    blocker.execute("SELECT 1").fetchone()  # its snapshot, held until it ends
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        blocker.rollback()

    monkeypatch.setattr(pgload.time, "sleep", pause)
    desk = _pg_desk(pg_url, tmp_path)
    try:
        demo.build_demo(desk, tickets=1200, seed=3)
    finally:
        desk.store.dispose()
        blocker.close()
    assert pauses[:1] == [pgload.VACUUM_RETRY_S[0]]  # the first VACUUM was held back
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        pages = conn.execute(
            "SELECT relname, relpages, relallvisible FROM pg_class"
            " WHERE oid = ANY(%s::regclass[]) ORDER BY relname",
            (list(pgload.LOADED_TABLES),),
        ).fetchall()
    assert len(pages) == len(pgload.LOADED_TABLES)
    assert all(v == p for _name, p, v in pages), pages
    assert any(p > 0 for _name, p, _v in pages)


def _small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build with the worker processes and several chunks, small enough for a test."""
    monkeypatch.setattr(demo.generate, "CHUNK", 300)
    monkeypatch.setattr(demo.build, "PARALLEL_MIN", 1)


@pytest.mark.postgres
@pytest.mark.parametrize("workers", [False, True], ids=["serial", "workers"])
def test_a_postgres_demo_leaves_every_index_key_and_trigger_of_the_desk(
    pg_url: str, fresh_pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: bool
) -> None:
    """The load drops secondary indexes and foreign keys and disables the NOTIFY triggers;
    the desk it leaves has them all, enabled and validated, as a freshly migrated one."""
    if workers:
        _small_parts(monkeypatch)
    desk = _pg_desk(pg_url, tmp_path)
    try:
        demo.build_demo(desk, tickets=1500, seed=2)
    finally:
        desk.store.dispose()
    catalog = _pg_catalog(pg_url)
    assert catalog == _pg_catalog(fresh_pg)
    assert {row[1] for row in catalog["triggers"]} >= {"tickets_notify", "ticket_events_notify"}
    assert all(row[2] == "O" for row in catalog["triggers"])  # O: enabled
    assert any(row[1] == "fk_ticket_events_ticket_id_tickets" for row in catalog["constraints"])
    assert _demo_tickets(pg_url) == 1500


@pytest.mark.postgres
def test_a_postgres_demo_sends_one_notification(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A console listening on the desk's channel while a demo is built is woken once, at
    the commit, not by every COPY and statement of the load."""
    import psycopg

    from supportdesk.store import CHANNEL_SQL

    _small_parts(monkeypatch)
    desk = _pg_desk(pg_url, tmp_path)
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as listener:
        channel = listener.execute(CHANNEL_SQL).fetchone()[0]  # type: ignore[index]
        listener.execute(f"LISTEN {channel}")
        try:
            demo.build_demo(desk, tickets=1200, seed=1)
        finally:
            desk.store.dispose()
        heard = list(listener.notifies(timeout=1.5))
        assert [n.channel for n in heard] == [channel]
        # the triggers are back: the next write is heard as before
        with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as writer:
            writer.execute("UPDATE tickets SET subject = subject WHERE id = 1")
        assert [n.payload for n in listener.notifies(timeout=5, stop_after=1)] == ["tickets"]


@pytest.mark.postgres
@pytest.mark.parametrize("where", ["load", "handovers", "complete"])
def test_a_failing_postgres_demo_leaves_the_desk_as_it_was(
    pg_url: str, fresh_pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A build that fails while loading tickets, after the load, or while putting the
    indexes back leaves no row of the demo, and every index, key and trigger as they were
    (one transaction: PostgreSQL's DDL is transactional); the next build succeeds."""
    from supportdesk.demo import pgload

    _small_parts(monkeypatch)
    calls = []

    def fail(*args: object, **kwargs: object) -> None:
        calls.append(where)
        raise RuntimeError(f"stopped at {where}")

    if where == "load":
        real = pgload.PostgresLoader.copy_part

        def copy_then_fail(self: pgload.PostgresLoader, *args: object, **kwargs: object) -> None:
            if calls:
                fail()
            calls.append("copied")
            real(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(pgload.PostgresLoader, "copy_part", copy_then_fail)
    elif where == "handovers":
        monkeypatch.setattr(demo.build, "hand_over_excess_claims", fail)
    else:  # after the first index is built again
        real_build = pgload.PostgresLoader.build_indexes

        def build_then_fail(
            self: pgload.PostgresLoader, conn: object, tables: object, stage: object
        ) -> None:
            def stage_then_fail(name: str) -> None:
                if name.startswith("index ix_tickets"):
                    fail()

            real_build(self, conn, tables, stage_then_fail)  # type: ignore[arg-type]

        monkeypatch.setattr(pgload.PostgresLoader, "build_indexes", build_then_fail)
    desk = _pg_desk(pg_url, tmp_path)
    try:
        with pytest.raises(RuntimeError, match=f"stopped at {where}"):
            demo.build_demo(desk, tickets=1500, seed=1)
        assert where in calls
        assert desk.store.query("SELECT count(*) FROM tickets")[0][0] == 0
        assert desk.store.query("SELECT count(*) FROM accounts")[0][0] == 0
        assert desk.store.query("SELECT count(*) FROM settings WHERE key = 'demo'") == [(0,)]
        assert _pg_catalog(pg_url) == _pg_catalog(fresh_pg)
        monkeypatch.undo()
        assert demo.build_demo(desk, tickets=300, seed=1).tickets == 300
    finally:
        desk.store.dispose()
    assert _pg_catalog(pg_url) == _pg_catalog(fresh_pg)


NAMES_DIFFER = (
    "SELECT count(*) FROM tickets t"
    " WHERE t.company_name IS DISTINCT FROM (SELECT a.company FROM accounts a"
    " WHERE a.id = t.account_id)"
    " OR t.contact_name IS DISTINCT FROM (SELECT c.name FROM contacts c WHERE c.id = t.contact_id)"
)


def _comparable(store: Store, table: str) -> list[tuple[object, ...]]:
    """A table's rows in id order as both databases can compare them: times as the text
    SQLite stores, booleans as integers; staff without `created_at` (the admin's is the
    real time of `init`)."""
    columns = [c.name for c in Base.metadata.tables[table].columns]
    if table == "staff":
        columns.remove("created_at")
    rows = store.query(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")

    def plain(value: object) -> object:
        if isinstance(value, datetime):
            return sqlite_timestamp(value)
        if isinstance(value, bool):
            return int(value)
        return value

    return [tuple(plain(v) for v in row) for row in rows]


@pytest.mark.postgres
@pytest.mark.parametrize("workers", [False, True], ids=["serial", "workers"])
def test_postgres_and_sqlite_demos_hold_the_same_rows(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: bool
) -> None:
    """The same seed and `now` give the same desk on both databases, whichever way the
    rows were made (COPY text from the worker processes, or in this process)."""
    if workers:
        _small_parts(monkeypatch)
    sqlite_desk, _ = _build(tmp_path / "sqlite", tickets=1500, seed=4)
    pg_desk = _pg_desk(pg_url, tmp_path)
    try:
        demo.build_demo(pg_desk, tickets=1500, seed=4)
        for table in TABLES:
            sqlite_rows = _comparable(sqlite_desk.store, table)
            assert sqlite_rows, table
            assert _comparable(pg_desk.store, table) == sqlite_rows, table
        # the names PostgreSQL keeps on the ticket rows (migration 0021), which the load's
        # COPY wrote with the triggers off, are the directory's, on every ticket
        assert pg_desk.store.query(NAMES_DIFFER) == [(0,)]
        assert pg_desk.store.query(
            "SELECT count(*), count(company_name), count(contact_id), count(contact_name)"
            " FROM tickets"
        ) == [(1500, 1500, *pg_desk.store.query("SELECT count(contact_id) FROM tickets")[0] * 2)]
    finally:
        pg_desk.store.dispose()
        sqlite_desk.store.dispose()


def test_the_demo_outbox_holds_recent_staff_replies_to_addresses_on_file(
    built: tuple[Desk, demo.DemoResult, Path], db: sqlite3.Connection
) -> None:
    """Issue 18: a demo thread shows its mail (sent, the last ones queued)."""
    states = dict(db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
    assert states.get("sent", 0) > 0 and set(states) <= {"sent", "queued"}
    stray = db.execute(
        "SELECT count(*) FROM outbox o JOIN ticket_events e ON e.id = o.event_id"
        " JOIN tickets t ON t.id = o.ticket_id"
        " WHERE e.kind <> 'reply' OR e.staff_id IS NULL OR o.subject NOT LIKE '%[#' || t.id || ']'"
        " OR NOT EXISTS (SELECT 1 FROM contact_points cp WHERE cp.contact_id = t.contact_id"
        " AND cp.value = o.to_addr)"
    ).fetchone()[0]
    assert stray == 0
