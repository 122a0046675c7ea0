"""Generating a demo: the directory (accounts, services, contacts) and tickets with their
threads, as plain tuples from seeded random numbers, in chunks any process can make."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from supportdesk.core.policy import load_preset, policy_from_text
from supportdesk.enums import Priority
from supportdesk.models import sqlite_timestamp
from supportdesk.rules.policy import Plan
from supportdesk.rules.sla_engine import CLOCKS, to_us

from .clocks import Targets, ticket_columns, to_ms
from .rows import (
    ACTIVE_SHARE,
    ADMIN_REQUESTS,
    AUTO_CLOSE_US,
    CHANNEL_SHARES,
    CHUNK,
    DAY,
    DAYS,
    EPOCH,
    FIRST_RESPONSE_US,
    HELD_BY,
    HELD_STATUSES,
    HOUR,
    HOUR_SHARES,
    LOCAL_OFFSET_US,
    MIN,
    PRIORITY_SHARES,
    RECENT_US,
    RESOLUTION_SHARES,
    RESOLVE_US,
    SEC,
    SHAPE_CODES,
    STALE_AFTER_US,
    STATUS_SHARES,
    WEEKDAYS,
    Row,
    StaffRow,
)
from .texts import VARIANTS, Variant, VariantSlots, demo_texts, percent_style, weighted_table


class Times:
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
class Acct:
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
    def from_state(cls, state: tuple[Any, ...]) -> Acct:
        acct = cls(state[0], state[1])
        acct.domains, acct.kinds, acct.server, acct.mx, acct.contacts = state[2:]
        return acct


class _Slots(dict[str, str]):
    """One ticket's slot values; the rarer ones are made only when a text asks for them."""

    __slots__ = ("gen", "t0")
    gen: Generator
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


