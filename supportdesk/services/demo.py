"""Build a realistic demo database: staff, accounts, services, contacts and ticket threads.

A demo has to reach a million tickets in under a minute (to show how the console behaves at
that size), so nothing here goes through the ORM. Rows are plain tuples from seeded
`random.Random`s, bulk-loaded on the raw DBAPI connection in one transaction:

- tickets are made in chunks of CHUNK, each with its own random numbers, so any process can
  make any chunk and the result depends only on the seed and `desk.now()`;
- on SQLite, from PARALLEL_MIN tickets, two worker processes make the chunks and write them
  to scratch SQLite files, which this process attaches and copies with INSERT ... SELECT
  (in C, instead of binding every value in Python) while the workers make the next ones;
- secondary indexes are dropped for the load and built afterwards, except the few that are
  cheaper to keep up to date (see `_bulk_indexes`); the load runs in rollback-journal mode
  when it can (see `_SqliteLoader`), and ANALYZE runs at the end.

The texts come from `data/demo/*.toml`: templates with `{slots}`, pre-rendered per seed.

The demo staff is fixed so that documentation can name it (`--as LOGIN`):

=========  ====================  ========  ====
login      name                  role      tier
=========  ====================  ========  ====
lena       Lena Mokoena          lead      3
sipho      Sipho Dlamini         lead      3
amir       Amir Haddad           agent     1
nomsa      Nomsa Khumalo         agent     1
pieter     Pieter van Wyk        agent     1
fatima     Fatima Patel          agent     1
josh       Josh Reed             agent     1
lerato     Lerato Molefe         agent     1
dmitri     Dmitri Volkov         agent     1
chloe      Chloe Martin          agent     1
tomas      Tomas Ferreira        engineer  2
aisha      Aisha Naidoo          engineer  2
ben        Ben Okafor            engineer  2
kaito      Kaito Tanaka          engineer  2
marta      Marta Kowalska        engineer  2
ingrid     Ingrid Larsen         engineer  3
ravi       Ravi Iyer             engineer  3
zanele     Zanele Mthembu        engineer  3
=========  ====================  ========  ====

Logins that already exist (the admin lead made by `init`) are left as they are.

Threads: every ticket starts with a `created` event. Open, scheduled and recent tickets get a
full thread (first response, escalation, holder, follow-ups, status changes); tickets done
more than a week ago keep only their replies, escalations and merges (most were solved in
the first reply), so that a million tickets stay under three events each. The move from
`new` to `open` is implied by the first staff response and gets no event of its own.
`last_activity_at` (and `updated_at`) is the time of the last event; `last_speaker` is who
wrote the last `created`, `reply` or `call` event.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import pickle
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

try:  # POSIX: builds of one demo file take turns (build_demo_file)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Connection, Index, func, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ..core.desk import Desk, Recorder
from ..core.policy import POLICY_KEY, load_preset, policy_from_text
from ..enums import Priority
from ..errors import DeskError, UsageError
from ..models import Account, Base, Setting, Staff, Ticket, sqlite_timestamp
from ..resources import data_path
from ..rules.policy import Plan
from ..rules.sla_engine import CLOCKS, from_history, to_us
from ..store import Store
from . import escalation
from .sla.bulk import CLOCK_FIELDS


@dataclass(frozen=True)
class DemoStaff:
    """One member of the demo desk."""

    login: str
    name: str
    role: str
    tier: int


DEMO_STAFF: tuple[DemoStaff, ...] = (
    DemoStaff("lena", "Lena Mokoena", "lead", 3),
    DemoStaff("sipho", "Sipho Dlamini", "lead", 3),
    DemoStaff("amir", "Amir Haddad", "agent", 1),
    DemoStaff("nomsa", "Nomsa Khumalo", "agent", 1),
    DemoStaff("pieter", "Pieter van Wyk", "agent", 1),
    DemoStaff("fatima", "Fatima Patel", "agent", 1),
    DemoStaff("josh", "Josh Reed", "agent", 1),
    DemoStaff("lerato", "Lerato Molefe", "agent", 1),
    DemoStaff("dmitri", "Dmitri Volkov", "agent", 1),
    DemoStaff("chloe", "Chloe Martin", "agent", 1),
    DemoStaff("tomas", "Tomas Ferreira", "engineer", 2),
    DemoStaff("aisha", "Aisha Naidoo", "engineer", 2),
    DemoStaff("ben", "Ben Okafor", "engineer", 2),
    DemoStaff("kaito", "Kaito Tanaka", "engineer", 2),
    DemoStaff("marta", "Marta Kowalska", "engineer", 2),
    DemoStaff("ingrid", "Ingrid Larsen", "engineer", 3),
    DemoStaff("ravi", "Ravi Iyer", "engineer", 3),
    DemoStaff("zanele", "Zanele Mthembu", "engineer", 3),
)


@dataclass(frozen=True)
class DemoResult:
    """What `build_demo` made, and how long it took."""

    tickets: int
    accounts: int
    staff: tuple[DemoStaff, ...]
    seconds: float

    def _first(self, role: str, min_tier: int = 1) -> str:
        for member in self.staff:
            if member.role == role and member.tier >= min_tier:
                return member.login
        raise LookupError(f"no demo staff member with role {role}")

    @property
    def lead_login(self) -> str:
        return self._first("lead")

    @property
    def agent_login(self) -> str:
        return self._first("agent")

    @property
    def engineer_login(self) -> str:
        return self._first("engineer", 2)


Row = tuple[Any, ...]
StaffRow = tuple[int, str, int, str, str, str]  # id, login, tier, role, first name, name

DAYS = 90  # tickets span this many days before now
SEC = 1_000_000  # all times are integer microseconds since the epoch while generating
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
LOCAL_OFFSET_US = 2 * HOUR  # times quoted in ticket texts are in SAST (UTC+2)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK = 20_000  # tickets per generation unit (own random numbers) and per progress call
BUSY_WAIT_S = 5.0  # how long settling a file waits for another connection
PARALLEL_MIN = 100_000  # from this many tickets (SQLite) worker processes make them
# Tickets picked to be active: new+open 20 %, awaiting authorization 2 %, pending 3 %,
# scheduled 1 %, plus the stale urgent ones that are then closed instead (STALE_AFTER_US).
ACTIVE_SHARE = 0.28
AUTO_CLOSE_US = 4 * DAY  # resolved tickets close by themselves after this
RECENT_US = 7 * DAY  # done tickets younger than this keep their full thread
ADMIN_REQUESTS = ("password_reset", "contact_change", "cancellation", "billing")

STATUS_SHARES = (
    ("open", 20),
    ("awaiting_authorization", 2),
    ("pending_customer", 3),
    ("scheduled", 1),
)
RESOLUTION_SHARES = (
    ("fixed", 84),
    ("duplicate", 4),
    ("out_of_scope", 3),
    ("no_response", 5),
    ("not_authorized", 2),
    ("unlisted_sender", 2),
)
PRIORITY_SHARES = (3, 12, 45, 40)  # critical, high, medium, low
CHANNEL_SHARES = (("phone", 30), ("email", 35), ("chat", 12), ("portal", 23))
# Local hours at which tickets arrive: busy in office hours, a trickle at night.
HOUR_SHARES = (1, 1, 1, 1, 1, 2, 3, 6, 10, 11, 11, 10, 8, 9, 10, 9, 8, 6, 4, 3, 3, 2, 2, 1)
PRIORITY_NAMES = ("critical", "high", "medium", "low")
FIRST_RESPONSE_US = (12 * MIN, 50 * MIN, 3 * HOUR, 8 * HOUR)  # typical, by priority rank
RESOLVE_US = (2 * HOUR, 8 * HOUR, 30 * HOUR, 60 * HOUR)
STALE_AFTER_US = (2 * DAY, 7 * DAY, 10_000 * DAY, 10_000 * DAY)  # no older active ticket
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

TICKET_COLUMNS = (
    "id",
    "account_id",
    "contact_id",
    "caller_name",
    "caller_phone",
    "service_id",
    "request_type",
    "subject",
    "description",
    "category",
    "priority_rank",
    "channel",
    "status",
    "tier",
    "created_at",
    "updated_at",
    "first_response_at",
    "resolved_at",
    "resolution_code",
    "holder_id",
    "merged_into_id",
    "last_speaker",
    "last_activity_at",
    "tier_since",  # when it reached its tier: created, or its `tier` event (the boards' order)
    # its escalation (numbered like the ticket: escalation.backfill writes the rows) and how
    # many times it went up
    "escalation_id",
    "escalations",
    # the SLA clocks the ticket's history implies (sla_engine.from_history)
    "sla_plan",
    "sla_key",
    *(f"{clock}_{field}" for clock in CLOCKS for field in CLOCK_FIELDS),
)
EVENT_COLUMNS = (  # no id: the database numbers events in insertion order
    "ticket_id",
    "kind",
    "staff_id",
    "from_customer",
    "visible",
    "body",
    "call_outcome",
    "old_value",
    "new_value",
    "created_at",
)

# The generator's rows are compact, because binding values is the slow part of writing
# them (None is the slowest): 0 or "" stand for NULL, `updated_at` is left out (it equals
# `last_activity_at`), and an event's kind, flags and call outcome are one shape code.
# `_ticket_row` / `_event_row` (or the SQL in `_SqliteLoader.copy_part`) expand them.
TICKET_ROW = tuple(c for c in TICKET_COLUMNS if c != "updated_at")
NULL_AS: dict[str, int | str] = {
    "escalation_id": 0,
    "contact_id": 0,
    "caller_name": "",
    "caller_phone": "",
    "service_id": 0,
    "first_response_at": "",
    "resolved_at": "",
    "resolution_code": "",
    "holder_id": 0,
    "merged_into_id": 0,
    **{f"{clock}_{field}": "" for clock in CLOCKS for field in ("since", "due", "paused")},
    **{f"{clock}_target_s": 0 for clock in CLOCKS},  # a target is never zero
}
LAST_ACTIVITY = TICKET_ROW.index("last_activity_at")
# How a ticket's resolve clock was held (paused) before it closed or while it stands.
HELD_BY = {"no_response": "pending_customer", "not_authorized": "awaiting_authorization"}
HELD_STATUSES = frozenset({"pending_customer", "awaiting_authorization"})
EVENT_ROW = ("ticket_id", "shape", "staff_id", "body", "old_value", "new_value", "created_at")
# shape code -> (kind, from_customer, visible, call_outcome)
SHAPES: tuple[tuple[str, int, int, str | None], ...] = (
    ("created", 1, 1, None),
    ("reply", 0, 1, None),
    ("reply", 1, 1, None),
    ("status", 0, 0, None),
    ("tier", 0, 0, None),
    ("holder", 0, 0, None),
    ("note", 0, 0, None),
    ("merge", 0, 0, None),
    ("call", 0, 0, "spoke"),
    ("call", 0, 0, "voicemail"),
    ("call", 0, 0, "no_answer"),
)
SHAPE_CODES = {(kind, outcome): code for code, (kind, _c, _v, outcome) in enumerate(SHAPES)}


def _case(field: int) -> str:
    """SQL giving one SHAPES field from an event's `shape` code."""
    whens = " ".join(
        f"WHEN {code} THEN {'NULL' if shape[field] is None else repr(shape[field])}"
        for code, shape in enumerate(SHAPES)
    )
    return f"CASE shape {whens} END"


