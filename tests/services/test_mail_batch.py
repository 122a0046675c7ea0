"""The sender's throughput (issue 18): a batch taken by one lease, what went recorded for
several messages in one write (one `mail.sent` audit row each, the chain intact), the rest of
a batch given back as it was after a transport fault, racing leases on PostgreSQL skipping
each other's rows, and the cheaper composition byte for byte the email package's, on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supportdesk.core import audit
from supportdesk.core.desk import Desk
from supportdesk.rules.policy import MailRules
from supportdesk.services.outbox import leasing
from supportdesk.services.outbox.composing import compose, compose_bytes, plain_body
from supportdesk.services.outbox.config import load_config
from supportdesk.services.outbox.leasing import Leased, lease_batch, record_sent, release, renew
from supportdesk.services.outbox.sending import send_due
from supportdesk.services.outbox.transports import open_transport
from tests.helpers.desk import T0, DeskFactory
from tests.helpers.hostile import HOSTILE_STRINGS
from tests.helpers.smtp import Tls, queue, smtp_server, write_config


def states(desk: Desk) -> dict[int, tuple[str, str | None]]:
    rows = desk.store.query("SELECT id, state, lease_owner FROM outbox ORDER BY id")
    return {int(i): (str(s), o) for i, s, o in rows}


def test_a_batch_is_taken_most_overdue_first_and_the_next_lease_takes_the_rest(
    at: DeskFactory,
):
    d = at(0)
    late = queue(d, send_after=T0 - timedelta(minutes=5))
    ids = [queue(d) for _ in range(4)]
    future = queue(d, send_after=T0 + timedelta(hours=1))
    first = lease_batch(d, "a", 90, 3)
    assert [m.id for m in first] == [late, ids[0], ids[1]]
    assert all(m.prior == "queued" for m in first)
    rest = lease_batch(d, "b", 90, 10)
    assert [m.id for m in rest] == ids[2:]  # not a's, not the one not yet due
    assert lease_batch(d, "c", 90, 10) == []
    s = states(d)
    assert {s[m.id][1] for m in first} == {"a"} and {s[m.id][1] for m in rest} == {"b"}
    assert s[future] == ("queued", None)
    # a batch of more than one is held past lease_s by the window its conversations start in
    until = d.store.query("SELECT lease_until FROM outbox WHERE id = ?", (late,))[0][0]
    held = leasing.as_time(until) - T0
    assert held == timedelta(seconds=90 + leasing.BATCH_WINDOW_S)


def test_release_puts_a_batch_back_as_it_was_and_renew_keeps_only_what_is_held(
    at: DeskFactory,
):
    d = at(0)
    mid = queue(d)
    other = queue(d)
    with d.store.transaction() as tx:  # as a 4xx defers it
        tx.run(
            "UPDATE outbox SET state = 'deferred', attempts = 1, last_error = '450 busy' "
            "WHERE id = ?",
            (other,),
        )
    taken = lease_batch(d, "a", 90, 5)
    assert {m.id: m.prior for m in taken} == {mid: "queued", other: "deferred"}
    # b takes over the first once a's lease has expired
    [stolen] = lease_batch(at(3), "b", 90, 1)
    assert stolen.id == mid and stolen.prior == "sending"
    assert [m.id for m in renew(at(3), "a", 90, taken)] == [other]  # mid is b's now
    release(d, "a", taken)  # gives back only what a holds, as it was
    assert states(d) == {mid: ("sending", "b"), other: ("deferred", None)}
    release(d, "b", [stolen])  # taken over from a lease that ran out: never tried, so queued
    assert states(d)[mid] == ("queued", None)


def test_what_went_is_recorded_together_only_for_the_holder_one_audit_row_each(
    at: DeskFactory,
):
    d = at(0)
    ids = [queue(d) for _ in range(3)]
    taken = lease_batch(d, "a", 90, 3)
    [stolen] = lease_batch(at(3), "b", 90, 1)  # a's lease expired; b holds the first
    went = [(m, f"250 ok {m.id}", T0) for m in taken]
    throttled = [(taken[2], T0 + timedelta(minutes=1))]
    done, back = record_sent(d, "a", went[:2], throttled)
    assert done == [ids[1]] and back == 1  # not the one b holds
    assert states(d) == {ids[0]: ("sending", "b"), ids[1]: ("sent", None), ids[2]: ("queued", None)}
    rows = d.store.query("SELECT entity_id, action FROM audit WHERE entity = 'outbox' ORDER BY seq")
    assert [(int(e), a) for e, a in rows] == [(ids[1], "mail.sent")]
    assert stolen.id == ids[0]


def test_a_run_sends_many_one_audit_row_each_and_the_chain_holds(
    at: DeskFactory, tls: Tls, tmp_path: Path
):
    d = at(0)
    n = leasing.LEASE_BATCH + 7  # more than one batch
    ids = [queue(d, to=f"c{i}@bluefin.example") for i in range(n)]
    with smtp_server(tls) as srv:
        cfg = load_config(write_config(tmp_path, srv, tls))
        summary = send_due(d, open_transport(cfg), lease_s=cfg.lease_s)
    assert (summary.sent, summary.taken, summary.lost_leases) == (n, n, 0)
    assert len(srv.messages) == n and len(set(srv.message_ids())) == n
    sent = d.store.query(
        "SELECT entity_id FROM audit WHERE entity = 'outbox' AND action = 'mail.sent'"
    )
    assert sorted(int(e) for (e,) in sent) == ids
    with d.store.write() as session:
        assert audit.verify(session, d.audit_key).ok


def test_a_transport_fault_mid_batch_gives_the_rest_back_untried(
    at: DeskFactory, tls: Tls, tmp_path: Path
):
    """The first message goes; the second meets a refused relay: it is deferred without an
    attempt counted, the alarm is raised, and the rest of the batch is back as it was."""
    from tests.helpers.smtp import Behaviour

    d = at(0)
    good = queue(d)
    bad = queue(d, to="ops@corvid.example")
    rest = [queue(d, to=f"r{i}@bluefin.example") for i in range(3)]
    b = Behaviour(rcpt={"ops@corvid.example": "554 5.7.1 Relay access denied"})
    with smtp_server(tls, behaviour=b) as srv:
        summary = send_due(d, open_transport(load_config(write_config(tmp_path, srv, tls))),
                           lease_s=150)  # fmt: skip
    assert "relay" in str(summary.fault).lower()
    assert (summary.sent, summary.deferred) == (1, 1)
    s = states(d)
    assert s[good] == ("sent", None) and s[bad] == ("deferred", None)
    assert all(s[r] == ("queued", None) for r in rest)
    assert d.store.query("SELECT attempts FROM outbox WHERE id = ?", (bad,))[0][0] == 0


@contextmanager
def rows_locked(desk: Desk, n: int) -> Iterator[list[int]]:
    """Another sender's lease transaction, still open: the first `n` due rows locked as its
    pick locks them."""
    import psycopg

    with psycopg.connect(str(desk.store.target.conninfo)) as conn:
        sql = leasing.pick_sql(True, n).replace("?", "%s")
        now = T0.astimezone(UTC)
        ids = [int(r[0]) for r in conn.execute(sql, (now, now, now)).fetchall()]
        yield ids
        conn.rollback()


@contextmanager
def lease_open(desk: Desk, n: int) -> Iterator[list[int]]:
    """SQLite: another sender's lease transaction, still open: BEGIN IMMEDIATE, its pick and
    its take of the first `n` due rows, committed when the block ends."""
    import sqlite3

    path = desk.store.target.sqlite_path
    assert path
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        now = desk.store.timestamp_param(T0)
        picked = [int(r[0]) for r in conn.execute(leasing.pick_sql(False, n), (now,) * 3)]
        until = desk.store.timestamp_param(leasing.lease_until(T0, 90, n))
        taken = conn.execute(leasing.take_sql(len(picked)), ("a", until, *picked, now, now))
        assert len(taken.fetchall()) == len(picked)
        yield picked
        conn.execute("COMMIT")
    finally:
        conn.close()


def test_racing_leases_never_take_each_others_rows(at: DeskFactory):
    """PostgreSQL: a sender skips the rows another sender's open lease has locked, without
    waiting for it. SQLite: writers take turns (BEGIN IMMEDIATE), so the second sender waits
    for the open lease to commit and then takes what it left."""
    import threading

    d = at(0)
    ids = [queue(d) for _ in range(6)]
    if not d.store.is_sqlite:
        with rows_locked(d, 4) as theirs:
            assert theirs == ids[:4]
            mine = lease_batch(d, "b", 90, 10)  # does not wait for them
    else:
        got: dict[str, list[Leased]] = {}
        sender = threading.Thread(target=lambda: got.update(mine=lease_batch(d, "b", 90, 10)))
        with lease_open(d, 4) as theirs:
            assert theirs == ids[:4]
            sender.start()
            sender.join(0.3)
            assert sender.is_alive() and not got  # waits for its turn
        sender.join(30)
        mine = got["mine"]
        assert {i: s for i, s in states(d).items() if i in theirs} == dict.fromkeys(
            theirs, ("sending", "a")
        )
    assert [m.id for m in mine] == ids[4:]


# -- composition ------------------------------------------------------------------------------
RULES = [
    MailRules(domain="support.example", from_name="Bluefin Support"),
    MailRules(domain="support.example", from_name='Bl\u00fcefin "Support", Ltd.'),
    MailRules(domain="support.example", from_name="x" * 90),
]
SUBJECTS = [
    "Re: [#5001] Site down",
    "Re: [#5001] " + "very long subject words " * 6,
    "Re: [#5001] caf\u00e9 d\u00e9j\u00e0 vu \u2014 \U0001f600",
    "=?utf-8?q?not_an_encoded_word?= [#5001]",
    "Re: [#5001] hi\r\nBcc: thief@evil.example\r\n\r\nfake body\x1b[2J\x07\u2028X",
    "",
    "a" * 200,
    *(h for h in HOSTILE_STRINGS if len(h) < 1000),
]
BODIES = [
    "We restarted PHP-FPM on web-cpt-14.\n\n-- \nThe support desk",
    "line one\r\n.\r\nRCPT TO:<thief@evil.example>\n.\nFrom the start\n\u202eevil",
    "x" * 78 + "\n" + "y" * 79,
    "tabs\tand\x0bvertical\x0cfeeds\x00nul\x1besc",
    "",
    "\n\n",
    "caf\u00e9\n",
    "ok\n" * 300,
    "a\rb\r\nc",
    *(h for h in HOSTILE_STRINGS if len(h) < 1000),
]
TO = ["priya@bluefin.example", "a.b+c@x-y.example", ".odd@bluefin.example", "j\u00fcrgen@x.example"]
HEADERS = [
    "{}",
    "not json",
    json.dumps({"In-Reply-To": "<a@b>", "References": "<c@d> <a@b>", "Auto-Submitted": "No"}),
    json.dumps({"References": " ".join(f"<id{i}.long.part@example.com>" for i in range(25))}),
    json.dumps({"In-Reply-To": "<caf\u00e9@x>\r\nBcc: y@z", "Auto-Submitted": "auto-replied"}),
]


def leased(subject: str, body: str, to: str, headers: str, mid: str = "<1.2@x.example>") -> Leased:
    return Leased(1, "reply", 5, to, "support@support.example", subject, body, headers, mid, T0, 0)


def same(m: Leased, rules: MailRules, now: datetime) -> None:
    """The same bytes, or the same refusal (a lone surrogate cannot be encoded either way)."""
    try:
        want = compose(m, rules, now).as_bytes()
    except UnicodeError as exc:
        with pytest.raises(type(exc)):
            compose_bytes(m, rules, now)
        return
    assert compose_bytes(m, rules, now) == want, (m, rules)


def test_compose_bytes_is_the_email_packages_bytes_exactly():
    now = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    cases = [leased(SUBJECTS[0], BODIES[0], TO[0], HEADERS[2])]
    cases += [leased(subject, BODIES[0], TO[0], HEADERS[2]) for subject in SUBJECTS]
    cases += [leased(SUBJECTS[0], body, TO[0], HEADERS[0]) for body in BODIES]
    cases += [leased(SUBJECTS[1], BODIES[0], to, HEADERS[0]) for to in TO]
    cases += [leased(SUBJECTS[2], BODIES[1], TO[0], headers) for headers in HEADERS]
    for rules in RULES:
        for m in cases:
            same(m, rules, now)
    for mid in ("<odd id@x>", "<" + "l" * 200 + "@x.example>", "<a@[127.0.0.1]>"):
        same(leased(SUBJECTS[0], BODIES[0], TO[0], "{}", mid), RULES[0], now)


def test_the_cheap_path_is_taken_for_plain_text_only():
    assert plain_body("We restarted PHP.\n\n-- \nsig") == b"We restarted PHP.\r\n\r\n-- \r\nsig\r\n"
    assert plain_body("caf\u00e9") is None  # the email package picks 8bit / base64 / qp
    assert plain_body("x" * 79) is None


def test_a_batch_past_its_window_renews_its_lease_before_the_next_conversation(
    at: DeskFactory, tls: Tls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """With no window at all every conversation after a batch's first renews the lease of
    what is left first (one write); nothing is lost or sent twice."""
    from supportdesk.services.outbox import sending

    monkeypatch.setattr(sending, "BATCH_WINDOW_S", -1)
    d = at(0)
    ids = [queue(d, to=f"c{i}@bluefin.example") for i in range(4)]
    renewals: list[int] = []
    real_renew = sending.renew

    def counting(desk: Desk, owner: str, lease_s: int, held: list[Leased]) -> list[Leased]:
        renewals.append(len(held))
        return real_renew(desk, owner, lease_s, held)

    monkeypatch.setattr(sending, "renew", counting)
    with smtp_server(tls) as srv:
        cfg = load_config(write_config(tmp_path, srv, tls))
        summary = send_due(d, open_transport(cfg), lease_s=cfg.lease_s)
    assert (summary.sent, summary.lost_leases) == (4, 0)
    assert renewals == [3, 2, 1]
    assert sorted(srv.message_ids()) == sorted(
        m for (m,) in d.store.query("SELECT message_id FROM outbox")
    )
    assert set(states(d)) == set(ids) and {s for s, _o in states(d).values()} == {"sent"}
