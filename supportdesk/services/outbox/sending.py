"""Deliver what the outbox holds (issue 18, items 1, 2 and 5): `supportdesk mail send`.

A sender takes one due message at a time by lease: ONE conditional UPDATE that moves a row
from queued or deferred (due: `send_after <= now`), or from sending whose lease expired, to
sending under its own `lease_owner` until `lease_until` (on PostgreSQL the candidates are
picked `FOR UPDATE SKIP LOCKED`, so racing senders never wait on each other). The lease
outlasts one SMTP conversation (`TransportConfig.lease_s`). The conversation runs outside
any transaction; then one short write records the outcome, conditional on still holding the
lease (a sender whose lease was taken over records nothing). Delivery is therefore at least
once: a message goes twice only when a sender dies between the server's 250 and that commit,
and then with the same Message-ID.

Outcomes: sent (the server's answer kept); deferred (a 4xx: next try after a backoff of 1 m,
5 m, 15 m, 1 h, 2 h, then every 4 h, never past `max_defer` from `due_at`, when it first came
due; a message still deferred at that point fails); failed (a 5xx to RCPT or DATA, an
address that cannot be written into an envelope, deferred past `max_defer`:
`failures.message_failed`). A fault
of the transport (`TransportFault`) defers the message taken without counting an attempt,
raises the alarm (`failures.transport_fault`) and ends the run; a delivery clears it
(`failures.transport_ok`). A destination domain that has had `per_domain_per_minute`
messages in the last minute gets no more: the message goes back to queued until a slot
frees, without an attempt counted.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from supportdesk.core.policy import current_policy
from supportdesk.rules.one_time_codes import mask_codes
from supportdesk.rules.policy import MailRules
from supportdesk.services.outbox import failures
from supportdesk.services.outbox.attaching import with_files
from supportdesk.services.outbox.config import TransportConfig
from supportdesk.services.outbox.transports import Outcome, Transport, TransportFault

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk
    from supportdesk.store import Transaction

BACKOFF_S = (60, 300, 900, 3600, 7200, 14400)  # after the 1st, 2nd, ... deferral; then the last
FAULT_RETRY_S = 60  # a transport fault: everything taken is tried again after this
THROTTLE_REFRESH_S = 10.0  # how often a sender re-reads a domain's sends of the last minute
THROTTLE_WINDOW = timedelta(minutes=1)
EXTRA_HEADERS = ("In-Reply-To", "References", "Auto-Submitted")
AUTO_SUBMITTED = ("auto-replied", "auto-generated", "auto-notified")
MSG_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]{1,250}>")
# what an envelope address may be: no controls, spaces, angle brackets, commas or quotes
ENVELOPE_ADDR = re.compile(r"[^\s<>(),;:\"\[\]\\@\x00-\x1f\x7f]{1,64}@[A-Za-z0-9.-]{1,253}")
COLUMNS = (
    "id, kind, ticket_id, to_addr, from_addr, subject, body, headers, message_id, due_at, attempts"
)


@dataclass(frozen=True)
class Leased:
    """A message this sender holds, as read when it was leased."""

    id: int
    kind: str
    ticket_id: int | None
    to_addr: str
    from_addr: str
    subject: str
    body: str
    headers: str
    message_id: str
    due_at: datetime  # when it first came due: max_defer counts from here
    attempts: int

    @property
    def domain(self) -> str:
        return self.to_addr.rpartition("@")[2].lower()


@dataclass
class SendSummary:
    """What one run did."""

    enabled: bool = True
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    throttled: int = 0
    lost_leases: int = 0  # outcomes not recorded: the lease had been taken over
    fault: str | None = None
    transport: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def taken(self) -> int:
        return self.sent + self.deferred + self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "sent": self.sent,
            "deferred": self.deferred,
            "failed": self.failed,
            "throttled": self.throttled,
            "lost_leases": self.lost_leases,
            "fault": self.fault,
            "transport": self.transport,
        }

    def line(self) -> str:
        if not self.enabled:
            return "the policy has no [mail] domain: the desk sends nothing"
        out = f"sent {self.sent}, deferred {self.deferred}, failed {self.failed}"
        if self.throttled:
            out += f", throttled {self.throttled}"
        if self.lost_leases:
            out += f", {self.lost_leases} lease(s) taken over"
        if self.fault:
            out += f"; transport fault, everything deferred: {self.fault}"
        return out

    def add(self, other: SendSummary) -> None:
        self.sent += other.sent
        self.deferred += other.deferred
        self.failed += other.failed
        self.throttled += other.throttled
        self.lost_leases += other.lost_leases
        self.fault = other.fault or self.fault


def new_owner() -> str:
    """This sender's lease name: host, process and a random part (a restarted process with a
    reused pid is another owner)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def as_time(value: Any) -> datetime:
    """A time read with the plain driver: aware on PostgreSQL, UTC text on SQLite."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


# -- the lease ------------------------------------------------------------------------------
def lease_sql(pg: bool) -> str:
    """The one conditional UPDATE that takes a message: the most overdue of the first due
    queued message, the first due deferred one and the first expired lease (each an index
    seek on `ix_outbox_due`), re-checked in the UPDATE's own condition. On PostgreSQL each
    candidate is locked `FOR UPDATE SKIP LOCKED`: racing senders take different rows."""
    lock = " FOR UPDATE SKIP LOCKED" if pg else ""
    ctes = ", ".join(
        f"{name} AS (SELECT id, send_after AS due FROM outbox WHERE state = '{state}' "
        f"AND send_after <= ? ORDER BY send_after, id LIMIT 1{lock})"
        for name, state in (("q", "queued"), ("d", "deferred"))
    )
    ctes += (
        ", s AS (SELECT id, lease_until AS due FROM outbox WHERE state = 'sending' "
        f"AND lease_until <= ? ORDER BY lease_until, id LIMIT 1{lock})"
    )
    pick = (
        "SELECT id FROM (SELECT * FROM q UNION ALL SELECT * FROM d UNION ALL SELECT * FROM s) "
        "AS c ORDER BY due, id LIMIT 1"
    )
    return (
        f"WITH {ctes} UPDATE outbox SET state = 'sending', lease_owner = ?, lease_until = ? "
        f"WHERE id = ({pick}) AND ((state IN ('queued', 'deferred') AND send_after <= ?) "
        f"OR (state = 'sending' AND lease_until <= ?)) RETURNING {COLUMNS}"
    )


def lease_one(desk: Desk, owner: str, lease_s: int) -> Leased | None:
    """Take the most overdue message (queued, deferred or with an expired lease) for
    `owner` until now + `lease_s`; None when nothing is due. One conditional UPDATE."""
    now = desk.now()
    with desk.write_plain() as (tx, _record):  # the lease is not audited: its outcome is
        ts = tx.timestamp(now)
        until = tx.timestamp(now + timedelta(seconds=lease_s))
        row = tx.first(lease_sql(not tx.is_sqlite), (ts, ts, ts, owner, until, ts, ts))
    if row is None:
        return None
    mid, kind, ticket, to_addr, from_addr, subject, body, headers, message_id, due, tries = row
    return Leased(
        mid, kind, ticket, to_addr, from_addr, subject, body, headers, message_id,
        as_time(due), tries,
    )  # fmt: skip


# -- composition ----------------------------------------------------------------------------
def flatten(text: str) -> str:
    """One header line from outside text: every control, line or paragraph separator (CR, LF,
    NUL, ESC, U+2028 ...) becomes a space, runs of spaces one space."""
    out = "".join(" " if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029") else c
                  for c in text)  # fmt: skip
    return " ".join(out.split())


def envelope_address(addr: str) -> str | None:
    """`addr` if it can go into MAIL FROM / RCPT TO as it is, else None."""
    return addr if ENVELOPE_ADDR.fullmatch(addr) else None


def verp(message_id: int, rules: MailRules) -> str:
    """The envelope sender that ties a bounce to its message: bounces+<id>@<desk domain>."""
    return f"bounces+{message_id}@{rules.domain}"


def compose(m: Leased, rules: MailRules, now: datetime) -> EmailMessage:
    """The message as it goes out: From "name <sender>", To, Subject (one line, whatever the
    customer typed), Date, the row's Message-ID and threading headers, a UTF-8 text body."""
    msg = EmailMessage(policy=SMTP)
    local, _at, domain = m.from_addr.rpartition("@")
    msg["From"] = Address(display_name=flatten(rules.from_name), username=local, domain=domain)
    msg["To"] = m.to_addr
    msg["Subject"] = flatten(m.subject) or "(no subject)"
    msg["Date"] = format_datetime(now.astimezone(UTC))
    msg["Message-ID"] = m.message_id
    try:
        extra = json.loads(m.headers or "{}")
    except ValueError:
        extra = {}
    for name in EXTRA_HEADERS:
        value = extra.get(name) if isinstance(extra, dict) else None
        if not isinstance(value, str):
            continue
        if name == "Auto-Submitted":
            value = value.strip().lower()
            if value in AUTO_SUBMITTED:
                msg[name] = value
            continue
        ids = MSG_ID.findall(value)
        if ids:
            msg[name] = ids[0] if name == "In-Reply-To" else " ".join(ids[-20:])
    body = m.body.replace("\r\n", "\n").replace("\r", "\n")
    msg.set_content(body, charset="utf-8")
    return msg


