"""Finding the caller's account while they talk, and what the agent sees of it (issue 4).

`find_accounts` runs on every keystroke of the call screen's search box, so every match it
tries first is a range on an index: account id and company prefixes (`lower(company)` has an
expression index), e-mail and phone prefixes on `contact_points.value` (a local number in
the desk's country, from the policy's `phone_country`), the first domain of a service (an
index on `services.domains`) and a ticket number. Only when those give fewer hits than asked
for does it scan: for a domain starting with it that is not a service's first, for a
contact's name containing it (what a caller says: "mabena") and for a company name
containing it. Both scans read one narrow column and stop at
the limit (benchmarks/bench_lookup.py: 100,000 accounts).

Plain SQL on the DBAPI connection (`Store.query`), no SQLAlchemy: a prefix is a range on
SQLite (`col >= ? AND col < ?`, which a BINARY index serves, where a case-insensitive LIKE
would not) and on PostgreSQL (`col ~>=~ ? AND col ~<~ ?`: the indexes there are
`text_pattern_ops`, right under any collation, and serve the range in a generic plan too,
where a `LIKE ?` was not). Account ids, e-mail addresses, domains and phone numbers are
stored in lower case or normalised, so matching them exactly is matching them without case.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from supportdesk.core.desk import Desk
from supportdesk.errors import UsageError

if TYPE_CHECKING:
    from supportdesk.core.views import AccountView
    from supportdesk.rules.policy import Plan
    from supportdesk.services.incidents import IncidentSummary
    from supportdesk.services.incidents.maintenance import WindowView

MAX_HITS = 50
# the WHERE of the partial index ix_services_more_domains (models/directory.py, whose import
# would cost SQLAlchemy's; a test checks that they agree)
MORE_DOMAINS_SQLITE = "instr(domains, ' ') > 0"
MORE_DOMAINS_PG = "strpos(domains, ' ') > 0"
MAX_TEXT = 254  # the longest e-mail address: nothing longer can match
TICKET_RE = re.compile(r"^#?(\d{1,9})$")
PHONE_RE = re.compile(r"^\+?[\d\s().\-/]*$")  # "+" alone too: a number being typed
DOMAIN_CHARS = re.compile(r"^[a-z0-9.\-]+$")
SCHEME_RE = re.compile(r"^(?:https?://)?(?:www\.)?")
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
PRIORITY_LETTERS = (("critical", "C"), ("high", "H"), ("medium", "M"), ("low", "L"))

# what matched, in the order hits are listed (the first match of an account wins)
TICKET, ACCOUNT, PHONE, EMAIL, DOMAIN, COMPANY, CONTACT = (
    "ticket",
    "account",
    "phone",
    "e-mail",
    "domain",
    "company",
    "contact",
)
NAME_RE = re.compile(r"^[^\d@#/:]{3,}$")  # a person's name: no digits, no address


@dataclass(frozen=True)
class AccountHit:
    """One account the search found, and why: `matched` is what matched (ticket, account,
    phone, e-mail, domain, company) and `detail` the value that did (the domain, the
    address, "#123 subject")."""

    account: str
    company: str
    status: str
    plan: str
    reseller: str | None
    matched: str
    detail: str
    contact: int | None = None  # the contact whose e-mail, phone or name matched: the caller


# -- finding -----------------------------------------------------------------------------------
def _after(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (binary order)."""
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates cannot be encoded: skip over them
        last = 0xE000
    return prefix[:-1] + chr(min(last, 0x10FFFF))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Finder:
    """The SQL of one search, for one dialect; collects hits in order, one per account."""

    def __init__(self, desk: Desk, limit: int) -> None:
        self.store = desk.store
        self.sqlite = desk.store.is_sqlite
        self.limit = limit
        # account -> (matched, detail, the contact that matched)
        self.hits: dict[str, tuple[str, str, int | None]] = {}

    @property
    def full(self) -> bool:
        return len(self.hits) >= self.limit

    def prefix(self, column: str, text: str, params: list[Any]) -> str:
        """`column` starts with `text`, as a range on its index. On PostgreSQL the range is
        in `text_pattern_ops` order (`~>=~`, `~<~`: code point order, as `_after` counts):
        a `LIKE 'text%'` served the index only in a custom plan, and once psycopg had
        prepared the statement (its sixth run on a connection) the generic plan, which
        cannot see the pattern, scanned every contact point (2.4 s at 100k accounts)."""
        params += [text, _after(text)]
        if self.sqlite:
            return f"{column} >= ? AND {column} < ?"
        return f"{column} ~>=~ ? AND {column} ~<~ ?"

    def order(self, column: str) -> str:
        """In the order of the prefix's index: binary on SQLite, and on PostgreSQL that of
        `text_pattern_ops` (its `~<~`), which the index gives without a sort."""
        return f" ORDER BY {column}" if self.sqlite else f" ORDER BY {column} USING ~<~"

    def contains(self, column: str, text: str, params: list[Any], *, word: bool = False) -> str:
        """`column` contains `text` (with `word`: after a space, or at the start, where the
        column is prefixed with one space)."""
        params.append(("% " if word else "%") + _escape_like(text) + "%")
        return f"{column} LIKE ? ESCAPE '\\'" if self.sqlite else f"{column} LIKE ?"

    def add(
        self,
        rows: Sequence[tuple[Any, ...]],
        matched: str,
        detail: Any = None,
        *,
        contact: bool = False,
    ) -> None:
        """Hits from `rows` (account, value[, contact id when `contact`])."""
        for row in rows:
            if self.full:
                return
            account = str(row[0])
            if account not in self.hits:
                value = detail(row) if callable(detail) else str(row[1] if len(row) > 1 else "")
                who = int(row[2]) if contact and row[2] is not None else None
                self.hits[account] = (matched, value, who)

    def run(self, sql: str, params: list[Any], *, scan: bool = False) -> list[tuple[Any, ...]]:
        """The statement's first rows. `scan`: a word inside a column, which PostgreSQL finds
        with a pg_trgm index (migration 0013) when the pattern is rare and by reading the
        table until the limit when it is common: planned for its pattern every time (never
        prepared), since a generic plan, blind to the pattern, read the whole table for a
        word nobody has."""
        if self.full:
            return []
        if scan and not self.sqlite:
            return self.store.query(sql + " LIMIT ?", [*params, self.limit], prepare=False)
        return self.store.query(sql + " LIMIT ?", [*params, self.limit])

    # -- the matches ----------------------------------------------------------------------
    def ticket(self, number: int) -> None:
        rows = self.store.query(
            "SELECT t.account_id, t.id, t.subject FROM tickets t WHERE t.id = ?", [number]
        )
        self.add(rows, TICKET, lambda r: f"#{r[1]} {r[2]}")

    def account(self, text: str) -> None:
        params: list[Any] = []
        where = self.prefix("a.id", text, params)
        sql = f"SELECT a.id, a.id FROM accounts a WHERE {where}" + self.order("a.id")
        rows = self.run(sql, params)
        self.add(rows, ACCOUNT)

    def point(self, kind: str, text: str) -> None:
        params: list[Any] = []
        where = self.prefix("cp.value", text, params)
        rows = self.run(
            "SELECT c.account_id, cp.value, c.id FROM contact_points cp"
            " JOIN contacts c ON c.id = cp.contact_id"
            f" WHERE {where} AND cp.kind = '{kind}' AND c.active{self.order('cp.value')}",
            params,
        )
        self.add(rows, PHONE if kind == "phone" else EMAIL, contact=True)

    def contact_name(self, text: str) -> None:
        """A contact whose name contains `text` ("mabena" for Olga Mabena): a scan of the
        contacts' names that stops at the limit."""
        params: list[Any] = []
        if self.sqlite:  # SQLite's LIKE ignores ASCII case already
            where = self.contains("c.name", text, params)
        else:
            where = self.contains("lower(c.name)", self.fold(text), params)
        rows = self.run(
            f"SELECT c.account_id, c.name, c.id FROM contacts c WHERE c.active AND {where}",
            params,
            scan=True,
        )
        self.add(rows, CONTACT, contact=True)

    def first_domain(self, text: str) -> None:
        params: list[Any] = []
        where = self.prefix("s.domains", text, params)
        rows = self.run(
            f"SELECT s.account_id, s.domains FROM services s WHERE {where}"
            + self.order("s.domains"),
            params,
        )
        self.add(rows, DOMAIN, lambda r: _domain_of(r[1], text))

    def other_domain(self, text: str) -> None:
        """A domain after the first: a scan of the partial index of the services that have
        more than one (its WHERE repeated, so that SQLite uses it)."""
        params: list[Any] = []
        where = self.contains("(' ' || s.domains)", text, params, word=True)
        more = MORE_DOMAINS_SQLITE if self.sqlite else MORE_DOMAINS_PG
        rows = self.run(
            f"SELECT s.account_id, s.domains FROM services s WHERE {more} AND {where}",
            params,
            scan=True,
        )
        self.add(rows, DOMAIN, lambda r: _domain_of(r[1], text))

    def company_prefix(self, text: str) -> None:
        params: list[Any] = []
        where = self.prefix("lower(a.company)", self.fold(text), params)
        rows = self.run(
            f"SELECT a.id, a.company FROM accounts a WHERE {where}"
            + self.order("lower(a.company)"),
            params,
        )
        self.add(rows, COMPANY)

    def company_contains(self, text: str) -> None:
        params: list[Any] = []
        if self.sqlite:  # SQLite's LIKE ignores ASCII case already
            where = self.contains("a.company", text, params)
        else:
            where = self.contains("lower(a.company)", self.fold(text), params)
        rows = self.run(f"SELECT a.id, a.company FROM accounts a WHERE {where}", params, scan=True)
        self.add(rows, COMPANY)

    def fold(self, text: str) -> str:
        """Lower case as the database's lower() does it (SQLite's folds ASCII only)."""
        return text.translate(ASCII_LOWER) if self.sqlite else text.lower()


