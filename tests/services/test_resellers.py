"""Resellers (issue 19 item 5), on SQLite and PostgreSQL: an account's reseller is set when it
is added or later (audited; never a missing account, itself or a loop), and every path in
refers the reseller's end customer to it the same way, with the reseller's primary contact,
and opens no ticket for them: verify, ticket new, mail (filed closed, the referral mailed
back to a contact on file when the desk sends mail), and `account show`."""

from __future__ import annotations

import json

import pytest

from supportdesk.core.desk import Desk
from supportdesk.core.policy import load_preset
from supportdesk.errors import NotAllowed, NotFound, NothingToDo, UsageError
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import directory, sla, tickets
from supportdesk.services.callers import verification
from supportdesk.services.intake import mail
from tests.helpers.desk import dump, new_ticket
from tests.helpers.samples import message

ELI = "eli@endco.example"
CONTACT = "Priya Naidoo, priya@bluefin.example, +27215550101"
SAYS = (
    "endco is a customer of the reseller Bluefin Media (bluefin): they must contact their "
    f"reseller ({CONTACT}); no ticket is opened"
)


@pytest.fixture
def rdesk(desk: Desk) -> Desk:
    """The shared desk (bluefin, primary contact Priya) with endco, bluefin's end customer,
    whose primary contact is Eli."""
    directory.add_account(desk, "endco", "End Co Bakery", "gold", reseller="bluefin")
    directory.add_contact(desk, "endco", "Eli End", [ELI], ["+27 82 555 0303"], "primary")
    return desk


def audit_rows(desk: Desk, action: str) -> list[dict]:
    rows = desk.store.query("SELECT changes FROM audit WHERE action = ? ORDER BY seq", (action,))
    return [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]


def test_the_referral_names_the_reseller_and_its_primary_contact(rdesk: Desk) -> None:
    r = directory.referral(rdesk, "endco")
    assert r is not None
    assert (r.account, r.reseller, r.company) == ("endco", "bluefin", "Bluefin Media")
    assert (r.contact, r.email) == ("Priya Naidoo", "priya@bluefin.example")
    assert r.contact_line == CONTACT and r.message == SAYS
    assert directory.referral(rdesk, "bluefin") is None
    shown = directory.show_account(rdesk, "endco")
    assert shown.reseller == "bluefin" and shown.referral == r
    assert audit_rows(rdesk, "account.add")[-1]["reseller"] == [None, "bluefin"]


def test_set_and_clear_a_reseller_audited(rdesk: Desk) -> None:
    directory.add_account(rdesk, "solo", "Solo Ltd", "gold")
    r = directory.set_reseller(rdesk, "solo", "bluefin")
    assert r is not None and r.company == "Bluefin Media"
    assert directory.set_reseller(rdesk, "solo", None) is None
    assert directory.show_account(rdesk, "solo").reseller is None
    assert [c["reseller"] for c in audit_rows(rdesk, "account.reseller")] == [
        [None, "bluefin"],
        ["bluefin", None],
    ]
    with pytest.raises(NothingToDo):
        directory.set_reseller(rdesk, "solo", None)


@pytest.mark.parametrize(
    ("account", "reseller", "error", "says"),
    [
        ("endco", "nosuch", NotFound, "no reseller account 'nosuch'"),
        ("endco", "endco", UsageError, "cannot be its own reseller"),
        ("bluefin", "endco", UsageError, "endco is itself a customer of bluefin"),
        ("nosuch", "bluefin", NotFound, "no account 'nosuch'"),
        ("endco", "bluefin", NothingToDo, "already a customer of bluefin"),
    ],
)
def test_refused_resellers_change_nothing(
    rdesk: Desk, account: str, reseller: str, error: type[Exception], says: str
) -> None:
    before = dump(rdesk.store)
    with pytest.raises(error, match=says):
        directory.set_reseller(rdesk, account, reseller)
    assert dump(rdesk.store) == before


def test_a_longer_loop_is_refused_and_add_checks_too(rdesk: Desk) -> None:
    directory.add_account(rdesk, "sub", "Sub Reseller", "gold", reseller="endco")
    before = dump(rdesk.store)
    with pytest.raises(UsageError, match="sub is itself a customer of bluefin"):
        directory.set_reseller(rdesk, "bluefin", "sub")
    with pytest.raises(NotFound, match="no reseller account 'ghost'"):
        directory.add_account(rdesk, "newco", "New Co", "gold", reseller="ghost")
    with pytest.raises(UsageError, match="cannot be its own reseller"):
        directory.add_account(rdesk, "newco", "New Co", "gold", reseller="newco")
    assert dump(rdesk.store) == before