# -- outcomes -------------------------------------------------------------------------------
def backoff(attempts: int) -> int:
    """Seconds before the next try after the `attempts`-th deferral."""
    return BACKOFF_S[min(max(attempts, 1), len(BACKOFF_S)) - 1]


HOLDER = "id = ? AND state = 'sending' AND lease_owner = ?"


def _mark_sent(desk: Desk, m: Leased, owner: str, reply: str) -> bool:
    now = desk.now()
    with desk.write_plain() as (tx, record):
        # a sent message's send_after becomes the moment it went: the due index then finds
        # the last minute's sends for the throttle
        ts = tx.timestamp(now)
        # a confirmation request's one-time code leaves the desk's keeping once it is sent
        body = mask_codes(m.body) if m.kind == "confirmation" else m.body
        done = tx.run(
            "UPDATE outbox SET state = 'sent', sent_at = ?, send_after = ?, server_reply = ?, "
            "attempts = attempts + 1, last_error = NULL, lease_owner = NULL, lease_until = NULL, "
            f"body = ? WHERE {HOLDER} RETURNING id",
            (ts, ts, reply, body, m.id, owner),
        )
        if done:
            record(
                "mail.sent", "outbox", m.id, {"state": ["sending", "sent"], "reply": [None, reply]}
            )
    return bool(done)


