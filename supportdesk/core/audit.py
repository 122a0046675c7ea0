"""The audit trail: append a row chained by HMAC, verify the chain, manage the key.

The key lives in a file outside the database (created by `init`), so someone who can edit
the database can neither change a row nor recompute the chain without it being noticed.
Appends are serialized: SQLite write transactions are exclusive (BEGIN IMMEDIATE); on
PostgreSQL an advisory transaction lock guards the chain head. A row is appended through the
ORM (`append_many`) or on the plain driver (`append_plain`, the claim's way, without
SQLAlchemy); both take the same lock and write the rows `chain_rows` computes, byte for byte.

Texts from outside (message bodies, subjects, descriptions) enter the audit only as digests,
so that a lead can redact a secret someone pasted. A digest says its own form (the audit
payload version of that value), and the chain MAC covers it either way:

- form 1, "sha256:HEX" (before migration 0009): SHA-256 of the text, unsalted. A short
  secret in it can be found by guessing, so it is no longer written.
- form 2, "hmac-sha256:HEX" (from 0009): HMAC-SHA256 keyed by a random 16-byte nonce kept in
  the text's own row (`ticket_events.nonce`, `tickets.subject_nonce`,
  `tickets.description_nonce`). Redaction deletes the text and its nonce: the audit row and
  the chain stay as they were, and what is left cannot be checked against a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from supportdesk.core.audit_key import (  # noqa: F401 - re-exported
    AuditKeyMissing,
    create_key,
    default_key_path,
    key_path_for,
    load_key,
)
from supportdesk.errors import UsageError

if TYPE_CHECKING:  # the ORM only for the ORM's writers and the verifier: a plain-driver
    # write (the claim) appends its row without importing SQLAlchemy
    from sqlalchemy.orm import Session

    from supportdesk.models import AuditEvent
    from supportdesk.store import Transaction

GENESIS = "0" * 64
PG_CHAIN_LOCK = 727_274_001  # advisory lock id for the chain head


UNSALTED = "sha256:"  # digest form 1 (before 0009)
SALTED = "hmac-sha256:"  # digest form 2 (from 0009)
NONCE_BYTES = 16


def body_digest(body: str | None) -> str | None:
    """Form 1, unsalted: guessable for a short secret. Kept for the writers that have no
    nonce to salt with yet (escalation, incidents, maintenance) and to read old rows; new
    text that has a row of its own is digested with `text_digest`."""
    if body is None:
        return None
    return UNSALTED + hashlib.sha256(body.encode()).hexdigest()


def new_nonce() -> bytes:
    """The random salt stored beside one text; deleting it with the text is redaction."""
    return secrets.token_bytes(NONCE_BYTES)


def text_digest(text: str | None, nonce: bytes | None) -> str | None:
    """Form 2: HMAC-SHA256(nonce, text). None for no text."""
    if text is None:
        return None
    if not nonce:
        raise ValueError("a salted digest needs the text's nonce")
    return SALTED + hmac.new(nonce, text.encode(), hashlib.sha256).hexdigest()


def digest_form(value: str) -> int | None:
    """Which payload version a digest in an audit row is: 1, 2, or None (not a digest)."""
    if value.startswith(SALTED):
        return 2
    if value.startswith(UNSALTED):
        return 1
    return None


def digest_matches(value: str, text: str, nonce: bytes | None = None) -> bool:
    """Whether an audit digest (either form) is of `text`; form 2 needs the nonce."""
    form = digest_form(value)
    if form == 1:
        expected = body_digest(text)
    elif form == 2 and nonce:
        expected = text_digest(text, nonce)
    else:
        return False
    return hmac.compare_digest(value, expected or "")


def rows_containing(session: Session, fragment: str) -> list[int]:
    """Audit rows whose changes hold `fragment` (a JSON string as `canonical` writes it):
    how redaction finds an unsalted digest or a clear subject written before 0009. A scan,
    run only by a redaction."""
    from sqlalchemy import select

    from supportdesk.models import AuditEvent

    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = (
        select(AuditEvent.seq)
        .where(AuditEvent.changes.like(f"%{escaped}%", escape="\\"))
        .order_by(AuditEvent.seq)
    )
    return list(session.scalars(stmt))


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def compute_mac(key: bytes, row: AuditEvent | dict[str, Any]) -> str:
    get = (lambda k: row[k]) if isinstance(row, dict) else (lambda k: getattr(row, k))
    payload = canonical(
        [
            get("seq"),
            get("prev_mac"),
            _iso(get("at")),
            _iso(get("frozen_at")),
            get("staff_login"),
            get("os_user"),
            get("host"),
            get("action"),
            get("entity"),
            str(get("entity_id")),
            get("changes"),
        ]
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Who:
    staff_login: str
    os_user: str
    host: str


def append(
    session: Session,
    key: bytes,
    who: Who,
    action: str,
    entity: str,
    entity_id: str | int,
    changes: dict[str, Any],
    frozen_at: datetime | None = None,
) -> None:
    """Add one chained audit row inside the caller's write transaction."""
    append_many(session, key, who, [(action, entity, entity_id, changes)], frozen_at)


Entry = tuple[str, str, str | int, dict[str, Any]]  # action, entity, entity id, changes

