"""Tier escalation through the real services, on SQLite and PostgreSQL: escalate and hand
back, the boards, claims and the holding limit, release, the lead's override and its
notices, stale claims, end of shift, complaints, the brief and the figures."""

from __future__ import annotations

from datetime import timedelta

import pytest

import supportdesk
from supportdesk.core import audit
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.errors import (
    InvalidTransition,
    LostRace,
    NotAllowed,
    NotFound,
    NothingToDo,
    UsageError,
)
from supportdesk.services import escalation, tickets
from tests.helpers.desk import T0, Fx, new_ticket


def test_escalate_moves_up_clears_holder_keeps_clocks_and_watches(fx: Fx) -> None:
    amir = fx.as_("amir")
    tid = new_ticket(amir, priority="high")
    tickets.claim(amir, tid)
    dues = fx.row(tid, "respond_due", "resolve_due", "respond_state", "resolve_state")
    before = fx.audit_count()
    r = escalation.escalate(
        fx.as_("amir", 10), tid, reason="needs root on web-cpt-14", tried="restarted php"
    )
    assert (r.from_tier, r.to_tier, r.previous_holder, r.holder) == (1, 2, "amir", None)
    tier, holder, since, count, esc_id = fx.row(
        tid, "tier", "holder_id", "tier_since", "escalations", "escalation_id"
    )
    assert (tier, holder, count, esc_id) == (2, None, 1, r.escalation_id)
    assert since is not None
    # the SLA clocks keep running: nothing about them changed
    assert fx.row(tid, "respond_due", "resolve_due", "respond_state", "resolve_state") == dues
    assert fx.audit_count() == before + 1
    b = escalation.brief(fx.desk, tid)
    assert b.watchers == ("amir",)
    (e,) = b.escalations
    assert (e.from_tier, e.to_tier, e.by, e.reason, e.tried) == (
        2 - 1,
        2,
        "amir",
        "needs root on web-cpt-14",
        "restarted php",
    )
    history = tickets.show(fx.desk, tid).events
    tier_event = next(ev for ev in history if ev.kind == "tier")
    assert (tier_event.old_value, tier_event.new_value, tier_event.author) == ("1", "2", "amir")
    assert "Tried: restarted php" in (tier_event.body or "")
    # the watcher hears of what happens next; the actor does not hear of their own change
    tickets.claim(fx.as_("tomas", 20), tid)
    tickets.reply(fx.as_("tomas", 25), tid, "Restarted MySQL; the site is back.")
    assert any("claimed by tomas" in n for n in fx.notices("amir"))
    assert any("reply by tomas" in n for n in fx.notices("amir"))
    assert not any("reply" in n for n in fx.notices("tomas"))


@pytest.mark.parametrize(
    ("setup", "kwargs", "error", "words"),
    [
        ("closed", {}, InvalidTransition, "resolved"),
        ("held", {}, InvalidTransition, "awaiting authorization"),
        ("tier3", {}, UsageError, "no tier 4"),
        ("open", {"to_tier": 4}, UsageError, "no tier 4"),
        ("open", {"to_tier": 1}, UsageError, "escalating goes up"),
        ("open", {"reason": "   "}, UsageError, "reason"),
    ],
)
def test_escalate_refusals_change_nothing(
    fx: Fx, setup: str, kwargs: dict, error: type, words: str
) -> None:
    lena = fx.as_("lena")
    tid = new_ticket(lena)
    if setup == "closed":
        tickets.resolve(lena, tid, "fixed")
    elif setup == "held":
        tickets.update_fields(lena, tid, status="awaiting_authorization")
    elif setup == "tier3":
        escalation.escalate(lena, tid, to_tier=3, reason="straight to seniors")
    before = fx.audit_count(), fx.row(tid, "tier", "holder_id", "status", "escalations")
    args = {"reason": "because"} | kwargs
    with pytest.raises(error, match=words):
        escalation.escalate(fx.as_("lena", 1), tid, **args)
    assert (fx.audit_count(), fx.row(tid, "tier", "holder_id", "status", "escalations")) == before