def _ticket_row(row: Row) -> Row:
    """A generated ticket row as TICKET_COLUMNS (NULLs back, `updated_at` added)."""
    full = [
        None if name in NULL_AS and value == NULL_AS[name] else value
        for name, value in zip(TICKET_ROW, row, strict=True)
    ]
    full.insert(TICKET_COLUMNS.index("updated_at"), row[LAST_ACTIVITY])
    return tuple(full)


def _event_row(row: Row) -> Row:
    """A generated event row as EVENT_COLUMNS."""
    ticket_id, shape, staff_id, body, old, new, at = row
    kind, from_customer, visible, outcome = SHAPES[shape]
    return (
        ticket_id, kind, staff_id or None, from_customer, visible, body or None, outcome,
        old or None, new or None, at,
    )  # fmt: skip


ACCOUNT_COLUMNS = (
    "id",
    "company",
    "plan",
    "status",
    "suspended_reason",
    "notes",
    "reseller_id",
    "created_at",
)
SERVICE_COLUMNS = ("id", "account_id", "kind", "label", "domains", "server", "created_at")
CONTACT_COLUMNS = ("id", "account_id", "name", "role", "active", "created_at")
POINT_COLUMNS = ("id", "contact_id", "kind", "value")

TICKET_TABLES = ("tickets", "ticket_events")
BULK_TABLES = ("accounts", "services", "contacts", "contact_points", "tickets", "ticket_events")


# ---------------------------------------------------------------------------- fixtures
@dataclass(frozen=True)
class _Template:
    """One kind of request from tickets.toml."""

    category: str
    request: str
    priority_rank: int
    tier: int
    service: tuple[str, ...]
    subject: str
    description: str
    fix: str
    ask: str | None


@dataclass(frozen=True)
class _Fixtures:
    people: dict[str, Any]
    accounts: dict[str, Any]
    templates: tuple[_Template, ...]
    weights: tuple[int, ...]
    thread: dict[str, Any]


@lru_cache(maxsize=1)
def _fixtures() -> _Fixtures:
    """The demo texts, read once per process (they ship in `data/demo/`)."""

    def load(name: str) -> dict[str, Any]:
        with data_path("demo", name).open("rb") as fh:
            return tomllib.load(fh)

    tickets = load("tickets.toml")
    templates = tuple(
        _Template(
            category=t["category"],
            request=t["request"],
            priority_rank=PRIORITY_NAMES.index(t["priority"]),
            tier=int(t["tier"]),
            service=tuple(t["service"]),
            subject=t["subject"],
            description=t["description"],
            fix=t["fix"],
            ask=t.get("ask"),
        )
        for t in tickets["template"]
    )
    weights = tuple(int(t.get("weight", 1)) for t in tickets["template"])
    return _Fixtures(
        load("people.toml"), load("accounts.toml"), templates, weights, tickets["thread"]
    )


def _table(pairs: Sequence[tuple[Any, int]]) -> list[Any]:
    """A list in which each value appears `weight` times, so that a weighted choice costs
    one random number: `t[int(random() * len(t))]`."""
    out: list[Any] = []
    for value, weight in pairs:
        out.extend([value] * weight)
    return out


# Slots filled per ticket (from the account, the caller and the time); every other slot of a
# template is filled once per pre-rendered variant.
TICKET_SLOTS = frozenset(
    {
        "account", "domain", "server", "mx", "first", "plan", "time", "earlier", "date",
        "day", "dbname", "tier", "when", "other",
    }
)  # fmt: skip
VARIANTS = 128  # pre-rendered variants per template


def _percent(text: str) -> str:
    """A `{slot}` text as a `%(slot)s` one: `text % slots` formats it in C, which is what
    keeps a million tickets' texts affordable."""
    return re.sub(r"\{(\w+)\}", r"%(\1)s", text.replace("%", "%%"))


class _VariantSlots(dict[str, str]):
    """Fills a template's one-off slots (invoice number, IP, ...) with fresh values and
    leaves the per-ticket ones as `%(slot)s` for later."""

    def __init__(self, gen: _Generator) -> None:
        super().__init__()
        self.gen = gen

    def __missing__(self, key: str) -> str:
        if key in TICKET_SLOTS:
            value = f"%({key})s"
        elif key == "mailbox":
            box = ("info", "accounts", "orders", "sales", "office", "admin")
            value = f"{box[self.gen.rng.randrange(len(box))]}@%(domain)s"
        elif key == "db":
            value = f"%(dbname)s_{('wp', 'shop', 'app', 'crm')[self.gen.rng.randrange(4)]}"
        else:
            value = self.gen.one_off(key)
        self[key] = value
        return value


@dataclass(frozen=True)
class _Variant:
    """One pre-rendered request: `%`-style texts that need only the per-ticket slots."""

    subject: str
    description: str
    fix: str
    ask: str | None