# the row's columns in the order the plain driver inserts them
COLUMNS = (
    "seq",
    "at",
    "frozen_at",
    "staff_login",
    "os_user",
    "host",
    "action",
    "entity",
    "entity_id",
    "changes",
    "prev_mac",
    "mac",
)
INSERT_SQL = f"INSERT INTO audit ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
HEAD_SQL = "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1"
LOCK_SQL = "SELECT pg_advisory_xact_lock(?)"


def now_utc() -> datetime:
    """The real wall-clock time an audit row records (never --at)."""
    return datetime.now(UTC)


def chain_rows(
    key: bytes,
    who: Who,
    entries: Sequence[Entry],
    frozen_at: datetime | None,
    head: Sequence[Any] | None,
) -> list[dict[str, Any]]:
    """The rows that follow the chain head `head` ((seq, mac), or None for an empty
    chain), each with its MAC: the one computation behind both ways of appending."""
    seq, prev = (int(head[0]) + 1, str(head[1])) if head else (1, GENESIS)
    rows = []
    for action, entity, entity_id, changes in entries:
        row: dict[str, Any] = {
            "seq": seq,
            "at": now_utc(),
            "frozen_at": frozen_at,
            "staff_login": who.staff_login,
            "os_user": who.os_user,
            "host": who.host,
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id),
            "changes": canonical(changes),
            "prev_mac": prev,
        }
        row["mac"] = compute_mac(key, row)
        rows.append(row)
        seq, prev = seq + 1, row["mac"]
    return rows


def append_many(
    session: Session,
    key: bytes,
    who: Who,
    entries: list[Entry],
    frozen_at: datetime | None = None,
) -> None:
    """Add chained audit rows, in order, inside the caller's write transaction: the chain
    head is locked and read once however many rows follow it (an import adds thousands)."""
    from sqlalchemy import select, text

    from supportdesk.models import AuditEvent
    from supportdesk.models.base import bulk_insert

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_CHAIN_LOCK})
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.mac).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    bulk_insert(session, AuditEvent, chain_rows(key, who, entries, frozen_at, last))


def append_plain(
    tx: Transaction,
    key: bytes,
    who: Who,
    entries: Sequence[Entry],
    frozen_at: datetime | None = None,
) -> None:
    """`append_many` on a plain-driver transaction: the same lock of the chain head, the
    same rows (times bound as the ORM stores them), with no SQLAlchemy import."""
    if not tx.is_sqlite:
        tx.run(LOCK_SQL, (PG_CHAIN_LOCK,))
    rows = chain_rows(key, who, entries, frozen_at, tx.first(HEAD_SQL))
    stamped = ("at", "frozen_at")
    tx.run_many(
        INSERT_SQL,
        [[tx.timestamp(r[c]) if c in stamped else r[c] for c in COLUMNS] for r in rows],
    )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    head_seq: int
    head_mac: str
    bad_seq: int | None = None
    reason: str | None = None

    @property
    def anchor(self) -> str:
        return f"{self.head_seq}:{self.head_mac}"


def parse_anchor(anchor: str) -> tuple[int | None, str]:
    seq_text, _, mac = anchor.strip().rpartition(":")
    if seq_text and not seq_text.isdigit():
        raise UsageError(f"--anchor: expected SEQ:HASH as printed by `audit verify`: {anchor}")
    mac = mac.lower()
    if len(mac) != 64 or any(c not in "0123456789abcdef" for c in mac):
        raise UsageError(f"--anchor: expected SEQ:HASH as printed by `audit verify`: {anchor}")
    return (int(seq_text) if seq_text else None), mac


def verify(session: Session, key: bytes, anchor: str | None = None) -> VerifyResult:
    """Walk the chain in order; name the first row that was edited, removed or forged."""
    from sqlalchemy import select

    from supportdesk.models import AuditEvent

    want_seq, want_mac = parse_anchor(anchor) if anchor else (None, None)
    anchor_seen = False
    expected_seq, prev = 1, GENESIS
    count = 0
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    for row in session.scalars(stmt):
        count += 1
        if row.seq != expected_seq:
            return VerifyResult(
                False,
                count,
                expected_seq - 1,
                prev,
                expected_seq,
                f"row {expected_seq} is missing (next row is {row.seq}): rows were deleted",
            )
        if row.prev_mac != prev:
            return VerifyResult(
                False,
                count,
                row.seq - 1,
                prev,
                row.seq,
                f"row {row.seq} does not follow row {row.seq - 1}: the chain was altered",
            )
        if not hmac.compare_digest(row.mac, compute_mac(key, row)):
            return VerifyResult(
                False,
                count,
                row.seq - 1,
                prev,
                row.seq,
                f"row {row.seq} does not match its MAC: it was edited or forged",
            )
        if want_mac is not None and row.mac == want_mac and want_seq in (None, row.seq):
            anchor_seen = True
        prev, expected_seq = row.mac, row.seq + 1
        session.expunge(row)
    head_seq = expected_seq - 1
    if want_mac is not None and not anchor_seen:
        if want_seq is not None and want_seq > head_seq:
            reason = (
                f"the chain ends at row {head_seq} but the anchor names row {want_seq}: "
                "rows were deleted from the end"
            )
            return VerifyResult(False, count, head_seq, prev, head_seq + 1, reason)
        return VerifyResult(
            False,
            count,
            head_seq,
            prev,
            want_seq,
            "the anchor is not in the chain: the chain was rewritten",
        )
    return VerifyResult(True, count, head_seq, prev)