def test_only_holder_or_lead_escalates_a_held_ticket_and_nobody_above_their_tier(fx: Fx) -> None:
    tid = new_ticket(fx.as_("amir"))
    tickets.claim(fx.as_("amir"), tid)
    with pytest.raises(NotAllowed, match="held by amir"):
        escalation.escalate(fx.as_("nomsa"), tid, reason="x")
    escalation.escalate(fx.as_("amir"), tid, reason="up")
    with pytest.raises(NotAllowed, match="tier 2"):  # an agent cannot touch tier 2 work
        escalation.escalate(fx.as_("nomsa"), tid, reason="x")


def test_any_agent_logs_a_customers_call_on_any_ticket_and_the_holder_is_told(fx: Fx) -> None:
    """Issue 16 item 7: a tier-1 agent logs a customer's follow-up call on an escalated
    ticket tomas holds: it is logged, tomas is told, his claim's last-touched time stays
    (a stale claim stays visible); a reply there is still refused, and changes nothing."""
    tid = fx.escalated()
    tickets.claim(fx.as_("tomas", 5), tid)
    touched = fx.row(tid, "touched_at")
    tickets.log_call(fx.as_("nomsa", 30), tid, "spoke", "Customer says the site is still down")
    calls = [e for e in fx.events(tid) if e.kind == "call"]
    assert [(e.author, e.body) for e in calls] == [
        ("nomsa", "Customer says the site is still down")
    ]
    assert fx.row(tid, "touched_at") == touched and fx.holder(tid) == "tomas"
    told = [n for n in fx.notices("tomas") if "call" in n]
    assert told == [f"#{tid} call (spoke) logged by nomsa: Customer says the site is still down"]
    before = (fx.audit_count(), len(fx.events(tid)))
    with pytest.raises(NotAllowed, match="cannot work ticket"):
        tickets.reply(fx.as_("nomsa", 31), tid, "We are on it")
    with pytest.raises(NotAllowed, match="held by tomas"):
        tickets.reply(fx.as_("una", 31), tid, "We are on it")
    assert (fx.audit_count(), len(fx.events(tid))) == before


def test_deescalate_hands_back_to_whoever_escalated(fx: Fx) -> None:
    tid = fx.escalated()
    tickets.claim(fx.as_("tomas", 5), tid)
    with pytest.raises(UsageError, match="reason"):
        escalation.deescalate(fx.as_("tomas", 6), tid, reason="")
    r = escalation.deescalate(fx.as_("tomas", 10), tid, reason="a tier-1 fix: clear the cache")
    assert (r.from_tier, r.to_tier, r.holder) == (2, 1, "amir")
    assert fx.row(tid, "tier", "escalation_id") == (1, None)
    assert fx.holder(tid) == "amir"
    assert any("handed #" in n and "clear the cache" in n for n in fx.notices("amir"))
    with pytest.raises(UsageError, match="not escalated"):
        escalation.deescalate(fx.as_("amir", 11), tid, reason="again")
    # up twice, down once: back at tier 2 with the first escalation open again
    first = escalation.escalate(fx.as_("amir", 12), tid, reason="up")
    escalation.escalate(fx.as_("lena", 13), tid, to_tier=3, reason="senior")
    r = escalation.deescalate(fx.as_("una", 14), tid, reason="tier 2 can do it")
    assert (r.to_tier, r.holder) == (2, "lena")
    assert fx.row(tid, "tier", "escalation_id") == (2, first.escalation_id)


def _board_ids(desk: Desk, tier: int, section: str) -> list[int]:
    return [r.ticket_id for r in escalation.tier_board(desk, tier).rows if r.section == section]


