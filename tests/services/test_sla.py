"""Per-ticket SLA clocks through the real services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, text

import supportdesk
from supportdesk.core import audit, queue
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.errors import NotAllowed
from supportdesk.models import Setting
from supportdesk.models.base import UTCDateTime
from supportdesk.rules.policy import PolicyError
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import directory, sla, tickets
from supportdesk.services.admin import setup
from supportdesk.store import HEAD_REVISION, Store
from tests.helpers.desk import new_ticket
from tests.helpers.policy import JNB, POLICY, jnb

AMS = ZoneInfo("Europe/Amsterdam")
H = 3600


def local(moment: datetime | None, zone: ZoneInfo = JNB) -> datetime:
    assert moment is not None
    return moment.astimezone(zone).replace(tzinfo=None)


def at(desk: Desk, moment: datetime) -> Desk:
    desk.clock = Clock(moment)
    return desk


@pytest.fixture
def sdesk(desk: Desk) -> Desk:
    sla.load_policy(desk, parse_policy(POLICY, "test.toml"))
    return desk


def clocks(desk: Desk, tid: int) -> sla.SlaView:
    return sla.show(desk, tid)


def clock(desk: Desk, tid: int, name: str) -> sla.ClockView:
    return next(c for c in sla.show(desk, tid).clocks if c.name == name)


def test_create_sets_both_due_times(sdesk: Desk) -> None:
    tid = new_ticket(at(sdesk, jnb(2026, 11, 20, 17, 30)), priority="critical")  # Friday
    view = clocks(sdesk, tid)
    assert (view.plan, view.calendar) == ("gold", "office")
    respond, resolve = view.clocks
    assert local(respond.due) == datetime(2026, 11, 23, 8, 30)  # Monday 08:30
    assert local(resolve.due) == datetime(2026, 11, 23, 11, 30)
    assert respond.state == "running" and respond.remaining_s == H
    assert any("respond clock started" in what for _, _, what in view.history)


def test_pending_customer_pauses_both_and_resume_keeps_what_was_left(sdesk: Desk) -> None:
    tid = new_ticket(at(sdesk, jnb(2026, 11, 23, 9, 0)), priority="high")  # respond 4h
    tickets.update_fields(at(sdesk, jnb(2026, 11, 23, 10, 0)), tid, status="pending_customer")
    at(sdesk, jnb(2026, 11, 24, 10, 0))
    respond = clock(sdesk, tid, "respond")
    assert respond.state == "paused" and respond.paused == "pending_customer"
    assert respond.remaining_s == 3 * H and respond.due is None
    assert respond.paused_s == 10 * H  # Mon 10-18, Tue 08-10
    tickets.update_fields(sdesk, tid, status="open")
    respond = clock(sdesk, tid, "respond")
    assert respond.state == "running"
    assert local(respond.due) == datetime(2026, 11, 24, 13, 0)


def test_awaiting_authorization_pauses_resolve_only(sdesk: Desk) -> None:
    tid = new_ticket(at(sdesk, jnb(2026, 11, 23, 9, 0)), priority="high")
    tickets.update_fields(at(sdesk, jnb(2026, 11, 23, 9, 30)), tid, status="awaiting_authorization")
    assert clock(sdesk, tid, "respond").state == "running"
    assert clock(sdesk, tid, "resolve").state == "paused"


def test_only_real_responses_stop_the_respond_clock(sdesk: Desk) -> None:
    tid = new_ticket(at(sdesk, jnb(2026, 11, 23, 9, 0)), priority="critical")
    at(sdesk, jnb(2026, 11, 23, 9, 10))
    tickets.note(sdesk, tid, "internal: looking at the logs")
    tickets.log_call(sdesk, tid, "voicemail")
    tickets.update_fields(sdesk, tid, status="open")
    assert clock(sdesk, tid, "respond").state == "running"
    tickets.log_call(at(sdesk, jnb(2026, 11, 23, 9, 40)), tid, "spoke", "walked them through it")
    respond = clock(sdesk, tid, "respond")
    assert respond.state == "met" and respond.used_s == 40 * 60
    assert clock(sdesk, tid, "resolve").state == "running"


def test_late_reply_is_stored_as_breached(sdesk: Desk) -> None:
    tid = new_ticket(at(sdesk, jnb(2026, 11, 23, 9, 0)), priority="critical")
    tickets.reply(at(sdesk, jnb(2026, 11, 23, 11, 0)), tid, "Looking into it")
    respond = clock(sdesk, tid, "respond")
    assert respond.state == "missed" and respond.used_s == 2 * H
    assert sdesk.store.query(
        "SELECT respond_state, respond_used_s FROM tickets WHERE id = ?", (tid,)
    ) == [("breached", 2 * H)]


def test_ticket_opened_during_verified_call_is_answered(sdesk: Desk) -> None:
    from supportdesk.services.callers import verification

    at(sdesk, jnb(2026, 11, 23, 8, 55))
    pin = verification.set_pin(sdesk, "bluefin", "priya@bluefin.example").pin
    v = verification.verify(sdesk, "bluefin", "priya@bluefin.example", "phone", pin=pin)
    tid = new_ticket(
        at(sdesk, jnb(2026, 11, 23, 9, 0)),
        priority="critical",
        channel="email",
        during_verified_call=True,
        verification_id=v.verification_id,
    )
    respond = clock(sdesk, tid, "respond")
    assert respond.state == "met" and respond.used_s == 0
    assert tickets.show(sdesk, tid).first_response_at == jnb(2026, 11, 23, 9, 0)


def test_resolve_stores_outcome_and_reopen_resumes(sdesk: Desk) -> None:
    tid = new_ticket(at(sdesk, jnb(2026, 11, 23, 9, 0)), priority="high")  # resolve 8h
    tickets.resolve(at(sdesk, jnb(2026, 11, 23, 12, 0)), tid, "fixed")
    resolve = clock(sdesk, tid, "resolve")
    assert resolve.state == "met" and resolve.used_s == 3 * H
    tickets.update_fields(at(sdesk, jnb(2026, 11, 24, 8, 0)), tid, status="open")
    resolve = clock(sdesk, tid, "resolve")
    assert resolve.state == "running"
    assert local(resolve.due) == datetime(2026, 11, 24, 13, 0)  # 5 h were left


def test_priority_upgrade_breaches_at_once_and_history_says_who(sdesk: Desk) -> None:
    tid = new_ticket(at(sdesk, jnb(2026, 11, 23, 8, 0)), priority="low")  # respond 24h
    with sdesk.write() as (session, _record):  # an agent may write under --at on a demo only
        session.add(Setting(key="demo", value="1"))
    amir = Desk(sdesk.store, "amir", Clock(jnb(2026, 11, 23, 11, 0)), sdesk.key_path)
    tickets.update_fields(amir, tid, priority="critical")  # respond 1h, 3h used
    respond = clock(sdesk, tid, "respond")
    assert respond.state == "breached" and respond.remaining_s == -2 * H
    assert local(respond.due) == datetime(2026, 11, 23, 9, 0)
    changed = [h for h in clocks(sdesk, tid).history if "priority low → critical" in h[2]]
    assert changed and all(who == "amir" for _, who, _ in changed)
    event = sdesk.store.query(
        "SELECT old_value, new_value FROM ticket_events WHERE ticket_id = ? AND kind = 'sla'"
        " AND body LIKE ?",
        (tid, "respond target changed%"),
    )
    assert event[0][0] == "respond running 2026-11-25T10:00:00+00:00"  # Wed 12:00 JNB
    assert event[0][1].startswith("respond running 2026-11-23T07:00")  # 09:00 JNB in UTC
    tickets.update_fields(amir, tid, priority="low")  # downgrade: 21 h left again
    assert clock(sdesk, tid, "respond").remaining_s == 21 * H


def test_plan_change_recomputes_open_tickets_only(sdesk: Desk) -> None:
    at(sdesk, jnb(2026, 11, 23, 9, 0))
    open_tid = new_ticket(sdesk, priority="critical")
    done_tid = new_ticket(sdesk, priority="critical")
    tickets.reply(at(sdesk, jnb(2026, 11, 23, 11, 0)), done_tid, "answer")
    tickets.resolve(sdesk, done_tid, "fixed")
    assert directory.set_plan(at(sdesk, jnb(2026, 11, 23, 11, 0)), "bluefin", "lite") == 1
    respond = clock(sdesk, open_tid, "respond")
    assert respond.remaining_s == 2 * H  # lite critical 4h, 2h used
    assert clock(sdesk, open_tid, "resolve").state == "none"  # lite tracks no resolution
    assert clock(sdesk, done_tid, "respond").state == "missed"  # outcome never changes
    assert clock(sdesk, done_tid, "resolve").state == "met"


def test_policy_load_recomputes_open_and_bad_policy_changes_nothing(sdesk: Desk) -> None:
    tid = new_ticket(at(sdesk, jnb(2026, 11, 23, 9, 0)), priority="critical")
    before = clocks(sdesk, tid)
    with pytest.raises(PolicyError):
        sla.load_policy(sdesk, parse_policy(POLICY.replace('"1h"', '"soon"'), "bad.toml"))
    assert clocks(sdesk, tid) == before
    faster = parse_policy(POLICY.replace('critical = "1h"', 'critical = "30m"'), "fast.toml")
    result = sla.load_policy(at(sdesk, jnb(2026, 11, 23, 9, 10)), faster)
    assert result.changed and result.recomputed == 1
    assert local(clock(sdesk, tid, "respond").due) == datetime(2026, 11, 23, 9, 30)
    assert not sla.load_policy(sdesk, faster).changed


def test_only_leads_load_policies(sdesk: Desk) -> None:
    amir = Desk(sdesk.store, "amir", Clock(), sdesk.key_path)
    with pytest.raises(NotAllowed):
        sla.load_policy(amir, parse_policy(POLICY, "x.toml"))


def test_holiday_and_dst_weekend(sdesk: Desk) -> None:
    tid = new_ticket(at(sdesk, jnb(2026, 12, 24, 17, 30)), priority="critical")
    assert local(clock(sdesk, tid, "respond").due) == datetime(2026, 12, 28, 8, 30)
    directory.add_account(sdesk, "eu", "EU Hosting BV", "eu247")
    created = datetime(2026, 3, 28, 12, 0, tzinfo=AMS)
    tid = new_ticket(at(sdesk, created), account="eu", priority="high")
    assert local(clock(sdesk, tid, "respond").due, AMS) == datetime(2026, 3, 29, 13, 0)


def test_best_effort_and_none(sdesk: Desk) -> None:
    tid = new_ticket(at(sdesk, jnb(2026, 11, 23, 9, 0)), priority="low")
    resolve = clock(at(sdesk, jnb(2027, 3, 1, 9, 0)), tid, "resolve")
    assert resolve.state == "tracking" and resolve.remaining_s is None
    assert resolve.target == "best effort" and resolve.used_s > 100 * H
    directory.add_account(sdesk, "lite", "Lite Co", "lite")
    tid = new_ticket(sdesk, account="lite", priority="low")
    assert clock(sdesk, tid, "resolve").state == "none"


def test_breaches_first_sort_pages_by_due(sdesk: Desk) -> None:
    at(sdesk, jnb(2026, 11, 23, 9, 0))
    low = new_ticket(sdesk, priority="low")  # due Wed 11:00
    crit = new_ticket(at(sdesk, jnb(2026, 11, 23, 9, 20)), priority="critical")  # due 10:20
    high = new_ticket(sdesk, priority="high")  # due 13:20
    waiting = new_ticket(sdesk, priority="critical")
    tickets.update_fields(sdesk, waiting, status="scheduled")
    tickets.update_fields(at(sdesk, jnb(2026, 11, 23, 9, 30)), low, priority="critical")
    filt = queue.QueueFilter(sort="due")
    ids = [r.id for r in queue.page(sdesk, filt).rows]
    assert ids == [low, crit, high]  # low became critical at 09:30: due 10:00
    first = queue.page(sdesk, filt, limit=1)
    second = queue.page(sdesk, filt, after=first.rows[-1].key, limit=1)
    assert [r.id for r in second.rows] == [crit] and second.has_more_before
    row = first.rows[0]
    assert row.clocks is not None and row.clocks.respond.due is not None


def test_upgrade_from_before_sla_clocks_backfills_from_history(db_url: str, key_path: Path) -> None:
    """A database at schema 0001 (no clocks) gets every ticket's clocks from its recorded
    history when `init` upgrades it: open ones running or paused, done ones with outcomes."""
    from alembic import command
    from alembic.config import Config

    store = Store(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(supportdesk.__file__).parent / "migrations"))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO accounts (id, company, plan, status, notes, created_at)"
            " VALUES ('old', 'Old Co', 'standard', 'active', '', '2026-11-01 00:00:00.000000')"
            if store.is_sqlite
            else "INSERT INTO accounts (id, company, plan, status, notes, created_at)"
            " VALUES ('old', 'Old Co', 'standard', 'active', '', '2026-11-01T00:00:00Z')"
        )
        rows = [  # id, status, created, first response, resolved (JNB office hours, standard)
            (1, "open", jnb(2026, 11, 23, 9, 0), None, None),
            (2, "pending_customer", jnb(2026, 11, 23, 9, 0), jnb(2026, 11, 23, 9, 30), None),
            (3, "resolved", jnb(2026, 11, 23, 9, 0), jnb(2026, 11, 23, 11, 0),
             jnb(2026, 11, 23, 12, 0)),
        ]  # fmt: skip
        for tid, status, created, first, resolved in rows:
            conn.execute(
                text(
                    "INSERT INTO tickets (id, account_id, request_type, subject, description,"
                    " category, priority_rank, channel, status, tier, created_at, updated_at,"
                    " first_response_at, resolved_at, resolution_code, last_speaker,"
                    " last_activity_at) VALUES (:id, 'old', 'technical', 's', '', 'technical',"
                    " 0, 'email', :status, 1, :created, :created, :first, :resolved, :code,"
                    " 'staff', :created)"
                ).bindparams(
                    bindparam("created", type_=UTCDateTime()),
                    bindparam("first", type_=UTCDateTime()),
                    bindparam("resolved", type_=UTCDateTime()),
                ),
                {
                    "id": tid,
                    "status": status,
                    "created": created,
                    "first": first,
                    "resolved": resolved,
                    "code": "fixed" if resolved else None,
                },
            )
    audit.create_key(key_path)  # as `init` made it when this database was created
    desk = Desk(store, "lena", Clock(jnb(2026, 11, 23, 13, 0)), key_path)
    result = setup.init_database(desk, admin="lena")
    assert result.revision_after == HEAD_REVISION
    open_, waiting, done = (sla.show(desk, tid) for tid in (1, 2, 3))
    assert open_.plan == "standard"
    assert open_.clocks[0].state == "breached"  # critical 1h, created 09:00, now 13:00
    assert local(open_.clocks[0].due) == datetime(2026, 11, 23, 10, 0)
    assert waiting.clocks[0].state == "met" and waiting.clocks[0].used_s == 30 * 60
    assert waiting.clocks[1].state == "paused" and waiting.clocks[1].used_s == 30 * 60
    assert done.clocks[0].state == "missed" and done.clocks[0].used_s == 2 * H
    assert done.clocks[1].state == "met" and done.clocks[1].used_s == 3 * H
    store.dispose()
