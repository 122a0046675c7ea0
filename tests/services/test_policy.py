"""SLA policy as data: the presets, worked due times for each, and every way a policy file is
refused (with the line and field named), all pure; then, on both databases, loading a policy
that drops a plan accounts still use (refused, or their accounts moved with --move-plan)."""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportdesk.core.policy import PRESETS_DIR, load_policy_file, load_preset, preset_names
from supportdesk.enums import PRIORITY_ORDER, Priority
from supportdesk.errors import UsageError
from supportdesk.rules.policy import (
    MAX_DURATION,
    Plan,
    Policy,
    PolicyError,
    Target,
    format_duration,
    parse_duration,
)
from supportdesk.rules.policy_parse import Locator, parse_policy
from supportdesk.rules.policy_text import describe, to_json
from tests.helpers.cli import one_line_error, run
from tests.helpers.desk import new_ticket

PRESETS = [
    "demo",
    "seed-000-ihost",
    "seed-001-itpossible",
    "seed-002-altushost",
    "seed-003-ione",
    "seed-004-xstore",
]
C, H, M, L = Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW


def at(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def due(plan: Plan, clock: str, priority: Priority, created: datetime) -> datetime:
    """The due time as the SLA service computes it."""
    target = plan.target(clock, priority)
    assert target.kind == "duration" and target.seconds is not None
    return plan.calendar.add(created, timedelta(seconds=target.seconds))


# -- presets -----------------------------------------------------------------------------------


def test_preset_names_lists_every_shipped_file():
    assert preset_names() == PRESETS
    assert PRESETS_DIR.name == "policies"
    assert sorted(p.stem for p in PRESETS_DIR.glob("*.toml")) == PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_parses_completely(name: str):
    policy = load_preset(name)
    assert policy.text == (PRESETS_DIR / f"{name}.toml").read_text("utf-8")
    assert policy.default_plan in policy.plans
    for plan in policy.plans.values():
        assert plan.calendar is policy.calendars[plan.calendar.name]
        assert list(plan.respond) == list(PRIORITY_ORDER) == list(plan.resolve)
        assert all(0 < w < 100 for w in plan.warn)
    text = describe(policy)
    assert policy.name in text and policy.digest in text
    for plan_name in policy.plans:
        assert plan_name in text
    assert json.loads(json.dumps(to_json(policy)))["default_plan"] == policy.default_plan


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(PolicyError) as caught:
        load_preset("platinum")
    message = str(caught.value)
    assert "platinum" in message
    for name in PRESETS:
        assert name in message
    with pytest.raises(PolicyError):
        load_preset("../demo/people")  # only the listed names, never a path


# seed 003: Mon-Fri 08:00-18:00 Asia/Phnom_Penh; 1 h / 4 h / 24 h / 48 h; no resolve times
PNH = "Asia/Phnom_Penh"


@pytest.mark.parametrize(
    ("priority", "created", "expected"),
    [
        (C, at(PNH, 2026, 11, 20, 17, 30), at(PNH, 2026, 11, 23, 8, 30)),  # Fri 17:30 -> Mon
        (H, at(PNH, 2026, 11, 20, 17, 0), at(PNH, 2026, 11, 23, 11, 0)),  # Fri 17:00 -> Mon 11
        (C, at(PNH, 2026, 11, 21, 10, 0), at(PNH, 2026, 11, 23, 9, 0)),  # Sat 10:00 -> Mon 9
        (M, at(PNH, 2026, 11, 16, 9, 0), at(PNH, 2026, 11, 18, 13, 0)),  # 24 open hours
        (L, at(PNH, 2026, 11, 16, 9, 0), at(PNH, 2026, 11, 20, 17, 0)),  # 48 open hours
        (C, at(PNH, 2026, 11, 18, 22, 0), at(PNH, 2026, 11, 19, 9, 0)),  # at night
    ],
)
def test_seed_003_response_due_times(priority: Priority, created: datetime, expected: datetime):
    plan = load_preset("seed-003-ione").plan_for(None)
    assert plan.name == "standard"
    assert plan.calendar.zone.key == PNH
    assert due(plan, "respond", priority, created) == expected


def test_seed_003_states_no_resolution_time():
    plan = load_preset("seed-003-ione").plans["standard"]
    for priority in PRIORITY_ORDER:
        target = plan.target("resolve", priority)
        assert target.kind == "none" and not target.breachable and target.seconds is None


# seed 004: Mon-Fri 08:00-17:00 Africa/Johannesburg (assumed); gold 4 h, silver 8 h
JNB = "Africa/Johannesburg"


@pytest.mark.parametrize(
    ("plan_name", "priority", "created", "expected"),
    [
        ("gold", C, at(JNB, 2026, 11, 19, 15, 0), at(JNB, 2026, 11, 20, 10, 0)),  # Thu -> Fri
        ("gold", L, at(JNB, 2026, 11, 19, 15, 0), at(JNB, 2026, 11, 20, 10, 0)),
        ("silver", H, at(JNB, 2026, 11, 19, 15, 0), at(JNB, 2026, 11, 20, 14, 0)),
        ("silver", M, at(JNB, 2026, 11, 20, 12, 0), at(JNB, 2026, 11, 23, 11, 0)),  # weekend
        ("gold", C, at(JNB, 2026, 11, 20, 13, 0), at(JNB, 2026, 11, 23, 8, 0)),  # 17:00 rolls
    ],
)
def test_seed_004_response_due_times(
    plan_name: str, priority: Priority, created: datetime, expected: datetime
):
    plan = load_preset("seed-004-xstore").plans[plan_name]
    assert due(plan, "respond", priority, created) == expected


def test_seed_004_per_incident_is_best_effort_and_the_default():
    policy = load_preset("seed-004-xstore")
    plan = policy.plan_for(None)
    assert plan.name == "per-incident"
    assert "48 hrs" in plan.description
    for priority in PRIORITY_ORDER:
        target = plan.target("respond", priority)
        assert target.kind == "best_effort"
        assert not target.breachable
        assert target.text == "best_effort"
    assert plan.calendar is policy.plans["gold"].calendar


# seed 001: 24/7 (Africa/Johannesburg); respond 1/2/3/3 h; resolve 6 h, low best effort
@pytest.mark.parametrize(
    ("clock", "priority", "created", "expected"),
    [
        ("respond", C, at(JNB, 2026, 11, 21, 23, 30), at(JNB, 2026, 11, 22, 0, 30)),  # Sat
        ("respond", H, at(JNB, 2026, 11, 22, 23, 0), at(JNB, 2026, 11, 23, 1, 0)),  # Sun
        ("respond", L, at(JNB, 2026, 12, 25, 12, 0), at(JNB, 2026, 12, 25, 15, 0)),  # no holiday
        ("resolve", C, at(JNB, 2026, 11, 20, 20, 0), at(JNB, 2026, 11, 21, 2, 0)),
        ("resolve", M, at(JNB, 2026, 11, 20, 20, 0), at(JNB, 2026, 11, 21, 2, 0)),
    ],
)
def test_seed_001_due_times_around_the_clock(
    clock: str, priority: Priority, created: datetime, expected: datetime
):
    plan = load_preset("seed-001-itpossible").plan_for(None)
    assert due(plan, clock, priority, created) == expected


def test_seed_001_low_resolution_is_tracked_never_breached():
    plan = load_preset("seed-001-itpossible").plan_for("hosting-24x7")
    assert plan.target("resolve", L) == Target("best_effort")
    assert plan.target("respond", L).text == "3h"


# seed 002: 24/7 UTC; the desk's own escalating targets
@pytest.mark.parametrize(
    ("clock", "priority", "created", "expected"),
    [
        ("respond", C, at("UTC", 2026, 11, 22, 23, 50), at("UTC", 2026, 11, 23, 0, 20)),
        ("respond", L, at("UTC", 2026, 11, 21, 9, 0), at("UTC", 2026, 11, 22, 9, 0)),
        ("resolve", H, at("UTC", 2026, 11, 20, 18, 0), at("UTC", 2026, 11, 21, 6, 0)),
        ("resolve", M, at("UTC", 2026, 11, 23, 12, 0), at("UTC", 2026, 11, 25, 12, 0)),
    ],
)
def test_seed_002_due_times(clock: str, priority: Priority, created: datetime, expected: datetime):
    plan = load_preset("seed-002-altushost").plan_for(None)
    assert due(plan, clock, priority, created) == expected


def test_seed_002_targets_escalate_with_priority():
    plan = load_preset("seed-002-altushost").plan_for(None)
    seconds = [plan.target("respond", p).seconds for p in PRIORITY_ORDER]
    assert seconds == sorted(seconds) and len(set(seconds)) == 4
    assert plan.target("resolve", L).kind == "best_effort"


def test_seed_000_promises_no_time():
    plan = load_preset("seed-000-ihost").plan_for(None)
    for priority in PRIORITY_ORDER:
        assert plan.target("respond", priority).kind == "best_effort"
        assert plan.target("resolve", priority).kind == "none"
        assert not plan.target("respond", priority).breachable


# demo: standard (seed 003 numbers, Johannesburg, year-end holidays), gold, silver,
# per-incident, hosting-24x7
@pytest.mark.parametrize(
    ("plan_name", "clock", "priority", "created", "expected"),
    [
        # Thu 24 Dec 17:30: 30 min left that day; 25 (holiday), 26 (holiday), 27 (Sunday)
        ("standard", "respond", C, at(JNB, 2026, 12, 24, 17, 30), at(JNB, 2026, 12, 28, 8, 30)),
        ("standard", "respond", C, at(JNB, 2026, 11, 20, 17, 30), at(JNB, 2026, 11, 23, 8, 30)),
        ("standard", "respond", H, at(JNB, 2026, 11, 20, 17, 0), at(JNB, 2026, 11, 23, 11, 0)),
        ("standard", "respond", C, at(JNB, 2026, 11, 21, 10, 0), at(JNB, 2026, 11, 23, 9, 0)),
        # Thu 31 Dec 14:00 + 8 h: 4 h that day, 1 Jan (holiday), weekend, Mon 4 Jan 12:00
        ("standard", "resolve", C, at(JNB, 2026, 12, 31, 14, 0), at(JNB, 2027, 1, 4, 12, 0)),
        ("standard", "resolve", M, at(JNB, 2026, 11, 16, 8, 0), at(JNB, 2026, 11, 25, 10, 0)),
        # office closes at 18:00 here: 3 h on Thursday, 1 h on Friday
        ("gold", "respond", C, at(JNB, 2026, 11, 19, 15, 0), at(JNB, 2026, 11, 20, 9, 0)),
        ("silver", "respond", L, at(JNB, 2026, 11, 19, 15, 0), at(JNB, 2026, 11, 20, 13, 0)),
        ("gold", "resolve", H, at(JNB, 2026, 11, 19, 15, 0), at(JNB, 2026, 11, 23, 11, 0)),
        ("hosting-24x7", "resolve", C, at(JNB, 2026, 12, 24, 22, 0), at(JNB, 2026, 12, 25, 4, 0)),
        ("hosting-24x7", "respond", M, at(JNB, 2026, 12, 31, 23, 0), at(JNB, 2027, 1, 1, 2, 0)),
    ],
)
def test_demo_due_times(
    plan_name: str, clock: str, priority: Priority, created: datetime, expected: datetime
):
    plan = load_preset("demo").plans[plan_name]
    assert due(plan, clock, priority, created) == expected


def test_demo_has_the_plans_the_demo_database_uses():
    policy = load_preset("demo")
    assert policy.default_plan == "standard"
    assert set(policy.plans) == {"standard", "gold", "silver", "per-incident", "hosting-24x7"}
    standard = policy.plans["standard"]
    assert [standard.target("respond", p).text for p in PRIORITY_ORDER] == [
        "1h",
        "4h",
        "24h",
        "48h",
    ]
    assert policy.plans["hosting-24x7"].target("resolve", C).text == "6h"
    per_incident = policy.plans["per-incident"]
    assert per_incident.target("respond", H).kind == "best_effort"
    for plan in policy.plans.values():  # every plan has resolve targets
        assert all(plan.target("resolve", p).kind != "none" for p in PRIORITY_ORDER)
    assert standard.calendar.zone.key == JNB
    assert {d.isoformat() for d in standard.calendar.holidays} == {
        "2026-12-25",
        "2026-12-26",
        "2027-01-01",
    }


# -- DST: a custom policy in a zone that has it -----------------------------------------------

AMS = "Europe/Amsterdam"
AMSTERDAM = """\
name = "Amsterdam desk"
default_plan = "office"

[calendars.office]
timezone = "Europe/Amsterdam"
mon = ["09:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-17:00"]

[calendars.always]
timezone = "Europe/Amsterdam"
mon = ["00:00-24:00"]
tue = ["00:00-24:00"]
wed = ["00:00-24:00"]
thu = ["00:00-24:00"]
fri = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]

[plans.office]
calendar = "office"
respond = { critical = "2h", high = "4h", medium = "8h", low = "16h" }
resolve = { critical = "8h", high = "16h", medium = "none", low = "none" }

[plans.always]
calendar = "always"
respond = { critical = "24h", high = "2d", medium = "1d12h", low = "none" }
resolve = { critical = "none", high = "none", medium = "none", low = "none" }
"""


@pytest.mark.parametrize(
    ("plan_name", "priority", "created", "expected", "hours_between"),
    [
        # autumn: clocks go back on Sunday 25 October 2026 (03:00 CEST -> 02:00 CET)
        ("office", C, at(AMS, 2026, 10, 23, 16, 0), at(AMS, 2026, 10, 26, 10, 0), 67),
        # 16 open hours from Fri 09:00: Fri 8 h, Mon 8 h -> Monday's closing, rolls to Tue
        ("office", L, at(AMS, 2026, 10, 23, 9, 0), at(AMS, 2026, 10, 27, 9, 0), 97),
        ("always", C, at(AMS, 2026, 10, 24, 12, 0), at(AMS, 2026, 10, 25, 11, 0), 24),
        ("always", H, at(AMS, 2026, 10, 24, 12, 0), at(AMS, 2026, 10, 26, 11, 0), 48),
        # spring: clocks go forward on Sunday 29 March 2026 (02:00 CET -> 03:00 CEST)
        ("office", C, at(AMS, 2026, 3, 27, 16, 0), at(AMS, 2026, 3, 30, 10, 0), 65),
        ("always", C, at(AMS, 2026, 3, 28, 12, 0), at(AMS, 2026, 3, 29, 13, 0), 24),
        ("always", M, at(AMS, 2026, 3, 28, 12, 0), at(AMS, 2026, 3, 30, 1, 0), 36),
    ],
)
def test_due_times_across_dst_weekends(
    plan_name: str, priority: Priority, created: datetime, expected: datetime, hours_between: int
):
    plan = parse_policy(AMSTERDAM, "amsterdam.toml").plans[plan_name]
    got = due(plan, "respond", priority, created)
    assert got == expected
    # the local wall time is the one written above (not an hour off)
    assert got.astimezone(ZoneInfo(AMS)).replace(tzinfo=None) == expected.replace(tzinfo=None)
    # real time between: the wall-clock difference plus or minus the DST hour
    assert got - created == timedelta(hours=hours_between)
    target = plan.target("respond", priority)
    assert plan.calendar.elapsed(created, got) == timedelta(seconds=target.seconds or 0)


# -- validation: every kind of bad input, with its line and field -----------------------------

BASE = """\
name = "Test desk"
default_plan = "standard"

[calendars.office]
timezone = "Africa/Johannesburg"
mon = ["08:00-18:00"]
tue = ["08:00-12:00", "13:00-18:00"]
holidays = ["2026-12-25"]

[plans.standard]
calendar = "office"
warn = [50, 75]
respond = { critical = "1h", high = "4h", medium = "24h", low = "48h" }

[plans.standard.resolve]
critical = "8h"
high = "best_effort"
medium = "none"
low = "none"
"""
BASE_LINES = BASE.splitlines()
RESPOND = BASE_LINES[12]


def edit(*changes: tuple[int, str | None]) -> str:
    """BASE with lines replaced (1-based; None deletes the line; "\\n" inserts several)."""
    lines: list[str | None] = list(BASE_LINES)
    for number, text in changes:
        lines[number - 1] = text
    return "\n".join(line for line in lines if line is not None) + "\n"


def test_the_base_policy_is_valid():
    policy = parse_policy(BASE, "base.toml")
    plan = policy.plan_for(None)
    assert plan.warn == (50, 75)
    assert plan.target("resolve", H).kind == "best_effort"
    assert plan.calendar.week[1] == ((480, 720), (780, 1080))


BAD = [
    # TOML syntax: tomllib's position, reformatted
    ("syntax bare word", edit((17, "high = best_effort")), 17, "invalid TOML", "Invalid value"),
    ("syntax open string", edit((6, 'mon = ["08:00-18:00]')), 6, "invalid TOML", ""),
    ("syntax duplicate", edit((12, "calendar = 'x'")), 12, "invalid TOML", ""),
    # unknown keys at every level
    ("unknown top key", edit((3, 'colour = "blue"')), 3, "colour", "unknown key"),
    (
        "unknown calendar key",
        edit((8, 'holiday = ["2026-12-25"]')),
        8,
        "calendars.office.holiday",
        "unknown key",
    ),
    ("unknown plan key", edit((12, "warning = [50]")), 12, "plans.standard.warning", "unknown key"),
    (
        "unknown priority inline",
        edit((13, RESPOND.replace(" }", ', urgent = "1h" }'))),
        13,
        "plans.standard.respond.urgent",
        "unknown key",
    ),
    (
        "unknown priority table",
        edit((19, 'urgent = "none"')),
        19,
        "plans.standard.resolve.urgent",
        "unknown key",
    ),
    # wrong types
    (
        "string for list",
        edit((6, 'mon = "08:00-18:00"')),
        6,
        "calendars.office.mon",
        "expected an array",
    ),
    ("number for name", edit((1, "name = 5")), 1, "name", "expected a string"),
    ("empty name", edit((1, 'name = " "')), 1, "name", "must not be empty"),
    ("number in day", edit((6, "mon = [8]")), 6, "calendars.office.mon", "got an integer"),
    (
        "table for zone",
        edit((5, "timezone = { name = 'UTC' }")),
        5,
        "calendars.office.timezone",
        "expected a string",
    ),
    (
        "calendar not a table",
        edit((3, 'calendars.home = "UTC"')),
        3,
        "calendars.home",
        "expected a table",
    ),
    ("boolean warn", edit((12, "warn = [true]")), 12, "plans.standard.warn", "a boolean"),
    # intervals, zones, holidays, opening hours
    (
        "overlap",
        edit((7, 'tue = ["08:00-12:00", "11:00-13:00"]')),
        7,
        "calendars.office.tue",
        "intervals overlap (08:00-12:00, 11:00-13:00)",
    ),
    (
        "overlap unsorted",
        edit((7, 'tue = ["13:00-18:00", "09:00-14:00"]')),
        7,
        "calendars.office.tue",
        "overlap",
    ),
    (
        "inverted",
        edit((6, 'mon = ["18:00-08:00"]')),
        6,
        "calendars.office.mon",
        "ending after it starts",
    ),
    (
        "empty interval",
        edit((6, 'mon = ["08:00-08:00"]')),
        6,
        "calendars.office.mon",
        "ending after it starts",
    ),
    ("past midnight", edit((6, 'mon = ["08:00-25:00"]')), 6, "calendars.office.mon", "08:00-25:00"),
    ("malformed", edit((6, 'mon = ["8am-6pm"]')), 6, "calendars.office.mon", "HH:MM-HH:MM"),
    ("no dash", edit((6, 'mon = ["08:00"]')), 6, "calendars.office.mon", "HH:MM-HH:MM"),
    (
        "unknown zone",
        edit((5, 'timezone = "Mars/Olympus"')),
        5,
        "calendars.office.timezone",
        "unknown time zone",
    ),
    ("missing zone", edit((5, None)), 4, "calendars.office.timezone", "missing"),
    (
        "holiday not a date",
        edit((8, 'holidays = ["25/12/2026"]')),
        8,
        "calendars.office.holidays",
        "not an ISO date",
    ),
    (
        "holiday not a day",
        edit((8, 'holidays = ["2026-02-30"]')),
        8,
        "calendars.office.holidays",
        "2026-02-30",
    ),
    (
        "holiday on its own line",
        edit((8, 'holidays = [\n  "2026-12-25",\n  "2026-13-01",\n]')),
        10,
        "calendars.office.holidays",
        "2026-13-01",
    ),
    (
        "holiday a date-time",
        edit((8, "holidays = [2026-12-25T10:00:00]")),
        8,
        "calendars.office.holidays",
        "date-time",
    ),
    (
        "no opening hours",
        edit((6, "mon = []"), (7, "tue = []")),
        4,
        "calendars.office",
        "no opening hours",
    ),
    ("no days at all", edit((6, None), (7, None)), 4, "calendars.office", "no opening hours"),
    # plans: priorities, clocks, targets, calendars, warn
    (
        "missing priority inline",
        edit((13, RESPOND.replace(', low = "48h"', ""))),
        13,
        "plans.standard.respond.low",
        "missing",
    ),
    ("missing priority table", edit((19, None)), 15, "plans.standard.resolve.low", "missing"),
    ("missing respond", edit((13, None)), 10, "plans.standard.respond", "missing"),
    (
        "missing resolve",
        edit(*((n, None) for n in range(15, 20))),
        10,
        "plans.standard.resolve",
        "missing",
    ),
    (
        "respond not a table",
        edit((13, 'respond = "1h"')),
        13,
        "plans.standard.respond",
        "expected a table",
    ),
    (
        "bad target word",
        edit((18, 'medium = "soon"')),
        18,
        "plans.standard.resolve.medium",
        "expected a duration",
    ),
    (
        "bare number target",
        edit((16, "critical = 8")),
        16,
        "plans.standard.resolve.critical",
        "an integer",
    ),
    (
        "zero target",
        edit((16, 'critical = "0h"')),
        16,
        "plans.standard.resolve.critical",
        "longer than zero",
    ),
    (
        "fractional target",
        edit((16, 'critical = "1.5h"')),
        16,
        "plans.standard.resolve.critical",
        "expected a duration",
    ),
    (
        "months target",
        edit((16, 'critical = "P1M"')),
        16,
        "plans.standard.resolve.critical",
        "years and months have no fixed length",
    ),
    (
        "negative target",
        edit((16, 'critical = "-1h"')),
        16,
        "plans.standard.resolve.critical",
        "expected a duration",
    ),
    (
        "unknown calendar",
        edit((11, 'calendar = "weekend"')),
        11,
        "plans.standard.calendar",
        "no calendar named 'weekend'",
    ),
    ("missing calendar", edit((11, None)), 10, "plans.standard.calendar", "missing"),
    (
        "warn decreasing",
        edit((12, "warn = [75, 50]")),
        12,
        "plans.standard.warn",
        "strictly increasing",
    ),
    (
        "warn repeated",
        edit((12, "warn = [50, 50]")),
        12,
        "plans.standard.warn",
        "strictly increasing",
    ),
    ("warn zero", edit((12, "warn = [0, 50]")), 12, "plans.standard.warn", "from 1 to 99"),
    ("warn hundred", edit((12, "warn = [50, 100]")), 12, "plans.standard.warn", "from 1 to 99"),
    ("warn text", edit((12, 'warn = ["50%"]')), 12, "plans.standard.warn", "a string"),
    ("warn not a list", edit((12, "warn = 50")), 12, "plans.standard.warn", "expected an array"),
    (
        "quoted header",
        edit((15, "[ plans . 'standard' . \"resolve\" ]"), (16, 'critical = "soon"')),
        16,
        "plans.standard.resolve.critical",
        "expected a duration",
    ),
    (
        "bad plan name",
        edit((10, '[plans."my plan"]'), (15, '[plans."my plan".resolve]')),
        10,
        'plans."my plan"',
        "a plan name",
    ),
    # the document: default plan, plans, name
    ("missing default", edit((2, None)), 1, "default_plan", "missing"),
    (
        "unknown default",
        edit((2, 'default_plan = "gold"')),
        2,
        "default_plan",
        "no plan named 'gold'",
    ),
    ("no plans", edit(*((n, None) for n in range(9, 20))), 1, "plans", "missing"),
    (
        "empty plans",
        edit(*((n, None) for n in range(9, 20)), (3, "plans = {}")),
        3,
        "plans",
        "no plans defined",
    ),
    ("no calendars", edit(*((n, None) for n in range(3, 9))), 1, "calendars", "missing"),
    ("missing name", edit((1, None)), 1, "name", "missing"),
    # [desk] timezone (issue 16, item 8): a zone that exists, nothing else in the table
    (
        "desk zone unknown",
        edit((3, '[desk]\ntimezone = "Mars/Olympus"\n')),
        4,
        "desk.timezone",
        "unknown time zone 'Mars/Olympus'",
    ),
    (
        "desk zone a folder",
        edit((3, '[desk]\ntimezone = "Africa"\n')),
        4,
        "desk.timezone",
        "unknown time zone 'Africa'",
    ),
    ("desk zone a number", edit((3, "[desk]\ntimezone = 2\n")), 4, "desk.timezone", "string"),
    ("desk unknown key", edit((3, '[desk]\ncolour = "blue"\n')), 4, "desk.colour", "unknown"),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "fragment"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_policies_are_refused_with_line_and_field(
    text: str, line: int, field: str, fragment: str
):
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "bad.toml")
    message = str(caught.value)
    assert message.startswith(f"bad.toml:{line}: {field}: "), message
    assert fragment in message
    assert "\n" not in message
    assert caught.value.line == line and caught.value.source == "bad.toml"
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2


def test_the_desk_zone_is_the_default_plans_calendar_zone_unless_desk_timezone_says():
    """Issue 16, item 8: one zone for the desk's screens and text: `[desk] timezone`, else the
    zone of the default plan's calendar; `policy show` says which, in text and JSON."""
    plain = parse_policy(BASE, "base.toml")
    assert plain.timezone is None and plain.desk_zone == "Africa/Johannesburg"
    assert "Desk time zone: Africa/Johannesburg (the default plan's calendar" in describe(plain)
    assert to_json(plain)["desk"] == {"timezone": "Africa/Johannesburg", "timezone_set": False}
    set_ = parse_policy(edit((3, '[desk]\ntimezone = "Europe/Amsterdam"\n')), "desk.toml")
    assert set_.timezone == set_.desk_zone == "Europe/Amsterdam"
    assert "Desk time zone: Europe/Amsterdam;" in describe(set_)
    assert to_json(set_)["desk"] == {"timezone": "Europe/Amsterdam", "timezone_set": True}


def test_inline_tables_dotted_and_quoted_keys_are_located():
    text = """\
name = "Located"
default_plan = "p"

[calendars]
main = { timezone = "UTC", mon = ["09:00-17:00"] }
annex.timezone = "UTC"
annex.tue = ["09:00-17:00", "10:00-11:00"]
"""
    with pytest.raises(PolicyError, match=r"^x\.toml:7: calendars\.annex\.tue: intervals overlap"):
        parse_policy(text, "x.toml")
    bad_zone = text.replace('timezone = "UTC", mon', 'timezone = "Nowhere", mon')
    with pytest.raises(PolicyError, match=r"^x\.toml:5: calendars\.main\.timezone: unknown"):
        parse_policy(bad_zone, "x.toml")
    quoted = bad_zone.replace("main =", '"main" =')
    with pytest.raises(PolicyError, match=r"^x\.toml:5: calendars\.main\.timezone: unknown"):
        parse_policy(quoted, "x.toml")
    spaced = bad_zone.replace("main =", '"main office" =')
    with pytest.raises(PolicyError, match=r'^x\.toml:5: calendars\."main office": a calendar name'):
        parse_policy(spaced, "x.toml")
    literal = bad_zone.replace("main =", "'main' =").replace("annex.tue", "'annex' . tue")
    with pytest.raises(PolicyError, match=r"^x\.toml:5: calendars\.main\.timezone"):
        parse_policy(literal, "x.toml")


def test_strings_and_comments_do_not_fool_the_locator():
    text = '''\
name = "Tricky" # [plans.fake] and calendar = "x" in a comment
default_plan = "p"

[calendars.c]
timezone = "UTC"
mon = [
  "09:00-17:00", # a comment inside an array
]

[plans.p]
description = """
[plans.p.respond]
calendar = "nowhere"
"""
warn = [50, 75]
calendar = 'nowhere'
respond = { critical = "1h", high = "1h", medium = "1h", low = "1h" }
resolve = { critical = "none", high = "none", medium = "none", low = "none" }
'''
    with pytest.raises(PolicyError, match=r"^t\.toml:16: plans\.p\.calendar: no calendar named"):
        parse_policy(text, "t.toml")
    fixed = parse_policy(text.replace("'nowhere'", "'c'"), "t.toml")
    assert fixed.plans["p"].description.startswith("[plans.p.respond]")


def _paths(value: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if not isinstance(value, dict):
        return []
    out = []
    for key, item in value.items():
        out.append((*path, key))
        out += _paths(item, (*path, key))
    return out


@pytest.mark.parametrize("name", PRESETS)
def test_every_key_of_every_preset_is_located_on_a_line_naming_it(name: str):
    text = (PRESETS_DIR / f"{name}.toml").read_text("utf-8")
    lines = text.splitlines()
    locator = Locator(text)
    for path in _paths(tomllib.loads(text)):
        assert path in locator.lines, path
        assert path[-1] in lines[locator.line(path) - 1], path


def test_crlf_line_ends_count_the_same():
    text = edit((16, 'critical = "soon"')).replace("\n", "\r\n")
    with pytest.raises(PolicyError, match=r"^<policy>:16: plans\.standard\.resolve\.critical: "):
        parse_policy(text)


def test_a_calendar_that_never_opens_cannot_be_built():
    text = """\
name = "Closed"
default_plan = "p"

[calendars.closed]
timezone = "UTC"
sat = []
sun = []
holidays = ["2026-12-25"]

[plans.p]
calendar = "closed"
respond = { critical = "best_effort", high = "none", medium = "none", low = "none" }
resolve = { critical = "none", high = "none", medium = "none", low = "none" }
"""
    with pytest.raises(
        PolicyError, match=r"^<policy>:4: calendars\.closed: no opening hours at all"
    ):
        parse_policy(text)


def test_holidays_may_be_toml_dates():
    text = BASE.replace('holidays = ["2026-12-25"]', "holidays = [2026-12-25, 2027-01-01]")
    calendar = parse_policy(text).calendars["office"]
    assert sorted(d.isoformat() for d in calendar.holidays) == ["2026-12-25", "2027-01-01"]


def test_syntax_error_at_the_end_of_the_document():
    text = BASE.replace('low = "none"\n', "low = [\n\n")
    with pytest.raises(PolicyError, match=r"^<policy>:19: invalid TOML: .*end of the file"):
        parse_policy(text)


# -- files ------------------------------------------------------------------------------------


def test_load_policy_file(tmp_path: Path):
    good = tmp_path / "office.toml"
    good.write_text(BASE, "utf-8")
    assert load_policy_file(good).text == BASE
    assert load_policy_file(str(good)).digest == hashlib.sha256(BASE.encode()).hexdigest()[:12]

    bad = tmp_path / "bad.toml"
    bad.write_text(edit((7, 'tue = ["08:00-12:00", "11:00-13:00"]')), "utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy_file(bad)
    assert str(caught.value) == (
        f"{bad}:7: calendars.office.tue: intervals overlap (08:00-12:00, 11:00-13:00)"
    )

    with pytest.raises(PolicyError, match=r"^cannot read .*missing\.toml: "):
        load_policy_file(tmp_path / "missing.toml")
    with pytest.raises(PolicyError, match=r"^cannot read .*: "):
        load_policy_file(tmp_path)  # a directory
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_policy_file(bom).text == BASE
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "Caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(PolicyError, match=r"^cannot read .*latin\.toml: not UTF-8"):
        load_policy_file(latin)


# -- the objects ------------------------------------------------------------------------------


def test_policy_plan_for_and_digest():
    policy = load_preset("demo")
    assert policy.plan_for(None).name == "standard"
    assert policy.plan_for("gold").name == "gold"
    assert policy.plan_for("platinum").name == "standard"  # unknown -> the default
    assert policy.digest == hashlib.sha256(policy.text.encode()).hexdigest()[:12]
    assert len(policy.digest) == 12
    assert isinstance(policy, Policy)
    with pytest.raises(TypeError):
        policy.plans["x"] = policy.plans["gold"]  # type: ignore[index]
    assert parse_policy(policy.text) == policy
    assert hash(parse_policy(policy.text)) == hash(policy)


def test_plan_target_clocks():
    plan = load_preset("demo").plans["standard"]
    assert plan.target("respond", "high") == Target("duration", 4 * 3600)
    assert plan.target("resolve", Priority.CRITICAL).seconds == 8 * 3600
    with pytest.raises(ValueError):
        plan.target("acknowledge", Priority.LOW)


def test_targets():
    assert Target.parse("1h30m") == Target("duration", 5400)
    assert Target("duration", 5400).text == "1h30m"
    assert Target("duration", 5400).breachable
    assert Target.parse("best_effort").text == "best_effort"
    assert not Target("best_effort").breachable
    assert Target.parse("none") == Target("none", None)
    assert not Target("none").breachable
    for bad in (("duration", None), ("duration", 0), ("none", 60), ("soon", None)):
        with pytest.raises(ValueError):
            Target(*bad)  # type: ignore[arg-type]


def test_to_json_shape():
    data = to_json(load_preset("demo"))
    office = data["calendars"]["office"]
    assert office["timezone"] == JNB
    assert office["days"]["mon"] == ["08:00-18:00"] and office["days"]["sat"] == []
    assert data["calendars"]["always"]["days"]["sun"] == ["00:00-24:00"]
    assert office["holidays"] == ["2026-12-25", "2026-12-26", "2027-01-01"]
    gold = data["plans"]["gold"]
    assert gold["warn"] == [50, 75, 90]
    assert gold["respond"]["critical"] == {"kind": "duration", "seconds": 14400, "text": "4h"}
    per_incident = data["plans"]["per-incident"]["respond"]["low"]
    assert per_incident == {"kind": "best_effort", "seconds": None, "text": "best_effort"}


def test_describe_shows_hours_holidays_and_the_plan_tables():
    text = describe(load_preset("demo"))
    assert "office  (Africa/Johannesburg, 50 h a week)" in text
    assert "mon-fri 08:00-18:00" in text and "sat-sun closed" in text
    assert "holidays: 2026-12-25, 2026-12-26, 2027-01-01" in text
    assert "every day 00:00-24:00 (24/7)" in text
    assert "standard (default)" in text
    assert "50%, 75%, 90%" in text
    rows = {
        line.split()[0]: line.split()[1:] for line in text.splitlines() if line.startswith("  ")
    }
    assert "Respond within" in text and "Resolve within" in text
    assert rows["hosting-24x7"][-4:] == ["6h", "6h", "6h", "best_effort"]  # the resolve table


# -- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "canonical"),
    [
        ("30m", 1800, "30m"),
        ("4h", 14400, "4h"),
        ("1h30m", 5400, "1h30m"),
        ("2d", 172800, "48h"),
        ("1d12h", 129600, "36h"),
        ("90m", 5400, "1h30m"),
        ("48h", 172800, "48h"),
        ("1d1h1m", 90060, "25h1m"),
        ("90s", 90, "1m30s"),
        ("30s", 30, "30s"),
        ("1h5s", 3605, "1h5s"),
        ("1d1h1m1s", 90061, "25h1m1s"),
        ("PT1H30M", 5400, "1h30m"),
        ("PT90S", 90, "1m30s"),
        ("P1D", 86400, "24h"),
        ("P1DT2H", 93600, "26h"),
        ("P2W", 1209600, "336h"),
        ("pt45m", 2700, "45m"),
        ("PT0H1M", 60, "1m"),
    ],
)
def test_durations(text: str, seconds: int, canonical: str):
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == canonical
    assert parse_duration(canonical) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0m",
        "0h",
        "0d0h0m",
        "-1h",
        "+1h",
        "4",
        "3600",
        "1h30",
        "30s1m",
        "P",
        "PT",
        "P1DT",
        "PT0S",
        "P1Y",
        "P1M",
        "P1Y2M3D",
        "P1.5D",
        "PT1,5H",
        "-PT1H",
        "PT1H30M ",
        "P1H",
        "T1H",
        "P１D",
        "P20000D",
        "h",
        "1H",
        "1 h",
        " 1h",
        "1m1h",
        "1.5h",
        "4hours",
        "best_effort",
        "9000h",
    ],
)
def test_bad_durations(text: str):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("seconds", [0, -60, -1, True, 1.5])
def test_format_duration_refuses_what_parse_cannot_give(seconds: int):
    with pytest.raises(ValueError):
        format_duration(seconds)


