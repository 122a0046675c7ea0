"""Incidents and maintenance windows through the real services, on SQLite and PostgreSQL:
opening on known servers, linking tickets and calls (no new tickets), the update fan-out,
resolution, acknowledgement, affected accounts, windows and their overlaps, scheduled
tickets pausing and returning to the queue when their window opens; bad input changes
nothing."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from supportdesk.core import audit
from supportdesk.core.desk import Desk
from supportdesk.errors import (
    DeskError,
    InvalidTransition,
    NotAllowed,
    NotFound,
    NothingToDo,
    UsageError,
)
from supportdesk.services import incidents, sla, tickets
from supportdesk.services.incidents import maintenance
from tests.helpers.desk import T0, Fx, new_ticket

SAT_NIGHT = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


def _open(fx: Fx, minutes: float = 0, **kw: object) -> incidents.IncidentSummary:
    args: dict = {"cadence": "30m", "owner": "tomas"}
    args.update(kw)
    return incidents.open_incident(
        fx.as_("amir", minutes), ["web-cpt-14"], "web-cpt-14 down: 502 on every site", **args
    )


# -- opening -------------------------------------------------------------------------------
def test_open_incident_on_known_servers_with_owner_cadence_and_script(fx: Fx) -> None:
    before = fx.count("audit")
    inc = _open(fx)
    assert (inc.state, inc.servers, inc.owner, inc.opened_by) == (
        "investigating",
        ("web-cpt-14",),
        "tomas",
        "amir",
    )
    assert inc.next_update_due == T0 + timedelta(minutes=30)
    assert inc.update_left_s(T0 + timedelta(minutes=10)) == 20 * 60
    assert inc.update_left_s(T0 + timedelta(minutes=31)) == -60  # overdue
    assert not inc.acknowledged and inc.is_open
    assert "web-cpt-14" in inc.script and "do not need to open a ticket" in inc.script
    assert fx.count("audit") == before + 1
    assert [i.id for i in incidents.open_incidents(fx.desk)] == [inc.id]
    from supportdesk.services import escalation

    (told,) = escalation.notices(fx.as_("tomas"), after=0)
    assert told.kind == "incident" and f"incident #{inc.id}" in told.body
    # an engineer opening one owns it; a custom script is kept
    own = incidents.open_incident(
        fx.as_("una", 1), ["web-jnb-2", "web-cpt-14"], "Network", script="Say this."
    )
    assert own.owner == "una" and own.script == "Say this."
    assert own.servers == ("web-cpt-14", "web-jnb-2")
    assert fx.count("incident_servers") == 3


@pytest.mark.parametrize(
    ("login", "servers", "kw", "error", "words"),
    [
        ("amir", ["web-nowhere-9"], {"owner": "tomas"}, NotFound, "no service runs on"),
        ("amir", ["web-cpt-14", "db-x"], {"owner": "tomas"}, NotFound, "db-x"),
        ("amir", ["web-cpt-14"], {}, UsageError, "--owner"),
        ("amir", ["web-cpt-14"], {"owner": "amir"}, UsageError, "is an agent"),
        ("amir", ["web-cpt-14"], {"owner": "ghost"}, NotFound, "ghost"),
        ("tomas", [], {}, UsageError, "at least one server"),
        ("tomas", ["web-cpt-14"], {"cadence": "2m"}, UsageError, "between 5m and 24h"),
        ("tomas", ["web-cpt-14"], {"cadence": "soon"}, UsageError, "--cadence"),
        ("tomas", ["web-cpt-14"], {"title": "  "}, UsageError, "title"),
    ],
)
def test_bad_incidents_are_refused_and_change_nothing(
    fx: Fx, login: str, servers: list[str], kw: dict, error: type, words: str
) -> None:
    before = fx.state()
    kw = dict(kw)
    title = kw.pop("title", "Down")
    with pytest.raises(error, match=words):
        incidents.open_incident(fx.as_(login), servers, title, **kw)
    assert fx.state() == before


# -- linking -------------------------------------------------------------------------------
def test_linking_a_ticket_is_a_note_not_a_new_ticket(fx: Fx) -> None:
    tid = new_ticket(fx.as_("amir"), "My site is down", "high", channel="email")
    inc = _open(fx, 1)
    tickets_before = fx.count("tickets")
    r = incidents.link_ticket(fx.as_("amir", 2), inc.id, tid)
    assert (r.affected, r.responded) == (True, False)
    assert fx.count("tickets") == tickets_before
    note = fx.events(tid)[-1]
    assert (note.kind, note.visible, note.author) == ("note", False, "amir")
    assert f"incident #{inc.id}" in (note.body or "")
    # a note is not a response: the respond clock still runs
    assert fx.row(tid, "first_response_at", "respond_state") == (None, "running")
    assert incidents.linked_to(fx.desk, tid) == [inc.id]
    assert incidents.summary(fx.desk, inc.id).linked == 1
    with pytest.raises(NothingToDo, match="already linked"):
        incidents.link_ticket(fx.as_("amir", 3), inc.id, tid)


def test_linking_with_the_caller_on_the_line_is_the_customers_response(fx: Fx) -> None:
    tid = new_ticket(fx.as_("amir"), "Site down", "high")
    inc = _open(fx, 1)
    r = incidents.link_ticket(fx.as_("amir", 5), inc.id, tid, call=True)
    assert r.responded
    status, first, state = fx.row(tid, "status", "first_response_at", "respond_state")
    assert status == "open" and state == "met"
    assert first is not None
    kinds = [(e.kind, e.call_outcome) for e in fx.events(tid)]
    assert ("call", "spoke") in kinds and ("note", None) in kinds
    assert incidents.summary(fx.desk, inc.id).calls == 1
    assert sla.show(fx.desk, tid).clocks[0].state == "met"


def test_linking_an_unaffected_account_needs_a_reason(fx: Fx) -> None:
    tid = new_ticket(fx.as_("amir"), "Slow site", account="corvid")
    inc = _open(fx, 1)
    before = fx.state()
    with pytest.raises(UsageError, match="corvid has no service on web-cpt-14"):
        incidents.link_ticket(fx.as_("amir", 2), inc.id, tid)
    assert fx.state() == before
    r = incidents.link_ticket(fx.as_("amir", 2), inc.id, tid, reason="shared DNS on web-cpt-14")
    assert not r.affected
    assert "Why: shared DNS" in (fx.events(tid)[-1].body or "")
    (link,) = incidents.show(fx.desk, inc.id).tickets
    assert link.reason == "shared DNS on web-cpt-14"


def test_linking_refusals_change_nothing(fx: Fx) -> None:
    done = new_ticket(fx.as_("amir"), "Old")
    tickets.update_fields(fx.as_("lena", 1), done, status="closed", code="fixed")
    inc = _open(fx, 2)
    before = fx.state()
    amir = fx.as_("amir", 3)
    for incident_id, tid, error, words in [
        (inc.id, done, InvalidTransition, "closed"),
        (inc.id, 4242, NotFound, "#4242"),
        (99, done, NotFound, "incident #99"),
    ]:
        with pytest.raises(error, match=words):
            incidents.link_ticket(amir, incident_id, tid)
    assert fx.state() == before


def test_a_caller_with_no_ticket_is_recorded_against_the_incident(fx: Fx) -> None:
    inc = _open(fx)
    tickets_before = fx.count("tickets")
    r = incidents.log_call(
        fx.as_("amir", 3), inc.id, "daisy", caller_name="Mo", caller_phone="+27 11 555"
    )
    assert r.affected and fx.count("tickets") == tickets_before
    (call,) = incidents.show(fx.desk, inc.id).calls
    assert (call.account, call.ticket_id, call.caller, call.by) == ("daisy", None, "Mo", "amir")
    before = fx.state()
    with pytest.raises(UsageError, match="corvid has no service"):
        incidents.log_call(fx.as_("amir", 4), inc.id, "corvid")
    with pytest.raises(NotFound, match="no account"):
        incidents.log_call(fx.as_("amir", 4), inc.id, "ghost")
    assert fx.state() == before


# -- updates and resolution ----------------------------------------------------------------
def test_an_update_is_posted_to_every_live_linked_ticket_in_one_go(fx: Fx) -> None:
    amir = fx.as_("amir")
    a = new_ticket(amir, "Site down", "high", channel="email")
    b = new_ticket(amir, "Shop down", "critical", channel="email")
    c = new_ticket(amir, "Also down", channel="email")
    held = new_ticket(amir, "Down again", channel="email")
    inc = _open(fx, 1)
    for tid in (a, b, c, held):
        incidents.link_ticket(fx.as_("amir", 2), inc.id, tid)
    tickets.claim(fx.as_("tomas", 3), held)  # held by someone: the update still reaches it
    tickets.resolve(fx.as_("lena", 4), c, "fixed")  # solved on its own: no reply to it
    audit_before = fx.count("audit")
    r = incidents.post_update(
        fx.as_("tomas", 20), inc.id, "A disk failed; we are replacing it.", state="identified"
    )
    assert sorted(r.tickets_posted) == sorted([a, b, held])
    assert r.state == "identified"
    assert r.next_update_due == T0 + timedelta(minutes=50)  # one cadence after the update
    assert fx.count("audit") == audit_before + 4  # one per ticket reply, one for the incident
    for tid in (a, b, held):
        last = [e for e in fx.events(tid) if e.kind == "reply"][-1]
        assert last.visible and "A disk failed" in (last.body or "")
        assert fx.row(tid, "first_response_at")[0] is not None  # a reply is a response
        assert fx.row(tid, "last_speaker")[0] == "staff"
    assert not [e for e in fx.events(c) if e.kind == "reply"]
    view = incidents.show(fx.desk, inc.id)
    assert [u.kind for u in view.updates] == ["opened", "update"]
    assert view.updates[-1].tickets_posted == 3
    assert view.incident.state == "identified"


def test_update_refusals(fx: Fx) -> None:
    inc = _open(fx)
    before = fx.state()
    with pytest.raises(
        NotAllowed, match="updating or resolving an incident is for engineers and leads"
    ):
        incidents.post_update(fx.as_("amir", 1), inc.id, "news")
    with pytest.raises(UsageError, match="text"):
        incidents.post_update(fx.as_("tomas", 1), inc.id, "  ")
    with pytest.raises(UsageError, match="incident resolve"):
        incidents.post_update(fx.as_("tomas", 1), inc.id, "x", state="resolved")
    with pytest.raises(UsageError, match="unknown state"):
        incidents.post_update(fx.as_("tomas", 1), inc.id, "x", state="fixed")
    assert fx.state() == before


def test_resolving_resolves_linked_tickets_except_the_ones_kept_open(fx: Fx) -> None:
    amir = fx.as_("amir")
    a = new_ticket(amir, "Site down", "high")
    b = new_ticket(amir, "Shop down", "high")
    keep = new_ticket(amir, "Down, and also my DNS", "medium")
    held = new_ticket(amir, "Down (caller not verified)")
    tickets.update_fields(fx.as_("lena", 1), held, status="awaiting_authorization")
    inc = _open(fx, 2)
    for tid in (a, b, keep, held):
        incidents.link_ticket(fx.as_("amir", 3), inc.id, tid)
    before = fx.state()
    with pytest.raises(UsageError, match="not linked"):
        incidents.resolve(fx.as_("tomas", 60), inc.id, "fixed", keep_open=[a, 4242])
    assert fx.state() == before
    r = incidents.resolve(fx.as_("tomas", 60), inc.id, "Disk replaced.", keep_open=[keep])
    assert sorted(r.resolved) == sorted([a, b])
    assert sorted(r.left_open) == sorted([keep, held])
    for tid in (a, b):
        assert fx.row(tid, "status", "resolution_code", "resolve_state")[:2] == (
            "resolved",
            "fixed",
        )
        assert fx.row(tid, "resolve_state")[0] in ("met", "breached")
    assert fx.row(keep, "status")[0] == "open"
    assert fx.row(held, "status")[0] == "awaiting_authorization"
    assert "stays open" in (fx.events(keep)[-1].body or "")
    assert incidents.open_incidents(fx.desk) == []
    view = incidents.show(fx.desk, inc.id)
    assert view.incident.state == "resolved" and view.incident.next_update_due is None
    assert {t.ticket_id for t in view.tickets if t.keep_open} == {keep, held}
    before = fx.state()
    with pytest.raises(InvalidTransition, match="resolved"):
        incidents.resolve(fx.as_("tomas", 61), inc.id, "again")
    with pytest.raises(InvalidTransition, match="resolved"):
        incidents.post_update(fx.as_("tomas", 61), inc.id, "again")
    with pytest.raises(InvalidTransition, match="resolved"):
        incidents.link_ticket(fx.as_("amir", 61), inc.id, keep)
    assert fx.state() == before


def test_acknowledge_by_a_lead_or_the_on_call_engineer_once(fx: Fx) -> None:
    inc = _open(fx)
    before = fx.state()
    with pytest.raises(NotAllowed, match="on-call engineer \\(tomas\\)"):
        incidents.acknowledge(fx.as_("amir", 1), inc.id)
    with pytest.raises(NotAllowed):
        incidents.acknowledge(fx.as_("una", 1), inc.id)  # an engineer, but not on call for it
    assert fx.state() == before
    acked = incidents.acknowledge(fx.as_("tomas", 2), inc.id)
    assert acked.acknowledged and acked.acknowledged_by == "tomas"
    assert acked.acknowledged_at == T0 + timedelta(minutes=2)
    before = fx.state()
    with pytest.raises(NothingToDo, match="already acknowledged by tomas"):
        incidents.acknowledge(fx.as_("lena", 3), inc.id)
    other = _open(fx, 4)
    incidents.acknowledge(fx.as_("lena", 5), other.id)  # a lead may
    incidents.resolve(fx.as_("lena", 6), other.id, "done")
    before = fx.state()
    with pytest.raises(InvalidTransition, match="resolved"):
        incidents.acknowledge(fx.as_("lena", 7), other.id)
    assert fx.state() == before


def test_affected_accounts_are_found_through_their_services(fx: Fx) -> None:
    inc = _open(fx)
    affected, total = incidents.affected_accounts(fx.desk, inc.servers)
    assert total == 2
    assert [(a.account, a.servers) for a in affected] == [
        ("bluefin", ("web-cpt-14",)),
        ("daisy", ("web-cpt-14",)),
    ]
    assert [i.id for i in incidents.for_account(fx.desk, "daisy")] == [inc.id]
    assert incidents.for_account(fx.desk, "corvid") == []
    assert incidents.affected_among(fx.desk, ["bluefin", "corvid", "daisy"]) == {
        "bluefin": inc.id,
        "daisy": inc.id,
    }
    incidents.resolve(fx.as_("tomas", 5), inc.id, "over")
    assert incidents.for_account(fx.desk, "daisy") == []
    assert incidents.affected_among(fx.desk, ["bluefin"]) == {}


# -- maintenance windows -------------------------------------------------------------------
def _window(fx: Fx, server: str = "web-cpt-14", hours: float = 4, start: datetime = SAT_NIGHT):
    return maintenance.add_window(
        fx.as_("tomas"),
        [server],
        start,
        start + timedelta(hours=hours),
        f"Kernel upgrade on {server}: sites may be unreachable for 10 minutes",
    )


def test_windows_are_announced_on_affected_accounts_while_upcoming_or_running(fx: Fx) -> None:
    w = _window(fx)
    assert (w.servers, w.created_by, w.scheduled) == (("web-cpt-14",), "tomas", 0)
    assert w.state(T0) == "upcoming"
    assert w.state(SAT_NIGHT + timedelta(hours=1)) == "running"
    assert w.state(SAT_NIGHT + timedelta(hours=4)) == "over"
    assert [x.id for x in maintenance.for_account(fx.as_("amir"), "bluefin")] == [w.id]
    assert [x.id for x in maintenance.for_account(fx.as_("amir"), "daisy")] == [w.id]
    assert maintenance.for_account(fx.as_("amir"), "corvid") == []
    running = fx.at("amir", SAT_NIGHT + timedelta(hours=2))
    assert [x.id for x in maintenance.for_account(running, "bluefin")] == [w.id]
    after = fx.at("amir", SAT_NIGHT + timedelta(hours=4))
    assert maintenance.for_account(after, "bluefin") == []
    assert maintenance.list_windows(after) == []
    assert [x.id for x in maintenance.list_windows(after, include_past=True)] == [w.id]
    assert maintenance.windows_among(fx.as_("amir"), ["bluefin", "corvid"]) == {"bluefin": w.id}


@pytest.mark.parametrize(
    ("servers", "start", "end", "error", "words"),
    [
        (["web-cpt-14"], 4, 3, UsageError, "ends .* before it starts"),
        (["web-cpt-14"], 4, 4, UsageError, "before it starts"),
        (["web-cpt-14"], -5, -1, UsageError, "ended already"),
        (["web-cpt-14"], 2, 5, UsageError, "overlaps maintenance window #1 on web-cpt-14"),
        (["web-jnb-2", "web-cpt-14"], 1, 3, UsageError, "overlaps"),
        (["mail-9"], 10, 11, NotFound, "no service runs on mail-9"),
    ],
)
def test_bad_windows_are_refused_and_change_nothing(
    fx: Fx, servers: list[str], start: float, end: float, error: type, words: str
) -> None:
    _window(fx, hours=4, start=T0 + timedelta(hours=0))  # 09:00-13:00 on web-cpt-14
    before = fx.state()
    with pytest.raises(error, match=words):
        maintenance.add_window(
            fx.as_("tomas", 60 * 2),  # 11:00
            servers,
            T0 + timedelta(hours=start),
            T0 + timedelta(hours=end),
            "notice",
        )
    assert fx.state() == before


def test_windows_touching_or_on_other_servers_do_not_overlap(fx: Fx) -> None:
    first = _window(fx)
    _window(fx, start=first.ends_at)  # starts as the first ends: intervals are [start, end)
    _window(fx, server="web-jnb-2")  # the same time on another server
    assert fx.count("maintenance_windows") == 3
    before = fx.state()
    with pytest.raises(NotAllowed, match="announcing maintenance is for engineers and leads"):
        maintenance.add_window(
            fx.as_("amir"), ["web-jnb-2"], SAT_NIGHT + timedelta(days=2),
            SAT_NIGHT + timedelta(days=2, hours=1), "x",
        )  # fmt: skip
    assert fx.state() == before


def test_a_scheduled_ticket_pauses_until_its_window_and_returns_when_it_opens(fx: Fx) -> None:
    tid = new_ticket(fx.as_("amir"), "Needs a PHP extension on the server", "medium")
    tickets.claim(fx.as_("amir", 1), tid)
    w = _window(fx)
    r = maintenance.schedule(fx.as_("amir", 10), tid, w.id)
    assert (r.status, r.paused_until, r.servers) == ("scheduled", SAT_NIGHT, ("web-cpt-14",))
    status, window, rstate, sstate, paused = fx.row(
        tid, "status", "window_id", "respond_state", "resolve_state", "resolve_paused"
    )
    assert (status, window, rstate, sstate, paused) == (
        "scheduled",
        w.id,
        "paused",
        "paused",
        "scheduled",
    )
    note = fx.events(tid)[-1]
    assert "paused until Sat 2026-11-28 22:00 UTC" in (note.body or "")
    assert maintenance.window_of_ticket(fx.desk, tid) == maintenance.window(fx.desk, w.id)
    assert maintenance.window(fx.desk, w.id).scheduled == 1
    assert maintenance.next_wake(fx.desk) == SAT_NIGHT
    # before the window opens nothing happens
    assert maintenance.wake(fx.at("amir", SAT_NIGHT - timedelta(seconds=1))) == []
    assert fx.row(tid, "status")[0] == "scheduled"
    audit_before = fx.count("audit")
    woke = maintenance.wake(fx.at("tomas", SAT_NIGHT + timedelta(minutes=1)))
    assert woke == [tid]
    status, window, rstate, sstate = fx.row(
        tid, "status", "window_id", "respond_state", "resolve_state"
    )
    assert (status, window) == ("open", None)
    assert rstate in ("running", "warning", "breached") and sstate != "paused"
    assert fx.count("audit") == audit_before + 1
    assert "Maintenance window #1 opened" in (fx.events(tid)[-1].body or "")
    # idempotent: a second console finds nothing left
    assert maintenance.wake(fx.at("lena", SAT_NIGHT + timedelta(minutes=2))) == []
    assert maintenance.next_wake(fx.desk) is None
    # the holder (amir) was told on their console
    from supportdesk.services import escalation

    assert any("back in the queue" in n.body for n in escalation.notices(fx.as_("amir"), after=0))


def test_racing_consoles_wake_each_ticket_once(fx: Fx) -> None:
    w = _window(fx)
    ids = [new_ticket(fx.as_("amir"), f"Server work {n}") for n in range(6)]
    for tid in ids:
        maintenance.schedule(fx.as_("amir", 1), tid, w.id)
    results: list[list[int]] = []
    errors: list[BaseException] = []
    desks = [fx.at(login, SAT_NIGHT + timedelta(minutes=5)) for login in ("amir", "tomas", "lena")]
    for d in desks:
        d.actor  # noqa: B018 - read before the race

    def run(d: Desk) -> None:
        try:
            results.append(maintenance.wake(d))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    woken = [tid for r in results for tid in r]
    assert sorted(woken) == ids  # each exactly once
    status_events = fx.desk.store.query(
        "SELECT count(*) FROM ticket_events WHERE kind = 'status' AND new_value = 'open'"
        " AND old_value = 'scheduled'"
    )[0][0]
    assert status_events == len(ids)


def test_schedule_refusals_change_nothing(fx: Fx) -> None:
    w = _window(fx)
    other = new_ticket(fx.as_("amir"), "Corvid work", account="corvid")
    tid = new_ticket(fx.as_("amir"), "Bluefin work")
    held = new_ticket(fx.as_("amir"), "Held work")
    tickets.update_fields(fx.as_("lena", 1), held, status="awaiting_authorization")
    started = _window(fx, start=T0 - timedelta(hours=1), hours=3)
    before = fx.state()
    amir = fx.as_("amir", 2)
    for tid_, wid, error, words in [
        (other, w.id, UsageError, "corvid has no service"),
        (tid, started.id, UsageError, "started"),
        (tid, 99, NotFound, "window #99"),
        (held, w.id, InvalidTransition, "awaiting"),
    ]:
        with pytest.raises(error, match=words):
            maintenance.schedule(amir, tid_, wid)
    assert fx.state() == before
    maintenance.schedule(fx.as_("amir", 3), tid, w.id)
    with pytest.raises(NothingToDo):
        maintenance.schedule(fx.as_("amir", 4), tid, w.id)


def test_leaving_scheduled_forgets_the_window(fx: Fx) -> None:
    """A ticket taken out of its window and later scheduled by hand (no window) must not be
    woken by the old window's start."""
    w = _window(fx)
    tid = new_ticket(fx.as_("amir"), "Server work")
    maintenance.schedule(fx.as_("amir", 1), tid, w.id)
    tickets.update_fields(fx.as_("amir", 2), tid, status="open")
    assert fx.row(tid, "window_id")[0] is None
    tickets.update_fields(fx.as_("amir", 3), tid, status="scheduled")
    assert maintenance.wake(fx.at("lena", SAT_NIGHT + timedelta(hours=1))) == []
    assert fx.row(tid, "status")[0] == "scheduled"
    # moving to another window keeps it scheduled and moves the wake time
    later = _window(fx, start=SAT_NIGHT + timedelta(days=1))
    maintenance.schedule(fx.as_("amir", 4), tid, w.id)
    maintenance.schedule(fx.as_("amir", 5), tid, later.id)
    assert fx.row(tid, "status", "window_id") == ("scheduled", later.id)
    assert maintenance.wake(fx.at("lena", SAT_NIGHT + timedelta(hours=1))) == []
    assert maintenance.wake(fx.at("lena", later.starts_at)) == [tid]