def _domain_of(domains: str, text: str) -> str:
    for domain in domains.split():
        if domain.startswith(text):
            return domain
    return domains.split()[0] if domains else ""


def _as_phone(text: str, country: str | None = None) -> str | None:
    """The text as a normalised phone number ("+digits"), when it looks like one: six
    digits or more, or a "+" and two (the start of an international number). A local number
    (a leading 0, no "+") is in the desk's `country`: "082 770 3025" is "+27827703025"."""
    if not PHONE_RE.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 6:
        from supportdesk.rules.limits import normalise_phone

        return normalise_phone(text, country)
    if text.startswith("+") and len(digits) >= 2:
        return "+" + digits
    return None


def find_accounts(desk: Desk, text: str, limit: int = 20) -> list[AccountHit]:
    """Accounts the caller may mean by `text`: a ticket number ("#123" or digits), an
    account id or company (prefix; a company also by a word it contains), a domain of one of
    its services, a contact's e-mail address or phone number (exact or prefix). One hit per
    account, best reason first: ticket, account, phone, e-mail, domain, company."""
    if not 1 <= limit <= MAX_HITS:
        raise UsageError(f"limit must be between 1 and {MAX_HITS}")
    raw = " ".join(text.replace("\x00", " ").split())[:MAX_TEXT]  # typed: bounded, no NUL
    if not raw:
        return []
    low = raw.lower()
    find = _Finder(desk, limit)
    number = TICKET_RE.match(raw)
    phone = _as_phone(raw, _desk_country(desk) if raw.lstrip().startswith("0") else None)
    dialled = bool(PHONE_RE.match(raw))  # digits and phone punctuation only
    one_word = " " not in low
    domain = SCHEME_RE.sub("", low).split("/")[0] if one_word else ""
    if "@" in low or not DOMAIN_CHARS.match(domain):
        domain = ""
    # the index ranges, best reason first
    if number:
        find.ticket(int(number.group(1)))
    if one_word:
        find.account(low)
    if phone:
        find.point("phone", phone)
    if one_word and not dialled:  # (every phone number is stored as "+digits")
        find.point("email", low)
    if domain and not number:
        find.first_domain(domain)
    find.company_prefix(raw)
    # the scans, only when the ranges found too little
    if domain and len(domain) >= 3 and not number:
        find.other_domain(domain)
    if NAME_RE.match(raw):  # a caller gives their name: "mabena", "Olga Mabena"
        find.contact_name(raw)
    if not (dialled or number) and "." not in low and "@" not in low:
        find.company_contains(raw)
    return _hits(desk, find.hits)