def _requeue(
    tx: Transaction, m: Leased, owner: str, state: str, at: datetime, error: str | None, tries: int
) -> bool:
    return bool(
        tx.run(
            f"UPDATE outbox SET state = ?, send_after = ?, attempts = attempts + ?, "
            f"last_error = COALESCE(?, last_error), lease_owner = NULL, lease_until = NULL "
            f"WHERE {HOLDER} RETURNING id",
            (state, tx.timestamp(at), tries, error, m.id, owner),
        )
    )


def _deadline(m: Leased, rules: MailRules) -> datetime:
    return m.due_at + timedelta(seconds=rules.max_defer_s)


def _settle(
    desk: Desk,
    m: Leased,
    owner: str,
    rules: MailRules,
    error: str,
    *,
    fail: bool = False,
    counted: bool = True,
    fault: bool = False,
) -> str:
    """One write for a message that did not go: failed (`fail`, or deferred past
    `max_defer`), else deferred (an attempt counted unless the transport was at fault, next
    try after the backoff, never past the deadline); with `fault` the alarm is raised in the
    same transaction. "deferred", "failed" or "lost" (the lease was taken over)."""
    from sqlalchemy import select

    from supportdesk.models import OutboxMessage
    from supportdesk.store import on_transaction

    now = desk.now()
    deadline = _deadline(m, rules)
    if not fail and now >= deadline:
        fail = True
        error = f"deferred past max_defer ({rules.max_defer_s / 3600:g} h); last error: {error}"
    with desk.write() as (session, record):
        if fault:
            failures.transport_fault(session, desk, error)
        if fail:
            row = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id == m.id)
                .where(OutboxMessage.state == "sending")
                .where(OutboxMessage.lease_owner == owner)
            ).first()
            if row is None:
                return "lost"
            if counted:
                row.attempts += 1
            failures.message_failed(session, desk, row, error)  # audited there
            return "failed"
        tries = m.attempts + (1 if counted else 0)
        wait = backoff(tries) if counted else FAULT_RETRY_S
        at = min(now + timedelta(seconds=wait), deadline)
        if not _requeue(on_transaction(session), m, owner, "deferred", at, error, int(counted)):
            return "lost"
        record(
            "mail.deferred",
            "outbox",
            m.id,
            {"state": ["sending", "deferred"], "error": [None, error], "next_try": [None, at]},
        )
    return "deferred"


