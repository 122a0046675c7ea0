"""Deliver what the outbox holds (issue 18, items 1, 2 and 5): `supportdesk mail send`.

A sender takes due messages by lease, a batch at a time (`leasing.lease_batch`: one short
write; `FOR UPDATE SKIP LOCKED` on PostgreSQL, so racing senders never wait on each other
and never take the same row). The lease outlasts every SMTP conversation it covers. The
conversations run outside any transaction, over one connection reused for the run; then the
outcomes are recorded, each conditional on still holding the lease (a sender whose lease was
taken over records nothing). What went is recorded for several messages in one write (at
most every FLUSH_EVERY_S, and at the end of each batch, before any other outcome, and when
the run stops), each with its own `mail.sent` audit row. Delivery is therefore at least once:
a message goes twice only when a sender dies between the server's 250 and the commit that
records it, and then with the same Message-ID.

Outcomes: sent (the server's answer kept); deferred (a 4xx: next try after a backoff of 1 m,
5 m, 15 m, 1 h, 2 h, then every 4 h, never past `max_defer` from `due_at`, when it first came
due; a message still deferred at that point fails); failed (a 5xx to RCPT or DATA, an
address that cannot be written into an envelope, deferred past `max_defer`:
`failures.message_failed`). A fault of the transport (`TransportFault`) defers the message
being tried without counting an attempt, raises the alarm (`failures.transport_fault`), gives
the rest of the batch back untried and ends the run; a delivery clears it
(`failures.transport_ok`). A destination domain that has had `per_domain_per_minute`
messages in the last minute gets no more: the message goes back to queued until a slot
frees, without an attempt counted.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from supportdesk.core.policy import current_policy
from supportdesk.rules.policy import MailRules
from supportdesk.services.outbox import failures
from supportdesk.services.outbox.attaching import with_files
from supportdesk.services.outbox.composing import compose as compose
from supportdesk.services.outbox.composing import compose_bytes, flatten
from supportdesk.services.outbox.config import TransportConfig
from supportdesk.services.outbox.leasing import (
    BATCH_WINDOW_S,
    LEASE_BATCH,
    Leased,
    as_time,
    lease_batch,
    record_sent,
    release,
    renew,
    requeue,
)
from supportdesk.services.outbox.leasing import lease_one as lease_one
from supportdesk.services.outbox.transports import Outcome, Transport, TransportFault

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk

BACKOFF_S = (60, 300, 900, 3600, 7200, 14400)  # after the 1st, 2nd, ... deferral; then the last
FAULT_RETRY_S = 60  # a transport fault: everything taken is tried again after this
FLUSH_EVERY_S = 0.2  # what went is recorded at least this often (and at each batch's end)
THROTTLE_REFRESH_S = 10.0  # how often a sender re-reads a domain's sends of the last minute
THROTTLE_WINDOW = timedelta(minutes=1)
# what an envelope address may be: no controls, spaces, angle brackets, commas or quotes
ENVELOPE_ADDR = re.compile(r"[^\s<>(),;:\"\[\]\\@\x00-\x1f\x7f]{1,64}@[A-Za-z0-9.-]{1,253}")


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


# -- the envelope ---------------------------------------------------------------------------
def envelope_address(addr: str) -> str | None:
    """`addr` if it can go into MAIL FROM / RCPT TO as it is, else None. ASCII only: a
    non-ASCII mailbox needs SMTPUTF8, which this sender does not speak (smtplib would raise
    in the middle of a batch)."""
    return addr if addr.isascii() and ENVELOPE_ADDR.fullmatch(addr) else None


def verp(message_id: int, rules: MailRules) -> str:
    """The envelope sender that ties a bounce to its message: bounces+<id>@<desk domain>."""
    return f"bounces+{message_id}@{rules.domain}"


# -- outcomes -------------------------------------------------------------------------------
def backoff(attempts: int) -> int:
    """Seconds before the next try after the `attempts`-th deferral."""
    return BACKOFF_S[min(max(attempts, 1), len(BACKOFF_S)) - 1]


def _mark_sent(desk: Desk, m: Leased, owner: str, reply: str) -> bool:
    """Record one message as sent (only while `owner` holds it)."""
    done, _back = record_sent(desk, owner, [(m, reply, desk.now())])
    return bool(done)


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
        if not requeue(on_transaction(session), m, owner, "deferred", at, error, int(counted)):
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
class _Run:
    """One run's deliveries: what went and is not recorded yet, the throttle, the summary."""

    def __init__(
        self,
        desk: Desk,
        transport: Transport,
        owner: str,
        rules: MailRules,
        lease_s: int,
        summary: SendSummary,
    ) -> None:
        self.desk, self.transport, self.owner = desk, transport, owner
        self.rules, self.lease_s, self.summary = rules, lease_s, summary
        self.throttle = DomainThrottle(rules.per_domain_per_minute)
        self.sent: list[tuple[Leased, str, datetime]] = []  # with the reply and when it went
        self.throttled: list[tuple[Leased, datetime]] = []  # with when its slot frees
        self.since = 0.0  # when the oldest unrecorded outcome came (monotonic)
        self.cleared = False

    def flush(self) -> None:
        """Record what went and what the throttle held back, in one write."""
        sent, throttled = self.sent, self.throttled
        if not sent and not throttled:
            return
        self.sent, self.throttled = [], []
        done, back = record_sent(self.desk, self.owner, sent, throttled)
        self.summary.sent += len(done)
        self.summary.throttled += back
        self.summary.lost_leases += len(sent) - len(done) + len(throttled) - back
        if done and not self.cleared:
            _transport_ok(self.desk)
            self.cleared = True

    def _pending(self) -> None:
        if len(self.sent) + len(self.throttled) == 1:
            self.since = time.monotonic()

    def _count(self, outcome: str) -> None:
        if outcome == "lost":
            self.summary.lost_leases += 1
        else:
            setattr(self.summary, outcome, getattr(self.summary, outcome) + 1)

    def batch(self, batch: list[Leased]) -> bool:
        """Deliver a leased batch in order; False when a transport fault ended the run (the
        messages not tried are given back)."""
        held = deque(batch)
        leased_at = time.monotonic()
        first = True
        while held:
            if not first and time.monotonic() - leased_at > BATCH_WINDOW_S:
                # a conversation starts only with a whole lease_s of the lease left
                self.flush()
                kept = renew(self.desk, self.owner, self.lease_s, list(held))
                self.summary.lost_leases += len(held) - len(kept)
                held, leased_at, first = deque(kept), time.monotonic(), True
                continue
            first = False
            fault = self.one(held.popleft())
            if fault is not None:
                self.summary.fault = fault
                release(self.desk, self.owner, list(held))
                return False
            if (self.sent or self.throttled) and time.monotonic() - self.since >= FLUSH_EVERY_S:
                self.flush()
        self.flush()
        return True

    def one(self, m: Leased) -> str | None:
        """Deliver one leased message; the transport's fault when there was one."""
        desk, owner, rules = self.desk, self.owner, self.rules
        now = desk.now()
        recipient = envelope_address(m.to_addr)
        if recipient is None:
            self.flush()
            why = f"not an address mail can go to: {flatten(m.to_addr)!r}"
            self._count(_settle(desk, m, owner, rules, why, fail=True))
            return None
        free_at = self.throttle.admit(desk, m.domain, now, owner)
        if free_at is not None:
            self.throttled.append((m, free_at))
            self._pending()
            return None
        data = message_bytes(desk, m, rules, now)
        try:
            result: Outcome = self.transport.deliver(verp(m.id, rules), recipient, data)
        except TransportFault as exc:
            self.flush()
            self._count(_settle(desk, m, owner, rules, str(exc), counted=False, fault=True))
            return str(exc)
        if result.state == "sent":
            self.sent.append((m, result.reply, desk.now()))
            self._pending()
            return None
        self.flush()
        failed = result.state == "failed"
        self._count(_settle(desk, m, owner, rules, result.reply, fail=failed))
        return None


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
    summary = SendSummary()
    run = _Run(desk, transport, owner or new_owner(), rules, lease_s, summary)
    try:
        while limit is None or summary.taken < limit:
            want = LEASE_BATCH if limit is None else min(LEASE_BATCH, limit - summary.taken)
            batch = lease_batch(desk, run.owner, lease_s, want)
            if not batch or not run.batch(batch):
                break
    except BaseException:
        with suppress(Exception):
            run.flush()  # what went is recorded if the store still takes it
        raise
    finally:
        transport.close()
    return summary


def message_bytes(desk: Desk, m: Leased, rules: MailRules, now: datetime) -> bytes:
    """What goes in DATA: a reply with files (`ticket reply --attach`) as multipart/mixed,
    anything else by the fast path (byte for byte what the email package writes)."""
    if m.files:
        return with_files(desk, compose(m, rules, now), m.id).as_bytes()
    return compose_bytes(m, rules, now)


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
