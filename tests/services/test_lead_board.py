"""The lead's SLA board as data, on SQLite and PostgreSQL: headline counts, what breaches
next and why it matters, due times moved today, people and presence, what needs a lead,
figures and the drill-down, against a small fixed desk."""

from __future__ import annotations

from datetime import timedelta

import pytest

from supportdesk.core import presence
from supportdesk.core.desk import Desk
from supportdesk.errors import NotAllowed, UsageError
from supportdesk.models import Setting
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import directory, escalation, sla, tickets
from supportdesk.services.reports import sla_board
from tests.helpers.desk import DeskFactory, new_ticket
from tests.helpers.policy import POLICY, jnb

T0 = jnb(2026, 11, 23, 9, 0)  # Monday 09:00, office hours (gold: respond critical 1h, high 4h)
NOW = T0 + timedelta(hours=3, minutes=30)  # 12:30


@pytest.fixture
def board(desk: Desk, make_desk: DeskFactory) -> tuple[sla_board.SlaBoard, dict[str, int], Desk]:
    sla.load_policy(desk, parse_policy(POLICY, "test.toml"))
    with desk.write() as (session, _record):
        session.add(Setting(key="demo", value="1"))
    directory.add_staff(desk, "ben", "Ben Okafor", 2, "engineer")

    def at(login: str, minutes: float) -> Desk:
        return make_desk(login, T0 + timedelta(minutes=minutes))

    ids = {
        "breached": new_ticket(at("amir", 0), "breached", "critical"),  # due 10:00
        "due50": new_ticket(at("amir", 170), "due in 20", "critical"),  # 11:50 -> due 12:50
        "due10": new_ticket(at("amir", 160), "due in 10", "critical"),  # 11:40 -> due 12:40
        "downgraded": new_ticket(at("amir", 0), "downgraded", "high"),  # due 13:00
        "upgraded": new_ticket(at("amir", 0), "upgraded", "medium"),
        "waiting": new_ticket(at("amir", 0), "waiting", "high"),
        "escalated": new_ticket(at("amir", 0), "escalated", "medium"),
        "held": new_ticket(at("amir", -24 * 60), "held since yesterday", "low"),
        "complaint": new_ticket(at("amir", 0), "complaint", "low"),
        "stale": new_ticket(at("amir", 0), "stale claim", "low"),
    }
    tickets.claim(at("tomas", 175), ids["due50"])
    tickets.claim(at("tomas", 10), ids["stale"])
    tickets.update_fields(at("lena", 200), ids["downgraded"], priority="low")  # 12:20, 40 min left
    tickets.update_fields(at("lena", 60), ids["upgraded"], priority="critical")  # breaches at once
    tickets.reply(at("amir", 5), ids["waiting"], "Which domain?")
    tickets.update_fields(at("amir", 6), ids["waiting"], status="pending_customer")
    escalation.escalate(at("amir", 30), ids["escalated"], reason="needs root")
    tickets.update_fields(at("lena", -24 * 60 + 1), ids["held"], status="awaiting_authorization")
    escalation.to_supervisor(at("amir", 100), ids["complaint"], reason="third outage")
    # presence: amir at his desk, ben away, tomas has no console running
    presence.start_console(make_desk("amir"))
    ben_console = presence.start_console(make_desk("ben"))
    presence.set_state(make_desk("ben"), ben_console, "away")
    lena = make_desk("lena", NOW)
    return sla_board.snapshot(lena), ids, lena


def test_headline_counts(board) -> None:  # type: ignore[no-untyped-def]
    b, _ids, _lena = board
    h = b.headline
    assert h.breached == 2  # "breached" (due 10:00) and "upgraded" (critical after 1h used)
    assert h.due_15 == 1  # due10 at 12:40
    assert h.due_60 == 2  # due10 and due50 (12:50); "downgraded" moved to tomorrow
    assert h.unclaimed == {2: 1, 3: 0}
    assert h.oldest_wait[2] == T0 + timedelta(minutes=30)
    assert h.held == 1
    assert h.present == 1  # amir; ben is away


def test_urgent_savable_first_then_the_freshest_breaches_with_why(board) -> None:  # type: ignore[no-untyped-def]
    """Issue 16: what a lead can still save (due within the hour) comes first, soonest
    first; then the breaches, the freshest first (both of these breached at 10:00)."""
    b, ids, _lena = board
    order = [u.row.id for u in b.urgent]
    assert order[:2] == [ids["due10"], ids["due50"]]
    assert order[2:] == sorted([ids["breached"], ids["upgraded"]], reverse=True)
    why = {u.row.id: u.why for u in b.urgent}
    assert why[ids["due10"]] == ("unclaimed",)
    assert why[ids["due50"]] == ("holder off",)  # tomas runs no console
    assert all(u.clock == "respond" for u in b.urgent)
    assert [r.id for r in b.paused] == [ids["waiting"], ids["held"]]  # least time left first


