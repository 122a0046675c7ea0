"""`supportdesk report sla`: every figure against its definition on a small fixed desk, on
SQLite and PostgreSQL (service and CLI, JSON and CSV)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from supportdesk.core.desk import Desk
from supportdesk.errors import UsageError
from supportdesk.models import Setting
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import directory, escalation, sla, tickets
from supportdesk.services.reports import report
from tests.helpers.cli import one_line_error, run
from tests.helpers.desk import DeskFactory, new_ticket
from tests.helpers.policy import POLICY, jnb

T0 = jnb(2026, 11, 23, 9, 0)  # Monday 09:00 in the office's zone
H = 3600


class Desk_:
    def __init__(self, make: DeskFactory) -> None:
        self.make = make

    def at(self, login: str, hours: float) -> Desk:
        return self.make(login, T0 + timedelta(hours=hours))


@pytest.fixture
def fixed(desk: Desk, make_desk: DeskFactory) -> dict[str, int]:
    """Seven tickets whose outcomes the definitions decide (gold: office hours, respond
    critical 1h / high 4h / medium 8h / low 24h; resolve 4h / 8h / 24h / best effort)."""
    sla.load_policy(desk, parse_policy(POLICY, "test.toml"))
    with desk.write() as (session, _record):
        session.add(Setting(key="demo", value="1"))
    directory.add_staff(desk, "ben", "Ben Okafor", 2, "engineer")
    d = Desk_(make_desk)
    ids: dict[str, int] = {}
    # A: medium, answered after 1h (met), fixed after 2h (met)
    ids["a"] = new_ticket(d.at("amir", 0), "A", "medium")
    tickets.reply(d.at("amir", 1), ids["a"], "On it.")
    tickets.resolve(d.at("amir", 2), ids["a"], "fixed")
    # B: critical billing, answered after 2h (breached), fixed after 3h (met)
    ids["b"] = new_ticket(d.at("amir", 0), "B", "critical", category="billing")
    tickets.reply(d.at("amir", 2), ids["b"], "Sorry for the wait.")
    tickets.resolve(d.at("amir", 3), ids["b"], "fixed")
    # C: low, answered after 30 min (met); resolve is best effort: not in the attainment
    ids["c"] = new_ticket(d.at("amir", 0), "C", "low")
    tickets.reply(d.at("amir", 0.5), ids["c"], "Here is how.")
    tickets.resolve(d.at("amir", 1), ids["c"], "fixed")
    # D: high, escalated, claimed, answered after 5h (breached), fixed after 6h (met)
    ids["d"] = new_ticket(d.at("amir", 0), "D", "high")
    escalation.escalate(d.at("amir", 0.25), ids["d"], reason="needs root")
    tickets.claim(d.at("ben", 1.25), ids["d"])  # claimed an hour after the escalation
    tickets.reply(d.at("ben", 5), ids["d"], "Fixed the disk.")
    tickets.resolve(d.at("ben", 6), ids["d"], "fixed")
    # E: closed automatically (no response): its breached respond clock does not count
    ids["e"] = new_ticket(d.at("amir", 0), "E", "medium")
    tickets.reply(d.at("amir", 8.5), ids["e"], "Can you send the log?")
    tickets.update_fields(d.at("amir", 8.6), ids["e"], status="pending_customer")
    tickets.update_fields(d.at("amir", 8.7), ids["e"], status="closed", code="no_response")
    # F: still open, unanswered: its clocks have not stopped
    ids["f"] = new_ticket(d.at("amir", 0), "F", "critical")
    # G: last week: outside the window
    ids["g"] = new_ticket(d.at("amir", -7 * 24), "G", "medium")
    tickets.reply(d.at("amir", -7 * 24 + 1), ids["g"], "Old.")
    tickets.resolve(d.at("amir", -7 * 24 + 2), ids["g"], "fixed")
    return ids


WINDOW = (T0, T0 + timedelta(days=1))


def test_every_figure_follows_its_definition(desk: Desk, fixed: dict[str, int]) -> None:
    r = report.sla_report(desk, *WINDOW)
    t = r.total
    assert (t.respond_met, t.respond_breached) == (2, 2)  # A, C met; B, D breached; E out
    assert t.respond_attainment == pytest.approx(0.5)
    assert (t.resolve_met, t.resolve_breached) == (3, 0)  # A, B, D; C is best effort
    assert t.resolve_attainment == pytest.approx(1.0)
    assert t.breaches == 2
    assert r.breaches_by_category == {"billing": 1, "technical": 1}
    # respond business time: C 30m, A 1h, B 2h, D 5h -> the middle two average 1h30m
    assert t.median_first_response_seconds == 90 * 60
    assert (t.resolved, t.resolved_at_tier1) == (4, 3)  # D went up a tier
    assert t.tier1_share == pytest.approx(0.75)
    assert r.escalation_to_claim["claimed"] == 1
    assert r.escalation_to_claim["median_seconds"] == H


def test_grouped_by_tier_category_plan_and_agent(desk: Desk, fixed: dict[str, int]) -> None:
    by_tier = {g.key: g for g in report.sla_report(desk, *WINDOW, by="tier").groups}
    assert set(by_tier) == {"1", "2"}
    assert (by_tier["1"].respond_met, by_tier["1"].respond_breached) == (2, 1)
    assert (by_tier["2"].respond_met, by_tier["2"].respond_breached) == (0, 1)
    assert by_tier["2"].tier1_share == 0.0 and by_tier["1"].tier1_share == 1.0
    assert by_tier["1"].median_first_response_seconds == H  # 30m, 1h, 2h
    by_cat = {g.key: g.breaches for g in report.sla_report(desk, *WINDOW, by="category").groups}
    assert by_cat == {"billing": 1, "technical": 1}
    by_plan = report.sla_report(desk, *WINDOW, by="plan").groups
    assert [g.key for g in by_plan] == ["gold"]
    by_agent = {g.key: g for g in report.sla_report(desk, *WINDOW, by="agent").groups}
    assert by_agent["ben"].respond_breached == 1  # ben held D when it stopped
    # the groups add up to the total
    total = report.sla_report(desk, *WINDOW).total
    assert sum(g.respond_met for g in by_tier.values()) == total.respond_met


def test_window_is_by_the_day_the_clock_stopped(desk: Desk, fixed: dict[str, int]) -> None:
    last_week = report.sla_report(desk, T0 - timedelta(days=8), T0 - timedelta(days=6))
    assert (last_week.total.respond_met, last_week.total.resolve_met) == (1, 1)  # G only
    empty = report.sla_report(desk, T0 + timedelta(days=2), T0 + timedelta(days=3))
    assert empty.total.respond_attainment is None and empty.total.tier1_share is None
    with pytest.raises(UsageError):
        report.sla_report(desk, T0, T0)
    with pytest.raises(UsageError):
        report.sla_report(desk, *WINDOW, by="weekday")


def test_cli_json_and_csv(cli_env: dict[str, str], desk: Desk, fixed: dict[str, int]) -> None:
    window = ("--from", WINDOW[0].isoformat(), "--to", WINDOW[1].isoformat())
    p = run(cli_env, "report", "sla", *window, "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["respond_attainment"] == 0.5 and out["resolve_attainment"] == 1.0
    assert out["breaches"] == 2 and out["tier1_share"] == 0.75
    assert out["median_first_response_seconds"] == 5400
    p = run(cli_env, "report", "sla", *window, "--by", "tier", "--csv")
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert [r["tier"] for r in rows] == ["1", "2", "all"]
    assert rows[0]["respond_breached"] == "1"
    p = run(cli_env, "report", "sla", "--by", "weekday")
    assert p.returncode == 2 and "weekday" in one_line_error(p)


def _timed(desk: Desk) -> None:
    """The policy of the fixed desk, and writes under a frozen clock allowed (a demo)."""
    sla.load_policy(desk, parse_policy(POLICY, "test.toml"))
    with desk.write() as (session, _record):
        session.add(Setting(key="demo", value="1"))


def _as(cli_env: dict[str, str], login: str, hours: float, *args: str) -> None:
    at = (T0 + timedelta(hours=hours)).isoformat()
    p = run(cli_env, "--as", login, "--at", at, *args)
    assert p.returncode == 0, p.stderr


def test_by_agent_credits_who_answered_and_who_resolved(
    cli_env: dict[str, str], desk: Desk, make_desk: DeskFactory
) -> None:
    """Issue 16: not the holder. Amir answers K, takes it, and lena (a lead) resolves it;
    amir answers and resolves L without taking it (the CLI, a real process): he takes it in
    the same transaction, and both are his."""
    _timed(desk)
    d = Desk_(make_desk)
    k = new_ticket(d.at("amir", 0), "K", "medium")
    tickets.reply(d.at("amir", 1), k, "On it.")
    tickets.claim(d.at("amir", 1.5), k)
    tickets.resolve(d.at("lena", 2), k, "fixed")
    low = new_ticket(d.at("amir", 0), "L", "medium")
    _as(cli_env, "amir", 0.5, "ticket", "reply", str(low), "Here is how.")
    _as(cli_env, "amir", 1, "ticket", "resolve", str(low), "--code", "fixed")
    shown = tickets.show(desk, low)
    assert shown.holder == "amir"  # resolving an unheld ticket took it
    assert [e.kind for e in shown.events if e.kind == "holder"] == ["holder"]
    # a refused resolve takes nothing: a closed ticket nobody holds stays unheld
    closed = new_ticket(d.at("amir", 0), "C", "medium")
    tickets.update_fields(d.at("lena", 1), closed, status="closed", code="out_of_scope")
    p = run(cli_env, "--as", "amir", "ticket", "resolve", str(closed), "--code", "fixed")
    assert p.returncode != 0 and one_line_error(p)
    assert tickets.show(desk, closed).holder is None
    window = ("--from", WINDOW[0].isoformat(), "--to", WINDOW[1].isoformat())
    p = run(cli_env, "report", "sla", *window, "--by", "agent", "--json")
    assert p.returncode == 0, p.stderr
    groups = {g["key"]: g for g in json.loads(p.stdout)["groups"]}
    assert set(groups) == {"amir", "lena"}  # nobody is "(nobody)"
    # lena stopped C's clocks when she closed it unanswered
    assert (groups["amir"]["respond_met"], groups["lena"]["respond_met"]) == (2, 1)
    assert (groups["amir"]["resolve_met"], groups["lena"]["resolve_met"]) == (1, 2)
    assert (groups["amir"]["resolved"], groups["lena"]["resolved"]) == (1, 1)
    row = desk.store.query(
        "SELECT responded_by, resolved_by, holder_id FROM tickets WHERE id = ?", (k,)
    )
    ids = {login: sid for sid, login in desk.store.query("SELECT id, login FROM staff")}
    assert tuple(row[0]) == (ids["amir"], ids["lena"], ids["amir"])


def test_merged_duplicates_count_only_when_already_breached(
    desk: Desk, make_desk: DeskFactory
) -> None:
    """A duplicate merged before its clocks breached leaves the figures (like a ticket closed
    automatically); one whose respond clock had breached when merged counts as breached."""
    _timed(desk)
    d = Desk_(make_desk)
    main = new_ticket(d.at("amir", 0), "Main", "medium")
    early = new_ticket(d.at("amir", 0), "Early duplicate", "medium")  # respond 8h
    late = new_ticket(d.at("amir", 0), "Late duplicate", "critical")  # respond 1h
    tickets.merge(d.at("amir", 0.5), early, main)
    tickets.merge(d.at("amir", 2), late, main)
    t = report.sla_report(desk, *WINDOW).total
    assert (t.respond_met, t.respond_breached) == (0, 1)  # early left out, late breached
    assert (t.resolve_met, t.resolve_breached) == (0, 0)  # late's resolve (4h) had not