@pytest.mark.parametrize("text", ["P1Y", "P1M", "P2Y6M", "P1W1M"])
def test_years_and_months_are_refused_by_name(text: str):
    with pytest.raises(ValueError, match="years and months"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=MAX_DURATION))
def test_duration_round_trip(seconds: int):
    text = format_duration(seconds)
    assert parse_duration(text) == seconds
    assert format_duration(parse_duration(text)) == text


@given(
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=5000),
)
def test_duration_parts_add_up(days: int, hours: int, minutes: int, seconds: int):
    text = (
        (f"{days}d" if days else "")
        + (f"{hours}h" if hours else "")
        + (f"{minutes}m" if minutes else "")
        + (f"{seconds}s" if seconds else "")
    )
    iso = "P" + (f"{days}D" if days else "") + "T" + f"{hours}H{minutes}M{seconds}S"
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total == 0:
        with pytest.raises(ValueError):
            parse_duration(text)
        with pytest.raises(ValueError):
            parse_duration(iso)
    else:
        assert parse_duration(text) == total
        assert parse_duration(iso) == total
        assert parse_duration(format_duration(total)) == total


# -- loading a policy that drops a plan in use (both databases) ----------------------------
def _without_gold(respond_critical: str = "2h") -> str:
    """The demo policy with its gold plan renamed premium (critical response 2 h)."""
    text = load_preset("demo").text.replace("[plans.gold]", "[plans.premium]")
    return text.replace(
        'respond = { critical = "4h", high = "4h"',
        f'respond = {{ critical = "{respond_critical}", high = "4h"',
    )