def _desk_country(desk: Desk) -> str | None:
    """The desk's country calling code, from the policy (`[verification] phone_country`)."""
    from supportdesk.core.policy import current_policy

    return current_policy(desk).verification.phone_country


def _hits(desk: Desk, found: dict[str, tuple[str, str, int | None]]) -> list[AccountHit]:
    if not found:
        return []
    ids = list(found)
    marks = ", ".join("?" * len(ids))
    rows = desk.store.query(
        f"SELECT id, company, status, plan, reseller_id FROM accounts WHERE id IN ({marks})", ids
    )
    by_id = {str(r[0]): r for r in rows}
    out = []
    for account, (matched, detail, contact) in found.items():
        row = by_id.get(account)
        if row is not None:
            hit = AccountHit(account, row[1], row[2], row[3], row[4], matched, detail, contact)
            out.append(hit)
    return out


# -- what the agent sees of the account ----------------------------------------------------------
@dataclass(frozen=True)
class OpenTicket:
    """A live ticket of the account, to add the call to."""

    id: int
    subject: str
    status: str
    priority: str
    request_type: str
    created_at: datetime
    holder: str | None


@dataclass(frozen=True)
class PlanSummary:
    """The account's SLA plan in a few words: targets by priority (letters C H M L)."""

    name: str
    description: str
    hours: str  # "office hours (Africa/Johannesburg)" or "24/7 (…)"
    respond: tuple[tuple[str, str], ...]  # (priority, "4h" | "best_effort" | "none")
    resolve: tuple[tuple[str, str], ...]

    @staticmethod
    def targets(pairs: tuple[tuple[str, str], ...]) -> str:
        """ "4h" when every priority has the same target, else "C 1h H 4h M 24h L 48h"."""
        values = {v for _, v in pairs}
        if len(values) == 1:
            return values.pop().replace("_", " ")
        letters = dict(PRIORITY_LETTERS)
        return " ".join(f"{letters.get(p, p[:1].upper())} {v.replace('_', ' ')}" for p, v in pairs)