# ------------------------------------------------------------------------------- times
class _Times:
    """Turns integer microseconds into what the driver is given: on SQLite the exact text of
    `sqlite_timestamp`, on PostgreSQL an aware datetime. Times are kept to the millisecond.

    On SQLite the text is built from two tables (date-and-minute, second-and-millisecond)
    covering the demo's days, because formatting a datetime per value would cost seconds at
    a million tickets; each day's date part comes from `sqlite_timestamp` itself.
    """

    SECONDS = tuple(f"{ms // 1000:02d}.{ms % 1000:03d}000" for ms in range(60_000))
    HOURS_MINUTES = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440))

    def __init__(self, sqlite: bool, start: int = 0, days: int = 0) -> None:
        self.sqlite = sqlite
        self.base = start // DAY * 1440  # first minute the table covers
        self.minutes: list[str] = []
        self.dates: dict[int, str] = {}  # day -> date part, for times outside the table
        for day in range(days if sqlite else 0):
            date = sqlite_timestamp(EPOCH + timedelta(minutes=self.base + day * 1440))[:11]
            self.minutes.extend(date + hm for hm in self.HOURS_MINUTES)
        self.text: Callable[[int], Any] = self._text_maker() if sqlite else self._datetime

    def __call__(self, us: int) -> Any:
        return self.text(us)

    def _text_maker(self) -> Callable[[int], str]:
        """The hot path as a closure over its tables (cheaper than attribute lookups)."""
        minutes, seconds, base, covered = self.minutes, self.SECONDS, self.base, len(self.minutes)
        outside = self._outside

        def text(us: int, minute: int = MIN) -> str:
            index = us // minute - base
            if 0 <= index < covered:
                return minutes[index] + seconds[us % minute // 1000]
            return outside(us)

        return text

    def _outside(self, us: int) -> str:
        day, rest = divmod(us, DAY)
        date = self.dates.get(day)
        if date is None:
            date = self.dates[day] = sqlite_timestamp(EPOCH + timedelta(days=day))[:11]
        return date + self.HOURS_MINUTES[rest // MIN] + self.SECONDS[rest % MIN // 1000]

    @staticmethod
    def _datetime(us: int) -> datetime:
        return EPOCH + timedelta(microseconds=us // 1000 * 1000)


# --------------------------------------------------------------------------- directory
class _Acct:
    """What ticket generation needs to know about one account."""

    __slots__ = ("contacts", "dbname", "domains", "id", "kinds", "mx", "plan", "server")

    def __init__(self, account_id: str, plan: str) -> None:
        self.id = account_id
        self.plan = plan
        self.dbname = account_id.replace("-", "")[:8]
        self.domains: list[str] = []
        self.kinds: dict[str, tuple[int, str | None]] = {}  # kind -> (service id, server)
        self.server = ""
        self.mx = ""
        self.contacts: list[tuple[int, str]] = []  # (contact id, first name), primary first

    def state(self) -> tuple[Any, ...]:
        """The account as a plain tuple, which pickles far faster than the object."""
        return (self.id, self.plan, self.domains, self.kinds, self.server, self.mx, self.contacts)

    @classmethod
    def from_state(cls, state: tuple[Any, ...]) -> _Acct:
        acct = cls(state[0], state[1])
        acct.domains, acct.kinds, acct.server, acct.mx, acct.contacts = state[2:]
        return acct


class _Slots(dict[str, str]):
    """One ticket's slot values; the rarer ones are made only when a text asks for them."""

    __slots__ = ("gen", "t0")
    gen: _Generator
    t0: int

    def __missing__(self, key: str) -> str:
        t0 = self.t0
        if key == "date":
            value = self.gen.local_day(t0)[0]
        elif key == "day":
            value = self.gen.local_day(t0 - DAY * self.gen.rng.randrange(3))[1]
        elif key == "when":
            local = self.gen.local_date(t0)
            saturday = local + timedelta(days=(5 - local.weekday()) % 7 or 7)
            value = f"Saturday {saturday:%d %b} 02:00-04:00 SAST"
        else:
            raise KeyError(key)
        self[key] = value
        return value


@dataclass
class _Directory:
    accounts: list[Row]
    services: list[Row]
    contacts: list[Row]
    points: list[Row]


class _Generator:
    """Generates every demo row as tuples, deterministically from the seed and `now`."""

    CLOCK = tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(1440))

    def __init__(
        self,
        seed: int,
        now: datetime,
        n_tickets: int,
        sqlite: bool,
        chunk_size: int = 0,
        policy_text: str | None = None,
    ) -> None:
        self.seed = seed
        self.policy_text = policy_text
        self.policy = policy_from_text(policy_text) if policy_text else load_preset("demo")
        self.chunk_size = chunk_size or CHUNK
        self.rng = random.Random(f"{seed}:directory")  # replaced for each later stage
        self.now = to_us(now)
        self.n_tickets = n_tickets
        self.ts = _Times(sqlite, self.now - (DAYS + 2) * DAY, DAYS + 25).text
        self.dates: dict[int, tuple[str, str]] = {}  # local day -> (date, weekday)
        self.fx = _fixtures()
        self.accts: list[_Acct] = []
        people = self.fx.people
        self.first_names: list[str] = people["first_names"]
        self.last_names: list[str] = people["last_names"]
        self.month = datetime.fromtimestamp((self.now - 35 * DAY) / SEC, UTC).strftime("%Y-%m")

    # -- small helpers -------------------------------------------------------------------
    def person(self) -> tuple[str, str]:
        r = self.rng.random
        first = self.first_names[int(r() * len(self.first_names))]
        return first, self.last_names[int(r() * len(self.last_names))]

    def phone(self) -> str:
        r = self.rng.random
        if r() < 0.93:
            return f"+27{60 + int(r() * 25)}{int(r() * 10_000_000):07d}"
        return f"+316{int(r() * 100_000_000):08d}"

    def local_date(self, us: int) -> datetime:
        return datetime.fromtimestamp((us + LOCAL_OFFSET_US) / SEC, UTC)

    def local_day(self, us: int) -> tuple[str, str]:
        """The local date and weekday name of a time (cached per day)."""
        day = (us + LOCAL_OFFSET_US) // DAY
        found = self.dates.get(day)
        if found is None:
            local = self.local_date(us)
            found = self.dates[day] = (local.strftime("%Y-%m-%d"), WEEKDAYS[local.weekday()])
        return found

    def one_off(self, key: str) -> str:
        """A value for a slot that changes from one variant of a template to the next."""
        r = self.rng.random
        if key == "month":
            return self.month
        if key == "n":
            return str(240_000 + int(r() * 90_000))
        if key == "amount":
            return f"{150 + int(r() * 4800):,}.{(0, 50, 99)[int(r() * 3)]:02d}"
        if key == "ip":
            a = (41, 102, 105, 196, 197)[int(r() * 5)]
            return f"{a}.{int(r() * 256)}.{int(r() * 256)}.{1 + int(r() * 254)}"
        if key == "pct":
            return str(91 + int(r() * 9))
        if key == "php":
            return ("8.1", "8.2", "8.3")[int(r() * 3)]
        if key == "count":
            return str(3 + int(r() * 38))
        if key == "last4":
            return f"{int(r() * 10_000):04d}"
        if key == "sender":
            first, last = self.person()
            mail = self.fx.people["free_mail"]
            return f"{first.lower()}.{last.lower().replace(' ', '')}@{mail[int(r() * len(mail))]}"
        raise KeyError(f"unknown slot {{{key}}} in data/demo/tickets.toml")

    def variants(self) -> list[list[_Variant]]:
        """VARIANTS pre-rendered variants of every template, one-off slots filled."""
        out = []
        for tpl in self.fx.templates:
            rendered = []
            for _ in range(VARIANTS):
                fill = _VariantSlots(self)
                rendered.append(
                    _Variant(
                        subject=tpl.subject.replace("%", "%%").format_map(fill),
                        description=tpl.description.replace("%", "%%").format_map(fill),
                        fix=self.fx.thread["resolved"]
                        .replace("%", "%%")
                        .replace("{fix}", tpl.fix.replace("%", "%%"))
                        .format_map(fill),
                        ask=tpl.ask.replace("%", "%%").format_map(fill) if tpl.ask else None,
                    )
                )
            out.append(rendered)
        return out

    # -- directory -----------------------------------------------------------------------
    def account_ids(self, n: int) -> list[tuple[str, str, str]]:
        """`n` unique username-like ids, each with a company name and a main domain."""
        r = self.rng.random
        acc = self.fx.accounts
        firsts: list[str] = acc["name_first"]
        seconds: list[str] = acc["name_second"]
        forms: list[str] = acc["legal_forms"]
        tlds: list[str] = acc["tlds"]
        seen: set[str] = set()
        out: list[tuple[str, str, str]] = []
        while len(out) < n:
            a = firsts[int(r() * len(firsts))]
            b = seconds[int(r() * len(seconds))]
            pattern = r()
            if pattern < 0.6 or len(out) < 50:
                account_id = f"{a}-{b}"
            elif pattern < 0.8:
                account_id = f"{a.replace('-', '')}{b}"
            else:
                account_id = f"{a}-{b}{2 + int(r() * 98)}"
            if account_id in seen:
                continue
            seen.add(account_id)
            words = " ".join(w.capitalize() for w in f"{a}-{b}".split("-"))
            company = f"{words} {forms[int(r() * len(forms))]}".strip()
            host = account_id if r() < 0.7 else account_id.replace("-", "")
            out.append((account_id, company, f"{host}.{tlds[int(r() * len(tlds))]}"))
        return out

    def directory(self, n_accounts: int) -> _Directory:
        """Rows for accounts, services, contacts and contact points. Resellers come first so
        that their customers' `reseller_id` points at a row already inserted."""
        r = self.rng.random
        ts = self.ts
        fx = self.fx.accounts
        people = self.fx.people
        plans = _table(list(fx["plans"].items()))
        cfg = fx["accounts"]
        reasons: list[str] = cfg["suspended_reasons"]
        notes: list[str] = cfg["notes"]
        labels: dict[str, list[str]] = fx["services"]
        roles: list[str] = fx["servers"]["managed_roles"]
        sites: list[str] = fx["servers"]["sites"]
        shared_hosts = int(fx["servers"]["shared_hosts"])
        mail_hosts = int(fx["servers"]["mail_hosts"])
        free_mail: list[str] = people["free_mail"]
        role_boxes: list[str] = people["role_mailboxes"]
        agencies: list[str] = people["agencies"]
        tlds: list[str] = fx["tlds"]
        managed_count: dict[str, int] = {}
        mailname = {n: n.lower().replace(" ", "") for n in self.first_names + self.last_names}
        n_resellers = max(1, round(n_accounts * cfg["reseller_share"]))
        ids = self.account_ids(n_accounts)
        out = _Directory([], [], [], [])
        services, contacts, points = out.services, out.contacts, out.points
        now = self.now
        sid = itertools.count(1).__next__
        cid = itertools.count(1).__next__
        pid = itertools.count(1).__next__

        def label(kind: str) -> str:
            return labels[kind][int(r() * len(labels[kind]))]

        for index, (account_id, company, domain) in enumerate(ids):
            acct = _Acct(account_id, plans[int(r() * len(plans))])
            created = ts(now - DAYS * DAY - int(r() * 7 * 365 * DAY))
            domains = [domain]
            if r() < 0.25:
                extra = account_id.replace("-", "") if r() < 0.5 else account_id
                domains.append(f"{extra}.{tlds[int(r() * len(tlds))]}")
            if r() < 0.08:
                domains.append(f"{account_id}-shop.co.za")
            acct.domains = domains
            all_domains = " ".join(domains)
            site = sites[int(r() * len(sites))]
            acct.mx = mx = f"mx-{1 + int(r() * mail_hosts):02d}"
            is_reseller = index < n_resellers
            reseller_id = None
            if not is_reseller and r() < cfg["reseller_customer_share"]:
                reseller_id = ids[int(r() * n_resellers)][0]
            # the hosting: reseller, shared, or one or two managed servers
            if is_reseller or r() < 0.82:
                kind = "reseller" if is_reseller else "shared_hosting"
                server = f"web-{site}-{1 + int(r() * shared_hosts):02d}"
                number = sid()
                services.append(
                    (number, account_id, kind, label(kind), all_domains, server, created)
                )
                acct.kinds[kind] = (number, server)
                acct.server = server
            else:
                for k in range(1 if r() < 0.6 else 2):
                    role = "web" if k == 0 else roles[int(r() * len(roles))]
                    key = f"{role}-{site}"
                    managed_count[key] = count = managed_count.get(key, 100) + 1
                    server = f"{key}-{count:03d}"
                    number = sid()
                    text = f"{label('managed_server')} ({server})"
                    services.append(
                        (number, account_id, "managed_server", text,
                         all_domains if k == 0 else "", server, created)
                    )  # fmt: skip
                    if k == 0:
                        acct.kinds["managed_server"] = (number, server)
                        acct.server = server
            if r() < 0.7:
                number = sid()
                services.append((number, account_id, "email", label("email"), domain, mx, created))
                acct.kinds["email"] = (number, mx)
            if r() < 0.85:
                number = sid()
                services.append(
                    (number, account_id, "domain", label("domain"), all_domains, None, created)
                )
                acct.kinds["domain"] = (number, None)
            # status and pinned note
            first, last = self.person()
            status, reason, note = "active", None, ""
            suspended = r() < cfg["suspended_share"]
            noted = r() < cfg["notes_share"]
            if suspended or noted:
                slots = {
                    "month": self.month,
                    "domain": domain,
                    "server": acct.server,
                    "n": str(230_000 + int(r() * 90_000)),
                    "first": first,
                    "date": self.local_date(now + int(r() * 40 * DAY)).strftime("%d %b"),
                    "amount": f"{500 + 50 * int(r() * 60):,}",
                    "reseller": reseller_id or "",
                }
                if suspended:
                    status = "suspended"
                    reason = reasons[int(r() * len(reasons))].format_map(slots)
                if noted:
                    note = notes[int(r() * len(notes))]
                    if "{reseller}" in note and not reseller_id:
                        note = ""
                    note = note.format_map(slots)
            out.accounts.append(
                (account_id, company, acct.plan, status, reason, note, reseller_id, created)
            )
            # contacts: a primary, usually a secondary (off-server), 0-3 authorized, and
            # sometimes a sub-account for an outside developer
            here = [(first, last, "primary", "domain")]
            if r() < 0.85:
                here.append((*self.person(), "secondary", "free"))
            u = r()
            for _ in range(0 if u < 0.4 else 1 if u < 0.7 else 2 if u < 0.9 else 3):
                here.append((*self.person(), "authorized", "domain"))
            if r() < 0.2:
                here.append((*self.person(), "subaccount", "agency"))
            for first_name, last_name, role_name, where in here:
                number = cid()
                contacts.append(
                    (number, account_id, f"{first_name} {last_name}", role_name, 1, created)
                )
                acct.contacts.append((number, first_name))
                local = f"{mailname[first_name]}.{mailname[last_name]}"
                if where == "free":
                    mail = f"{local}@{free_mail[int(r() * len(free_mail))]}"
                elif where == "agency":
                    mail = f"{local}@{agencies[int(r() * len(agencies))]}"
                else:
                    mail = f"{local}@{domain}"
                points.append((pid(), number, "email", mail))
                if r() < 0.3:
                    box = role_boxes[int(r() * len(role_boxes))]
                    points.append((pid(), number, "email", f"{box}@{domain}"))
                points.append((pid(), number, "phone", self.phone()))
            self.accts.append(acct)
        return out

    # ----------------------------------------------------------------------------- tickets
    def created_times(self) -> list[int]:
        """Creation times of all tickets, oldest first: denser towards now, busier in office
        hours."""
        r = self.rng.random
        now = self.now
        hours = _table(list(enumerate(HOUR_SHARES)))
        local_midnight = (now + LOCAL_OFFSET_US) // DAY * DAY - LOCAL_OFFSET_US
        out = []
        for _ in range(self.n_tickets):
            t = local_midnight - int(DAYS * r() ** 1.6) * DAY
            t += hours[int(r() * len(hours))] * HOUR + int(r() * HOUR)
            if t >= now:
                t = now - int(r() * min(now - local_midnight, 6 * HOUR)) - SEC
            out.append(t)
        out.sort()
        return out

    def prepare(self, staff: list[StaffRow]) -> None:
        """Everything the ticket chunks share: creation times and the active threshold (these
        need only the seed), then the ticket maker (this needs the directory)."""
        if not hasattr(self, "created"):
            self.rng = random.Random(f"{self.seed}:created")
            self.created = self.created_times()
            # A ticket is still active when age x a random factor is below the threshold
            # that makes ACTIVE_SHARE of them active (estimated on a sample): mostly the
            # recent ones.
            r = self.rng.random
            step = max(1, len(self.created) // 50_000)
            sample = sorted((self.now - t) * (r() + 0.03) for t in self.created[::step])
            self.threshold = sample[min(len(sample) - 1, int(len(sample) * ACTIVE_SHARE))]
        if self.accts:
            self.maker = _Tickets(self, staff)

    @property
    def n_chunks(self) -> int:
        return -(-self.n_tickets // self.chunk_size)

    def chunk(self, number: int) -> tuple[list[Row], list[Row]]:
        """Tickets number*chunk_size+1 .. and their events. Each chunk has its own random
        numbers, so chunks can be made in any order, by any process, with the same result."""
        maker = self.maker
        maker.start(random.Random(f"{self.seed}:chunk:{number}"))
        size = self.chunk_size
        start = number * size
        threshold = self.threshold
        rows = [
            maker.ticket(tid, t0, threshold)
            for tid, t0 in enumerate(self.created[start : start + size], start + 1)
        ]
        return rows, maker.take_events()


class _Tickets:
    """Makes one ticket and its thread at a time (the hot loop of the demo)."""

    def __init__(self, gen: _Generator, staff: list[StaffRow]) -> None:
        fx = gen.fx
        lists: dict[str, list[str]] = {
            k: [_percent(x) for x in v] for k, v in fx.thread.items() if isinstance(v, list)
        }
        th: dict[str, str] = {k: _percent(v) for k, v in fx.thread.items() if isinstance(v, str)}
        self.gen = gen
        gen.rng = random.Random(f"{gen.seed}:variants")
        self.r = gen.rng.random
        self.ts = gen.ts
        self.now = gen.now
        self.accts = gen.accts
        self.templates = fx.templates
        self.variants = gen.variants()
        self.tpl_table = _table(list(zip(range(len(fx.templates)), fx.weights, strict=True)))
        self.admin_table = [i for i in self.tpl_table if fx.templates[i].request in ADMIN_REQUESTS]
        self.status_table = _table(STATUS_SHARES)
        self.code_table = _table(RESOLUTION_SHARES)
        self.prio_table = _table(list(enumerate(PRIORITY_SHARES)))
        self.chan_table = _table(CHANNEL_SHARES)
        agents = [s for s in staff if s[3] == "agent"] or staff
        self.agents = agents
        # who may hold a ticket of each tier: tier >= the ticket's, leads only if needed
        self.holders = {
            tier: [s for s in staff if s[2] >= tier and s[3] != "lead"]
            or [s for s in staff if s[2] >= tier]
            or staff
            for tier in (1, 2, 3)
        }
        self.holders[1] = agents
        self.signoffs = {s[0]: [x % {"agent": s[4]} for x in lists["signoff"]] for s in staff}
        self.unlisted_roles: list[str] = fx.people["unlisted_roles"]
        self.free_mail: list[str] = fx.people["free_mail"]
        self.greeting: list[str] = lists["greeting"]
        self.acknowledge: list[str] = lists["acknowledge"]
        self.followups: list[str] = lists["customer_followup"]
        self.asks: list[str] = lists["asks"]
        self.escalate: list[str] = lists["escalate"]
        self.internal: list[str] = lists["internal"]
        self.calls: list[str] = lists["calls"]
        self.scheduled: list[str] = lists["scheduled"]
        self.awaiting: list[str] = lists["awaiting_authorization"]
        self.th = th
        # account index -> its latest ticket (id, template, variant), for duplicates
        self.last_ticket: dict[int, tuple[int, int, int]] = {}
        self.events: list[Row] = []
        self.tier_at: Any = ""  # the current ticket's tier_since
        self.plans: dict[str, Plan] = {}
        self.targets: dict[tuple[str, int], tuple[tuple[int | None, bool], ...]] = {}

    def start(self, rng: random.Random) -> None:
        """Begin a chunk: its own random numbers, and duplicates only within it."""
        self.gen.rng = rng
        self.r = rng.random
        self.last_ticket = {}

    def take_events(self) -> list[Row]:
        events, self.events = self.events, []
        return events

    # -- events (columns as EVENT_COLUMNS; booleans as 0/1) --------------------------------
    # -- events, as EVENT_ROW (shape codes and sentinels, see there) -----------------------
    def reply(self, tid: int, staff: int | None, body: str, at: Any, customer: int = 0) -> None:
        self.events.append((tid, 2 if customer else 1, staff or 0, body, "", "", at))

    def status(self, tid: int, staff: int | None, old: str, new: str, at: Any) -> None:
        self.events.append((tid, 3, staff or 0, "", old, new, at))

    def event(
        self,
        tid: int,
        kind: str,
        staff: int | None,
        at: Any,
        body: str = "",
        old: str = "",
        new: str = "",
        outcome: str | None = None,
    ) -> None:
        self.events.append((tid, SHAPE_CODES[kind, outcome], staff or 0, body, old, new, at))

    def letter(self, slots: _Slots, body: str, staff: StaffRow) -> str:
        """A staff reply as the customer sees it: greeting, text, sign-off."""
        r = self.r
        hello = self.greeting[int(r() * len(self.greeting))] % slots
        bye = self.signoffs[staff[0]]
        return f"{hello}\n\n{body}\n\n{bye[int(r() * len(bye))]}"

    def pick(self, items: list[str], slots: _Slots) -> str:
        return items[int(self.r() * len(items))] % slots

    # -- one ticket ------------------------------------------------------------------------
    def ticket(self, tid: int, t0: int, threshold: float) -> Row:
        r = self.r
        ts = self.ts
        now = self.now
        age = now - t0
        index = int(len(self.accts) * r() ** 2)  # a few accounts call a lot
        acct = self.accts[index]
        # how it ends (or where it stands)
        code: str | None = None
        if age * (r() + 0.03) < threshold:
            status = self.status_table[int(r() * len(self.status_table))]
            if status == "open" and r() < (0.55 if age < DAY else 0.12):
                status = "new"
        else:
            status = "done"
            code = self.code_table[int(r() * len(self.code_table))]
            if code in ("no_response", "not_authorized") and age < 8 * DAY:
                code = "fixed"  # those take a week to close
        admin = status == "awaiting_authorization" or code == "not_authorized"
        table = self.admin_table if admin else self.tpl_table
        number = table[int(r() * len(table))]
        which = int(r() * VARIANTS)
        previous = self.last_ticket.get(index) if code == "duplicate" else None
        if previous is not None:  # the same request again, as a new ticket
            number, which = previous[1], previous[2]
        tpl = self.templates[number]
        variant = self.variants[number][which]
        jitter = r() < 0.4
        rank = self.prio_table[int(r() * len(self.prio_table))] if jitter else tpl.priority_rank
        channel = self.chan_table[int(r() * len(self.chan_table))]
        if code is None and age > STALE_AFTER_US[rank] and (not admin or age > 8 * DAY):
            # urgent work is not left for weeks (an unconfirmed request times out in 7 days)
            status, code = "done", "not_authorized" if admin else "fixed"
        # who asks: a listed contact, or someone who is not on the account
        caller_name = caller_phone = signature = sender = None
        contact_id: int | None
        if admin or code == "unlisted_sender":
            contact_id = None
            first, last = self.gen.person()
            caller_name = f"{first} {last}"
            title = self.unlisted_roles[int(r() * len(self.unlisted_roles))]
            signature = f"\n\n{caller_name}\n{title}"
            if code == "unlisted_sender":
                channel = "email"
                mail = self.free_mail[int(r() * len(self.free_mail))]
                sender = f"{first}.{last}@{mail}".lower().replace(" ", "")
            elif channel in ("phone", "chat"):
                caller_phone = self.gen.phone()
        else:
            contacts = acct.contacts
            contact_id, first = contacts[0] if r() < 0.55 else contacts[int(r() * len(contacts))]
        # the service it is about
        service_id = None
        server = acct.server
        for kind in tpl.service:
            found = acct.kinds.get(kind)
            if found is not None:
                service_id = found[0]
                server = found[1] or server
                break
        domains = acct.domains
        minute = (t0 + LOCAL_OFFSET_US) // MIN
        clock = _Generator.CLOCK
        slots = _Slots(
            account=acct.id,
            domain=domains[0] if len(domains) == 1 else domains[int(r() * len(domains))],
            server=server,
            mx=acct.mx,
            first=first,
            plan=acct.plan,
            dbname=acct.dbname,
            time=clock[(minute - int(r() * 50)) % 1440],
            earlier=clock[(minute - 55 - int(r() * 180)) % 1440],
        )
        slots.gen = self.gen
        slots.t0 = t0
        if sender is not None:
            slots["sender"] = sender
        subject = variant.subject % slots
        description = variant.description % slots
        if signature is not None:
            description += signature
        # tier reached and holder: only worked tickets are escalated or held
        tier = 1
        if status in ("open", "scheduled") or code == "fixed":
            if tpl.tier > 1:
                tier = tpl.tier if r() < 0.55 else (2 if tpl.tier == 3 and r() < 0.3 else 1)
            elif r() < 0.05:
                tier = 2
        if status == "scheduled":
            tier = max(tier, 2)
        holder = None
        if status in ("open", "pending_customer", "scheduled"):
            chance = 0.9 if status == "scheduled" else (0.35 if tier == 1 else 0.55)
            if r() < chance:
                pool = self.holders[tier]
                holder = pool[int(r() * len(pool))]
        agents = self.agents
        agent = agents[int(r() * len(agents))]
        if holder is not None:
            worker = holder
        elif tier > 1:
            pool = self.holders[tier]
            worker = pool[int(r() * len(pool))]
        else:
            worker = agent
        # the thread
        t1 = t0 + int(FIRST_RESPONSE_US[rank] * (0.05 + 1.9 * r()))
        if t1 >= now:
            t1 = t0 + int((now - t0) * (0.2 + 0.7 * r()))
        full = status != "done" or age < RECENT_US
        ts0 = self.tier_at = ts(t0)  # `worked` moves tier_at to the escalation
        logged_by = agent[0] if channel == "phone" and contact_id is not None else None
        self.events.append((tid, 0, logged_by or 0, "", "", "", ts0))
        first_response = resolved_at = merged = None
        speaker, last_at = "customer", t0
        th = self.th
        if status == "new":
            if rank <= 1 and age > 20 * MIN and r() < 0.4:
                last_at = t0 + int(age * (0.3 + 0.6 * r()))
                body = self.followups[int(r() * 2)] % slots
                self.reply(tid, None, body, ts(last_at), customer=1)
        elif code == "unlisted_sender":
            last_at = t0 + 3 * SEC + int(r() * 20 * SEC)
            resolved_at = ts(last_at)
            self.reply(tid, None, th["unlisted_sender"] % slots, resolved_at)
            if full:
                self.status(tid, None, "new", "closed", resolved_at)
            status, speaker = "closed", "staff"
        else:
            first_response = ts1 = ts(t1)
            speaker, last_at = "staff", t1
            if admin or status == "pending_customer" or code == "no_response":
                # held for an authorized contact, or waiting on the customer: may time out
                if admin:
                    body = self.pick(self.awaiting, slots)
                    held, closing = "awaiting_authorization", "not_authorized"
                else:
                    ask = variant.ask
                    body = ask % slots if ask is not None else self.pick(self.asks, slots)
                    held, closing = "pending_customer", "no_response"
                self.reply(tid, worker[0], self.letter(slots, body, worker), ts1)
                if full:
                    self.status(tid, worker[0], "new", held, ts1)
                if code is not None:
                    last_at = min(t1 + 7 * DAY + int(r() * 2 * HOUR), now - SEC)
                    resolved_at = ts(last_at)
                    body = self.letter(slots, th[closing], worker)
                    self.reply(tid, worker[0], body, resolved_at)
                    if full:
                        self.status(tid, worker[0], held, "closed", resolved_at)
                    status = "closed"
                elif holder is not None:
                    self.event(tid, "holder", holder[0], ts1, new=holder[1])
            elif code in ("duplicate", "out_of_scope"):
                other = previous[0] if previous is not None else None
                if other is not None:
                    merged = other
                    slots["other"] = str(other)
                    body = th["duplicate"] % slots
                    self.event(tid, "merge", worker[0], ts1, new=str(other))
                else:
                    code = "out_of_scope"
                    body = th["out_of_scope"] % slots
                self.reply(tid, worker[0], self.letter(slots, body, worker), ts1)
                status = "closed" if merged or now - t1 > AUTO_CLOSE_US else "resolved"
                if full:
                    self.status(tid, worker[0], "new", status, ts1)
                resolved_at = ts1
            else:
                status, resolved_at, last_at, speaker = self.worked(
                    tid, t1, ts1, status, tier, rank, variant, slots, channel, agent, worker,
                    holder, full,
                )  # fmt: skip
        self.last_ticket[index] = (tid, number, which)
        last_text = ts(last_at)
        return (
            tid, acct.id, contact_id or 0, caller_name or "", caller_phone or "",
            service_id or 0, tpl.request, subject, description, tpl.category, rank, channel,
            status, tier, ts0, first_response or "", resolved_at or "", code or "",
            holder[0] if holder is not None else 0, merged or 0, speaker, last_text,
            self.tier_at, tid if tier > 1 else 0, 1 if tier > 1 else 0,
            *self.clocks(acct.plan, rank, status, code, t0, first_response, resolved_at,
                         last_at),
        )  # fmt: skip

    def clocks(
        self,
        plan_name: str,
        rank: int,
        status: str,
        code: str | None,
        t0: int,
        first_response: Any,
        resolved_at: Any,
        last_at: int,
    ) -> tuple[Any, ...]:
        """The SLA columns of a ticket, from the outline of its history."""
        plan = self.plans.get(plan_name)
        if plan is None:
            plan = self.plans[plan_name] = self.gen.policy.plan_for(plan_name)
        targets = self.targets.get((plan.name, rank))
        if targets is None:
            prio = Priority.from_rank(rank)
            pair = [plan.target(c, prio) for c in CLOCKS]
            targets = self.targets[plan.name, rank] = tuple(
                (t.seconds, t.kind != "none") for t in pair
            )
        held = HELD_BY.get(code or "") or (status if status in HELD_STATUSES else None)
        clocks = from_history(
            plan.calendar,
            targets[0],
            targets[1],
            status=status,
            created=t0,
            first_response=self.when(first_response),
            resolved=self.when(resolved_at),
            held=held,
            last_activity=last_at,
        )
        ts = self.ts
        out: list[Any] = [plan.name, clocks.sort_key]
        for clock in (clocks.respond, clocks.resolve):
            out += (
                clock.state.value,
                clock.target_s or 0,
                clock.used_s,
                clock.paused_s,
                ts(to_us(clock.since)) if clock.since else "",
                ts(to_us(clock.due)) if clock.due else "",
                clock.paused or "",
            )
        return tuple(out)

    def when(self, value: Any) -> int | None:
        """A generated time value (SQLite text or a datetime) as microseconds."""
        if not value:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value + "+00:00")
        return to_us(value)

    def worked(
        self,
        tid: int,
        t1: int,
        ts1: Any,
        status: str,
        tier: int,
        rank: int,
        variant: _Variant,
        slots: _Slots,
        channel: str,
        agent: StaffRow,
        worker: StaffRow,
        holder: StaffRow | None,
        full: bool,
    ) -> tuple[str, Any, int, str]:
        """The thread of a ticket someone works on: open, scheduled, or solved (`done`).
        Returns its final status, resolved_at, last activity and last speaker."""
        r = self.r
        ts = self.ts
        now = self.now
        done = status == "done"
        if done:
            tr = t1 + int(RESOLVE_US[rank] * (0.1 + 1.8 * r()))
            if tr >= now:
                tr = t1 + int((now - t1) * (0.3 + 0.6 * r()))
        else:
            tr = now
        speaker = "staff"
        solved_at_once = done and tier == 1 and not full and r() < 0.85
        if solved_at_once:
            tn = tr = t1  # the first response solves it
        else:
            if channel == "phone" and r() < 0.5:
                body = self.pick(self.calls, slots)
                self.event(tid, "call", agent[0], ts1, body=body, outcome="spoke")
            else:
                text = self.pick(self.acknowledge, slots)
                if not done and r() < 0.3:
                    text = f"{text} {self.pick(self.asks, slots)}"
                self.reply(tid, agent[0], self.letter(slots, text, agent), ts1)
            tn = t1
            span = tr - t1
            if tier > 1:
                tn += int(span * 0.1 * r()) + SEC
                slots["tier"] = str(tier)
                note = self.pick(self.escalate, slots)
                self.tier_at = ts(tn)
                self.event(tid, "tier", agent[0], self.tier_at, body=note, old="1", new=str(tier))
            if holder is not None:
                tn += int(span * 0.1 * r()) + SEC
                self.event(tid, "holder", holder[0], ts(tn), new=holder[1])
            if full:
                u = r()
                if u < 0.25:
                    tn += int((tr - tn) * 0.5 * r()) + SEC
                    body = self.pick(self.internal, slots)
                    self.event(tid, "note", worker[0], ts(tn), body=body)
                elif u < 0.65 and tr - tn > 2 * MIN:
                    tn += int((tr - tn) * 0.6 * r()) + SEC
                    self.reply(tid, None, self.pick(self.followups, slots), ts(tn), customer=1)
                    speaker = "customer"
                elif u < 0.75 and tr - tn > 2 * MIN:
                    tn += int((tr - tn) * 0.6 * r()) + SEC
                    outcome = ("spoke", "voicemail", "no_answer")[int(r() * 3)]
                    body = self.pick(self.calls, slots)
                    if outcome != "spoke":
                        body += " Left a voicemail." if outcome == "voicemail" else " No answer."
                    self.event(tid, "call", worker[0], ts(tn), body=body, outcome=outcome)
                    speaker = "staff"
        if status == "scheduled":
            tn += SEC
            at = ts(tn)
            self.event(tid, "note", worker[0], at, body=self.pick(self.scheduled, slots))
            self.status(tid, worker[0], "open", "scheduled", at)
            return status, None, tn, speaker
        if not done:
            return status, None, tn, speaker
        if not solved_at_once:
            tr = max(tr, tn + SEC)
        at = ts1 if solved_at_once else ts(tr)
        self.reply(tid, worker[0], self.letter(slots, variant.fix % slots, worker), at)
        closed = now - tr > AUTO_CLOSE_US
        last = tr
        if full:
            self.status(tid, worker[0], "open", "resolved", at)
            if closed:
                last = tr + AUTO_CLOSE_US
                self.status(tid, None, "resolved", "closed", ts(last))
        return ("closed" if closed else "resolved"), at, last, "staff"


# ------------------------------------------------------------------------ worker processes
WORKER_CODE = "from supportdesk.services.demo import _worker_main; _worker_main()"
MAX_PARTS = 8  # part files attached at once (SQLite allows 10 attached databases)


@dataclass(frozen=True)
class _Job:
    """What a worker process is asked to make (sent pickled on its stdin)."""

    seed: int
    now: datetime
    tickets: int
    staff: list[StaffRow]
    parts: tuple[int, ...]
    n_parts: int
    folder: str
    chunk_size: int
    policy_text: str | None


def _part_chunks(n_chunks: int, n_parts: int, part: int) -> range:
    """The chunks in part file `part`. The first and last parts are half the size of the
    others: the first so that copying starts early, the last so that little is left to copy
    once the workers are done."""
    weights = [1] * n_parts if n_parts < 6 else [1, 1] + [2] * (n_parts - 4) + [1, 1]
    total = sum(weights)
    edges = [0] + [round(n_chunks * c / total) for c in itertools.accumulate(weights)]
    for i in range(1, n_parts):  # every part at least one chunk (n_parts <= n_chunks)
        edges[i] = max(edges[i], edges[i - 1] + 1)
    for i in range(n_parts - 1, 0, -1):
        edges[i] = min(edges[i], edges[i + 1] - 1)
    return range(edges[part], edges[part + 1])


def _part_path(folder: str, part: int) -> str:
    return os.path.join(folder, f"part-{part:02d}.db")


def _write_part(gen: _Generator, path: str, chunks: range) -> None:
    """Write the compact rows of some chunks into a scratch SQLite file, with a `chunks`
    table giving each chunk's ticket ids and event rowids."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute(f"CREATE TABLE tickets (id INTEGER PRIMARY KEY, {', '.join(TICKET_ROW[1:])})")
        db.execute(f"CREATE TABLE ticket_events ({', '.join(EVENT_ROW)})")
        db.execute("CREATE TABLE chunks (chunk INTEGER PRIMARY KEY, t0, t1, e0, e1)")
        db.execute("BEGIN")
        events = 0
        for number in chunks:
            ticket_rows, event_rows = gen.chunk(number)
            _executemany(db, "tickets", TICKET_ROW, ticket_rows)
            _executemany(db, "ticket_events", EVENT_ROW, event_rows)
            bounds = (number, ticket_rows[0][0], ticket_rows[-1][0], events + 1)
            events += len(event_rows)
            db.execute("INSERT INTO chunks VALUES (?, ?, ?, ?, ?)", (*bounds, events))
        db.execute("COMMIT")
    finally:
        db.close()


def _worker_main() -> None:
    """Entry point of a worker process: read the job and the accounts from stdin, write
    each part file, and say `part N` on stdout when it is complete."""
    gc.disable()  # the rows only live until they are written; nothing to collect
    try:
        job: _Job = pickle.load(sys.stdin.buffer)
        gen = _Generator(
            job.seed,
            job.now,
            job.tickets,
            sqlite=True,
            chunk_size=job.chunk_size,
            policy_text=job.policy_text,
        )
        gen.prepare(job.staff)  # creation times, while the parent makes the directory
        gen.accts = [_Acct.from_state(state) for state in pickle.load(sys.stdin.buffer)]
        gen.prepare(job.staff)
        n_chunks = gen.n_chunks
        for part in job.parts:
            path = _part_path(job.folder, part)
            _write_part(gen, path, _part_chunks(n_chunks, job.n_parts, part))
            print(f"part {part}", flush=True)
    except BaseException:
        with suppress(Exception):
            print("error " + json.dumps(traceback.format_exc()), flush=True)


class _Workers:
    """Worker processes that make the ticket chunks while this process loads them.

    They are plain `python -c` subprocesses (not multiprocessing), so they work whatever
    the caller's `__main__` is; they exchange only a pickled job, a line per finished part
    file, and the files themselves (which this process copies with INSERT ... SELECT, in C,
    instead of binding every value in Python).
    """

    def __init__(
        self, gen: _Generator, staff: list[StaffRow], near: str | None, count: int
    ) -> None:
        self.folder = tempfile.mkdtemp(prefix=".supportdesk-demo-", dir=near)
        self.n_parts = min(MAX_PARTS, gen.n_chunks)
        self.procs: list[subprocess.Popen[bytes]] = []
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        for index in range(count):
            proc = subprocess.Popen(
                [sys.executable, "-c", WORKER_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            self.procs.append(proc)
            job = _Job(
                gen.seed,
                _datetime(gen.now),
                gen.n_tickets,
                staff,
                tuple(range(index, self.n_parts, count)),
                self.n_parts,
                self.folder,
                gen.chunk_size,
                gen.policy_text,
            )
            assert proc.stdin is not None
            proc.stdin.write(pickle.dumps(job, pickle.HIGHEST_PROTOCOL))
            proc.stdin.flush()

    def send_accounts(self, accts: list[_Acct]) -> None:
        data = pickle.dumps([acct.state() for acct in accts], pickle.HIGHEST_PROTOCOL)
        for part, proc in enumerate(self.procs):
            assert proc.stdin is not None
            try:
                proc.stdin.write(data)
                proc.stdin.close()
            except BrokenPipeError:
                self.wait(part)  # raises with what the worker said before it stopped
                raise

    def wait(self, part: int) -> str:
        """Block until part file `part` is complete; return its path."""
        proc = self.procs[part % len(self.procs)]
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if line.startswith("error "):
            raise DeskError(f"a demo worker failed:\n{json.loads(line[6:])}")
        if line != f"part {part}":
            raise DeskError("a demo worker process stopped unexpectedly")
        return _part_path(self.folder, part)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    with suppress(OSError):
                        pipe.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _datetime(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


# ------------------------------------------------------------------------------ loading
def _executemany(db: Any, table: str, columns: Sequence[str], rows: list[Row]) -> None:
    marks = ", ".join("?" * len(columns))
    db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _as_null(value: None) -> None:
    return None


class _Loader(ABC):
    """Bulk inserts on the raw DBAPI connection of an open SQLAlchemy transaction."""

    def __init__(self, dbapi: Any) -> None:
        self.db = dbapi

    def before(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Connection settings for the load (outside any transaction)."""

    def after(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Put the connection settings back before it returns to the pool."""

    @abstractmethod
    def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        """Insert rows into a table (each dialect has its fastest way)."""

    def reset_sequences(self, conn: Connection) -> None:  # noqa: B027 - optional hook, empty by default
        """Let later inserts continue after the explicit ids the load used."""

    def finish(self, conn: Connection) -> None:  # noqa: B027 - optional hook, empty by default
        """Refresh the planner's statistics after the commit."""


class _SqliteLoader(_Loader):
    """executemany with foreign-key checks and fsync off (the generator only makes rows
    that point at rows made before them, and an interrupted load is never committed).

    The load runs in rollback-journal mode when this is the only connection to the file: in
    WAL mode every page would be written twice (to the WAL, then by the checkpoint), which
    measured 3 s per 100,000 tickets here, while on a fresh database the rollback journal
    only holds the few pages that existed before. WAL is switched back on at the end.

    While loading, None gets a registered adapter: without one Python's sqlite3 module takes
    its slow adaptation path for every NULL, which measured 0.8 us per value here.
    """

    PRAGMAS = {"foreign_keys": "OFF", "synchronous": "OFF", "cache_size": "-262144"}
    NONE_KEY = (type(None), sqlite3.PrepareProtocol)

    def __init__(self, dbapi: Any) -> None:
        super().__init__(dbapi)
        self.attached: list[str] = []
        self.saved: dict[str, Any] = {}
        self.left_wal = False
        self.had_adapter = True

    def before(self) -> None:
        timeout = self.db.execute("PRAGMA busy_timeout").fetchone()[0]
        self.db.execute("PRAGMA busy_timeout=0")  # another connection: just stay in WAL
        try:
            mode = self.db.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            self.left_wal = str(mode).lower() == "delete"
        except sqlite3.OperationalError:
            pass
        finally:
            self.db.execute(f"PRAGMA busy_timeout={int(timeout)}")
        for name, value in self.PRAGMAS.items():
            self.saved[name] = self.db.execute(f"PRAGMA {name}").fetchone()[0]
            self.db.execute(f"PRAGMA {name}={value}")
        self.had_adapter = self.NONE_KEY in sqlite3.adapters
        if not self.had_adapter:
            sqlite3.register_adapter(type(None), _as_null)

    def after(self) -> None:
        if not self.had_adapter:
            sqlite3.adapters.pop(self.NONE_KEY, None)
        for alias in self.attached:  # only possible once the transaction is over
            with suppress(sqlite3.Error):
                self.db.execute(f"DETACH DATABASE {alias}")
        if self.left_wal:
            self.db.execute("PRAGMA journal_mode=WAL")
        for name, value in self.saved.items():  # as the Store's connect listener left them
            self.db.execute(f"PRAGMA {name}={int(value)}")

    def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        if table == "accounts":
            rows = sorted(rows)  # the primary key is text: append to its index in order
        _executemany(self.db, table, columns, rows)

    def copy_part(self, path: str, on_chunk: Callable[[int], None]) -> None:
        """Copy a worker's part file chunk by chunk, expanding its compact rows (events in
        their order, so that they are numbered as if inserted here)."""
        alias = f"part{len(self.attached)}"
        self.db.execute(f"ATTACH DATABASE ? AS {alias}", (path,))
        self.attached.append(alias)
        tickets = ", ".join(
            "last_activity_at"
            if name == "updated_at"
            else f"NULLIF({name}, {NULL_AS[name]!r})"
            if name in NULL_AS
            else name
            for name in TICKET_COLUMNS
        )
        events = (
            f"ticket_id, {_case(0)}, NULLIF(staff_id, 0), {_case(1)}, {_case(2)}, "
            f"NULLIF(body, ''), {_case(3)}, NULLIF(old_value, ''), NULLIF(new_value, ''), "
            "created_at"
        )
        bounds = self.db.execute(f"SELECT t0, t1, e0, e1 FROM {alias}.chunks ORDER BY chunk")
        for t0, t1, e0, e1 in bounds.fetchall():
            self.db.execute(
                f"INSERT INTO main.tickets ({', '.join(TICKET_COLUMNS)}) "
                f"SELECT {tickets} FROM {alias}.tickets WHERE id BETWEEN ? AND ? ORDER BY id",
                (t0, t1),
            )
            self.db.execute(
                f"INSERT INTO main.ticket_events ({', '.join(EVENT_COLUMNS)}) "
                f"SELECT {events} FROM {alias}.ticket_events "
                "WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
                (e0, e1),
            )
            on_chunk(t1 - t0 + 1)

    def finish(self, conn: Connection) -> None:
        self.db.execute("PRAGMA analysis_limit=1000")
        self.db.execute("ANALYZE")


class _PostgresLoader(_Loader):
    """COPY through psycopg: correct, and fast enough at demo sizes."""

    SEQUENCED = ("services", "contacts", "contact_points", "tickets")

    def insert(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        if table == "tickets":
            # the escalation rows come later (escalation.backfill), and PostgreSQL checks
            # the foreign key at once: the backfill sets escalation_id there
            columns = [c for c in columns if c != "escalation_id"]
            skip = TICKET_COLUMNS.index("escalation_id")
            rows = [row[:skip] + row[skip + 1 :] for row in rows]
        with (
            self.db.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def reset_sequences(self, conn: Connection) -> None:
        for table in self.SEQUENCED:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )

    def finish(self, conn: Connection) -> None:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def _bulk_indexes() -> list[Index]:
    """The secondary indexes to drop before the load and build once after it (from sorted
    data, which is cheaper than updating them row by row).

    Two kinds are kept and updated during the load instead, because measured at a million
    tickets that is cheaper, and it happens while the workers are still generating rather
    than after: partial indexes (the live-ticket queue indexes hold about a quarter of the
    rows, and building each afterwards would scan the whole table) and the events-by-ticket
    index (rows arrive in its order, so every update is an append).
    """
    tables = Base.metadata.tables
    return [
        index
        for name in BULK_TABLES
        for index in sorted(tables[name].indexes, key=lambda ix: str(ix.name))
        if not _updated_during_load(index)
    ]


# partial indexes over most of the table (every stopped clock, every solved ticket): cheaper
# to build once from the loaded rows than to keep up to date row by row
BUILT_AFTER_LOAD = frozenset(
    {
        "ix_tickets_respond_stopped",
        "ix_tickets_resolve_stopped",
        "ix_tickets_resolved",
    }
)


def _updated_during_load(index: Index) -> bool:
    if index.name in BUILT_AFTER_LOAD:
        return False
    partial = any(
        index.dialect_options[dialect].get("where") is not None
        for dialect in ("sqlite", "postgresql")
    )
    columns = [c.name for c in index.columns]
    return partial or (index.table is not None and index.table.name == "ticket_events"
                       and columns[:1] == ["ticket_id"])  # fmt: skip


def _add_staff(conn: Connection, now: datetime, seed: int) -> list[StaffRow]:
    """Insert the demo staff that is missing; return every demo login as the database has
    it (an existing login keeps its role and tier)."""
    rng = random.Random(f"{seed}:staff")
    have = set(conn.execute(select(Staff.login)).scalars())
    missing = [
        {
            "login": m.login,
            "name": m.name,
            "tier": m.tier,
            "role": m.role,
            "active": True,
            "created_at": now
            - timedelta(days=30 + rng.randrange(1500), minutes=rng.randrange(1440)),
        }
        for m in DEMO_STAFF
        if m.login not in have
    ]
    if missing:
        conn.execute(insert(Staff), missing)
    logins = [m.login for m in DEMO_STAFF]
    found = conn.execute(
        select(Staff.id, Staff.login, Staff.tier, Staff.role, Staff.name).where(
            Staff.login.in_(logins), Staff.active.is_(True)
        )
    ).all()
    rows = [
        (int(i), str(login), int(tier), str(role), str(name).split()[0], str(name))
        for i, login, tier, role, name in found
    ]
    return sorted(rows, key=lambda s: logins.index(s[1]))


def _refuse_unless_empty(conn: Connection) -> None:
    for model, what in ((Ticket, "tickets"), (Account, "accounts")):
        if conn.execute(select(func.count()).select_from(model)).scalar_one():
            raise UsageError(
                f"the database already has {what}: build the demo on a new database "
                "(`supportdesk init` on a fresh file or schema)"
            )
    if conn.execute(select(Setting.key).where(Setting.key == "demo")).first():
        raise UsageError("the database is already a demo database")


def demo_account_count(tickets: int) -> int:
    """How many accounts a demo with this many tickets gets (about one per ten tickets)."""
    return min(100_000, max(20, tickets // 10))


def _scratch_folder(store: Store) -> str | None:
    """Where the part files go: beside the database (it will hold as much again anyway),
    or the system's temporary folder for a database given as a URI."""
    path = store.target.sqlite_path
    if path and not store.target.sqlite_uri:
        return os.path.dirname(os.path.abspath(path))
    return None


def _worker_count(store_is_sqlite: bool, tickets: int) -> int:
    """Worker processes for the ticket chunks: none for small demos (starting them costs
    more than it saves) or on PostgreSQL (COPY is the bottleneck there, not Python)."""
    if not store_is_sqlite or tickets < PARALLEL_MIN or not sys.executable:
        return 0
    return max(1, min(2, os.cpu_count() or 1))


def build_demo(
    desk: Desk,
    *,
    tickets: int = 5000,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Fill a freshly initialised database with a realistic desk, in one transaction.

    Deterministic for a given `seed` and `desk.now()`; writes one `demo.build` audit row and
    the `demo` setting. `progress(done, total)` is called after each chunk of tickets.
    """
    if tickets < 1:
        raise UsageError("--tickets must be at least 1")
    started = time.perf_counter()
    last = [started]

    def stage(name: str) -> None:
        """With SUPPORTDESK_DEMO_STAGES=1, say how long each stage took (benchmarks)."""
        at = time.perf_counter()
        if os.environ.get("SUPPORTDESK_DEMO_STAGES") == "1":
            print(f"  stage {name:<28} {at - last[0]:6.1f} s", file=sys.stderr, flush=True)
        last[0] = at

    store = desk.store
    now = desk.now()
    desk.audit_key  # noqa: B018 - fail before any work when the key is missing
    who = desk.who
    sqlite = store.is_sqlite
    if sqlite:
        store.dispose()  # close this process's idle connections: the load may leave WAL mode
    gen = _Generator(seed, now, tickets, sqlite, policy_text=_policy_text(store))
    n_workers = _worker_count(sqlite, tickets)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of new tuples would trigger full collections for nothing
    try:
        with store.engine.connect() as conn:
            _refuse_unless_empty(conn)  # before touching any connection setting
            conn.rollback()
            conn.execution_options(sqlite_immediate=True)
            dbapi = conn.connection.dbapi_connection
            loader: _Loader = _SqliteLoader(dbapi) if sqlite else _PostgresLoader(dbapi)
            loader.before()
            workers = None
            try:
                with conn.begin():
                    _refuse_unless_empty(conn)
                    staff = _add_staff(conn, now, seed)
                    if n_workers:
                        workers = _Workers(gen, staff, _scratch_folder(store), n_workers)
                    _load(conn, loader, gen, staff, workers, progress, stage)
                    _hand_over_excess_claims(conn, gen, staff)  # room to claim
                    stage("handovers")
                    escalation.backfill(conn)  # escalations from the tier events
                    stage("escalation backfill")
                    with Session(bind=conn) as session:
                        session.add(Setting(key="demo", value="1"))
                        changes = {"tickets": [None, tickets], "seed": [None, seed]}
                        Recorder(session, desk, who)("demo.build", "desk", "1", changes)
            finally:
                loader.after()
                if workers is not None:
                    workers.close()
            loader.finish(conn)
            stage("analyze")
    finally:
        if gc_was_enabled:
            gc.enable()
    desk.__dict__.pop("is_demo", None)
    members = tuple(DemoStaff(s[1], s[5], s[3], s[2]) for s in staff)
    return DemoResult(
        tickets=tickets,
        accounts=len(gen.accts),
        staff=members,
        seconds=time.perf_counter() - started,
    )


def _policy_text(store: Any) -> str | None:
    """The SLA policy stored by `init` (the demo's clocks follow it), if any."""
    rows = store.query("SELECT value FROM settings WHERE key = ?", (POLICY_KEY,))
    return str(rows[0][0]) if rows else None


def _load(
    conn: Connection,
    loader: _Loader,
    gen: _Generator,
    staff: list[StaffRow],
    workers: _Workers | None,
    progress: Callable[[int, int], None] | None,
    stage: Callable[[str], None] = lambda _name: None,
) -> None:
    """Insert everything with most secondary indexes dropped, building them again once
    their table is full (the directory's while the first tickets are still being made)."""
    total = gen.n_tickets
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    indexes = _bulk_indexes()
    for index in indexes:
        index.drop(conn)
    directory = gen.directory(demo_account_count(total))
    if workers is not None:
        workers.send_accounts(gen.accts)
    loader.insert("accounts", ACCOUNT_COLUMNS, directory.accounts)
    loader.insert("services", SERVICE_COLUMNS, directory.services)
    loader.insert("contacts", CONTACT_COLUMNS, directory.contacts)
    loader.insert("contact_points", POINT_COLUMNS, directory.points)
    del directory
    for index in indexes:
        if index.table is not None and index.table.name not in TICKET_TABLES:
            index.create(conn)
    advance(0)
    if workers is not None:
        assert isinstance(loader, _SqliteLoader)
        for part in range(workers.n_parts):
            loader.copy_part(workers.wait(part), advance)
    else:
        gen.prepare(staff)
        for number in range(gen.n_chunks):
            ticket_rows, event_rows = gen.chunk(number)
            loader.insert("tickets", TICKET_COLUMNS, [_ticket_row(r) for r in ticket_rows])
            loader.insert("ticket_events", EVENT_COLUMNS, [_event_row(r) for r in event_rows])
            advance(len(ticket_rows))
    stage("load")
    for index in indexes:
        if index.table is not None and index.table.name in TICKET_TABLES:
            index.create(conn)
            stage(f"index {index.name}")
    loader.reset_sequences(conn)


# ---------------------------------------------------------------------------- handovers
WAITING_CLAIMS_CAP = 40  # held tickets that do not count against the limit, kept per person
SHIFT_END_UTC_H = 16  # 18:00 at the demo desk (SAST, UTC+2): when a shift hands over
HANDOVER_NOTES = (
    "back tomorrow at 08:00; the threads are up to date and nothing is waiting on me",
    "see my last note on each ticket for where I got to",
    "no promises made on timing; pick up from the last reply",
    "customers know someone else may pick these up",
    "nothing here needs me in particular; the board has the details",
)


def _shift_end_sql(sqlite: bool, column: str) -> str:
    """SQL for the end of the shift (SHIFT_END_UTC_H) after a time, but never after :now."""
    hour = SHIFT_END_UTC_H
    if sqlite:  # times are the text of `sqlite_timestamp`
        close = f"{hour:02d}:00:00.000000"
        return (
            f"min(:now, CASE WHEN substr({column}, 12) < '{close}'"
            f" THEN substr({column}, 1, 11) || '{close}'"
            f" ELSE date({column}, '+1 day') || ' {close}' END)"
        )
    day = f"(date_trunc('day', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    return (
        f"LEAST(:now, {day} + CASE WHEN ({column} AT TIME ZONE 'UTC')::time < time '{hour}:00'"
        f" THEN interval '{hour} hours' ELSE interval '{hour + 24} hours' END)"
    )


def _hand_over_excess_claims(conn: Connection, gen: _Generator, staff: list[StaffRow]) -> int:
    """Release what nobody could really hold: the generator gives each holder hundreds of
    live tickets, and with a holding limit of `max_claims` nobody could claim anything.

    Each holder keeps their `max_claims - 2` most recently active new/open tickets (room to
    claim two more) and WAITING_CLAIMS_CAP of the others (waiting on the customer, scheduled,
    awaiting authorization: they do not count against the limit); the rest are handed over
    as `end_shift` would: a `holder` event by the holder with one handover note, at the end
    of the shift after the ticket's last activity (at most now), which becomes its last
    activity; no holder, no touched time. Set-based SQL in the load's transaction; returns
    how many tickets were released."""
    sqlite = conn.dialect.name == "sqlite"
    keep = max(0, gen.policy.escalation.max_claims - 2)
    rng = random.Random(f"{gen.seed}:handover")
    notes = [
        {"holder": s[0], "body": "Handover at end of shift: " + rng.choice(HANDOVER_NOTES)}
        for s in staff
    ]
    at_type = "TEXT" if sqlite else "timestamptz"
    working = "CASE WHEN t.view = 'queue' THEN 1 ELSE 0 END"
    statements = (
        f"CREATE TEMP TABLE demo_handover (id INTEGER PRIMARY KEY, holder_id INTEGER NOT NULL,"
        f" at {at_type} NOT NULL)",
        "CREATE TEMP TABLE demo_handover_note (holder_id INTEGER PRIMARY KEY, body TEXT)",
        # the held live tickets past each holder's share, most recently active first
        "INSERT INTO demo_handover (id, holder_id, at) SELECT x.id, x.holder_id, x.at FROM"
        f" (SELECT t.id, t.holder_id, {_shift_end_sql(sqlite, 't.last_activity_at')} AS at,"
        f" {working} AS working, row_number() OVER (PARTITION BY t.holder_id, {working}"
        " ORDER BY t.last_activity_at DESC, t.id DESC) AS n"
        " FROM tickets t WHERE t.view <> 'done' AND t.holder_id IS NOT NULL) x"
        " WHERE x.n > CASE WHEN x.working = 1 THEN :keep ELSE :cap END",
        "INSERT INTO ticket_events (ticket_id, kind, staff_id, from_customer, visible, body,"
        " old_value, new_value, created_at)"
        " SELECT h.id, 'holder', h.holder_id, FALSE, FALSE, n.body, s.login, NULL, h.at"
        " FROM demo_handover h JOIN staff s ON s.id = h.holder_id"
        " JOIN demo_handover_note n ON n.holder_id = h.holder_id ORDER BY h.id",
        # by id (UPDATE ... FROM made SQLite scan every ticket for the few it changes)
        "UPDATE tickets SET holder_id = NULL, touched_at = NULL,"
        " last_activity_at = (SELECT h.at FROM demo_handover h WHERE h.id = tickets.id),"
        " updated_at = (SELECT h.at FROM demo_handover h WHERE h.id = tickets.id)"
        " WHERE id IN (SELECT id FROM demo_handover)",
    )
    params = {"now": gen.ts(gen.now), "keep": keep, "cap": WAITING_CLAIMS_CAP}
    for stmt in statements[:3]:
        conn.execute(sql_text(stmt), params)
    if notes:
        conn.execute(
            sql_text("INSERT INTO demo_handover_note (holder_id, body) VALUES (:holder, :body)"),
            notes,
        )
    released = int(conn.execute(sql_text("SELECT count(*) FROM demo_handover")).scalar_one())
    for stmt in statements[3:]:
        conn.execute(sql_text(stmt))
    conn.execute(sql_text("DROP TABLE demo_handover"))
    conn.execute(sql_text("DROP TABLE demo_handover_note"))
    return released


def issue_demo_pins(desk: Desk, count: int = 3) -> list[tuple[str, str, str, str]]:
    """Give `count` primary contacts of active demo accounts a support PIN, to be printed
    for trying the call flow; every other demo contact has none (they can be verified only
    by a callback). Returns (account, contact, e-mail, PIN) for each."""
    from .callers.verification import set_pin

    # one row per contact: a primary contact with two addresses is one caller, one PIN
    rows = desk.store.query(
        "SELECT c.account_id, c.name, min(p.value) FROM contacts c"
        " JOIN accounts a ON a.id = c.account_id"
        " JOIN contact_points p ON p.contact_id = c.id AND p.kind = 'email'"
        " WHERE c.role = 'primary' AND a.status = 'active' AND a.reseller_id IS NULL"
        " AND c.pin_hash IS NULL GROUP BY c.id, c.account_id, c.name ORDER BY c.id LIMIT ?",
        (count,),
    )
    out = []
    for account, name, address in rows:
        out.append((account, name, address, set_pin(desk, account, address).pin))
    return out


# ------------------------------------------------------------------ building a demo file
DEMO_ADMIN = ("lena", "Lena Mokoena")
TEMP_SUFFIX = ".demo-tmp"  # the file a demo is built in, beside the one it replaces
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal", "-writer.lock")


@dataclass(frozen=True)
class DemoFile:
    """A demo built by `build_demo_file`: what was made and the callers given a PIN."""

    result: DemoResult
    pins: list[tuple[str, str, str, str]]


def build_demo_file(
    path: Path,
    key: Path,
    clock: Any,
    *,
    tickets: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> DemoFile:
    """Build a demo SQLite database at `path`, replacing the demo there, all or nothing.

    It is built in `path` + TEMP_SUFFIX and renamed into place at the end (one atomic
    rename), so a build killed at any moment leaves the old demo (or nothing) and a stale
    temporary file, which the next build removes. Builds of one path take turns through a
    lock file beside it. The audit key at `key` is kept (created when missing): the old
    demo stays verifiable until the rename, the new one from then on."""
    from .admin.setup import init_database

    if fcntl is None:  # pragma: no cover - Windows
        lock_fd = None
    else:
        lock_fd = os.open(str(path) + ".demo-lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise UsageError(f"another `supportdesk demo` is building {path}") from None
    try:
        check_replaceable(path)
        temp = Path(str(path) + TEMP_SUFFIX)
        _remove_sqlite(temp)  # what a killed build left behind
        store = Store(str(temp))
        try:
            desk = Desk(store, DEMO_ADMIN[0], clock, key)
            init_database(desk, admin=DEMO_ADMIN[0], admin_name=DEMO_ADMIN[1])
            stage_mark("init")
            result = build_demo(desk, tickets=tickets, seed=seed, progress=progress)
            pins = issue_demo_pins(Desk(store, DEMO_ADMIN[0], clock, key))
        finally:
            store.dispose()
        stage_mark("built")
        _settle(temp)
        if path.exists():
            _settle(path)  # its WAL must not be replayed onto the new file
        os.replace(temp, path)
        _sync_folder(path.parent)
        _remove_sqlite(temp)
        return DemoFile(result, pins)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def is_leftover_init(store: Store) -> bool:
    """A database `supportdesk demo` of an older version left when killed after `init`:
    a schema, the demo lead alone, no account, no ticket, and no `demo` setting."""
    q = store.query
    return (
        not q("SELECT 1 FROM settings WHERE key = 'demo'")
        and not q("SELECT 1 FROM accounts LIMIT 1")
        and not q("SELECT 1 FROM tickets LIMIT 1")
        and [r[0] for r in q("SELECT login FROM staff")] == [DEMO_ADMIN[0]]
    )


def check_replaceable(path: Path) -> None:
    """UsageError unless `path` is missing, empty, a demo or a leftover of one."""
    if not path.exists() or path.stat().st_size == 0:
        return
    store = Store(str(path))
    try:
        if store.schema_revision() is None:
            return
        if store.query("SELECT 1 FROM settings WHERE key = 'demo'") or is_leftover_init(store):
            return
    finally:
        store.dispose()
    raise UsageError(f"{path} holds a real desk, not a demo: choose another --db")


def stage_mark(name: str) -> None:
    """With SUPPORTDESK_DEMO_STAGES=1, say a stage was reached (benchmarks, kill tests)."""
    if os.environ.get("SUPPORTDESK_DEMO_STAGES") == "1":
        print(f"  stage {name}", file=sys.stderr, flush=True)


def _settle(path: Path) -> None:
    """Checkpoint `path`'s WAL into it and drop its side files, so that the file alone is
    the database; UsageError when another process has it open and the WAL cannot go."""
    conn = sqlite3.connect(str(path), timeout=BUSY_WAIT_S, isolation_level=None)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # rolls back a hot journal
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path}: cannot replace it: {exc}") from None
    finally:
        conn.close()
    wal = Path(str(path) + "-wal")
    if busy or (wal.exists() and wal.stat().st_size):
        raise UsageError(f"{path} is open in another process: close it and try again")
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", *SQLITE_SIDE_FILES):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (a folder's entries are flushed by fsync on the folder)."""
    with suppress(OSError):
        fd = os.open(str(folder), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