def test_everything_is_audited_and_the_chain_holds(fx: Fx) -> None:
    tid = new_ticket(fx.as_("amir"), "Site down")
    inc = _open(fx, 1)
    incidents.link_ticket(fx.as_("amir", 2), inc.id, tid, call=True)
    incidents.log_call(fx.as_("amir", 3), inc.id, "daisy", caller_name="Mo")
    incidents.acknowledge(fx.as_("tomas", 4), inc.id)
    incidents.post_update(fx.as_("tomas", 5), inc.id, "Working on it")
    incidents.resolve(fx.as_("tomas", 6), inc.id, "Fixed")
    w = _window(fx)
    other = new_ticket(fx.as_("amir", 7), "Server work")
    maintenance.schedule(fx.as_("amir", 8), other, w.id)
    maintenance.wake(fx.at("lena", SAT_NIGHT))
    actions = [
        r[0]
        for r in fx.desk.store.query("SELECT action FROM audit ORDER BY seq")
        if r[0].startswith(("incident.", "maintenance.", "ticket.status", "ticket.reply"))
    ]
    for action in (
        "incident.open",
        "incident.link",
        "incident.call",
        "incident.ack",
        "incident.update",
        "incident.resolve",
        "maintenance.add",
        "ticket.reply",
        "ticket.status",
    ):
        assert action in actions
    with fx.desk.store.read() as s:
        assert audit.verify(s, fx.desk.audit_key).ok


