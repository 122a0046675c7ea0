"""The audit chain: every change is recorded, and no edit, cut or forgery goes unnoticed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from supportdesk.core import audit
from supportdesk.errors import StoreError
from supportdesk.models import AuditEvent
from supportdesk.services import tickets
from tests.helpers.desk import new_ticket


def verify(desk, anchor=None):
    with desk.store.read() as s:
        return audit.verify(s, desk.audit_key, anchor)


def tamper(desk, sql: str, **params) -> None:
    """What someone with write access to the database (but not the key) could do."""
    with desk.store.engine.begin() as conn:
        if desk.store.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit DISABLE TRIGGER USER")
        conn.execute(text(sql), params)


def test_every_change_is_audited_with_who_and_before_after(desk):
    tid = new_ticket(desk, "Site down", "medium")
    tickets.update_fields(desk, tid, priority="critical")
    tickets.reply(desk, tid, "my password is hunter2, please reset")
    with desk.store.read() as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    actions = [r.action for r in rows]
    assert "ticket.create" in actions and "ticket.priority" in actions and "ticket.reply" in actions
    prio = next(r for r in rows if r.action == "ticket.priority")
    changes = json.loads(prio.changes)
    assert changes["priority"] == ["medium", "critical"]
    assert set(changes) == {"priority", "respond_due", "resolve_due"}  # the SLA dues it moved
    assert prio.staff_login == "lena" and prio.os_user and prio.host
    reply = next(r for r in rows if r.action == "ticket.reply")
    assert "hunter2" not in reply.changes  # bodies are hashed, not copied
    # salted with the entry's own nonce (form 2), never an unsalted SHA-256 (form 1)
    digest = json.loads(reply.changes)["body"][1]
    assert audit.digest_form(digest) == 2 and '"sha256:' not in reply.changes
    assert verify(desk).ok


def test_redaction_removes_body_and_is_audited(desk):
    tid = new_ticket(desk)
    tickets.reply(desk, tid, "root password: hunter2")
    ev = next(e for e in tickets.show(desk, tid).events if e.kind == "reply")
    tickets.redact(desk, ev.id, "customer pasted a password")
    ev2 = next(e for e in tickets.show(desk, tid).events if e.id == ev.id)
    assert ev2.redacted and "hunter2" not in (ev2.body or "")
    with desk.store.read() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last.action == "event.redact" and "hunter2" not in last.changes
    assert verify(desk).ok


def test_database_refuses_update_and_delete_of_audit_rows(desk):
    for sql in ("UPDATE audit SET action = 'x' WHERE seq = 1", "DELETE FROM audit WHERE seq = 1"):
        with pytest.raises((DBAPIError, StoreError)), desk.store.write() as s:
            s.execute(text(sql))
    if not desk.store.is_sqlite:
        with pytest.raises((DBAPIError, StoreError)), desk.store.write() as s:
            s.execute(text("TRUNCATE audit"))
    assert verify(desk).ok


def test_edited_row_is_named(desk):
    for i in range(4):
        new_ticket(desk, f"t{i}")
    tamper(desk, "UPDATE audit SET staff_login = 'mallory' WHERE seq = 4")
    result = verify(desk)
    assert not result.ok and result.bad_seq == 4 and "edited" in (result.reason or "")


def test_rehashed_chain_without_the_key_is_caught(desk):
    for i in range(4):
        new_ticket(desk, f"t{i}")
    wrong_key = b"guessed-key-guessed-key-guessed!"
    with desk.store.read() as s:
        rows = [
            {c.name: getattr(r, c.name) for c in AuditEvent.__table__.columns}
            for r in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ]
    rows[2]["action"] = "nothing.happened"
    prev = rows[1]["mac"]
    for row in rows[2:]:
        row["prev_mac"] = prev
        row["mac"] = audit.compute_mac(wrong_key, row)
        prev = row["mac"]
        tamper(
            desk,
            "UPDATE audit SET action = :a, prev_mac = :p, mac = :m WHERE seq = :s",
            a=row["action"],
            p=row["prev_mac"],
            m=row["mac"],
            s=row["seq"],
        )
    result = verify(desk)
    assert not result.ok and result.bad_seq == 3


def test_deleted_middle_row_is_named(desk):
    for i in range(4):
        new_ticket(desk, f"t{i}")
    tamper(desk, "DELETE FROM audit WHERE seq = 5")
    result = verify(desk)
    assert not result.ok and result.bad_seq == 5 and "missing" in (result.reason or "")


def test_deleted_tail_is_caught_with_an_earlier_anchor(desk):
    for i in range(3):
        new_ticket(desk, f"t{i}")
    anchor = verify(desk).anchor
    head = verify(desk).head_seq
    tamper(desk, "DELETE FROM audit WHERE seq >= :s", s=head - 1)
    assert verify(desk).ok  # without an anchor a cut tail looks like a shorter chain
    result = verify(desk, anchor)
    assert not result.ok and "deleted from the end" in (result.reason or "")
