"""A held ticket confirmed by an authenticated reply carrying a one-time code (issue 19,
item 2), on SQLite and PostgreSQL: the happy path, and every refusal keeps the ticket held
with the customer's words and a note saying why. The code is never shown again."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from supportdesk.core.desk import Desk
from supportdesk.rules.one_time_codes import MASK
from supportdesk.services import tickets
from supportdesk.services.intake import mail
from supportdesk.services.outbox import views as outbox_views
from supportdesk.services.tickets.confirmation import request_confirmation
from tests.helpers.authmail import (
    AUTHSERV,
    DMARC_PASS,
    PRIYA,
    RECEIVED,
    SAM,
    answer,
    held_ticket,
    reply,
    request_id,
    sent_code,
    use_auth_policy,
)
from tests.helpers.desk import DeskFactory


@pytest.fixture
def held(desk: Desk) -> tuple[int, str]:
    use_auth_policy(desk)
    tid = held_ticket(desk)
    return tid, sent_code(desk, tid)


def status(desk: Desk, tid: int) -> str:
    return tickets.show(desk, tid).status


def notes(desk: Desk, tid: int) -> str:
    return "\n".join(e.body or "" for e in tickets.show(desk, tid).events if e.kind == "note")


def spent(desk: Desk, tid: int) -> list[tuple[object, ...]]:
    return desk.store.query(
        "SELECT spent FROM confirmation_codes WHERE ticket_id = ? ORDER BY id", (tid,)
    )


def everything_shown(desk: Desk, tid: int) -> str:
    """What staff can read of the ticket, its mail and the audit."""
    t = tickets.show(desk, tid)
    out = [json.dumps(t.to_json(), default=str)]
    out += [json.dumps(v.to_json(), default=str) for v in outbox_views.outbox(desk)]
    out += [str(r) for r in desk.store.query("SELECT * FROM audit")]
    out += [str(r) for r in desk.store.query("SELECT * FROM ticket_events")]
    return "\n".join(out)


def test_a_held_ticket_gets_a_code_at_its_contacts_address_and_a_yes_confirms_it(
    desk: Desk, held: tuple[int, str]
) -> None:
    tid, code = held
    assert status(desk, tid) == "awaiting_authorization"
    [(to, subject, headers)] = desk.store.query(
        "SELECT to_addr, subject, headers FROM outbox WHERE kind = 'confirmation'"
    )
    assert to == PRIYA and f"[#{tid}]" in str(subject)
    assert json.loads(str(headers))["Auto-Submitted"] == "auto-generated"
    r = mail.ingest(desk, reply(tid, answer(code), in_reply_to=request_id(desk, tid)))
    assert (r.action, r.ticket_id) == ("reply_confirmed", tid)
    t = tickets.show(desk, tid)
    assert (t.status, t.request_block, t.confirmed_by) == ("open", None, "Priya Naidoo")
    assert "confirmed the password reset by authenticated e-mail with a one-time code" in (
        notes(desk, tid)
    )
    assert spent(desk, tid) == [("confirmed",)]
    audit = " ".join(str(r) for r in desk.store.query("SELECT changes FROM audit"))
    assert "confirmed by authenticated e-mail with a one-time code" in audit
    shown = everything_shown(desk, tid)
    assert code not in shown and code.replace("-", "") not in shown and MASK in shown


def refused(desk: Desk, tid: int, raw: bytes, why: str) -> None:
    before = spent(desk, tid)
    r = mail.ingest(desk, raw)
    assert (r.action, r.ticket_id) == ("reply_held", tid), r
    assert status(desk, tid) == "awaiting_authorization"
    assert why in notes(desk, tid), notes(desk, tid)
    assert spent(desk, tid) == before  # no code spent


FORGED = f"Authentication-Results: {DMARC_PASS}"


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        (dict(top=(RECEIVED,), below=(FORGED,)), "no Authentication-Results of mx.desk.example"),
        (
            dict(top=(FORGED.replace(AUTHSERV, "mx.other.example"), RECEIVED)),
            "above its Received: header (1 from other servers)",
        ),
        (
            dict(top=(f"Authentication-Results: {AUTHSERV}; spf=pass smtp.mailfrom=x", RECEIVED)),
            "did not authenticate bluefin.example (spf=pass)",
        ),
        (
            dict(
                top=(
                    f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=evil.example; "
                    "dmarc=fail header.from=bluefin.example",
                    RECEIVED,
                )
            ),
            "dkim=pass, dmarc=fail",
        ),
        (dict(top=()), "no Authentication-Results of mx.desk.example"),
    ],
    ids=["forged-below-received", "other-authserv", "spf-only", "dkim-unaligned", "none"],
)
def test_unauthenticated_replies_never_confirm(
    desk: Desk, held: tuple[int, str], headers: dict[str, tuple[str, ...]], why: str
) -> None:
    tid, code = held
    refused(desk, tid, reply(tid, answer(code), **headers), "not authenticated: ")
    assert why in notes(desk, tid)


def test_a_forged_from_with_the_code_does_not_confirm(desk: Desk, held: tuple[int, str]) -> None:
    tid, code = held
    server = (
        f"Authentication-Results: {AUTHSERV}; spf=pass smtp.mailfrom=evil.example; "
        "dkim=pass header.d=evil.example; dmarc=fail header.from=bluefin.example",
        RECEIVED,
    )
    refused(desk, tid, reply(tid, answer(code), top=server), "not authenticated")


def test_a_code_only_in_quoted_lines_does_not_confirm(desk: Desk, held: tuple[int, str]) -> None:
    tid, code = held
    body = f"Yes\n\n> Your one-time code: {code}\n"
    refused(desk, tid, reply(tid, body), "only in quoted (>) lines")
    refused(desk, tid, reply(tid, "Yes, go ahead"), "no one-time code in the reply")


def test_not_a_yes_does_not_confirm(desk: Desk, held: tuple[int, str]) -> None:
    tid, code = held
    refused(desk, tid, reply(tid, answer(code, "No, I never asked")), "does not say yes")


def test_another_contact_of_the_account_cannot_use_the_code(
    desk: Desk, held: tuple[int, str]
) -> None:
    tid, code = held
    refused(desk, tid, reply(tid, answer(code), sender=SAM), "wrong sender")


def test_an_out_of_office_reply_carrying_the_code_changes_nothing(
    desk: Desk, held: tuple[int, str]
) -> None:
    tid, code = held
    raw = reply(tid, answer(code), extra=("Auto-Submitted: auto-replied",))
    r = mail.ingest(desk, raw)
    assert (r.action, r.ticket_id) == ("auto_note", tid)
    assert status(desk, tid) == "awaiting_authorization" and spent(desk, tid) == [(None,)]
    assert code not in everything_shown(desk, tid)


def test_a_used_code_does_not_confirm_again(desk: Desk, held: tuple[int, str]) -> None:
    tid, code = held
    assert mail.ingest(desk, reply(tid, answer(code))).action == "reply_confirmed"
    tickets.update_fields(desk, tid, status="awaiting_authorization")  # a lead holds it again
    refused(desk, tid, reply(tid, answer(code)), "the code was already used")


def test_an_expired_code_does_not_confirm(
    desk: Desk, held: tuple[int, str], make_desk: DeskFactory
) -> None:
    tid, code = held
    later = make_desk("lena", desk.now() + timedelta(hours=72, minutes=1))
    refused(later, tid, reply(tid, answer(code)), "the code expired")


def test_a_code_for_another_ticket_does_not_confirm(desk: Desk, held: tuple[int, str]) -> None:
    _tid, code = held
    other = held_ticket(desk, "Reset the FTP password")
    refused(desk, other, reply(other, answer(code)), "for another ticket")
    refused(desk, other, reply(other, answer("ABCDE-FGHIJ-KLMNO-PQRST-UVWXY2")), "not one the desk")


def test_a_code_for_another_request_type_does_not_confirm(
    desk: Desk, held: tuple[int, str]
) -> None:
    tid, code = held
    tickets.update_fields(desk, tid, request_type="cancellation")
    assert status(desk, tid) == "awaiting_authorization"
    refused(desk, tid, reply(tid, answer(code)), "the code was for a password reset")
    new = sent_code(desk, tid)  # the change of type mailed a code for the cancellation
    assert new != code
    assert mail.ingest(desk, reply(tid, answer(new))).action == "reply_confirmed"


def test_an_agent_asks_another_allowed_contact_and_the_old_code_is_replaced(
    desk: Desk, held: tuple[int, str]
) -> None:
    tid, code = held
    with pytest.raises(Exception, match="Sam Lee cannot confirm"):
        request_confirmation(desk, tid, _contact_id(desk, SAM))
    done = request_confirmation(desk, tid, _contact_id(desk, PRIYA))
    assert done.queued and done.to == "p***@bluefin.example"
    assert code not in json.dumps(done.to_json(), default=str)
    refused(desk, tid, reply(tid, answer(code)), "replaced by a newer one")
    assert mail.ingest(desk, reply(tid, answer(sent_code(desk, tid)))).action == ("reply_confirmed")


def test_no_authserv_id_no_mail_confirms(desk: Desk) -> None:
    from tests.helpers.outbox import use_mail_policy

    use_auth_policy(desk)
    tid = held_ticket(desk)
    code = sent_code(desk, tid)
    use_mail_policy(desk)  # [mail] without authserv_id
    refused(desk, tid, reply(tid, answer(code)), "names no [mail] authserv_id")


def _contact_id(desk: Desk, email: str) -> int:
    rows = desk.store.query("SELECT contact_id FROM contact_points WHERE value = ?", (email,))
    return int(rows[0][0])  # type: ignore[call-overload]


def test_the_code_leaves_the_outbox_once_sent_or_failed(
    desk: Desk, held: tuple[int, str], tmp_path: Path
) -> None:
    import mailbox

    from supportdesk.services.outbox.config import load_config
    from supportdesk.services.outbox.sending import send_due
    from supportdesk.services.outbox.transports import open_transport
    from tests.helpers.outbox import fail
    from tests.helpers.smtp import write_config

    _tid, code = held
    other = held_ticket(desk, "Reset the FTP password")
    cfg = load_config(
        write_config(tmp_path, None, None, kind="maildir", maildir=str(tmp_path / "M"))
    )
    [failing] = desk.store.query("SELECT id FROM outbox WHERE ticket_id = ?", (other,))
    fail(desk, int(failing[0]))  # type: ignore[call-overload]
    assert send_due(desk, open_transport(cfg), lease_s=cfg.lease_s).sent == 1
    [msg] = list(mailbox.Maildir(str(tmp_path / "M"), create=False))
    assert code in msg.get_payload()  # the customer got it
    bodies = " ".join(str(b) for (b,) in desk.store.query("SELECT body FROM outbox"))
    assert code not in bodies and bodies.count(MASK) == 2