def test_desk_errors_are_one_liners(fx: Fx) -> None:
    inc = _open(fx)
    with pytest.raises(DeskError) as info:
        incidents.link_ticket(fx.as_("amir"), inc.id, 4242)
    assert "\n" not in str(info.value)


def test_every_console_hears_of_incident_and_window_writes(fx: Fx) -> None:
    """On PostgreSQL the new tables NOTIFY like the others (SQLite: data_version), so a
    console's change feed fires for an incident opened, acknowledged or a window added."""
    seen = threading.Event()
    feed = fx.desk.store.change_feed(seen.set).start()
    try:
        time.sleep(0.5)
        seen.clear()
        inc = _open(fx)
        assert seen.wait(5), "no change seen for a new incident"
        seen.clear()
        incidents.acknowledge(fx.as_("tomas", 1), inc.id)
        assert seen.wait(5), "no change seen for an acknowledgement"
        seen.clear()
        _window(fx)
        assert seen.wait(5), "no change seen for a maintenance window"
    finally:
        feed.stop()


@pytest.mark.parametrize(
    ("text", "seconds"), [("PT45M", 2700), ("pt1h", 3600), ("300s", 300), ("P1D", 86400)]
)
def test_a_cadence_takes_seconds_and_iso_8601(text: str, seconds: int) -> None:
    from supportdesk.services.incidents.common import parse_cadence

    assert parse_cadence(text) == seconds


@pytest.mark.parametrize(
    ("text", "words"), [("90s", "between 5m and 24h"), ("P1M", "years and months"), ("PT", "ISO")]
)
def test_a_bad_cadence_says_why(text: str, words: str) -> None:
    from supportdesk.services.incidents.common import parse_cadence

    with pytest.raises(UsageError, match=words):
        parse_cadence(text)