def test_board_order_sections_and_claim_next(fx: Fx) -> None:
    low = fx.escalated("low one", "low", 0)
    high_late = fx.escalated("high late", "high", 5)
    high_early = fx.escalated("high early", "high", 1)
    crit = fx.escalated("critical", "critical", 8)
    waiting = fx.escalated("waiting", "critical", 9)
    tickets.update_fields(fx.as_("lena", 10), waiting, status="pending_customer")
    tomas = fx.as_("tomas", 20)
    assert _board_ids(tomas, 2, "unclaimed") == [crit, high_early, high_late, low]
    assert _board_ids(tomas, 2, "waiting") == [waiting]
    row = next(r for r in escalation.tier_board(tomas, 2).rows if r.ticket_id == crit)
    assert (row.escalated_by, row.reason, row.tried) == ("amir", "needs root on web-cpt-14",
                                                         "restarted php")  # fmt: skip
    assert row.waited_s(tomas.now()) == 12 * 60
    b = escalation.tier_board(tomas, 2)
    assert (b.unclaimed, b.waiting, b.mine) == (4, 1, 0)
    # claim next takes the top (skipping the one waiting on the customer)
    got = [escalation.claim_next(fx.as_("tomas", 21)).ticket_id for _ in range(2)]
    assert got == [crit, high_early]
    assert _board_ids(fx.as_("tomas", 22), 2, "mine") == [crit, high_early]
    assert _board_ids(fx.as_("ben", 22), 2, "unclaimed") == [high_late, low]
    assert _board_ids(fx.as_("ben", 22), 2, "mine") == []
    assert escalation.claim_next(fx.as_("ben", 23)).ticket_id == high_late
    assert escalation.claim_next(fx.as_("ben", 23)).ticket_id == low
    with pytest.raises(NothingToDo, match="nothing left to claim on the tier 2 board"):
        escalation.claim_next(fx.as_("ben", 24))
    # leads see everyone's claims on every board
    others = _board_ids(fx.as_("lena", 25), 2, "others")
    assert sorted(others) == sorted([crit, high_early, high_late, low])
    # the time to claim was recorded on the escalation
    (e,) = escalation.brief(fx.desk, crit).escalations
    assert e.claimed_by == "tomas" and e.claimed_at == T0 + timedelta(minutes=21)


def test_board_and_claim_permissions_by_tier(fx: Fx) -> None:
    fx.escalated()
    assert escalation.visible_tiers(fx.as_("amir")) == (1,)
    assert escalation.visible_tiers(fx.as_("tomas")) == (1, 2)
    assert escalation.visible_tiers(fx.as_("lena")) == (1, 2, 3)
    with pytest.raises(NotAllowed, match="tier 2 board"):
        escalation.tier_board(fx.as_("amir"), 2)
    with pytest.raises(NotAllowed, match="tier 2 board"):
        escalation.claim_next(fx.as_("amir"), 2)
    with pytest.raises(NotAllowed, match="tier 3 board"):
        escalation.claim_next(fx.as_("tomas"), 3)
    with pytest.raises(UsageError):
        escalation.claim_next(fx.as_("lena"), 4)


def test_claim_refusals(fx: Fx) -> None:
    tid = fx.escalated()
    with pytest.raises(NotFound, match="no ticket #999"):
        tickets.claim(fx.as_("tomas"), 999)
    with pytest.raises(NotAllowed, match="cannot take"):
        tickets.claim(fx.as_("nomsa"), tid)  # tier 1 agent, tier 2 ticket
    held = new_ticket(fx.as_("lena"))
    tickets.update_fields(fx.as_("lena"), held, status="awaiting_authorization")
    with pytest.raises(InvalidTransition, match="awaiting authorization"):
        tickets.claim(fx.as_("amir"), held)
    tickets.claim(fx.as_("tomas"), tid)
    with pytest.raises(LostRace, match="held by tomas"):
        tickets.claim(fx.as_("ben"), tid)
    with pytest.raises(NothingToDo):
        tickets.claim(fx.as_("tomas"), tid)
    assert fx.holder(tid) == "tomas"


