"""The sender's hold on outbox rows (issue 18, item 1): the lease, its renewal, its release,
and the record of what went, each conditional on still holding the lease.

A sender takes a BATCH of due messages in one short write: the candidates (queued or
deferred with `send_after <= now`, or sending with an expired lease, the most overdue first,
each kind an index seek on `ix_outbox_due`) are picked, `FOR UPDATE SKIP LOCKED` on
PostgreSQL so that racing senders take different rows and never wait on each other (on
SQLite the transaction holds the write lock from BEGIN IMMEDIATE), and then moved to sending
under the sender's `lease_owner` by one conditional UPDATE that re-checks they are still due.

The lease outlasts every SMTP conversation it covers: a batch of more than one is held for
`lease_s + BATCH_WINDOW_S`, and the sender starts a conversation only within BATCH_WINDOW_S
of taking (or renewing) the batch, so each conversation has at least `lease_s` (longer than
its timeouts) left. Only the lease holder marks a message: every outcome is an UPDATE
conditional on `state = 'sending' AND lease_owner = me`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from supportdesk.rules.one_time_codes import mask_codes

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk
    from supportdesk.store import Transaction

LEASE_BATCH = 32  # messages one lease takes at most
BATCH_WINDOW_S = 30  # a batch's conversations start within this of its lease (or renewal)
COLUMNS = (
    "id, kind, ticket_id, to_addr, from_addr, subject, body, headers, message_id, due_at, attempts"
)
HOLDER = "id = ? AND state = 'sending' AND lease_owner = ?"
MARK_CHUNK = 200  # messages one UPDATE marks sent


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
    prior: str = "queued"  # its state before this lease (what a release puts back)
    files: bool = False  # a reply with files of its own (`ticket reply --attach`)

    @property
    def domain(self) -> str:
        return self.to_addr.rpartition("@")[2].lower()


def as_time(value: Any) -> datetime:
    """A time read with the plain driver: aware on PostgreSQL, UTC text on SQLite."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def pick_sql(pg: bool, n: int) -> str:
    """The `n` most overdue candidates (id, state): the first `n` due queued messages, the
    first `n` due deferred ones and the first `n` expired leases, merged by when each came
    due. On PostgreSQL each is locked `FOR UPDATE SKIP LOCKED`."""
    lock = " FOR UPDATE SKIP LOCKED" if pg else ""
    ctes = ", ".join(
        f"{name} AS (SELECT id, state, send_after AS due FROM outbox WHERE state = '{state}' "
        f"AND send_after <= ? ORDER BY send_after, id LIMIT {n}{lock})"
        for name, state in (("q", "queued"), ("d", "deferred"))
    )
    ctes += (
        ", s AS (SELECT id, state, lease_until AS due FROM outbox WHERE state = 'sending' "
        f"AND lease_until <= ? ORDER BY lease_until, id LIMIT {n}{lock})"
    )
    return (
        f"WITH {ctes} SELECT id, state FROM (SELECT * FROM q UNION ALL SELECT * FROM d "
        f"UNION ALL SELECT * FROM s) AS c ORDER BY due, id LIMIT {n}"
    )


def take_sql(n: int) -> str:
    """The one conditional UPDATE that takes `n` picked rows: each is re-checked as due."""
    marks = ", ".join("?" * n)
    return (
        "UPDATE outbox SET state = 'sending', lease_owner = ?, lease_until = ? "
        f"WHERE id IN ({marks}) AND ((state IN ('queued', 'deferred') AND send_after <= ?) "
        f"OR (state = 'sending' AND lease_until <= ?)) RETURNING {COLUMNS}"
    )


def lease_until(now: datetime, lease_s: int, n: int) -> datetime:
    """How long a lease of `n` messages holds them (see the module's text)."""
    return now + timedelta(seconds=lease_s + (BATCH_WINDOW_S if n > 1 else 0))


def lease_batch(desk: Desk, owner: str, lease_s: int, n: int = LEASE_BATCH) -> list[Leased]:
    """Take up to `n` of the most overdue messages (queued, deferred or with an expired
    lease) for `owner`, most overdue first; empty when nothing is due. One short write, not
    audited (the outcome is)."""
    n = max(int(n), 1)
    now = desk.now()
    with desk.write_plain() as (tx, _record):
        ts = tx.timestamp(now)
        picked = tx.run(pick_sql(not tx.is_sqlite, n), (ts, ts, ts))
        if not picked:
            return []
        order = {int(mid): i for i, (mid, _state) in enumerate(picked)}
        prior = {int(mid): str(state) for mid, state in picked}
        until = tx.timestamp(lease_until(now, lease_s, n))
        rows = tx.run(take_sql(len(picked)), (owner, until, *order, ts, ts))
        files = replies_with_files(tx, [int(r[0]) for r in rows if r[1] == "reply"])
    out = [
        Leased(
            mid, kind, ticket, to_addr, from_addr, subject, body, headers, message_id,
            as_time(due), tries, prior[int(mid)], int(mid) in files,
        )
        for mid, kind, ticket, to_addr, from_addr, subject, body, headers, message_id, due, tries
        in rows
    ]  # fmt: skip
    return sorted(out, key=lambda m: order[int(m.id)])