def test_verify_refers_with_the_contact(rdesk: Desk) -> None:
    v = verification.verify(rdesk, "endco", None, "phone")
    assert v.state == verification.REFERRED and v.message == SAYS
    assert v.referral is not None and v.referral.phone == "+27215550101"
    assert v.to_json()["referral"]["contact"] == "Priya Naidoo"


def test_ticket_new_for_an_end_customer_is_refused_with_the_referral(rdesk: Desk) -> None:
    pin = verification.set_pin(rdesk, "endco", ELI).pin
    before = dump(rdesk.store)
    with pytest.raises(NotAllowed) as refused:
        new_ticket(rdesk, account="endco", channel="email", contact_email=ELI)
    assert str(refused.value) == SAYS
    assert dump(rdesk.store) == before
    # a PIN does not change it: the referral comes before any verification
    v = verification.verify(rdesk, "endco", ELI, "phone", pin=pin)
    assert v.state == verification.REFERRED
    with pytest.raises(NotAllowed, match="customer of the reseller Bluefin Media"):
        new_ticket(rdesk, account="endco", verification_id=v.verification_id)


def outbox(desk: Desk) -> list[tuple]:
    return list(
        desk.store.query("SELECT kind, to_addr, subject, body, headers, ticket_id FROM outbox")
    )


def demo_without_mail() -> str:
    """The demo preset's text without its [mail] table (its last): a desk that sends nothing."""
    text = load_preset("demo").text
    return text[: text.index("\n[mail]")] + "\n"


def test_mail_from_an_end_customer_is_filed_closed_with_the_referral(rdesk: Desk) -> None:
    sla.load_policy(rdesk, parse_policy(demo_without_mail(), "no-mail.toml"))
    r = mail.ingest(rdesk, message(ELI, "Site down"))
    assert (r.action, r.account) == ("closed_referred", "endco")
    t = tickets.show(rdesk, r.ticket_id)
    assert t.status == "closed" and t.resolution_code == "out_of_scope"
    assert any(e.kind == "status" and e.body == SAYS for e in t.events)
    assert outbox(rdesk) == []  # no [mail] domain: the desk sends nothing
    # an unlisted sender naming the end customer's account: referred too, never mailed
    u = mail.ingest(rdesk, message("someone@else.example", "endco: site down"))
    assert (u.action, u.account) == ("closed_referred", "endco")


def test_the_referral_is_mailed_back_once_per_interval_never_to_automatic_mail(
    rdesk: Desk,
) -> None:
    text = demo_without_mail() + '\n[mail]\ndomain = "desk.example"\n'
    sla.load_policy(rdesk, parse_policy(text, "mail.toml"))
    r = mail.ingest(rdesk, message(ELI, "Site [/x] down"))
    assert r.action == "closed_referred"
    ((kind, to, subject, body, headers, tid),) = outbox(rdesk)
    assert (kind, to, subject, tid) == ("referral", ELI, "Re: Site [/x] down", r.ticket_id)
    assert json.loads(headers)["Auto-Submitted"] == "auto-replied"
    assert "looked after by Bluefin Media" in body and CONTACT in body
    again = mail.ingest(rdesk, message(ELI, "Still down"))
    assert again.action == "closed_referred" and len(outbox(rdesk)) == 1  # within the hour
    auto = message(ELI, "Out of office").replace(
        b"Message-ID", b"Auto-Submitted: auto-replied\r\nMessage-ID"
    )
    assert mail.ingest(rdesk, auto).action == "quarantined"
    stranger = mail.ingest(rdesk, message("someone@else.example", "endco: hello"))
    assert stranger.action == "closed_referred" and len(outbox(rdesk)) == 1


def test_a_reply_on_an_earlier_ticket_still_threads(rdesk: Desk) -> None:
    """A ticket from before the account became a reseller's customer keeps its thread."""
    directory.set_reseller(rdesk, "endco", None)
    tid = new_ticket(rdesk, account="endco", contact_email=ELI)
    directory.set_reseller(rdesk, "endco", "bluefin")
    r = mail.ingest(rdesk, message(ELI, f"Re: [#{tid}] Site down", "Still down."))
    assert (r.action, r.ticket_id) == ("reply", tid)
