"""Build a realistic demo database: staff, accounts, services, contacts and ticket threads.

Rows are generated as plain tuples from one seeded `random.Random` and bulk-loaded on the raw
DBAPI connection in one transaction (no ORM objects, secondary ticket indexes rebuilt at the
end), because a demo has to reach a million tickets in under a minute to show how the console
behaves at that size. The texts come from `data/demo/*.toml`.

The demo staff is fixed so documentation can name it (`--as LOGIN`):

=========  ====================  ========  ====
login      name                  role      tier
=========  ====================  ========  ====
lena       Lena Botha            lead      3
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
"""

from __future__ import annotations

import math
import random
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Index, func, insert, select, text
from sqlalchemy.orm import Session

from ..models import (
    Account,
    Contact,
    ContactPoint,
    Service,
    Setting,
    Staff,
    Ticket,
    TicketEvent,
    sqlite_timestamp,
)
from ..resources import data_path
from .desk import Desk, Recorder
from .errors import UsageError


@dataclass(frozen=True)
class DemoStaff:
    """One member of the demo desk."""

    login: str
    name: str
    role: str
    tier: int


DEMO_STAFF: tuple[DemoStaff, ...] = (
    DemoStaff("lena", "Lena Botha", "lead", 3),
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


DAYS = 90  # tickets span this many days before now
LOCAL_OFFSET_US = 2 * 3_600_000_000  # times quoted in ticket texts are in SAST (UTC+2)
SEC = 1_000_000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BATCH = 25_000  # tickets per insert batch (and per progress call)
ACTIVE_SHARE = 0.26  # new+open 20 %, awaiting authorization 2 %, pending 3 %, scheduled 1 %
AUTO_CLOSE_US = 4 * DAY  # resolved tickets close by themselves after this
RECENT_US = 21 * DAY  # done tickets younger than this get a full thread
ADMIN_REQUESTS = ("password_reset", "contact_change", "cancellation", "billing")

STATUS_SHARES = (("open", 20), ("awaiting_authorization", 2), ("pending_customer", 3))
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
)
EVENT_COLUMNS = (
    "id",
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
CONTACT_COLUMNS = ("id", "account_id", "name", "role", "pin_hash", "active", "created_at")
POINT_COLUMNS = ("id", "contact_id", "kind", "value")


# ---------------------------------------------------------------------------- fixtures
@dataclass(frozen=True)
class _Template:
    """One kind of request from tickets.toml, ready to format."""

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
    return _Fixtures(load("people.toml"), load("accounts.toml"), templates, weights, tickets["thread"])


def _table(pairs: Sequence[tuple[Any, int]]) -> list[Any]:
    """A lookup list in which each value appears `weight` times: `t[int(random() * len(t))]`
    is a weighted choice that costs one random number."""
    out: list[Any] = []
    for value, weight in pairs:
        out.extend([value] * weight)
    return out


# ------------------------------------------------------------------------------- times
class _Times:
    """Turns integer microseconds since the epoch into what the driver must be given:
    the exact `sqlite_timestamp` text on SQLite (cached per minute, the slow part), an aware
    datetime on PostgreSQL."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        self._minutes: dict[int, str] = {}

    def __call__(self, us: int) -> Any:
        if not self.sqlite:
            return EPOCH + timedelta(microseconds=us)
        minute, rest = divmod(us, MIN)
        prefix = self._minutes.get(minute)
        if prefix is None:
            prefix = sqlite_timestamp(EPOCH + timedelta(minutes=minute))[:17]
            self._minutes[minute] = prefix
        return f"{prefix}{rest // SEC:02d}.{rest % SEC:06d}"


def _us(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


# --------------------------------------------------------------------------- directory
class _Acct:
    """What ticket generation needs to know about one account."""

    __slots__ = ("contacts", "domains", "id", "kinds", "mx", "plan", "server")

    def __init__(self, account_id: str, plan: str) -> None:
        self.id = account_id
        self.plan = plan
        self.domains: list[str] = []
        self.kinds: dict[str, tuple[int, str | None]] = {}  # kind -> (service id, server)
        self.server = ""
        self.mx = ""
        self.contacts: list[tuple[int, str, str]] = []  # (contact id, first name, full name)


class _Slots(dict[str, str]):
    """Slot values for one ticket's texts, computed only when a template asks for them."""

    __slots__ = ("gen", "t0")

    def __missing__(self, key: str) -> str:
        value = self.gen.slot(key, self)
        self[key] = value
        return value


class _Generator:
    """Generates every demo row as tuples, deterministically from the seed and `now`."""

    def __init__(self, seed: int, now: datetime, n_tickets: int, times: _Times) -> None:
        self.rng = random.Random(seed)
        self.now = _us(now)
        self.n_tickets = n_tickets
        self.ts = times
        self.fx = _fixtures()
        self.accts: list[_Acct] = []
        people = self.fx.people
        self.first_names: list[str] = people["first_names"]
        self.last_names: list[str] = people["last_names"]
        th = self.fx.thread
        self.greeting: list[str] = th["greeting"]
        self.signoff: list[str] = th["signoff"]
        self.sites: list[str] = self.fx.accounts["servers"]["sites"]
        self.month = datetime.fromtimestamp((self.now - 35 * DAY) / SEC, UTC).strftime("%Y-%m")

    # -- small helpers -------------------------------------------------------------------
    def person(self) -> tuple[str, str]:
        r = self.rng.random
        first = self.first_names[int(r() * len(self.first_names))]
        last = self.last_names[int(r() * len(self.last_names))]
        return first, last

    def phone(self) -> str:
        r = self.rng.random
        if r() < 0.93:
            return f"+27{60 + int(r() * 25)}{int(r() * 10_000_000):07d}"
        return f"+316{int(r() * 100_000_000):08d}"

    def ip(self) -> str:
        r = self.rng.random
        return f"{(41, 102, 105, 196, 197)[int(r() * 5)]}.{int(r() * 256)}.{int(r() * 256)}.{1 + int(r() * 254)}"

    def local_clock(self, us: int) -> str:
        minute = (us + LOCAL_OFFSET_US) // MIN % 1440
        return f"{minute // 60:02d}:{minute % 60:02d}"

    def local_date(self, us: int) -> datetime:
        return datetime.fromtimestamp((us + LOCAL_OFFSET_US) / SEC, UTC)

    def slot(self, key: str, s: _Slots) -> str:
        """The value of a slot a template needs that `_Slots` was not given up front."""
        r = self.rng.random
        t0 = s.t0
        if key == "time":
            return self.local_clock(t0 - int(r() * 50 * MIN))
        if key == "earlier":
            return self.local_clock(t0 - 55 * MIN - int(r() * 3 * HOUR))
        if key == "date":
            return self.local_date(t0).strftime("%Y-%m-%d")
        if key == "day":
            return WEEKDAYS[self.local_date(t0 - DAY * int(r() * 3)).weekday()]
        if key == "month":
            return self.month
        if key == "n":
            return str(240_000 + int(r() * 90_000))
        if key == "amount":
            return f"{150 + int(r() * 4800):,}.{(0, 50, 99)[int(r() * 3)]:02d}"
        if key == "ip":
            return self.ip()
        if key == "mailbox":
            box = ("info", "accounts", "orders", "sales", "office", "admin")[int(r() * 6)]
            return f"{box}@{s['domain']}"
        if key == "pct":
            return str(91 + int(r() * 9))
        if key == "db":
            return f"{s['account'][:8].replace('-', '')}_{('wp', 'shop', 'app', 'crm')[int(r() * 4)]}"
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
        if key == "when":
            return self.window(t0)
        if key == "other":
            return "?"
        raise KeyError(key)

    def window(self, t0: int) -> str:
        """The next Saturday-night maintenance window after `t0`, as customers are told."""
        local = self.local_date(t0)
        days = (5 - local.weekday()) % 7 or 7
        day = local + timedelta(days=days)
        return f"Saturday {day:%d %b} 02:00-04:00 SAST"

    # -- directory -----------------------------------------------------------------------
    def account_ids(self, n: int) -> list[tuple[str, str, str]]:
        """`n` unique username-like ids with a company name and main domain."""
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
            form = forms[int(r() * len(forms))]
            company = f"{words} {form}".strip()
            tld = tlds[int(r() * len(tlds))]
            host = account_id if r() < 0.7 else account_id.replace("-", "")
            out.append((account_id, company, f"{host}.{tld}"))
        return out

    def directory(
        self, n_accounts: int
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Rows for accounts, services, contacts and contact points (resellers first, so
        that their customers can point at them)."""
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
        shared_hosts = int(fx["servers"]["shared_hosts"])
        mail_hosts = int(fx["servers"]["mail_hosts"])
        free_mail: list[str] = people["free_mail"]
        role_boxes: list[str] = people["role_mailboxes"]
        agencies: list[str] = people["agencies"]
        tlds: list[str] = fx["tlds"]
        sites = self.sites
        managed_count: dict[str, int] = {}
        n_resellers = max(1, round(n_accounts * cfg["reseller_share"]))
        ids = self.account_ids(n_accounts)
        accounts: list[tuple[Any, ...]] = []
        services: list[tuple[Any, ...]] = []
        contacts: list[tuple[Any, ...]] = []
        points: list[tuple[Any, ...]] = []
        now = self.now
        sid = cid = pid = 0
        for index, (account_id, company, domain) in enumerate(ids):
            acct = _Acct(account_id, plans[int(r() * len(plans))])
            created = now - DAYS * DAY - int(r() * 7 * 365 * DAY)
            created_text = ts(created)
            domains = [domain]
            if r() < 0.25:
                extra = account_id.replace("-", "") if r() < 0.5 else account_id
                domains.append(f"{extra}.{tlds[int(r() * len(tlds))]}")
            if r() < 0.08:
                domains.append(f"{account_id}-shop.co.za")
            acct.domains = domains
            site = sites[int(r() * len(sites))]
            mx = f"mx-{1 + int(r() * mail_hosts):02d}"
            acct.mx = mx
            is_reseller = index < n_resellers
            reseller_id = None
            if not is_reseller and r() < cfg["reseller_customer_share"]:
                reseller_id = ids[int(r() * n_resellers)][0]
            status, reason = "active", None
            first, last = self.person()
            slots = {
                "month": self.month,
                "domain": domain,
                "server": "",
                "n": str(230_000 + int(r() * 90_000)),
                "first": first,
                "date": self.local_date(now + int(r() * 40 * DAY)).strftime("%d %b"),
                "amount": f"{500 + 50 * int(r() * 60):,}",
                "reseller": reseller_id or "",
            }
            # services
            host_domains = " ".join(domains)
            if is_reseller:
                sid += 1
                server = f"web-{site}-{1 + int(r() * shared_hosts):02d}"
                label = labels["reseller"][int(r() * len(labels["reseller"]))]
                services.append(
                    (sid, account_id, "reseller", label, host_domains, server, created_text)
                )
                acct.kinds["reseller"] = (sid, server)
                acct.server = server
            elif r() < 0.82:
                sid += 1
                server = f"web-{site}-{1 + int(r() * shared_hosts):02d}"
                label = labels["shared_hosting"][int(r() * len(labels["shared_hosting"]))]
                services.append(
                    (sid, account_id, "shared_hosting", label, host_domains, server, created_text)
                )
                acct.kinds["shared_hosting"] = (sid, server)
                acct.server = server
            else:
                for k in range(1 if r() < 0.6 else 2):
                    role = "web" if k == 0 else roles[int(r() * len(roles))]
                    key = f"{role}-{site}"
                    managed_count[key] = number = managed_count.get(key, 100) + 1
                    server = f"{key}-{number:03d}"
                    sid += 1
                    label = labels["managed_server"][int(r() * len(labels["managed_server"]))]
                    services.append(
                        (
                            sid,
                            account_id,
                            "managed_server",
                            f"{label} ({server})",
                            host_domains if k == 0 else "",
                            server,
                            created_text,
                        )
                    )
                    if k == 0:
                        acct.kinds["managed_server"] = (sid, server)
                        acct.server = server
            if r() < 0.7:
                sid += 1
                label = labels["email"][int(r() * len(labels["email"]))]
                services.append((sid, account_id, "email", label, domain, mx, created_text))
                acct.kinds["email"] = (sid, mx)
            if r() < 0.85:
                sid += 1
                label = labels["domain"][int(r() * len(labels["domain"]))]
                services.append((sid, account_id, "domain", label, host_domains, None, created_text))
                acct.kinds["domain"] = (sid, None)
            slots["server"] = acct.server
            if r() < cfg["suspended_share"]:
                status = "suspended"
                reason = reasons[int(r() * len(reasons))].format_map(slots)
            note = notes[int(r() * len(notes))].format_map(slots) if r() < cfg["notes_share"] else ""
            if "{reseller}" in note or note.startswith("VIP") and not reseller_id:
                note = note if reseller_id else ""
            accounts.append(
                (
                    account_id,
                    company,
                    acct.plan,
                    status,
                    reason,
                    note,
                    reseller_id,
                    created_text,
                )
            )
            # contacts: primary, usually a secondary (off-server), 0-3 authorized, a subaccount
            people_here: list[tuple[str, str, str, str]] = [(first, last, "primary", "domain")]
            if r() < 0.85:
                people_here.append((*self.person(), "secondary", "free"))
            u = r()
            for _ in range(0 if u < 0.4 else 1 if u < 0.7 else 2 if u < 0.9 else 3):
                people_here.append((*self.person(), "authorized", "domain"))
            if r() < 0.2:
                people_here.append((*self.person(), "subaccount", "agency"))
            for first_name, last_name, role_name, where in people_here:
                cid += 1
                name = f"{first_name} {last_name}"
                contacts.append((cid, account_id, name, role_name, None, True, created_text))
                acct.contacts.append((cid, first_name, name))
                local = f"{first_name}.{last_name}".lower().replace(" ", "").replace("'", "")
                if where == "free":
                    mail = f"{local}@{free_mail[int(r() * len(free_mail))]}"
                elif where == "agency":
                    mail = f"{local}@{agencies[int(r() * len(agencies))]}"
                else:
                    mail = f"{local}@{domain}"
                pid += 1
                points.append((pid, cid, "email", mail))
                if r() < 0.3:
                    pid += 1
                    box = role_boxes[int(r() * len(role_boxes))]
                    points.append((pid, cid, "email", f"{box}@{domain}"))
                pid += 1
                points.append((pid, cid, "phone", self.phone()))
            self.accts.append(acct)
        return accounts, services, contacts, points

    # ----------------------------------------------------------------------------- tickets
    def created_times(self) -> list[int]:
        """Creation times of all tickets, oldest first: denser towards now, busier in office
        hours."""
        r = self.rng.random
        now = self.now
        hours = _table([(h, w) for h, w in enumerate(HOUR_SHARES)])
        local_midnight = (now + LOCAL_OFFSET_US) // DAY * DAY - LOCAL_OFFSET_US
        out = []
        for _ in range(self.n_tickets):
            day = int(DAYS * r() ** 1.6)
            t = local_midnight - day * DAY + hours[int(r() * len(hours))] * HOUR
            t += int(r() * HOUR)
            if t >= now:
                t = now - int(r() * min(now - local_midnight, 6 * HOUR)) - SEC
            out.append(t)
        out.sort()
        return out

    def active_threshold(self, created: list[int]) -> float:
        """The score below which a ticket is still active, so that ACTIVE_SHARE of them are
        (estimated on a sample; score = age x random factor, so older ones are mostly done)."""
        r = random.Random(self.rng.random()).random
        now = self.now
        step = max(1, len(created) // 50_000)
        sample = sorted((now - t) * (r() + 0.03) for t in created[::step])
        return sample[min(len(sample) - 1, int(len(sample) * ACTIVE_SHARE))]

    def tickets(
        self, staff: list[tuple[int, str, int, str]], batch: int = BATCH
    ) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        """Yields (ticket rows, event rows) in batches, ids 1..N in creation order."""
        rng = self.rng
        r = rng.random
        ts = self.ts
        now = self.now
        fx = self.fx
        th = fx.thread
        accts = self.accts
        n_acc = len(accts)
        templates = fx.templates
        tpl_table = _table(list(zip(range(len(templates)), fx.weights, strict=True)))
        admin_table = [i for i in tpl_table if templates[i].request in ADMIN_REQUESTS]
        status_table = _table(STATUS_SHARES + (("scheduled", 1),))
        code_table = _table(RESOLUTION_SHARES)
        prio_table = _table([(rank, w) for rank, w in enumerate(PRIORITY_SHARES)])
        chan_table = _table(CHANNEL_SHARES)
        agents = [s for s in staff if s[3] == "agent"] or staff
        holders = {
            tier: [s for s in staff if s[2] >= tier and s[3] != "lead"]
            or [s for s in staff if s[2] >= tier]
            for tier in (1, 2, 3)
        }
        holders[1] = agents
        workers = {1: agents, 2: holders[2], 3: holders[3]}
        greeting, signoff = self.greeting, self.signoff
        acknowledge: list[str] = th["acknowledge"]
        followups: list[str] = th["customer_followup"]
        asks: list[str] = th["asks"]
        escalate: list[str] = th["escalate"]
        internal: list[str] = th["internal"]
        calls: list[str] = th["calls"]
        scheduled_notes: list[str] = th["scheduled"]
        awaiting: list[str] = th["awaiting_authorization"]
        unlisted_roles: list[str] = fx.people["unlisted_roles"]
        resolved_fmt: str = th["resolved"]
        created = self.created_times()
        threshold = self.active_threshold(created)
        last_ticket: dict[int, int] = {}
        eid = 0
        t_rows: list[tuple[Any, ...]] = []
        e_rows: list[tuple[Any, ...]] = []
        add = e_rows.append

        def letter(slots: _Slots, body: str, agent: str) -> str:
            g = greeting[int(r() * len(greeting))].format_map(slots)
            s = signoff[int(r() * len(signoff))].replace("{agent}", agent)
            return f"{g}\n\n{body}\n\n{s}"

        for index, t0 in enumerate(created):
            tid = index + 1
            age = now - t0
            ai = int(n_acc * r() ** 2)
            acct = accts[ai]
            if age * (r() + 0.03) < threshold:
                status = status_table[int(r() * len(status_table))]
                code = None
                if status == "open" and r() < (0.55 if age < DAY else 0.12):
                    status = "new"
            else:
                status = "done"
                code = code_table[int(r() * len(code_table))]
            rank_jitter = r() < 0.4
            if status == "awaiting_authorization" or code == "not_authorized":
                tpl = templates[admin_table[int(r() * len(admin_table))]]
            else:
                tpl = templates[tpl_table[int(r() * len(tpl_table))]]
            rank = prio_table[int(r() * len(prio_table))] if rank_jitter else tpl.priority_rank
            channel = chan_table[int(r() * len(chan_table))]
            # who asks: a listed contact, or someone who is not on the account
            unlisted = status == "awaiting_authorization" or code in (
                "not_authorized",
                "unlisted_sender",
            )
            if not unlisted and r() < 0.03:
                unlisted = True  # an unlisted caller whose simple question was answered
            caller_name = caller_phone = None
            if unlisted:
                contact_id = None
                first, last = self.person()
                caller_name = f"{first} {last} ({unlisted_roles[int(r() * len(unlisted_roles))]})"
                if code == "unlisted_sender":
                    channel = "email"
                    caller_name = f"{first} {last}"
                elif channel in ("phone", "chat"):
                    caller_phone = self.phone()
            else:
                contacts = acct.contacts
                c = contacts[0] if r() < 0.55 else contacts[int(r() * len(contacts))]
                contact_id, first = c[0], c[1]
            # the service it is about
            service_id = None
            server = acct.server
            for kind in tpl.service:
                got = acct.kinds.get(kind)
                if got is not None:
                    service_id = got[0]
                    server = got[1] or server
                    break
            domains = acct.domains
            slots = _Slots(
                account=acct.id,
                domain=domains[0] if len(domains) == 1 else domains[int(r() * len(domains))],
                server=server,
                mx=acct.mx,
                first=first,
                plan=acct.plan,
            )
            slots.gen = self
            slots.t0 = t0
            subject = tpl.subject.format_map(slots)
            description = tpl.description.format_map(slots)
            # tier the ticket ended up at
            if tpl.tier > 1:
                tier = tpl.tier if r() < 0.55 else (2 if tpl.tier == 3 and r() < 0.3 else 1)
            else:
                tier = 2 if r() < 0.05 else 1
            if status == "new":
                tier = 1
            holder = None
            if status in ("open", "pending_customer", "scheduled"):
                want = 0.9 if status == "scheduled" else (0.35 if tier == 1 else 0.55)
                if status == "scheduled" and tier == 1:
                    tier = 2
                if r() < want:
                    pool = holders[tier]
                    holder = pool[int(r() * len(pool))]
            team = workers[tier]
            agent = agents[int(r() * len(agents))]
            worker = team[int(r() * len(team))] if tier > 1 else agent
            agent_first = agent[4]
            # timeline
            t1 = t0 + int(FIRST_RESPONSE_US[rank] * (0.05 + 1.9 * r()))
            if t1 >= now:
                t1 = t0 + int((now - t0) * (0.2 + 0.7 * r()))
            ts0 = ts(t0)
            add(
                (
                    eid + 1,
                    tid,
                    "created",
                    agent[0] if channel == "phone" and not unlisted else None,
                    True,
                    True,
                    None,
                    None,
                    None,
                    None,
                    ts0,
                )
            )
            eid += 1
            first_response = None
            resolved_at = None
            merged = None
            speaker = "customer"
            last_at = t0
            if status == "new":
                if rank <= 1 and r() < 0.4 and age > 20 * MIN:
                    last_at = t0 + int(age * (0.3 + 0.6 * r()))
                    body = followups[int(r() * 2)].format_map(slots)
                    eid += 1
                    add((eid, tid, "reply", None, True, True, body, None, None, None, ts(last_at)))
            elif status == "done" and code == "unlisted_sender":
                t1 = t0 + 3 * SEC + int(r() * 20 * SEC)
                body = th["unlisted_sender"].format_map(slots)
                ts1 = ts(t1)
                eid += 2
                add((eid - 1, tid, "reply", None, False, True, body, None, None, None, ts1))
                add((eid, tid, "status", None, False, False, None, None, "new", "closed", ts1))
                status, resolved_at, speaker, last_at = "closed", ts1, "staff", t1
            else:
                ts1 = ts(t1)
                first_response = ts1
                speaker = "staff"
                last_at = t1
                if status == "awaiting_authorization" or code == "not_authorized":
                    body = letter(slots, awaiting[int(r() * len(awaiting))].format_map(slots), agent_first)
                    eid += 2
                    add((eid - 1, tid, "reply", agent[0], False, True, body, None, None, None, ts1))
                    add(
                        (eid, tid, "status", agent[0], False, False, None, None, "new",
                         "awaiting_authorization", ts1)
                    )
                    if code == "not_authorized":
                        t2 = t1 + 7 * DAY + int(r() * HOUR)
                        if t2 >= now:
                            t2 = t1 + int((now - t1) * r())
                        ts2 = ts(t2)
                        body = letter(slots, th["not_authorized"], agent_first)
                        eid += 2
                        add((eid - 1, tid, "reply", agent[0], False, True, body, None, None, None, ts2))
                        add(
                            (eid, tid, "status", agent[0], False, False, None, None,
                             "awaiting_authorization", "closed", ts2)
                        )
                        status, resolved_at, last_at = "closed", ts2, t2
                elif status == "pending_customer" or code == "no_response":
                    ask = tpl.ask or asks[int(r() * len(asks))]
                    body = letter(slots, ask.format_map(slots), worker[4])
                    eid += 2
                    add((eid - 1, tid, "reply", worker[0], False, True, body, None, None, None, ts1))
                    add(
                        (eid, tid, "status", worker[0], False, False, None, None, "new",
                         "pending_customer", ts1)
                    )
                    if code == "no_response":
                        t2 = t1 + 7 * DAY + int(r() * 2 * HOUR)
                        if t2 >= now:
                            t2 = t1 + int((now - t1) * r())
                        ts2 = ts(t2)
                        body = letter(slots, th["no_response"], worker[4])
                        eid += 2
                        add((eid - 1, tid, "reply", worker[0], False, True, body, None, None, None, ts2))
                        add(
                            (eid, tid, "status", worker[0], False, False, None, None,
                             "pending_customer", "closed", ts2)
                        )
                        status, resolved_at, last_at = "closed", ts2, t2
                    elif holder is not None:
                        eid += 1
                        add((eid, tid, "holder", holder[0], False, False, None, None, None, holder[1], ts1))
                elif code == "duplicate" or code == "out_of_scope":
                    other = last_ticket.get(ai) if code == "duplicate" else None
                    if other is not None:
                        merged = other
                        slots["other"] = str(other)
                        body = letter(slots, th["duplicate"].format_map(slots), agent_first)
                        eid += 1
                        add((eid, tid, "merge", agent[0], False, False, None, None, None, str(other), ts1))
                    else:
                        code = "out_of_scope"
                        body = letter(slots, th["out_of_scope"], worker[4])
                    eid += 2
                    add((eid - 1, tid, "reply", worker[0], False, True, body, None, None, None, ts1))
                    final = "closed" if merged or now - t1 > AUTO_CLOSE_US else "resolved"
                    add((eid, tid, "status", worker[0], False, False, None, None, "new", final, ts1))
                    status, resolved_at = final, ts1
                else:
                    # a worked ticket: open, scheduled or (eventually) fixed
                    full = status != "done" or age < RECENT_US
                    if status == "done":
                        tr = t1 + int(RESOLVE_US[rank] * (0.1 + 1.8 * r()))
                        if tr >= now:
                            tr = t1 + int((now - t1) * (0.3 + 0.6 * r()))
                        fcr = not full and r() < 0.5
                    else:
                        tr = now
                        fcr = False
                    if fcr:
                        tr = t1
                    else:
                        # first response: a call for phone tickets, else a reply
                        if channel == "phone" and r() < 0.5:
                            body = calls[int(r() * len(calls))].format_map(slots)
                            eid += 1
                            add((eid, tid, "call", agent[0], False, False, body, "spoke", None, None, ts1))
                        else:
                            text = acknowledge[int(r() * len(acknowledge))].format_map(slots)
                            if full and status != "done" and r() < 0.3:
                                text = f"{text} {asks[int(r() * len(asks))]}"
                            eid += 1
                            add(
                                (eid, tid, "reply", agent[0], False, True,
                                 letter(slots, text, agent_first), None, None, None, ts1)
                            )
                        eid += 1
                        add((eid, tid, "status", agent[0], False, False, None, None, "new", "open", ts1))
                    tn = t1
                    span = tr - t1
                    if tier > 1 and full and not fcr:
                        tn = t1 + int(span * 0.1 * r()) + SEC
                        note = escalate[int(r() * len(escalate))].format_map(slots).replace("{tier}", str(tier))
                        eid += 1
                        add((eid, tid, "tier", agent[0], False, False, note, None, "1", str(tier), ts(tn)))
                    if holder is not None:
                        tn += int(span * 0.1 * r()) + SEC
                        eid += 1
                        add((eid, tid, "holder", holder[0], False, False, None, None, None, holder[1], ts(tn)))
                        worker = holder
                    if full and not fcr:
                        u = r()
                        if u < 0.25:
                            tn += int((tr - tn) * 0.5 * r()) + SEC
                            body = internal[int(r() * len(internal))].format_map(slots)
                            eid += 1
                            add((eid, tid, "note", worker[0], False, False, body, None, None, None, ts(tn)))
                        elif u < 0.65 and tr - tn > 2 * MIN:
                            tn += int((tr - tn) * 0.6 * r()) + SEC
                            body = followups[int(r() * len(followups))].format_map(slots)
                            eid += 1
                            add((eid, tid, "reply", None, True, True, body, None, None, None, ts(tn)))
                            speaker = "customer"
                        elif u < 0.75 and tr - tn > 2 * MIN:
                            tn += int((tr - tn) * 0.6 * r()) + SEC
                            outcome = ("spoke", "voicemail", "no_answer")[int(r() * 3)]
                            body = calls[int(r() * len(calls))].format_map(slots)
                            if outcome != "spoke":
                                body = f"{body} {'Left a voicemail.' if outcome == 'voicemail' else 'No answer.'}"
                            eid += 1
                            add((eid, tid, "call", worker[0], False, False, body, outcome, None, None, ts(tn)))
                            speaker = "staff"
                    last_at = tn
                    if status == "scheduled":
                        tn += SEC
                        body = scheduled_notes[int(r() * len(scheduled_notes))].format_map(slots)
                        tsn = ts(tn)
                        eid += 2
                        add((eid - 1, tid, "note", worker[0], False, False, body, None, None, None, tsn))
                        add((eid, tid, "status", worker[0], False, False, None, None, "open", "scheduled", tsn))
                        last_at = tn
                    elif status == "done":
                        tr = max(tr, tn + SEC)
                        body = letter(slots, resolved_fmt.replace("{fix}", tpl.fix).format_map(slots), worker[4])
                        tsr = ts(tr)
                        closed = now - tr > AUTO_CLOSE_US
                        eid += 2
                        add((eid - 1, tid, "reply", worker[0], False, True, body, None, None, None, tsr))
                        if full or not closed:
                            add((eid, tid, "status", worker[0], False, False, None, None, "open", "resolved", tsr))
                            last_at = tr
                            if closed:
                                last_at = tr + AUTO_CLOSE_US
                                eid += 1
                                add(
                                    (eid, tid, "status", None, False, False, None, None,
                                     "resolved", "closed", ts(last_at))
                                )
                        else:
                            add((eid, tid, "status", worker[0], False, False, None, None, "open", "closed", tsr))
                            last_at = tr
                        status = "closed" if closed else "resolved"
                        resolved_at = tsr
                        speaker = "staff"
                    if fcr:
                        first_response = ts(tr)
            if status == "done":  # pragma: no cover - every branch above settles it
                raise AssertionError("unsettled demo ticket")
            last_ticket[ai] = tid
            last_text = ts(last_at)
            t_rows.append(
                (
                    tid,
                    acct.id,
                    contact_id,
                    caller_name,
                    caller_phone,
                    service_id,
                    tpl.request,
                    subject,
                    description,
                    tpl.category,
                    rank,
                    channel,
                    status,
                    tier,
                    ts0,
                    last_text,
                    first_response,
                    resolved_at,
                    code,
                    holder[0] if holder is not None else None,
                    merged,
                    speaker,
                    last_text,
                )
            )
            if len(t_rows) >= batch:
                yield t_rows, e_rows
                t_rows, e_rows = [], []
                add = e_rows.append
        if t_rows:
            yield t_rows, e_rows