class Generator:
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
        self.ts = Times(sqlite, self.now - (DAYS + 2) * DAY, DAYS + 25).text
        self.dates: dict[int, tuple[str, str]] = {}  # local day -> (date, weekday)
        self.fx = demo_texts()
        self.accts: list[Acct] = []
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

    def variants(self) -> list[list[Variant]]:
        """VARIANTS pre-rendered variants of every template, one-off slots filled."""
        out = []
        for tpl in self.fx.templates:
            rendered = []
            for _ in range(VARIANTS):
                fill = VariantSlots(self)
                rendered.append(
                    Variant(
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
        plans = weighted_table(list(fx["plans"].items()))
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
            acct = Acct(account_id, plans[int(r() * len(plans))])
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
        hours = weighted_table(list(enumerate(HOUR_SHARES)))
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

    def __init__(self, gen: Generator, staff: list[StaffRow]) -> None:
        fx = gen.fx
        lists: dict[str, list[str]] = {
            k: [percent_style(x) for x in v] for k, v in fx.thread.items() if isinstance(v, list)
        }
        th: dict[str, str] = {
            k: percent_style(v) for k, v in fx.thread.items() if isinstance(v, str)
        }
        self.gen = gen
        gen.rng = random.Random(f"{gen.seed}:variants")
        self.r = gen.rng.random
        self.ts = gen.ts
        self.now = gen.now
        self.accts = gen.accts
        self.templates = fx.templates
        self.variants = gen.variants()
        self.tpl_table = weighted_table(
            list(zip(range(len(fx.templates)), fx.weights, strict=True))
        )
        self.admin_table = [i for i in self.tpl_table if fx.templates[i].request in ADMIN_REQUESTS]
        self.status_table = weighted_table(STATUS_SHARES)
        self.responder = 0  # who gave the first response of the ticket `worked` last wrote
        self.code_table = weighted_table(RESOLUTION_SHARES)
        self.prio_table = weighted_table(list(enumerate(PRIORITY_SHARES)))
        self.chan_table = weighted_table(CHANNEL_SHARES)
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
        self.targets: dict[tuple[str, int], Targets] = {}

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
        clock = Generator.CLOCK
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
        first_us = resolved_us = None  # the same two times as microseconds
        responder = resolver = None  # who stopped the clocks (responded_by, resolved_by)
        speaker, last_at = "customer", t0
        th = self.th
        if status == "new":
            if rank <= 1 and age > 20 * MIN and r() < 0.4:
                last_at = t0 + int(age * (0.3 + 0.6 * r()))
                body = self.followups[int(r() * 2)] % slots
                self.reply(tid, None, body, ts(last_at), customer=1)
        elif code == "unlisted_sender":
            last_at = t0 + 3 * SEC + int(r() * 20 * SEC)
            resolved_at, resolved_us = ts(last_at), last_at
            self.reply(tid, None, th["unlisted_sender"] % slots, resolved_at)
            if full:
                self.status(tid, None, "new", "closed", resolved_at)
            status, speaker = "closed", "staff"
        else:
            first_response = ts1 = ts(t1)
            first_us = t1
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
                responder = worker[0]
                if full:
                    self.status(tid, worker[0], "new", held, ts1)
                if code is not None:
                    resolver = worker[0]
                    last_at = min(t1 + 7 * DAY + int(r() * 2 * HOUR), now - SEC)
                    resolved_at, resolved_us = ts(last_at), last_at
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
                responder = resolver = worker[0]
                status = "closed" if merged or now - t1 > AUTO_CLOSE_US else "resolved"
                if full:
                    self.status(tid, worker[0], "new", status, ts1)
                resolved_at, resolved_us = ts1, t1
            else:
                status, resolved_at, resolved_us, last_at, speaker = self.worked(
                    tid, t1, ts1, status, tier, rank, variant, slots, channel, agent, worker,
                    holder, full,
                )  # fmt: skip
                responder = self.responder
                resolver = worker[0] if resolved_at else None
        self.last_ticket[index] = (tid, number, which)
        last_text = ts(last_at)
        return (
            tid, acct.id, contact_id or 0, caller_name or "", caller_phone or "",
            service_id or 0, tpl.request, subject, description, tpl.category, rank, channel,
            status, tier, ts0, first_response or "", resolved_at or "", code or "",
            holder[0] if holder is not None else 0, merged or 0, speaker, last_text,
            self.tier_at, tid if tier > 1 else 0, 1 if tier > 1 else 0,
            *self.clocks(acct.plan, rank, status, code, t0, first_us, resolved_us, last_at),
            responder or 0, resolver or 0,
        )  # fmt: skip

    def clocks(
        self,
        plan_name: str,
        rank: int,
        status: str,
        code: str | None,
        t0: int,
        first_us: int | None,
        resolved_us: int | None,
        last_at: int,
    ) -> tuple[Any, ...]:
        """The SLA columns of a ticket, from the outline of its history (times in
        microseconds; the response and resolution are counted as stored, to the ms)."""
        plan, targets = self.plan_targets(plan_name, rank)
        held = HELD_BY.get(code or "") or (status if status in HELD_STATUSES else None)
        return ticket_columns(
            plan.name, plan.calendar, targets, self.ts, status=status, held=held, created=t0,
            first_response=to_ms(first_us), resolved=to_ms(resolved_us), last_activity=last_at,
        )  # fmt: skip

    def plan_targets(self, plan_name: str, rank: int) -> tuple[Plan, Targets]:
        """An account's plan and its (seconds, tracked) targets at a priority."""
        plan = self.plans.get(plan_name)
        if plan is None:
            plan = self.plans[plan_name] = self.gen.policy.plan_for(plan_name)
        targets = self.targets.get((plan.name, rank))
        if targets is None:
            prio = Priority.from_rank(rank)
            respond, resolve = (plan.target(c, prio) for c in CLOCKS)
            targets = self.targets[plan.name, rank] = (
                (respond.seconds, respond.kind != "none"),
                (resolve.seconds, resolve.kind != "none"),
            )
        return plan, targets

    def worked(
        self,
        tid: int,
        t1: int,
        ts1: Any,
        status: str,
        tier: int,
        rank: int,
        variant: Variant,
        slots: _Slots,
        channel: str,
        agent: StaffRow,
        worker: StaffRow,
        holder: StaffRow | None,
        full: bool,
    ) -> tuple[str, Any, int | None, int, str]:
        """The thread of a ticket someone works on: open, scheduled, or solved (`done`).
        Returns its final status, resolved_at (as given and in microseconds), last
        activity and last speaker."""
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
        self.responder = worker[0] if solved_at_once else agent[0]
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
            return status, None, None, tn, speaker
        if not done:
            return status, None, None, tn, speaker
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
        return ("closed" if closed else "resolved"), at, tr, last, "staff"
