"""Every ticket has a request type, on every path (issue 19 item 1), on SQLite and PostgreSQL:
words suggest a type (shown, never applied), only a person sets it, and a restricted type
its requester may not ask for blocks replies and resolution until an allowed contact
confirms on a verified call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from supportdesk.core.desk import Desk
from supportdesk.core.policy import load_preset, preset_names
from supportdesk.errors import InvalidTransition, NotAllowed, UsageError
from supportdesk.rules.policy import PolicyError
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.rules.request_types import REQUEST_TYPES
from supportdesk.rules.request_words import DEFAULT, RequestWords, describe, words_of
from supportdesk.services import directory, incidents, sla, tickets
from supportdesk.services.callers import verification
from supportdesk.services.intake import importer, mail
from supportdesk.services.intake.export_formats import read_export
from tests.helpers.desk import dump, new_ticket
from tests.helpers.samples import kaggle_csv, kaggle_row, message

SEEDS = sorted(name for name in preset_names() if name.startswith("seed-"))


# -- the suggestion (pure) ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lost admin password", ("password_reset", ("password",))),
        ("Change billing … reset the root password", ("password_reset", ("reset", "password"))),
        ("ＲＥＳＥＴ my PASS\u200bWORD", ("password_reset", ("reset", "password"))),  # NFKC, ZWSP
        ("please send the INVOICE", ("billing", ("invoice",))),
        ("Terminate; close my account", ("cancellation", ("terminate", "close my account"))),
        ("Change of contact: registrant", ("contact_change", ("change of contact", "registrant"))),
        ("ftp login incorrect", ("password_reset", ("login",))),
        ("Problems logging into an account", None),  # logging is not login: seed 001's free support
        ("passwords_database", ("password_reset", ("passwords",))),  # the underscore separates
        ("mypassword123 cancelled", None),  # whole words only
        ("my DNS is broken", None),  # a DNS record is technical work
        ("", None),
    ],
)  # fmt: skip
def test_words_suggest_a_type_with_the_words_they_matched(
    text: str, expected: tuple[str, tuple[str, ...]] | None
) -> None:
    found = DEFAULT.suggest(text)
    assert (None if found is None else (found.request_type, found.words)) == expected


def test_most_keywords_win_and_a_tie_goes_to_the_first_matched() -> None:
    found = DEFAULT.suggest("refund the payment", "my password")
    assert found is not None and found.request_type == "billing"
    assert DEFAULT.suggest("cancel my invoice").request_type == "cancellation"  # type: ignore[union-attr]
    assert DEFAULT.suggest("invoice: cancel").request_type == "billing"  # type: ignore[union-attr]
    assert words_of("Ǆemal ﬁle Straße") == ["džemal", "file", "strasse"]


def test_the_line_shown_beside_the_type() -> None:
    assert (
        describe("technical", "password_reset", ("password", "reset"))
        == "technical — suggested: password reset (matched “password”, “reset”)"
    )
    assert (
        describe("billing", "billing", ("invoice",)) == "billing — as suggested (matched “invoice”)"
    )
    assert describe("technical", None, ()) == "technical"


def test_the_policy_replaces_the_keywords_of_the_types_it_names() -> None:
    text = load_preset("seed-001-itpossible").text + (
        '\n[request_words]\npassword_reset = ["wachtwoord", "mot de passe"]\ncontact_change = []\n'
    )
    words = parse_policy(text, "p.toml").request_words
    assert isinstance(words, RequestWords)
    assert words.suggest("Mot de passe perdu").request_type == "password_reset"  # type: ignore[union-attr]
    assert words.suggest("Lost password") is None  # replaced, not added to
    assert words.suggest("registrant change") is None  # an empty list: never suggested
    assert words.suggest("invoice").request_type == "billing"  # type: ignore[union-attr]
    assert load_preset("seed-001-itpossible").request_words == DEFAULT


def test_policy_show_lists_the_words() -> None:
    from supportdesk.rules.policy_text import describe as policy_text
    from supportdesk.rules.policy_text import to_json

    text = load_preset("demo").text + "\n[request_words]\ncontact_change = []\n"
    policy = parse_policy(text, "p.toml")
    shown = policy_text(policy)
    assert "  password reset: password, passwords, passwd, login, log in, reset," in shown
    assert "  contact change: never suggested" in shown
    assert to_json(policy)["request_words"]["contact_change"] == []
    assert to_json(policy)["request_words"]["billing"][:2] == ["billing", "bill"]


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('technical = ["x"]', "request_words.technical: unknown key"),
        ('billing = "invoice"', "request_words.billing: expected an array of keywords"),
        ('billing = ["  "]', "request_words.billing: must not be empty"),
        ('billing = ["--"]', "request_words.billing: a keyword needs a letter or digit"),
        ('billing = ["in\\u200bvoice"]', "request_words.billing: a keyword holds no control"),
        ("billing = [1]", "request_words.billing: expected a string"),
    ],
)
def test_bad_request_words_name_their_line(table: str, problem: str) -> None:
    text = load_preset("demo").text + f"\n[request_words]\n{table}\n"
    line = text.count("\n")
    with pytest.raises(PolicyError, match=rf"^p.toml:{line}: {problem}"):
        parse_policy(text, "p.toml")


# -- on the desk ------------------------------------------------------------------------------
def _preset(desk: Desk, name: str) -> None:
    p = load_preset(name)
    moves = {} if "gold" in p.plans else {"gold": p.default_plan}
    sla.load_policy(desk, p, move_plans=moves)


def _authorized(desk: Desk) -> None:
    directory.add_contact(
        desk,
        "bluefin",
        "Ava Authorized",
        ["ava@bluefin.example"],
        ["+27 82 555 0199"],
        "authorized",
    )


def _verified(desk: Desk, email: str) -> int:
    pin = verification.set_pin(desk, "bluefin", email).pin
    v = verification.verify(desk, "bluefin", email, "phone", pin=pin)
    assert v.verification_id is not None
    return v.verification_id


@pytest.mark.parametrize("preset", SEEDS)
def test_an_authorized_non_owner_mails_for_a_password(desk: Desk, preset: str) -> None:
    """The issue's example, under every seed preset: the suggestion is shown, the type stays
    technical until a person changes it; then a reply and a resolution are refused naming
    who can ask, until the primary contact confirms on a verified call."""
    _preset(desk, preset)
    _authorized(desk)
    r = mail.ingest(desk, message("ava@bluefin.example", "Lost admin password", "Please reset it."))
    assert r.action == "opened"
    tid = r.ticket_id
    assert tid is not None
    t = tickets.show(desk, tid)
    assert (t.request_type, t.status, t.request_block) == ("technical", "new", None)
    assert (t.suggested_type, t.suggested_words) == ("password_reset", ("password", "reset"))
    tickets.note(desk, tid, "keywords alone hold nothing")
    assert tickets.show(desk, tid).status == "new"

    tickets.update_fields(desk, tid, request_type="password_reset")
    t = tickets.show(desk, tid)
    assert (t.request_type, t.status) == ("password_reset", "awaiting_authorization")
    assert t.request_block is not None
    assert "Priya Naidoo (primary contact)" in t.request_block
    assert "Ava Authorized (authorized support contact) may not ask for it" in t.request_block
    assert [(e.old_value, e.new_value) for e in t.events if e.kind == "request_type"] == [
        ("technical", "password_reset")
    ]
    before = dump(desk.store)
    with pytest.raises(NotAllowed, match=r"cannot be answered yet: .*Priya Naidoo"):
        tickets.reply(desk, tid, "Your new password is hunter2")
    with pytest.raises(NotAllowed, match=r"cannot be resolved yet: .*Priya Naidoo"):
        tickets.resolve(desk, tid, "fixed")
    with pytest.raises(NotAllowed, match="Ava Authorized cannot confirm"):
        tickets.confirm(desk, tid, _verified(desk, "ava@bluefin.example"))
    after = dump(desk.store)
    for table in ("tickets", "ticket_events"):
        assert after[table] == before[table]

    tickets.confirm(desk, tid, _verified(desk, "priya@bluefin.example"))
    t = tickets.show(desk, tid)
    assert (t.status, t.request_block, t.confirmed_by) == ("open", None, "Priya Naidoo")
    tickets.reply(desk, tid, "Done: a reset link went to the primary contact")
    tickets.resolve(desk, tid, "fixed")
    assert tickets.show(desk, tid).status == "resolved"


def test_every_path_stores_the_suggestion_and_only_a_person_sets_the_type(desk: Desk) -> None:
    phone = new_ticket(desk, "Please cancel the hosting", contact_email="priya@bluefin.example")
    portal = new_ticket(desk, "Where is my invoice", channel="portal")
    chosen = new_ticket(desk, "Site down", request_type="billing", description="the invoice")
    mailed = mail.ingest(desk, message("priya@bluefin.example", "Registrant change")).ticket_id
    typed = mail.ingest_message(
        desk, mail.Message("priya@bluefin.example", "Domain transfer", "", None)
    ).ticket_id
    csv = kaggle_csv(kaggle_row("1", "x@example.com", **{"Ticket Subject": "Refund please"}))
    export = read_export(csv, name="k.csv", fmt="kaggle", zone=UTC, now=datetime.now(UTC))
    importer.import_export(desk, export)
    imported = int(desk.store.query("SELECT max(id) FROM tickets")[0][0])
    rows = {
        tid: desk.store.query(
            "SELECT request_type, suggested_type FROM tickets WHERE id = ?", (tid,)
        )[0]
        for tid in (phone, portal, chosen, mailed, typed, imported)
    }
    assert rows == {
        phone: ("technical", "cancellation"),
        portal: ("technical", "billing"),
        chosen: ("billing", "billing"),  # a person chose it
        mailed: ("technical", "contact_change"),
        typed: ("technical", "contact_change"),
        imported: ("technical", "billing"),  # the export's own type: Technical issue
    }
    assert tickets.show(desk, phone).status == "new"  # keywords never hold


def test_changing_back_to_technical_lifts_only_a_hold_of_its_own(desk: Desk) -> None:
    _authorized(desk)
    tid = mail.ingest(desk, message("ava@bluefin.example", "Billing")).ticket_id
    assert tid is not None
    tickets.update_fields(desk, tid, request_type="billing")
    assert tickets.show(desk, tid).status == "awaiting_authorization"
    tickets.update_fields(desk, tid, request_type="technical")
    t = tickets.show(desk, tid)
    assert (t.status, t.request_block) == ("open", None)

    # held because the caller was not verified: a type change does not lift that
    held = verification.verify(desk, "bluefin", None, "phone")
    tid = new_ticket(desk, "Who knows", verification_id=held.verification_id, caller_name="Jo")
    assert tickets.show(desk, tid).status == "awaiting_authorization"
    tickets.update_fields(desk, tid, request_type="cancellation")
    tickets.update_fields(desk, tid, request_type="technical")
    assert tickets.show(desk, tid).status == "awaiting_authorization"


def test_a_verified_owner_on_the_call_needs_no_confirmation(desk: Desk) -> None:
    vid = _verified(desk, "priya@bluefin.example")
    tid = new_ticket(desk, "Reset root", verification_id=vid, request_type="password_reset")
    t = tickets.show(desk, tid)
    assert (t.status, t.request_block) == ("open", None)
    tickets.reply(desk, tid, "Done")
    # the owner's own unverified mail is blocked: a From: header proves nobody
    mid = mail.ingest(desk, message("priya@bluefin.example", "cancel")).ticket_id
    assert mid is not None
    tickets.update_fields(desk, mid, request_type="cancellation")
    why = tickets.show(desk, mid).request_block
    assert why is not None and "needs a verified call" in why


def test_a_ticket_waiting_on_the_customer_is_blocked_without_a_hold(desk: Desk) -> None:
    _authorized(desk)
    tid = new_ticket(desk, "Invoices", contact_email="ava@bluefin.example")
    tickets.update_fields(desk, tid, status="pending_customer")
    tickets.update_fields(desk, tid, request_type="billing")
    t = tickets.show(desk, tid)
    assert t.status == "pending_customer" and t.request_block is not None
    with pytest.raises(NotAllowed):
        tickets.reply(desk, tid, "ok")
    with pytest.raises(NotAllowed):
        tickets.update_fields(desk, tid, status="resolved", code="fixed")
    tickets.log_call(desk, tid, "spoke", "asked for the owner")  # a call is logged anyway
    tickets.confirm(desk, tid, _verified(desk, "priya@bluefin.example"))
    t = tickets.show(desk, tid)
    assert (t.status, t.request_block) == ("pending_customer", None)
    tickets.reply(desk, tid, "ok")


def test_an_incident_resolution_leaves_a_blocked_ticket_open(desk: Desk) -> None:
    _authorized(desk)
    tid = new_ticket(desk, "Down, and cancel", contact_email="ava@bluefin.example")
    tickets.update_fields(desk, tid, status="pending_customer")
    tickets.update_fields(desk, tid, request_type="cancellation")
    inc = incidents.open_incident(desk, ["web-cpt-14"], "web-cpt-14 down", owner="una")
    incidents.link_ticket(desk, inc.id, tid)
    result = incidents.resolve(desk, inc.id, "Power restored.")
    assert result.left_open == (tid,)
    assert tickets.show(desk, tid).status == "pending_customer"


def test_the_type_is_checked_and_audited(desk: Desk) -> None:
    tid = new_ticket(desk)
    with pytest.raises(UsageError, match="unknown request type 'refund'"):
        tickets.update_fields(desk, tid, request_type="refund")
    before = int(desk.store.query("SELECT count(*) FROM audit")[0][0])
    tickets.update_fields(desk, tid, request_type="billing", priority="high")
    actions = [row[0] for row in desk.store.query("SELECT action FROM audit ORDER BY seq")[before:]]
    assert "ticket.request_type" in actions and "ticket.priority" in actions
    tickets.update_fields(desk, tid, request_type="technical")
    tickets.resolve(desk, tid, "fixed")
    with pytest.raises(InvalidTransition, match="request type stays technical"):
        tickets.update_fields(desk, tid, request_type="billing")
    assert set(REQUEST_TYPES) == {"technical", "billing", "password_reset", "contact_change",
                                  "cancellation"}  # fmt: skip