def _state(desk: Any) -> tuple[Any, ...]:
    """Everything a refused load must leave as it was."""
    q = desk.store.query
    return (
        q("SELECT value FROM settings WHERE key = 'sla_policy'"),
        q("SELECT id, plan FROM accounts ORDER BY id"),
        q("SELECT id, sla_plan, respond_target_s, respond_due FROM tickets ORDER BY id"),
        q("SELECT count(*) FROM audit"),
        q("SELECT count(*) FROM ticket_events"),
    )


def test_a_policy_dropping_a_plan_in_use_is_refused_and_changes_nothing(desk: Any) -> None:
    from supportdesk.services import directory, sla

    new_ticket(desk, priority="critical")
    directory.add_account(desk, "otter", "Otter Ltd", "gold")
    before = _state(desk)
    with pytest.raises(UsageError) as refused:
        sla.load_policy(desk, parse_policy(_without_gold(), "new.toml"))
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("the new policy drops plan 'gold', which 2 accounts use")
    assert "--move-plan gold=PLAN" in message and "nothing was changed" in message
    with pytest.raises(UsageError, match=r"^--move-plan gold=platinum: the new policy has no"):
        sla.load_policy(
            desk, parse_policy(_without_gold(), "new.toml"), move_plans={"gold": "platinum"}
        )
    assert _state(desk) == before


