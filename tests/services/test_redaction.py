"""Redaction that redacts (issue 12, finding 4): after a lead redacts a secret, nothing left
in the database (audit rows, thread entries, tickets, nonces) lets anyone recover it by
guessing, and the audit chain still verifies. Both databases."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text

from supportdesk.core import audit
from supportdesk.core.desk import Desk
from supportdesk.errors import NotAllowed, NothingToDo, UsageError
from supportdesk.models import AuditEvent, Ticket, TicketEvent
from supportdesk.services import tickets
from supportdesk.services.admin.setup import init_database
from supportdesk.services.intake import mail
from supportdesk.store import HEAD_REVISION
from tests.helpers.cli import one_line_error, run
from tests.helpers.desk import DeskFactory, new_ticket
from tests.helpers.migrations import migrate
from tests.helpers.samples import message

TEMPLATE = "my PIN is {:04d}"  # what the attacker guesses: the phrase is known, the PIN not


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def what_remains(desk: Desk) -> tuple[set[str], list[bytes], list[str]]:
    """Everything a reader of the database has: audit digests, every stored nonce, and all
    stored text (audit values, thread bodies, subjects, descriptions)."""
    digests: set[str] = set()
    texts: list[str] = []
    nonces: list[bytes] = []
    with desk.store.read() as s:
        for changes in s.scalars(select(AuditEvent.changes)):
            for value in _strings(json.loads(changes)):
                if audit.digest_form(value):
                    digests.add(value)
                else:
                    texts.append(value)
        for body, nonce in s.execute(select(TicketEvent.body, TicketEvent.nonce)):
            texts.append(body or "")
            if nonce:
                nonces.append(bytes(nonce))
        for row in s.execute(
            select(
                Ticket.subject, Ticket.description, Ticket.subject_nonce, Ticket.description_nonce
            )
        ):
            texts += [row[0], row[1] or ""]
            nonces += [bytes(n) for n in row[2:] if n]
    return digests, nonces, texts


def brute_force(desk: Desk) -> set[int]:
    """Every 4-digit PIN whose sentence matches something stored: an unsalted digest, a
    salted digest under any stored nonce, or the text itself."""
    digests, nonces, texts = what_remains(desk)
    unsalted = {d.removeprefix(audit.UNSALTED) for d in digests if audit.digest_form(d) == 1}
    salted = {d.removeprefix(audit.SALTED) for d in digests if audit.digest_form(d) == 2}
    stored = "\n".join(texts)
    found = set()
    for pin in range(10_000):
        guess = TEMPLATE.format(pin)
        raw = guess.encode()
        if guess in stored or hashlib.sha256(raw).hexdigest() in unsalted:
            found.add(pin)
            continue
        for nonce in nonces:
            if hmac.new(nonce, raw, hashlib.sha256).hexdigest() in salted:
                found.add(pin)
                break
    return found


def chain_ok(desk: Desk) -> bool:
    with desk.store.read() as s:
        return audit.verify(s, desk.audit_key).ok


def event_with(desk: Desk, ticket_id: int, body: str) -> int:
    return next(e.id for e in tickets.show(desk, ticket_id).events if e.body == body)


def test_redacted_pins_cannot_be_guessed_from_what_remains(desk: Desk) -> None:
    tid = new_ticket(desk, TEMPLATE.format(1234), description=TEMPLATE.format(5678))
    tickets.reply(desk, tid, TEMPLATE.format(7101))
    tickets.note(desk, tid, "caller verified, PIN reset requested")
    # with the nonces in place each digest checks against its text: the search works
    assert brute_force(desk) == {1234, 5678, 7101}
    ev = event_with(desk, tid, TEMPLATE.format(7101))
    r = tickets.redact(desk, ev, "customer pasted their PIN")
    assert r.salted and r.unsalted_rows == ()
    assert "nonce is deleted" in r.note
    assert brute_force(desk) == {1234, 5678}
    tickets.redact_ticket_text(desk, tid, "subject", "PIN in the subject")
    tickets.redact_ticket_text(desk, tid, "description", "PIN in the description")
    assert brute_force(desk) == set()
    assert chain_ok(desk)
    with desk.store.read() as s:
        e = s.get(TicketEvent, ev)
        t = s.get(Ticket, tid)
        assert e is not None and t is not None
        assert (e.body, e.nonce) == (tickets.REDACTED, None) and e.redacted_at is not None
        assert (t.subject, t.subject_nonce, t.description, t.description_nonce) == (
            tickets.REDACTED,
            None,
            tickets.REDACTED,
            None,
        )
        actions = [a for (a,) in s.execute(select(AuditEvent.action).order_by(AuditEvent.seq))]
    assert actions[-3:] == ["event.redact", "ticket.redact_subject", "ticket.redact_description"]
    other = tickets.show(desk, tid)
    assert any(x.body == "caller verified, PIN reset requested" for x in other.events)


def test_new_audit_rows_hold_salted_digests_and_no_clear_subject(desk: Desk) -> None:
    tid = new_ticket(desk, "Secret subject 4242", description="the long story")
    tickets.reply(desk, tid, "a reply")
    with desk.store.read() as s:
        rows = {
            r.action: json.loads(r.changes)
            for r in s.scalars(select(AuditEvent).where(AuditEvent.entity_id == str(tid)))
        }
        t = s.get(Ticket, tid)
        assert t is not None
        subject_nonce, description_nonce = t.subject_nonce, t.description_nonce
        reply = s.scalars(select(TicketEvent).where(TicketEvent.kind == "reply")).one()
    created = rows["ticket.create"]
    assert "4242" not in json.dumps(created)
    assert subject_nonce and len(subject_nonce) == 16 and description_nonce != subject_nonce
    assert audit.digest_form(created["subject"][1]) == 2
    assert audit.digest_matches(created["subject"][1], "Secret subject 4242", subject_nonce)
    assert not audit.digest_matches(created["subject"][1], "Secret subject 4243", subject_nonce)
    assert audit.digest_matches(created["description"][1], "the long story", description_nonce)
    assert audit.digest_matches(rows["ticket.reply"]["body"][1], "a reply", reply.nonce)


def test_mail_ticket_subject_and_body_are_salted_and_redactable(desk: Desk) -> None:
    raw = message("priya@bluefin.example", TEMPLATE.format(2468), TEMPLATE.format(1357))
    r = mail.ingest(desk, raw)
    reply = mail.ingest(
        desk, message("priya@bluefin.example", f"Re: [#{r.ticket_id}] x", TEMPLATE.format(9753))
    )
    assert reply.action == "reply"
    assert brute_force(desk) == {2468, 1357, 9753}
    tickets.redact_ticket_text(desk, r.ticket_id, "subject", "PIN")
    tickets.redact_ticket_text(desk, r.ticket_id, "description", "PIN")
    tickets.redact(desk, event_with(desk, r.ticket_id, TEMPLATE.format(9753)), "PIN")
    assert brute_force(desk) == set()
    assert chain_ok(desk)


def test_subject_redaction_also_clears_the_merge_entry_that_quoted_it(desk: Desk) -> None:
    dup = new_ticket(desk, TEMPLATE.format(8642))
    keep = new_ticket(desk, "Site down")
    tickets.merge(desk, dup, keep)
    assert brute_force(desk) == {8642}  # the subject, and its copy in the merge entry
    r = tickets.redact_ticket_text(desk, dup, "subject", "PIN in the subject")
    assert len(r.also) == 1
    merged = next(e for e in tickets.show(desk, keep).events if e.id == r.also[0])
    assert merged.body == f"Merged #{dup}: [redacted]" and merged.redacted
    assert brute_force(desk) == set()
    assert chain_ok(desk)


def test_redaction_refusals_change_nothing(desk: Desk, make_desk: DeskFactory) -> None:
    tid = new_ticket(desk, "subject")
    tickets.reply(desk, tid, "body")
    ev = event_with(desk, tid, "body")
    with desk.store.read() as s:
        before = s.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    with pytest.raises(NotAllowed):
        tickets.redact_ticket_text(make_desk("amir"), tid, "subject", "not a lead")
    with pytest.raises(UsageError):
        tickets.redact_ticket_text(desk, tid, "subject", "  ")
    with pytest.raises(UsageError):
        tickets.redact_ticket_text(desk, tid, "caller_name", "no such field")
    tickets.redact(desk, ev, "once")
    with pytest.raises(NothingToDo):
        tickets.redact(desk, ev, "twice")
    tickets.redact_ticket_text(desk, tid, "subject", "once")
    with pytest.raises(NothingToDo):
        tickets.redact_ticket_text(desk, tid, "subject", "twice")
    with pytest.raises(NothingToDo):  # created without a description
        tickets.redact_ticket_text(desk, tid, "description", "nothing there")
    with desk.store.read() as s:
        after = s.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    assert after == (before or 0) + 2  # the two redactions, nothing from the refusals
    assert tickets.show(desk, tid).subject == tickets.REDACTED


def test_text_written_before_0009_is_redacted_and_its_unsalted_digest_is_named(
    desk: Desk,
) -> None:
    """A desk upgraded from 0007: its old audit rows stay as they were (the chain verifies),
    redaction of old text still removes it, and says that its unsalted digest remains."""
    tid = new_ticket(desk, "Old ticket")
    new_body = TEMPLATE.format(1111)
    tickets.reply(desk, tid, new_body)  # written at 0009
    desk.store.dispose()
    migrate(desk, "0007", down=True)  # back to the schema of old supportdesk
    old_body, old_subject = TEMPLATE.format(3141), TEMPLATE.format(2718)
    now = desk.store.timestamp_param(desk.now())
    with desk.store.write() as s:  # what supportdesk before 0009 wrote for a reply
        s.execute(
            text(
                "INSERT INTO ticket_events (ticket_id, kind, from_customer, visible, body, "
                "created_at) VALUES (:t, 'reply', :f, :v, :b, :at)"
            ),
            {"t": tid, "f": False, "v": True, "b": old_body, "at": now},
        )
        s.execute(
            text("UPDATE tickets SET subject = :s WHERE id = :t"), {"s": old_subject, "t": tid}
        )
        audit.append(
            s,
            desk.audit_key,
            desk.who,
            "ticket.reply",
            "ticket",
            tid,
            {"body": [None, audit.body_digest(old_body)], "subject": [None, old_subject]},
        )
    desk.store.dispose()
    init_database(desk)  # the upgrade: 0007 -> head, through 0009
    assert desk.store.schema_revision() == HEAD_REVISION and chain_ok(desk)
    old_ev = event_with(desk, tid, old_body)
    r = tickets.redact(desk, old_ev, "old PIN")
    assert not r.salted and len(r.unsalted_rows) == 1
    assert "this text was written before 0009; its unsalted digest remains in the audit" in r.note
    r2 = tickets.redact_ticket_text(desk, tid, "subject", "old PIN")
    assert not r2.salted and r2.unsalted_rows == r.unsalted_rows
    assert "in clear" in r2.note
    tickets.redact(desk, event_with(desk, tid, new_body), "new PIN")
    assert chain_ok(desk)
    # honest about the limit: the old rows still give the old PINs away, the new one is gone
    assert brute_force(desk) == {3141, 2718}


@pytest.fixture
def redact_cli(cli_env: dict[str, str], desk: Desk) -> tuple[dict[str, str], int, int]:
    tid = new_ticket(desk, TEMPLATE.format(1212))
    tickets.reply(desk, tid, TEMPLATE.format(3434))
    return cli_env, tid, event_with(desk, tid, TEMPLATE.format(3434))


def test_cli_redacts_with_json_and_text(redact_cli: tuple[dict[str, str], int, int]) -> None:
    env, tid, ev = redact_cli
    p = run(env, "ticket", "redact", str(ev), "--reason", "PIN", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["what"] == f"event {ev}" and out["salted"] is True and out["unsalted_rows"] == []
    p = run(env, "ticket", "redact-subject", str(tid), "--reason", "PIN in subject")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == f"subject of #{tid} redacted"
    assert "nonce is deleted" in p.stdout
    p = run(env, "audit", "verify")
    assert p.returncode == 0 and "intact" in p.stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["ticket", "redact-subject", "999", "--reason", "x"], 1, "no ticket #999"),
        (["ticket", "redact-subject", "{tid}"], 2, "--reason"),
        (["ticket", "redact-description", "{tid}", "--reason", "x"], 4, "has no description"),
        (["--as", "amir", "ticket", "redact-subject", "{tid}", "--reason", "x"], None, "amir"),
        (["ticket", "redact", "{ev}", "--reason", " "], 2, "needs a reason"),
    ],
)
def test_cli_redaction_errors_are_one_line(
    redact_cli: tuple[dict[str, str], int, int], args: list[str], code: int | None, needle: str
) -> None:
    env, tid, ev = redact_cli
    argv = [a.format(tid=tid, ev=ev) for a in args]
    p = run(env, *argv)
    assert p.returncode != 0 and (code is None or p.returncode == code), p
    assert needle in one_line_error(p)
    q = run(env, "ticket", "show", str(tid), "--json")
    assert json.loads(q.stdout)["subject"] == TEMPLATE.format(1212)