def test_holding_limit_counts_workable_tickets_only(fx: Fx) -> None:
    limit, _stale = escalation.rules(fx.desk)
    assert limit == 5
    ids = [fx.escalated(f"t{i}", "medium", i) for i in range(limit + 2)]
    tomas = fx.as_("tomas", 30)
    for tid in ids[:limit]:
        tickets.claim(tomas, tid)
    before = fx.audit_count()
    with pytest.raises(NotAllowed, match="you hold 5 tickets to work on, the limit is 5"):
        tickets.claim(tomas, ids[limit])
    with pytest.raises(NotAllowed, match="the limit is 5"):
        escalation.claim_next(tomas)
    assert fx.holder(ids[limit]) is None and fx.audit_count() == before
    # a ticket waiting on the customer does not count against the limit
    tickets.update_fields(tomas, ids[0], status="pending_customer")
    board = escalation.tier_board(tomas, 2)
    assert (board.mine, board.working, board.limit) == (5, 4, 5)  # the board says so too
    tickets.claim(tomas, ids[limit])
    # a lead cannot push someone past it either
    with pytest.raises(NotAllowed, match="tomas holds 5"):
        escalation.reassign(fx.as_("lena", 31), ids[limit + 1], "tomas")


def test_release_puts_it_back_in_its_place_with_a_reason(fx: Fx) -> None:
    first = fx.escalated("first", "high", 0)
    second = fx.escalated("second", "high", 5)
    tickets.claim(fx.as_("tomas", 10), first)
    with pytest.raises(NotAllowed, match="you do not hold ticket"):
        escalation.release(fx.as_("ben", 11), first, reason="not mine")
    with pytest.raises(UsageError, match="reason"):
        escalation.release(fx.as_("tomas", 11), first, reason=" ")
    escalation.release(fx.as_("tomas", 12), first, reason="needs a network engineer")
    assert fx.holder(first) is None
    assert _board_ids(fx.as_("ben", 13), 2, "unclaimed") == [first, second]
    ev = [e for e in tickets.show(fx.desk, first).events if e.kind == "holder"][-1]
    assert (ev.old_value, ev.new_value, ev.body) == ("tomas", None, "needs a network engineer")


def test_lead_reassign_and_take_over_notify_the_previous_holder(fx: Fx) -> None:
    tid = fx.escalated()
    tickets.claim(fx.as_("tomas", 5), tid)
    with pytest.raises(NotAllowed):
        escalation.reassign(fx.as_("ben", 6), tid, "ben")  # engineers cannot
    with pytest.raises(NotFound, match="no staff member 'nobody'"):
        escalation.reassign(fx.as_("lena", 6), tid, "nobody")
    with pytest.raises(NotAllowed, match="cannot work ticket"):
        escalation.reassign(fx.as_("lena", 6), tid, "amir")  # agents don't work tier 2
    r = escalation.reassign(fx.as_("lena", 7), tid, "ben")
    assert (r.previous_holder, r.holder) == ("tomas", "ben")
    assert any("reassigned to ben" in n for n in fx.notices("tomas"))
    assert any("assigned ticket #" in n for n in fx.notices("ben"))
    # the holder is the only one besides a lead who may change it now
    with pytest.raises(NotAllowed, match="held by ben"):
        tickets.reply(fx.as_("tomas", 8), tid, "still mine?")
    escalation.reassign(fx.as_("lena", 9), tid, "lena")  # take over
    assert fx.holder(tid) == "lena"
    assert any("took over" in n for n in fx.notices("ben"))
    actions = [
        r[0]
        for r in fx.desk.store.query(
            "SELECT action FROM audit WHERE entity_id = ? ORDER BY seq", (str(tid),)
        )
    ]
    assert actions.count("ticket.reassign") == 2