@dataclass(frozen=True)
class CallCard:
    """Everything the call screen shows of an account before any question is asked."""

    account: AccountView
    plan: PlanSummary
    reseller_company: str | None
    open_tickets: tuple[OpenTicket, ...]
    # issue 6: open incidents on the account's servers (their script is read first) and
    # maintenance windows upcoming or running there
    incidents: tuple[IncidentSummary, ...] = ()
    windows: tuple[WindowView, ...] = ()


OPEN_TICKETS_SQL = (
    "SELECT t.id, t.subject, t.status, t.priority_rank, t.request_type, t.created_at,"
    " (SELECT s.login FROM staff s WHERE s.id = t.holder_id)"
    " FROM tickets t WHERE t.account_id = ? AND t.view <> 'done'"
    " ORDER BY CASE WHEN t.status = 'awaiting_authorization' THEN 0 ELSE 1 END, t.id DESC"
    " LIMIT ?"
)


def _utc(value: Any) -> datetime:
    """A timestamp from the DBAPI: SQLite keeps UTC as text, PostgreSQL returns datetimes."""
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    return value.astimezone(UTC)


def open_tickets(desk: Desk, account_id: str, limit: int = 30) -> list[OpenTicket]:
    """The account's live tickets: those awaiting authorization first, then newest first."""
    from supportdesk.enums import PRIORITY_ORDER

    rows = desk.store.query(OPEN_TICKETS_SQL, [account_id, limit])
    return [
        OpenTicket(tid, subject, status, PRIORITY_ORDER[rank].value, request, _utc(at), holder)
        for tid, subject, status, rank, request, at, holder in rows
    ]


def ticket_status(desk: Desk, ticket_id: int) -> str | None:
    """A ticket's status (None: no such ticket), e.g. to tell whether one opened held."""
    rows = desk.store.query("SELECT status FROM tickets WHERE id = ?", [ticket_id])
    return str(rows[0][0]) if rows else None


def plan_summary(plan: Plan) -> PlanSummary:
    calendar = plan.calendar
    always = all(day == ((0, 24 * 60),) for day in calendar.week)
    hours = f"{'24/7' if always else 'office hours'} ({calendar.zone.key})"
    order = [p for p, _ in PRIORITY_LETTERS]
    return PlanSummary(
        plan.name,
        plan.description,
        hours,
        tuple((p.value, plan.respond[p].text) for p in sorted(plan.respond, key=order.index)),
        tuple((p.value, plan.resolve[p].text) for p in sorted(plan.resolve, key=order.index)),
    )


def call_card(desk: Desk, account_id: str) -> CallCard:
    """The account, its plan's targets, its reseller's name and its live tickets."""
    from supportdesk.core.policy import current_policy
    from supportdesk.services import directory

    account = directory.show_account(desk, account_id)
    plan = plan_summary(current_policy(desk).plan_for(account.plan))
    reseller = None
    if account.reseller:
        rows = desk.store.query("SELECT company FROM accounts WHERE id = ?", [account.reseller])
        reseller = str(rows[0][0]) if rows else None
    from supportdesk.services import incidents
    from supportdesk.services.incidents import maintenance

    return CallCard(
        account,
        plan,
        reseller,
        tuple(open_tickets(desk, account_id)),
        tuple(incidents.for_account(desk, account_id)),
        tuple(maintenance.for_account(desk, account_id)),
    )