def test_urgent_list_is_a_keyset_window_that_reaches_every_row(board) -> None:  # type: ignore[no-untyped-def]
    """Windows of two rows: from the top, from a row, before a row and the last rows; each
    says whether more lie before and after it, so the console scrolls to all of them."""
    b, ids, lena = board
    order = [ids["due10"], ids["due50"], *sorted([ids["breached"], ids["upgraded"]], reverse=True)]
    assert b.urgent_total == 4 and not b.urgent_more_before and not b.urgent_more_after

    def window(page: sla_board.UrgentPage) -> tuple[list[int], bool, bool]:
        return [u.row.id for u in page.rows], page.more_before, page.more_after

    top = sla_board.urgent_page(lena, limit=2)
    assert window(top) == (order[:2], False, True)
    second = top.rows[1].row
    middle = sla_board.urgent_page(lena, start_at=(second.sla_key, second.id), limit=2)
    assert window(middle) == (order[1:3], True, True)  # across the savable and the breached
    third = middle.rows[1].row
    rest = sla_board.urgent_page(lena, start_at=(third.sla_key, third.id), limit=2)
    assert window(rest) == (order[2:], True, False)
    end = sla_board.urgent_page(lena, before=sla_board.URGENT_END, limit=3)
    assert window(end) == (order[1:], True, False)
    first = end.rows[0].row
    assert window(sla_board.urgent_page(lena, before=(first.sla_key, first.id), limit=2)) == (
        order[:1],
        False,
        True,
    )
    scrolled = sla_board.snapshot(lena, urgent_from=(third.sla_key, third.id))
    assert [u.row.id for u in scrolled.urgent] == order[2:] and scrolled.urgent_more_before


def test_due_times_moved_today_flag_a_downgrade_close_to_a_breach(board) -> None:  # type: ignore[no-untyped-def]
    b, ids, _lena = board
    moved = {(m.ticket_id, m.clock): m for m in b.moved}
    down = moved[ids["downgraded"], "respond"]
    assert down.why == "priority high → low" and down.who == "lena"
    assert down.downgrade_near_breach  # 40 minutes were left
    up = moved[ids["upgraded"], "respond"]
    assert up.why == "priority medium → critical" and not up.downgrade_near_breach


def test_people_and_what_needs_a_lead(board) -> None:  # type: ignore[no-untyped-def]
    b, ids, _lena = board
    people = {p.login: p for p in b.people}
    assert people["amir"].presence == "available"
    assert people["ben"].presence == "away"
    assert people["tomas"].presence == "off"
    assert (people["tomas"].holds, people["tomas"].stale) == (2, 1)
    a = b.attention
    assert [r.id for r in a.held_old] == [ids["held"]]
    assert [r.id for r in a.complaints] == [ids["complaint"]]
    assert [c.ticket_id for c in a.stale] == [ids["stale"]]


def test_drill_down_gives_the_tickets_behind_each_figure(board) -> None:  # type: ignore[no-untyped-def]
    b, ids, lena = board
    assert {r.id for r in sla_board.drill(lena, "breached")} == {ids["breached"], ids["upgraded"]}
    assert [r.id for r in sla_board.drill(lena, "due15")] == [ids["due10"]]
    assert [r.id for r in sla_board.drill(lena, "due60")] == [ids["due10"], ids["due50"]]
    assert [r.id for r in sla_board.drill(lena, "unclaimed2")] == [ids["escalated"]]
    assert [r.id for r in sla_board.drill(lena, "held")] == [ids["held"]]
    assert {r.id for r in sla_board.drill(lena, "person:tomas")} == {ids["due50"], ids["stale"]}
    assert len(sla_board.drill(lena, "breached")) == b.headline.breached
    with pytest.raises(UsageError):
        sla_board.drill(lena, "everything")
    # the respond clocks that stopped breached today: "waiting" met its clock, none breached
    assert sla_board.drill(lena, "breaches:today") == []
    tickets.reply(lena, ids["breached"], "Sorry for the wait.")  # stops it breached at 12:30
    assert [r.id for r in sla_board.drill(lena, "breaches:today")] == [ids["breached"]]
    assert [r.id for r in sla_board.drill(lena, "breaches:7d:technical")] == [ids["breached"]]
    assert sla_board.drill(lena, "breaches:7d:billing") == []


def test_locked_contact_with_its_attempt_log(desk: Desk, make_desk: DeskFactory) -> None:
    from supportdesk.services.callers import verification

    verification.set_pin(desk, "bluefin", "priya@bluefin.example")
    amir = make_desk("amir")
    for _ in range(5):
        verification.verify(amir, "bluefin", "priya@bluefin.example", "phone", pin="000000")
    (locked,) = sla_board.snapshot(make_desk("lena")).attention.locked
    assert locked.account == "bluefin" and locked.name == "Priya Naidoo"
    assert len(locked.attempts) >= 5 and all(who == "amir" for _at, who, _m, _r in locked.attempts)


def test_only_leads_see_the_board(desk: Desk, make_desk: DeskFactory) -> None:
    with pytest.raises(NotAllowed):
        sla_board.snapshot(make_desk("amir"))


def test_figures_today_week_month_and_series(board) -> None:  # type: ignore[no-untyped-def]
    _b, _ids, lena = board
    f = sla_board.figures(lena)
    assert len(f.days) == 30 and len(f.breaches_per_day) == 30
    # one respond clock stopped today: "waiting" answered at 09:05 (met, 5 min)
    assert (f.today.total.respond_met, f.today.total.respond_breached) == (1, 0)
    assert f.breaches_per_day[-1] == 0 and f.attainment_per_day[-1] == 1.0
    assert f.month.total.respond_met == 1
    assert sum(f.tickets_in) == 9  # created today (the held one was yesterday)
    assert len(f.quarters) == len(f.tickets_in) == len(f.usual_in)