def _transport_ok(desk: Desk) -> None:
    with desk.write() as (session, _record):
        failures.transport_ok(session, desk)


# -- the throttle ---------------------------------------------------------------------------
class DomainThrottle:
    """At most `limit` messages a minute to one destination domain. Each sender reads a
    domain's sends of the last minute (and others' leases in flight) from the outbox at most
    every THROTTLE_REFRESH_S, and counts its own sends since: senders running side by side
    may overshoot by what the others sent since the last read."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, tuple[float, deque[datetime], int]] = {}

    def _read(self, desk: Desk, domain: str, now: datetime, owner: str) -> None:
        pattern = "%@" + domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = desk.store.query
        since = desk.store.timestamp_param(now - THROTTLE_WINDOW)
        sent = q(
            "SELECT send_after FROM outbox WHERE state = 'sent' AND send_after > ? "
            "AND lower(to_addr) LIKE ? ESCAPE '\\' ORDER BY send_after",
            (since, pattern),
        )
        flying = q(
            "SELECT count(*) FROM outbox WHERE state = 'sending' AND lease_until > ? "
            "AND lease_owner <> ? AND lower(to_addr) LIKE ? ESCAPE '\\'",
            (desk.store.timestamp_param(now), owner, pattern),
        )[0][0]
        self._seen[domain] = (now.timestamp(), deque(as_time(r[0]) for r in sent), int(flying))

    def admit(self, desk: Desk, domain: str, now: datetime, owner: str) -> datetime | None:
        """None: one more message may go to `domain` now (and is counted); else when the
        next slot frees."""
        seen = self._seen.get(domain)
        if seen is None or now.timestamp() - seen[0] >= THROTTLE_REFRESH_S:
            self._read(desk, domain, now, owner)
        _read_at, times, flying = self._seen[domain]
        while times and times[0] <= now - THROTTLE_WINDOW:
            times.popleft()
        if len(times) + flying < self.limit:
            times.append(now)
            return None
        oldest = times[0] if times else now
        return max(oldest + THROTTLE_WINDOW, now + timedelta(seconds=1))


# -- a run ----------------------------------------------------------------------------------
def send_due(
    desk: Desk,
    transport: Transport,
    *,
    lease_s: int,
    limit: int | None = None,
    owner: str | None = None,
) -> SendSummary:
    """Deliver what is due now through `transport` (its connection reused for the run),
    at most `limit` messages taken; stop at the first transport fault."""
    from supportdesk.core import permissions

    permissions.require(desk.actor, "mail.send")
    rules = current_policy(desk).mail
    if not rules.enabled:
        return SendSummary(enabled=False)
    owner = owner or new_owner()
    throttle = DomainThrottle(rules.per_domain_per_minute)
    summary = SendSummary()
    cleared = False
    try:
        while limit is None or summary.taken < limit:
            m = lease_one(desk, owner, lease_s)
            if m is None:
                break
            outcome, fault = _deliver_one(desk, transport, m, owner, rules, throttle)
            if outcome == "throttled":
                summary.throttled += 1
            elif outcome == "lost":
                summary.lost_leases += 1
            else:
                setattr(summary, outcome, getattr(summary, outcome) + 1)
            if fault is not None:
                summary.fault = fault
                break
            if outcome == "sent" and not cleared:
                _transport_ok(desk)
                cleared = True
    finally:
        transport.close()
    return summary


def _deliver_one(
    desk: Desk,
    transport: Transport,
    m: Leased,
    owner: str,
    rules: MailRules,
    throttle: DomainThrottle,
) -> tuple[str, str | None]:
    """Deliver one leased message: its outcome ("sent", "deferred", "failed", "throttled",
    "lost"), and the transport's fault when there was one."""
    now = desk.now()
    recipient = envelope_address(m.to_addr)
    if recipient is None:
        why = f"not an address mail can go to: {flatten(m.to_addr)!r}"
        return _settle(desk, m, owner, rules, why, fail=True), None
    free_at = throttle.admit(desk, m.domain, now, owner)
    if free_at is not None:
        with desk.write_plain() as (tx, _record):
            done = _requeue(tx, m, owner, "queued", free_at, None, 0)
        return ("throttled" if done else "lost"), None
    data = with_files(desk, compose(m, rules, now), m.id).as_bytes()
    try:
        result: Outcome = transport.deliver(verp(m.id, rules), recipient, data)
    except TransportFault as exc:
        return _settle(desk, m, owner, rules, str(exc), counted=False, fault=True), str(exc)
    if result.state == "sent":
        return ("sent" if _mark_sent(desk, m, owner, result.reply) else "lost"), None
    return _settle(desk, m, owner, rules, result.reply, fail=result.state == "failed"), None