def test_stale_claims_on_the_board_and_the_claims_list(fx: Fx) -> None:
    _limit, stale_s = escalation.rules(fx.desk)
    assert stale_s == 45 * 60
    a = fx.escalated("a", "high", 0)
    b = fx.escalated("b", "high", 1)
    tickets.claim(fx.as_("tomas", 10), a)
    tickets.claim(fx.as_("tomas", 40), b)
    tickets.note(fx.as_("tomas", 50), a, "still looking")  # touching it resets the clock
    later = fx.as_("tomas", 86)  # b untouched for 46 min (over the 45 allowed), a for 36
    mine = {
        r.ticket_id: r.stale for r in escalation.tier_board(later, 2).rows if r.section == "mine"
    }
    assert mine == {a: False, b: True}
    stale = escalation.claims(fx.as_("lena", 86), stale_only=True)
    assert not escalation.claims(fx.as_("lena", 85), stale_only=True)  # exactly 45: not yet
    assert [c.ticket_id for c in stale] == [b] and stale[0].holder == "tomas"
    assert [c.ticket_id for c in escalation.claims(fx.as_("lena", 86))] == [b, a]


def test_end_shift_releases_what_counts_toward_the_limit_with_the_handover_note(fx: Fx) -> None:
    ids = [fx.escalated(f"t{i}", "medium", i) for i in range(4)]
    tomas = fx.as_("tomas", 10)
    for tid in ids:
        tickets.claim(tomas, tid)
    tickets.update_fields(tomas, ids[2], status="pending_customer")
    tickets.update_fields(tomas, ids[3], status="scheduled")
    with pytest.raises(UsageError, match="handover note"):
        escalation.end_shift(tomas, "")
    before = fx.audit_count()
    done = escalation.end_shift(fx.as_("tomas", 20), "DNS for t0 propagating; call at 9")
    # new and open go to the next shift; waiting and scheduled stay with the one who knows them
    assert done == escalation.Handover(released=(ids[0], ids[1]), kept=(ids[2], ids[3]))
    assert [fx.holder(t) for t in ids] == [None, None, "tomas", "tomas"]
    assert fx.audit_count() == before + 2
    ev = [e for e in tickets.show(fx.desk, ids[0]).events if e.kind == "holder"][-1]
    assert ev.body == "Handover: DNS for t0 propagating; call at 9"
    # the next person reads the note in the brief (the console's handover panel shows it)
    notes = escalation.brief(fx.desk, ids[0]).handovers
    assert [(h.by, h.kind, h.note) for h in notes] == [
        ("tomas", "handover", "DNS for t0 propagating; call at 9")
    ]
    assert escalation.brief(fx.desk, ids[2]).handovers == ()
    # only waiting ones left: nothing to do unless everything goes
    with pytest.raises(NothingToDo, match="2 waiting or scheduled"):
        escalation.end_shift(fx.as_("tomas", 21), "again")
    assert fx.audit_count() == before + 2
    done = escalation.end_shift(fx.as_("tomas", 22), "two weeks off", everything=True)
    assert done == escalation.Handover(released=(ids[2], ids[3]), kept=())
    assert [fx.holder(t) for t in ids] == [None] * 4
    with pytest.raises(NothingToDo, match="holds no tickets"):
        escalation.end_shift(fx.as_("tomas", 23), "again", everything=True)


def test_the_brief_lists_release_reasons_and_handovers_oldest_first(fx: Fx) -> None:
    tid = fx.escalated()
    tickets.claim(fx.as_("tomas", 1), tid)
    escalation.release(fx.as_("tomas", 2), tid, reason="needs network [/x] <b>")
    tickets.claim(fx.as_("ben", 3), tid)
    escalation.end_shift(fx.as_("ben", 4), "line 1\nline 2")
    notes = escalation.brief(fx.desk, tid).handovers
    assert [(h.by, h.kind, h.note) for h in notes] == [
        ("tomas", "release", "needs network [/x] <b>"),
        ("ben", "handover", "line 1\nline 2"),
    ]
    assert notes[0].at < notes[1].at


def test_the_audit_chain_holds_after_all_of_it(fx: Fx) -> None:
    tid = fx.escalated()
    tickets.claim(fx.as_("tomas", 1), tid)
    escalation.release(fx.as_("tomas", 2), tid, reason="r")
    escalation.claim_next(fx.as_("ben", 3))
    escalation.reassign(fx.as_("lena", 4), tid, "tomas")
    escalation.end_shift(fx.as_("tomas", 5), "bye")
    with fx.desk.store.read() as s:
        result = audit.verify(s, fx.desk.audit_key)
    assert result.ok, result.problem