def replies_with_files(tx: Transaction, replies: list[int]) -> set[int]:
    """Which of the leased `replies` have files of their own: one query for the batch."""
    if not replies:
        return set()
    marks = ", ".join("?" * len(replies))
    sql = f"SELECT DISTINCT outbox_id FROM attachments WHERE outbox_id IN ({marks})"
    return {int(r[0]) for r in tx.run(sql, tuple(replies))}


def lease_one(desk: Desk, owner: str, lease_s: int) -> Leased | None:
    """Take the most overdue message for `owner` until now + `lease_s`; None when nothing is
    due."""
    taken = lease_batch(desk, owner, lease_s, 1)
    return taken[0] if taken else None


def renew(desk: Desk, owner: str, lease_s: int, held: list[Leased]) -> list[Leased]:
    """Hold `held` for another batch's time; those whose lease was taken over are dropped."""
    if not held:
        return []
    now = desk.now()
    marks = ", ".join("?" * len(held))
    with desk.write_plain() as (tx, _record):
        kept = tx.run(
            f"UPDATE outbox SET lease_until = ? WHERE id IN ({marks}) AND state = 'sending' "
            "AND lease_owner = ? RETURNING id",
            (tx.timestamp(lease_until(now, lease_s, len(held))), *(m.id for m in held), owner),
        )
    ids = {int(r[0]) for r in kept}
    return [m for m in held if m.id in ids]


def release(desk: Desk, owner: str, held: list[Leased]) -> None:
    """Give `held` back untried, as they were (a message whose expired lease this sender took
    over goes back deferred if it has been tried, else queued)."""
    if not held:
        return

    def before(m: Leased) -> str:
        if m.prior in ("queued", "deferred"):
            return m.prior
        return "deferred" if m.attempts else "queued"

    with desk.write_plain() as (tx, _record):
        tx.run_many(
            f"UPDATE outbox SET state = ?, lease_owner = NULL, lease_until = NULL WHERE {HOLDER}",
            [(before(m), m.id, owner) for m in held],
        )


def requeue(
    tx: Transaction, m: Leased, owner: str, state: str, at: datetime, error: str | None, tries: int
) -> bool:
    """Put a held message back to `state`, due at `at`; False when the lease was lost."""
    return bool(
        tx.run(
            f"UPDATE outbox SET state = ?, send_after = ?, attempts = attempts + ?, "
            f"last_error = COALESCE(?, last_error), lease_owner = NULL, lease_until = NULL "
            f"WHERE {HOLDER} RETURNING id",
            (state, tx.timestamp(at), tries, error, m.id, owner),
        )
    )


def mark_sent_sql(pg: bool, n: int) -> str:
    """One UPDATE that marks `n` held messages sent, each with its reply and time (a sent
    message's send_after becomes the moment it went: the due index then finds the last
    minute's sends for the throttle); only the rows `owner` still holds, their ids returned."""
    row = "(CAST(? AS bigint), CAST(? AS text), CAST(? AS timestamptz))" if pg else "(?, ?, ?)"
    values = ", ".join([row] * n)
    return (
        f"WITH v (mid, reply, at) AS (VALUES {values}) "
        "UPDATE outbox SET state = 'sent', sent_at = v.at, send_after = v.at, "
        "server_reply = v.reply, attempts = attempts + 1, last_error = NULL, "
        "lease_owner = NULL, lease_until = NULL FROM v "
        "WHERE outbox.id = v.mid AND outbox.state = 'sending' AND outbox.lease_owner = ? "
        "RETURNING outbox.id"
    )


def _mark_sent(
    tx: Transaction, owner: str, sent: Sequence[tuple[Leased, str, datetime]]
) -> list[int]:
    params: list[Any] = []
    for m, reply, at in sent:
        params += [m.id, reply, tx.timestamp(at)]
    return [int(r[0]) for r in tx.run(mark_sent_sql(not tx.is_sqlite, len(sent)), (*params, owner))]


def record_sent(
    desk: Desk,
    owner: str,
    sent: Sequence[tuple[Leased, str, datetime]],
    throttled: Sequence[tuple[Leased, datetime]] = (),
) -> tuple[list[int], int]:
    """One write for what went (each message with the server's reply and when it went) and
    what the throttle held back (each with when its slot frees): each marked only while
    `owner` holds it, each sent one with its `mail.sent` audit row (appended together, the
    chain head locked once). The ids marked sent, and how many throttled were put back."""
    if not sent and not throttled:
        return [], 0
    done: list[int] = []
    back = 0
    with desk.write_plain() as (tx, record):
        for start in range(0, len(sent), MARK_CHUNK):
            done += _mark_sent(tx, owner, sent[start : start + MARK_CHUNK])
        went = set(done)
        for m, _reply, _at in sent:
            if m.kind == "confirmation" and m.id in went:
                # a confirmation request's one-time code leaves the desk's keeping once sent
                tx.run("UPDATE outbox SET body = ? WHERE id = ?", (mask_codes(m.body), m.id))
        for m, free_at in throttled:
            back += requeue(tx, m, owner, "queued", free_at, None, 0)
        replies = {m.id: reply for m, reply, _at in sent}
        done.sort(key=[m.id for m, _reply, _at in sent].index)
        if done:
            record.many(
                [
                    ("mail.sent", "outbox", mid, {"state": ["sending", "sent"],
                                                  "reply": [None, replies[mid]]})
                    for mid in done
                ]
            )  # fmt: skip
    return done, back