def next_due(desk: Desk) -> datetime | None:
    """When the next message comes due (a queued or deferred one's send_after, a lease's
    end), or None when the outbox has nothing left to send."""
    rows = desk.store.query(
        "SELECT min(t) FROM ("
        "SELECT min(send_after) AS t FROM outbox WHERE state = 'queued' UNION ALL "
        "SELECT min(send_after) FROM outbox WHERE state = 'deferred' UNION ALL "
        "SELECT min(lease_until) FROM outbox WHERE state = 'sending') AS d"
    )
    return as_time(rows[0][0]) if rows and rows[0][0] is not None else None


def mail_enabled(desk: Desk) -> bool:
    """Whether the policy names the desk's mail domain (without one it sends nothing)."""
    return current_policy(desk).mail.enabled


def deliver(
    desk: Desk,
    config: TransportConfig,
    *,
    limit: int | None = None,
    stop: threading.Event | None = None,
    max_wait_s: float = 30.0,
) -> SendSummary:
    """`mail send`: one round of what is due (`stop` None), or rounds until `stop` is set,
    sleeping until the next message comes due or the store changes (at most `max_wait_s`).
    A fresh connection each round (a relay drops an idle one)."""
    from supportdesk.services.outbox.transports import open_transport

    owner = new_owner()
    total = SendSummary(transport=config.describe())
    if stop is None:
        total.add(send_due(desk, open_transport(config), lease_s=config.lease_s, limit=limit,
                           owner=owner))  # fmt: skip
        total.enabled = mail_enabled(desk)
        return total
    wake = threading.Event()
    feed = desk.store.change_feed(wake.set).start()
    try:
        while not stop.is_set():
            wake.clear()
            done = send_due(
                desk, open_transport(config), lease_s=config.lease_s, limit=limit, owner=owner
            )
            total.add(done)
            total.enabled = done.enabled
            if stop.is_set() or (done.taken and done.fault is None):
                continue  # more may be due at once
            due = next_due(desk)
            wait = max_wait_s if due is None else (due - desk.now()).total_seconds()
            wait = min(max(wait, 0.2), max_wait_s)
            if done.fault is not None:
                wait = max(wait, 1.0)
            deadline = time.monotonic() + wait
            while not stop.is_set() and not wake.is_set() and time.monotonic() < deadline:
                wake.wait(min(0.25, max(deadline - time.monotonic(), 0.0)))
    finally:
        feed.stop()
    return total