def test_move_plan_moves_the_accounts_and_recomputes_their_open_tickets(desk: Any) -> None:
    from supportdesk.core import audit
    from supportdesk.services import directory, sla

    tid = new_ticket(desk, priority="critical")
    directory.add_account(desk, "otter", "Otter Ltd", "silver")
    assert sla.show(desk, tid).clocks[0].target_s == 4 * 3600  # gold
    result = sla.load_policy(
        desk, parse_policy(_without_gold(), "new.toml"), move_plans={"gold": "premium"}
    )
    assert result.changed and result.moved == (("gold", "premium", 1),)
    assert result.recomputed == 1
    plans = dict(desk.store.query("SELECT id, plan FROM accounts"))
    assert (plans["bluefin"], plans["otter"]) == ("premium", "silver")
    shown = sla.show(desk, tid)
    assert (shown.plan, shown.clocks[0].target_s) == ("premium", 2 * 3600)
    rows = desk.store.query("SELECT action, entity_id FROM audit ORDER BY seq")
    assert rows[-2:] == [("account.plan", "bluefin"), ("sla.policy", "sla_policy")]
    with desk.store.read() as s:
        assert audit.verify(s, desk.audit_key).ok


def test_cli_policy_load_refuses_then_moves_plans(
    cli_env: dict[str, str], desk: Any, tmp_path: Path
) -> None:
    new_ticket(desk, priority="critical")
    new = tmp_path / "new.toml"
    new.write_text(_without_gold(), encoding="utf-8")
    before = _state(desk)
    p = run(cli_env, "policy", "load", str(new))
    assert p.returncode == 2
    assert "drops plan 'gold', which 1 account uses" in one_line_error(p)
    for bad, said in (
        ("gold", "--move-plan 'gold': write it OLD=NEW"),
        ("gold=nope", "--move-plan gold=nope: the new policy has no plan 'nope'"),
    ):
        p = run(cli_env, "policy", "load", str(new), "--move-plan", bad)
        assert p.returncode == 2 and said in one_line_error(p)
    assert _state(desk) == before
    p = run(cli_env, "policy", "load", str(new), "--move-plan", "gold=premium")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == "plan gold -> premium: 1 accounts moved"
    assert "1 open tickets recomputed" in p.stdout