def test_a_console_killed_while_holding_loses_nothing(fx: Fx) -> None:
    """Claims live in the database, not in a console: a new process sees them all."""
    tid = fx.escalated()
    tickets.claim(fx.as_("tomas", 1), tid)
    fresh = Desk(type(fx.desk.store)(fx.desk.store.url), "tomas", Clock(T0), fx.desk.key_path)
    try:
        assert [
            r.ticket_id for r in escalation.tier_board(fresh, 2).rows if r.section == "mine"
        ] == [tid]
    finally:
        fresh.store.dispose()


def test_upgrade_turns_recorded_tier_events_into_escalations(db_url: str, key_path) -> None:
    """A database from before 0005 (tiers changed only by `tier` events) gets an escalation
    per escalated ticket, with who, why, when and its first claim, when `init` upgrades it."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    from supportdesk.services.admin import setup
    from supportdesk.store import HEAD_REVISION, Store

    store = Store(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(supportdesk.__file__).parent / "migrations"))
    ts = "'2026-11-23 09:00:00'" if store.is_sqlite else "'2026-11-23T09:00:00Z'"
    later = "'2026-11-23 09:30:00'" if store.is_sqlite else "'2026-11-23T09:30:00Z'"
    claim = "'2026-11-23 09:50:00'" if store.is_sqlite else "'2026-11-23T09:50:00Z'"
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        sql = conn.exec_driver_sql
        sql(
            "INSERT INTO accounts (id, company, plan, status, notes, created_at)"
            f" VALUES ('old', 'Old Co', 'standard', 'active', '', {ts})"
        )
        sql(
            "INSERT INTO staff (id, login, name, tier, role, active, created_at) VALUES"
            f" (11, 'amir', 'Amir', 1, 'agent', true, {ts}),"
            f" (12, 'tomas', 'Tomas', 2, 'engineer', true, {ts})"
        )
        for tid, tier, holder in ((1, 1, "NULL"), (2, 2, "12")):
            sql(
                "INSERT INTO tickets (id, account_id, request_type, subject, description,"
                " category, priority_rank, channel, status, tier, created_at, updated_at,"
                " last_speaker, last_activity_at, holder_id) VALUES"
                f" ({tid}, 'old', 'technical', 's', '', 'technical', 1, 'email', 'open', {tier},"
                f" {ts}, {ts}, 'staff', {claim}, {holder})"
            )
        sql(
            "INSERT INTO ticket_events (ticket_id, kind, staff_id, from_customer, visible, body,"
            f" old_value, new_value, created_at) VALUES (2, 'tier', 11, false, false,"
            f" 'needs root', '1', '2', {later}),"
            f" (2, 'holder', 12, false, false, NULL, NULL, 'tomas', {claim})"
        )
    audit.create_key(key_path)
    desk = Desk(store, "lena", Clock(T0 + timedelta(hours=2)), key_path)
    result = setup.init_database(desk, admin="lena")
    assert result.revision_after == HEAD_REVISION
    (e,) = escalation.brief(desk, 2).escalations
    assert (e.from_tier, e.to_tier, e.by, e.reason) == (1, 2, "amir", "needs root")
    assert e.at == T0 + timedelta(minutes=30)
    assert (e.claimed_by, e.claimed_at) == ("tomas", T0 + timedelta(minutes=50))
    rows = dict(
        (r[0], r[1:])
        for r in store.query("SELECT id, escalations, tier_since, touched_at FROM tickets")
    )
    assert rows[1][0] == 0 and rows[2][0] == 1
    assert all(r[1] is not None for r in rows.values())  # every ticket has its tier time
    assert rows[2][2] is not None  # the held one counts as touched at its last activity
    store.dispose()
