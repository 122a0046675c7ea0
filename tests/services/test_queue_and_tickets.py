"""Queue order, views, filters and ticket transitions on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from supportdesk.core import queue
from supportdesk.enums import Status, View
from supportdesk.errors import (
    InvalidTransition,
    LostRace,
    NotAllowed,
    NotFound,
    NothingToDo,
    UsageError,
)
from supportdesk.models import AuditEvent, Ticket, TicketEvent
from supportdesk.services import tickets
from tests.helpers.desk import FROZEN, new_ticket


def ids(page: queue.QueuePage) -> list[int]:
    return [r.id for r in page.rows]


def test_queue_is_priority_then_arrival_then_id(desk, make_desk):
    t = {}
    for minutes, name, prio in [
        (0, "a", "low"),
        (1, "b", "critical"),
        (2, "c", "medium"),
        (3, "d", "critical"),
        (4, "e", "high"),
        (4, "f", "high"),
    ]:
        d = make_desk("lena", FROZEN + timedelta(minutes=minutes))
        t[name] = new_ticket(d, name, prio)
    page = queue.page(desk, queue.QueueFilter())
    assert ids(page) == [t["b"], t["d"], t["e"], t["f"], t["c"], t["a"]]
    # keyset paging walks the same order, forwards and backwards
    first = queue.page(desk, queue.QueueFilter(), limit=2)
    second = queue.page(desk, queue.QueueFilter(), after=first.rows[-1].key, limit=2)
    back = queue.page(desk, queue.QueueFilter(), before=second.rows[0].key, limit=2)
    assert ids(first) + ids(second) == [t["b"], t["d"], t["e"], t["f"]]
    assert ids(back) == ids(first)
    assert first.has_more_after and not first.has_more_before
    assert second.has_more_before
    again = queue.page(desk, queue.QueueFilter(), start_at=second.rows[0].key, limit=2)
    assert ids(again) == ids(second)


def test_views_and_filters(desk, make_desk):
    a = new_ticket(desk, "open one", "high")
    held = new_ticket(desk, "held one", "high")
    waiting = new_ticket(desk, "waiting one", "low", category="billing")
    sched = new_ticket(desk, "scheduled one")
    done = new_ticket(desk, "done one")
    tickets.update_fields(desk, held, status="awaiting_authorization")
    tickets.update_fields(desk, waiting, status="pending_customer")
    tickets.update_fields(desk, sched, status="scheduled")
    tickets.resolve(desk, done, "fixed")
    f = queue.QueueFilter()
    assert ids(queue.page(desk, f)) == [a]
    assert ids(queue.page(desk, f.with_(view=View.HELD))) == [held]
    assert ids(queue.page(desk, f.with_(view=View.WAITING))) == [waiting]
    assert ids(queue.page(desk, f.with_(view=View.SCHEDULED))) == [sched]
    b = new_ticket(desk, "billing question", "low", category="billing")
    c = new_ticket(desk, "mailbox full", "low")
    amir = make_desk("amir")
    tickets.claim(amir, c)
    assert ids(queue.page(desk, f.with_(category="billing"))) == [b]
    assert ids(queue.page(amir, f.with_(mine=True))) == [c]
    assert ids(queue.page(desk, f.with_(unclaimed=True))) == [a, b]
    assert ids(queue.page(desk, f.with_(tier=1))) == [a, b, c]
    assert ids(queue.page(desk, f.with_(tier=2))) == []
    assert ids(queue.page(desk, f.with_(search="MAILBOX"))) == [c]
    assert ids(queue.page(desk, f.with_(search=str(b)))) == [b]
    assert queue.count(desk, f) == 3
    with pytest.raises(UsageError):
        queue.page(desk, f.with_(mine=True, unclaimed=True))


def test_first_response_and_transitions(desk, make_desk):
    tid = new_ticket(desk)
    tickets.note(desk, tid, "internal: checking logs")
    tickets.log_call(desk, tid, "voicemail", "left a message")
    t = tickets.show(desk, tid)
    assert t.status == "new" and t.first_response_at is None  # notes and voicemail don't count
    tickets.log_call(desk, tid, "spoke", "customer confirms outage")
    t = tickets.show(desk, tid)
    assert t.status == "open" and t.first_response_at is not None
    tickets.resolve(desk, tid, "fixed")
    assert tickets.show(desk, tid).resolved_at is not None
    tickets.update_fields(desk, tid, status="open")  # reopen
    t = tickets.show(desk, tid)
    assert t.status == "open" and t.resolved_at is None and t.resolution_code is None
    tickets.update_fields(desk, tid, status="closed", code="no_response")
    with pytest.raises(InvalidTransition):
        tickets.update_fields(desk, tid, status="open")  # closed is final
    with pytest.raises(InvalidTransition):
        tickets.reply(desk, tid, "too late")


def test_take_turns_new_into_open_and_reply_is_first_response(desk, make_desk):
    tid = new_ticket(desk)
    amir = make_desk("amir")
    tickets.claim(amir, tid)
    assert tickets.show(desk, tid).status == "open"
    assert tickets.show(desk, tid).holder == "amir"
    with pytest.raises(NothingToDo):
        tickets.claim(amir, tid)
    with pytest.raises(LostRace):
        tickets.claim(make_desk("tomas"), tid)
    tickets.reply(amir, tid, "We are on it")
    assert tickets.show(desk, tid).first_response_at is not None


def test_illegal_inputs_leave_database_unchanged(desk):
    tid = new_ticket(desk)
    tickets.reply(desk, tid, "Looking into it")  # now open

    def snapshot():
        with desk.store.read() as s:
            return (
                s.scalar(select(func.count()).select_from(Ticket)),
                s.scalar(select(func.count()).select_from(TicketEvent)),
                s.scalar(select(Ticket.status).where(Ticket.id == tid)),
            )

    before = snapshot()
    with pytest.raises(UsageError):
        new_ticket(desk, priority="urgent")
    with pytest.raises(UsageError):
        new_ticket(desk, category="sales")
    with pytest.raises(UsageError):
        new_ticket(desk, channel="fax")
    with pytest.raises(NotFound):
        new_ticket(desk, account="nobody")
    with pytest.raises(NotFound):
        new_ticket(desk, contact_email="stranger@evil.example")
    with pytest.raises(NotFound):
        tickets.reply(desk, 99999, "hello")
    with pytest.raises(UsageError):
        tickets.update_fields(desk, tid, status="bogus")
    with pytest.raises(UsageError):
        tickets.resolve(desk, tid, "shrug")
    with pytest.raises(InvalidTransition):
        tickets.update_fields(desk, tid, status="new")
    with pytest.raises(UsageError):
        tickets.update_fields(desk, tid, status="resolved")  # needs a code
    assert snapshot() == before


def test_merge_moves_thread_and_closes_duplicate(desk):
    keep = new_ticket(desk, "Mail bouncing")
    dup = new_ticket(desk, "Mail bouncing again")
    tickets.reply(desk, dup, "Checking the MX records")
    moved = tickets.merge(desk, dup, keep)
    assert moved >= 2
    d = tickets.show(desk, dup)
    assert d.status == Status.CLOSED.value and d.resolution_code == "duplicate"
    assert d.merged_into == keep
    k = tickets.show(desk, keep)
    assert any(e.body == "Checking the MX records" for e in k.events)
    with pytest.raises(UsageError):
        tickets.merge(desk, keep, keep)


def test_permission_matrix(desk, make_desk):
    from supportdesk.services import directory

    amir, tomas, una = make_desk("amir"), make_desk("tomas"), make_desk("una")
    tid = new_ticket(desk)
    # only leads manage staff, accounts and contacts
    for d in (amir, tomas):
        with pytest.raises(NotAllowed):
            directory.add_staff(d, "x", "X", 1, "agent")
        with pytest.raises(NotAllowed):
            directory.add_account(d, "acct2", "Acct", "gold")
        with pytest.raises(NotAllowed):
            directory.add_contact(d, "bluefin", "Eve", ["eve@x.example"], [], "authorized")
    # agents work tier 1 only; engineers their tier and below; leads everything
    with desk.store.write() as s:
        s.get(Ticket, tid).tier = 2
    with pytest.raises(NotAllowed):
        tickets.claim(amir, tid)
    with pytest.raises(NotAllowed):
        tickets.reply(amir, tid, "hi")
    tickets.claim(tomas, tid)
    # only the holder or a lead changes a held ticket
    with pytest.raises(NotAllowed):
        tickets.update_fields(una, tid, priority="high")
    tickets.update_fields(desk, tid, priority="high")
    tickets.note(una, tid, "a note is fine")
    tid3 = new_ticket(desk)
    with desk.store.write() as s:
        s.get(Ticket, tid3).tier = 3
    with pytest.raises(NotAllowed):
        tickets.claim(tomas, tid3)
    tickets.claim(una, tid3)
    # a redaction is a lead's
    ev = tickets.show(desk, tid).events[0].id
    with pytest.raises(NotAllowed):
        tickets.redact(tomas, ev, "secret")


def test_writes_under_frozen_clock(desk, make_desk):
    tid = new_ticket(desk)
    frozen_agent = make_desk("amir", FROZEN)
    with pytest.raises(NotAllowed):
        tickets.note(frozen_agent, tid, "from the past")
    tickets.note(make_desk("lena", FROZEN), tid, "lead may")  # lead is allowed
    ev = next(e for e in tickets.show(desk, tid).events if e.body == "lead may")
    assert ev.at == FROZEN
    with desk.store.read() as s:
        row = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert row.frozen_at == FROZEN and row.at > FROZEN  # the audit keeps the real time


def test_presence_markers_and_their_expiry(desk, make_desk):
    from datetime import UTC, datetime

    from supportdesk.core import presence
    from supportdesk.models import Presence

    tid = new_ticket(desk)
    amir = make_desk("amir")
    console = presence.start_console(amir)
    presence.set_open_ticket(amir, console, tid)
    assert queue.page(desk, queue.QueueFilter()).rows[0].open_by == ("amir",)
    assert tickets.show(desk, tid).open_by == ("amir",)
    assert queue.page(amir, queue.QueueFilter()).rows[0].open_by == ()  # not yourself
    with pytest.raises(NotFound):
        presence.set_open_ticket(amir, console, 999999)
    # a console that died on another host leaves a marker: it expires
    with desk.store.write() as s:
        s.get(Presence, console).seen_at = (
            datetime.now(UTC) - presence.MARKER_TTL - timedelta(minutes=1)
        )
    assert queue.page(desk, queue.QueueFilter()).rows[0].open_by == ()
    presence.set_open_ticket(amir, console, tid)
    presence.end_console(amir, console)
    assert tickets.show(desk, tid).open_by == ()
