"""Caller verification and PINs on SQLite and PostgreSQL (issue 4): roles, refusals naming
who can, lockout shared across processes, unlock, referral, and no plaintext PIN anywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.errors import InvalidTransition, NotAllowed, NotFound, NothingToDo, UsageError
from supportdesk.services import directory, sla, tickets
from supportdesk.services.callers import verification
from supportdesk.services.callers.verification import FAILED, HELD, LOCKED, REFERRED, VERIFIED
from tests.helpers.cli import one_line_error, run

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def vdesk(desk: Desk) -> Desk:
    directory.add_contact(
        desk, "bluefin", "Sam Secondary", ["sam@offsite.example"], [], "secondary"
    )
    directory.add_contact(
        desk,
        "bluefin",
        "Ava Authorized",
        ["ava@bluefin.example"],
        ["+27 82 555 0199"],
        "authorized",
    )
    return desk


def at(desk: Desk, moment: datetime) -> Desk:
    desk.clock = Clock(moment)
    return desk


def wrong(pin: str) -> str:
    return "0" * len(pin) if pin != "0" * len(pin) else "1" * len(pin)


def test_right_pin_verifies_with_role_and_what_they_may_ask(vdesk: Desk) -> None:
    pin = verification.set_pin(vdesk, "bluefin", "priya@bluefin.example").pin
    assert len(pin) >= 6 and pin.isdigit()
    v = verification.verify(vdesk, "bluefin", "priya@bluefin.example", "phone", pin=pin)
    assert v.state == VERIFIED and v.role == "primary" and v.verified
    assert "password_reset" in v.may and "technical" in v.may


def test_authorized_contact_is_refused_admin_requests_naming_who_can(vdesk: Desk) -> None:
    pin = verification.set_pin(vdesk, "bluefin", "ava@bluefin.example").pin
    v = verification.verify(
        vdesk, "bluefin", "ava@bluefin.example", "phone", pin=pin, request="password_reset"
    )
    assert v.state == VERIFIED and not v.allowed
    assert "password_reset" in v.may_not and "technical" in v.may
    assert "Priya Naidoo (primary contact)" in v.who_can
    assert "Sam Secondary (secondary (off-server) contact)" in v.who_can
    assert "Priya Naidoo" in v.message


def test_failures_count_then_lock_and_never_say_what_was_wrong(vdesk: Desk) -> None:
    pin = verification.set_pin(vdesk, "bluefin", "priya@bluefin.example").pin
    at(vdesk, T0)
    states = []
    # well-formed wrong PINs, of several lengths (a PIN set before a pin_digits change is
    # still a PIN): each counts
    for bad in (wrong(pin), "1234", "987654321", "000000000000", wrong(pin)):
        v = verification.verify(vdesk, "bluefin", "priya@bluefin.example", "phone", pin=bad)
        states.append((v.state, v.attempts_left))
        assert "pin" not in v.message.lower() or "wrong" not in v.message.lower()
    assert states == [(FAILED, 4), (FAILED, 3), (FAILED, 2), (FAILED, 1), (LOCKED, 0)]
    locked = verification.verify(vdesk, "bluefin", "priya@bluefin.example", "phone", pin=pin)
    assert locked.state == LOCKED and locked.locked_until == T0 + timedelta(minutes=15)
    assert len(locked.recent) == 5
    # after the lock runs out the right PIN works again, and a new series starts
    later = at(vdesk, T0 + timedelta(minutes=16))
    v = verification.verify(later, "bluefin", "priya@bluefin.example", "phone", pin=pin)
    assert v.state == VERIFIED


MALFORMED_PINS = {
    "empty": "",
    "nul": "\x00",
    "nul inside": "12\x0034",
    "letters": "abcdef",
    "space": "12 34",
    "too short": "123",
    "too long": "1" * 13,
    "one megabyte": "9" * 1_000_000,
    "arabic digits": "\u0661\u0662\u0663\u0664",
    "superscript": "\u00b2\u00b2\u00b2\u00b2",
    "surrogate": "1234\udcff",
}


@pytest.mark.parametrize("bad", list(MALFORMED_PINS.values()), ids=list(MALFORMED_PINS))
def test_input_that_is_not_a_pin_is_refused_without_counting(vdesk: Desk, bad: str) -> None:
    """A typo, an empty line or a pasted megabyte is not a guess at the PIN: refused in one
    line, nothing logged or counted (four of them used to take 5 attempts down to 1)."""
    pin = verification.set_pin(vdesk, "bluefin", "priya@bluefin.example").pin
    before = vdesk.store.query("SELECT count(*) FROM verifications")
    for _ in range(6):
        with pytest.raises(UsageError, match=r"4 to 12 digits|no PIN given") as err:
            verification.verify(vdesk, "bluefin", "priya@bluefin.example", "phone", pin=bad)
        assert "\n" not in str(err.value) and len(str(err.value)) < 100
    assert vdesk.store.query("SELECT count(*) FROM verifications") == before
    assert vdesk.store.query(
        "SELECT failed_attempts, locked_until FROM contacts WHERE name = 'Priya Naidoo'"
    ) == [(0, None)]
    v = verification.verify(vdesk, "bluefin", "priya@bluefin.example", "phone", pin=wrong(pin))
    assert v.state == FAILED and v.attempts_left == 4


def test_a_pin_set_before_pin_digits_changed_still_verifies(vdesk: Desk) -> None:
    """The format is 4 to 12 digits, not the policy's current length: a 6-digit PIN stays
    valid after the policy moves to 8 digits."""
    pin = verification.set_pin(vdesk, "bluefin", "priya@bluefin.example").pin
    text = sla.current_policy(vdesk).text
    assert "pin_digits" not in text and "[verification]\n" in text
    longer = sla.policy_from_text(
        text.replace("[verification]\n", "[verification]\npin_digits = 8\n")
    )
    assert longer.verification.pin_digits == 8 and len(pin) != 8
    assert sla.load_policy(vdesk, longer).changed
    v = verification.verify(vdesk, "bluefin", "priya@bluefin.example", "phone", pin=pin)
    assert v.state == VERIFIED
    assert len(verification.set_pin(vdesk, "bluefin", "ava@bluefin.example").pin) == 8


def test_failure_counter_stops_at_the_lock(vdesk: Desk) -> None:
    """The failure UPDATE is conditional on no running lock: an attempt that read the
    contact before another terminal locked it counts nothing (PostgreSQL used to count on:
    10 failures for a maximum of 5)."""
    from supportdesk.services.callers.verification import count_failure

    pin = verification.set_pin(vdesk, "bluefin", "priya@bluefin.example").pin
    at(vdesk, T0)
    for _ in range(5):
        verification.verify(vdesk, "bluefin", "priya@bluefin.example", "phone", pin=wrong(pin))
    rules = sla.current_policy(vdesk).verification
    contact_id = vdesk.store.query("SELECT id FROM contacts WHERE name = 'Priya Naidoo'")[0][0]
    with vdesk.write() as (session, _record):  # what a raced attempt does after the lock
        assert count_failure(session, contact_id, T0 + timedelta(minutes=1), rules) is None
    state = vdesk.store.query("SELECT failed_attempts FROM contacts WHERE name = 'Priya Naidoo'")
    assert state == [(5,)]
    # when the lock has run out, a failure starts a new series at 1
    with vdesk.write() as (session, _record):
        counted = count_failure(session, contact_id, T0 + timedelta(minutes=16), rules)
    assert counted is not None and counted[0] == 1


def test_racing_wrong_pins_lock_at_the_maximum(vdesk: Desk) -> None:
    """Twelve attempts at once from as many threads (each its own connection): four fail,
    the rest find the contact locked, and the counter stops at five on both databases."""
    import threading

    from supportdesk.store import Store

    bad = wrong(verification.set_pin(vdesk, "bluefin", "priya@bluefin.example").pin)
    url = vdesk.store.display_name() if vdesk.store.is_sqlite else None
    stores = [Store(url or vdesk.store.url.render_as_string(hide_password=False))
              for _ in range(12)]  # fmt: skip
    barrier = threading.Barrier(len(stores))
    states: list[str] = []
    errors: list[BaseException] = []

    def attempt(store: Store) -> None:
        desk = Desk(store, "amir", Clock(), vdesk.key_path)
        desk.actor  # noqa: B018 - read before the race starts
        try:
            barrier.wait(timeout=60)
            v = verification.verify(desk, "bluefin", "priya@bluefin.example", "phone", pin=bad)
            states.append(v.state)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for s in stores:
        s.dispose()
    assert not errors, errors
    assert sorted(states) == sorted([FAILED] * 4 + [LOCKED] * 8)
    assert vdesk.store.query(
        "SELECT failed_attempts FROM contacts WHERE name = 'Priya Naidoo'"
    ) == [(5,)]


def test_lead_unlocks_after_seeing_the_attempts(vdesk: Desk) -> None:
    pin = verification.set_pin(vdesk, "bluefin", "priya@bluefin.example").pin
    for _ in range(5):
        verification.verify(vdesk, "bluefin", "priya@bluefin.example", "phone", pin=wrong(pin))
    amir = Desk(vdesk.store, "amir", Clock(), vdesk.key_path)
    with pytest.raises(NotAllowed):
        verification.unlock(amir, "bluefin", "priya@bluefin.example")
    recent = verification.unlock(vdesk, "bluefin", "priya@bluefin.example")
    assert [a.result for a in recent][:1] == ["locked"]
    v = verification.verify(amir, "bluefin", "priya@bluefin.example", "phone", pin=pin)
    assert v.state == VERIFIED
    with pytest.raises(NothingToDo):
        verification.unlock(vdesk, "bluefin", "priya@bluefin.example")


def test_callback_to_a_number_on_file(vdesk: Desk) -> None:
    ok = verification.verify(
        vdesk, "bluefin", "ava@bluefin.example", "phone", callback_number="+27 (82) 555-0199"
    )
    assert ok.state == VERIFIED
    bad = verification.verify(
        vdesk, "bluefin", "ava@bluefin.example", "phone", callback_number="+27 11 000 0000"
    )
    assert bad.state == FAILED and bad.attempts_left == 4
    with pytest.raises(UsageError, match="need the contact's PIN"):
        verification.verify(
            vdesk, "bluefin", "ava@bluefin.example", "chat", callback_number="+27 82 555 0199"
        )


@pytest.mark.parametrize("typed", ["", "   ", "call back", "12-34", "０８２ ５５５ ０１９９"])
def test_a_callback_number_that_is_no_number_counts_no_attempt(vdesk: Desk, typed: str) -> None:
    """An agent's typo is not the caller's attempt (five lock the contact out): one line,
    as for a malformed PIN; the caller's attempts stay as they were."""
    with pytest.raises(UsageError, match="--callback: not a phone number"):
        verification.verify(vdesk, "bluefin", "ava@bluefin.example", "phone", callback_number=typed)
    bad = verification.verify(
        vdesk, "bluefin", "ava@bluefin.example", "phone", callback_number="+27 11 000 0000"
    )
    assert bad.state == FAILED and bad.attempts_left == 4


def test_a_local_callback_number_is_in_the_desks_country(vdesk: Desk) -> None:
    """ "082 555 0199" dialled on a desk whose policy says phone_country = "+27" is Ava's
    "+27 82 555 0199", as the call search reads it (it failed, and counted)."""
    ok = verification.verify(
        vdesk, "bluefin", "ava@bluefin.example", "phone", callback_number="082 555 0199"
    )
    assert ok.state == VERIFIED
    directory.add_contact(vdesk, "bluefin", "Lee Local", ["lee@bluefin.example"], ["021 555 0142"],
                          "authorized")  # fmt: skip
    lee = vdesk.store.query("SELECT id FROM contacts WHERE name = 'Lee Local'")[0][0]
    phones = "SELECT value FROM contact_points WHERE kind = 'phone' AND contact_id = ?"
    assert vdesk.store.query(phones, (lee,)) == [("+27215550142",)]


def test_unknown_contact_counts_nothing_and_not_listed_is_held(vdesk: Desk) -> None:
    with pytest.raises(NotFound):
        verification.verify(vdesk, "bluefin", "nobody@x.example", "phone", pin="123456")
    with pytest.raises(NotFound):
        verification.verify(vdesk, "nope", "priya@bluefin.example", "phone", pin="123456")
    assert vdesk.store.query("SELECT count(*) FROM verifications") == [(0,)]
    held = verification.verify(vdesk, "bluefin", None, "phone")
    assert held.state == HELD and "Priya Naidoo (primary contact)" in held.who_can


def test_reseller_end_customer_is_referred(vdesk: Desk) -> None:
    directory.add_account(vdesk, "endco", "End Co", "standard")
    with vdesk.write() as (session, _record):
        from supportdesk.models import Account

        acct = session.get(Account, "endco")
        assert acct is not None
        acct.reseller_id = "bluefin"
    v = verification.verify(vdesk, "endco", None, "phone")
    assert v.state == REFERRED and "Bluefin Media" in v.message


def test_pin_is_shown_once_and_stored_only_hashed(vdesk: Desk, db_url: str) -> None:
    pin = verification.set_pin(vdesk, "bluefin", "priya@bluefin.example").pin
    with pytest.raises(UsageError, match="--rotate"):
        verification.set_pin(vdesk, "bluefin", "priya@bluefin.example")
    verification.verify(vdesk, "bluefin", "priya@bluefin.example", "phone", pin=pin)
    verification.verify(vdesk, "bluefin", "priya@bluefin.example", "phone", pin=wrong(pin))
    stored = vdesk.store.query("SELECT pin_hash FROM contacts WHERE pin_hash IS NOT NULL")
    assert stored and all(str(h).startswith("scrypt$") and pin not in str(h) for (h,) in stored)
    for table in ("audit", "verifications", "contacts", "ticket_events"):
        for row in vdesk.store.query(f"SELECT * FROM {table}"):
            assert pin not in " ".join(str(v) for v in row), table
    if vdesk.store.is_sqlite:
        vdesk.store.dispose()
        for suffix in ("", "-wal"):
            path = Path(db_url + suffix)
            if path.exists():
                assert pin.encode() not in path.read_bytes()


def test_verify_cli_reads_the_pin_from_stdin_and_prints_json(
    vdesk: Desk, cli_env: dict[str, str]
) -> None:
    p = run(cli_env, "contact", "pin", "--account", "bluefin", "--contact", "priya@bluefin.example",
            "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    pin = json.loads(p.stdout)["pin"]
    agent = dict(cli_env, SUPPORTDESK_AGENT="amir")
    ok = run(agent, "verify", "--account", "bluefin", "--contact", "priya@bluefin.example",
             "--json", stdin=pin + "\n")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["verified"] is True and data["state"] == "verified" and data["role"] == "primary"
    assert pin not in ok.stdout and pin not in ok.stderr
    bad = run(agent, "verify", "--account", "bluefin", "--contact", "priya@bluefin.example",
              "--json", stdin="12x\n")  # fmt: skip
    # not a PIN at all: refused in one line, and no attempt is counted
    assert bad.returncode == 2 and "4 to 12 digits" in one_line_error(bad) and not bad.stdout
    wrong_pin = run(agent, "verify", "--account", "bluefin", "--contact",
                    "priya@bluefin.example", "--json", stdin=wrong(pin) + "\n")  # fmt: skip
    assert wrong_pin.returncode == 1 and json.loads(wrong_pin.stdout)["attempts_left"] == 4
    p = run(agent, "contact", "pin", "--account", "bluefin", "--contact", "priya@bluefin.example",
            "--rotate")  # fmt: skip
    assert p.returncode == 1 and "lead" in one_line_error(p)


def test_lockout_is_shared_by_racing_processes(vdesk: Desk, cli_env: dict[str, str]) -> None:
    """Two processes each try three wrong PINs at once: six failures in all, so the contact
    ends locked, and every attempt is logged."""
    bad = wrong(verification.set_pin(vdesk, "bluefin", "priya@bluefin.example").pin)
    agent = dict(cli_env, SUPPORTDESK_AGENT="amir")
    script = (
        "import subprocess, sys\n"
        "for _ in range(3):\n"
        "    subprocess.run([sys.executable, '-m', 'supportdesk', 'verify', '--account',"
        " 'bluefin', '--contact', 'priya@bluefin.example'], input='000000\\n', text=True,"
        " capture_output=True, check=False)\n"
    ).replace("000000", bad)
    procs = [subprocess.Popen([sys.executable, "-c", script], env=agent) for _ in range(2)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    rows = vdesk.store.query("SELECT result FROM verifications ORDER BY id")
    results = [r for (r,) in rows]
    assert len(results) == 6
    assert results.count("failed") == 4 and results.count("locked") == 2
    state = vdesk.store.query(
        "SELECT failed_attempts, locked_until FROM contacts WHERE name = 'Priya Naidoo'"
    )
    assert state[0][0] == 5 and state[0][1] is not None  # the counter stops at the lock


# -- tickets opened under a verification ---------------------------------------------------
def _verified(desk: Desk, contact: str, channel: str = "phone", *, by: Desk | None = None) -> int:
    """A new PIN set by `desk` (a lead), and the contact verified with it by `by` (the
    staff member on the call; `desk` when not given)."""
    pin = verification.set_pin(desk, "bluefin", contact, rotate=True).pin
    v = verification.verify(by or desk, "bluefin", contact, channel, pin=pin)
    assert v.state == VERIFIED and v.verification_id is not None
    return v.verification_id


def test_ticket_opened_on_a_verified_call_is_answered(vdesk: Desk) -> None:
    vid = _verified(vdesk, "priya@bluefin.example")
    tid = tickets.create(vdesk, account="bluefin", subject="Site down", priority="high",
                         category="technical", channel="phone", verification_id=vid)  # fmt: skip
    t = tickets.show(vdesk, tid)
    assert t.status == "open" and t.contact == "Priya Naidoo" and t.first_response_at
    assert sla.show(vdesk, tid).clocks[0].state == "met"


def test_not_listed_caller_is_held_with_a_paused_resolve_clock(vdesk: Desk) -> None:
    held = verification.verify(vdesk, "bluefin", None, "phone")
    tid = tickets.create(vdesk, account="bluefin", subject="Our site is down", priority="high",
                         category="technical", channel="phone",
                         verification_id=held.verification_id, caller_name="Jo Temp",
                         caller_phone="+27 21 000 0000")  # fmt: skip
    assert tickets.show(vdesk, tid).status == "awaiting_authorization"
    clocks = sla.show(vdesk, tid).clocks
    assert clocks[0].state in ("running", "warning") and clocks[1].state == "paused"
    amir = Desk(vdesk.store, "amir", Clock(), vdesk.key_path)
    with pytest.raises(InvalidTransition):
        tickets.claim(amir, tid)
    with pytest.raises(InvalidTransition):
        tickets.resolve(amir, tid, "fixed")
    with pytest.raises(NotAllowed):
        tickets.update_fields(amir, tid, status="open")
    with pytest.raises(NotAllowed):
        tickets.update_fields(amir, tid, status="closed", code="not_authorized")
    # asking an authorized contact to confirm is a reply: it stops the respond clock
    tickets.reply(amir, tid, "Hello Priya, please confirm this request from Jo Temp.")
    assert sla.show(vdesk, tid).clocks[0].state == "met"
    # only on amir's own call: a verification another agent made proves nothing here
    lenas = _verified(vdesk, "ava@bluefin.example")
    with pytest.raises(NotAllowed, match="another staff member's call"):
        tickets.confirm(amir, tid, lenas)
    assert tickets.show(vdesk, tid).status == "awaiting_authorization"
    # an authorized contact confirms on a verified call: the ticket opens, resolve resumes
    vid = _verified(vdesk, "ava@bluefin.example", by=amir)
    tickets.confirm(amir, tid, vid)
    t = tickets.show(vdesk, tid)
    assert t.status == "open"
    assert sla.show(vdesk, tid).clocks[1].state in ("running", "warning")
    assert vdesk.store.query("SELECT confirmed_at IS NOT NULL FROM tickets WHERE id = ?", (tid,))[
        0
    ][0]


def test_confirming_keeps_who_reported_it(vdesk: Desk, cli_env: dict[str, str]) -> None:
    """Issue 16 item 6: an unlisted caller reports, the owner confirms on a later call: the
    ticket still says who reported it (the view, the thread's first entry, `ticket show`)
    and who confirmed it."""
    from supportdesk.console.widgets.ticket_view import entry_parts

    held = verification.verify(vdesk, "bluefin", None, "phone")
    tid = tickets.create(vdesk, account="bluefin", subject="Our site is down", priority="high",
                         category="technical", channel="phone",
                         verification_id=held.verification_id, caller_name="Jo Temp",
                         caller_phone="+27 21 000 0000")  # fmt: skip
    tickets.confirm(vdesk, tid, _verified(vdesk, "priya@bluefin.example"))
    t = tickets.show(vdesk, tid)
    assert t.status == "open"
    assert (t.contact, t.caller_name, t.caller_phone) == ("Jo Temp", "Jo Temp", "+27 21 000 0000")
    assert t.confirmed_by == "Priya Naidoo"
    created = next(e for e in t.events if e.kind == "created")
    assert entry_parts(created, t)[1] == "Opened via phone · Jo Temp"
    p = run(cli_env, "ticket", "show", str(tid))
    assert p.returncode == 0, p.stderr
    assert "caller Jo Temp · +27 21 000 0000 (not listed)" in p.stdout
    assert "confirmed by Priya Naidoo" in p.stdout
    assert "contact Priya Naidoo" not in p.stdout


def test_restricted_request_needs_an_owner_to_confirm(vdesk: Desk) -> None:
    vid = _verified(vdesk, "ava@bluefin.example")  # an authorized support contact
    tid = tickets.create(vdesk, account="bluefin", subject="Reset the cPanel password",
                         priority="medium", category="security", channel="phone",
                         verification_id=vid, request_type="password_reset")  # fmt: skip
    assert tickets.show(vdesk, tid).status == "awaiting_authorization"
    with pytest.raises(NotAllowed, match="Priya Naidoo"):
        tickets.confirm(vdesk, tid, _verified(vdesk, "ava@bluefin.example"))
    tickets.confirm(vdesk, tid, _verified(vdesk, "sam@offsite.example"))
    assert tickets.show(vdesk, tid).status == "open"


def test_lead_closes_a_held_ticket_as_not_authorized(vdesk: Desk) -> None:
    held = verification.verify(vdesk, "bluefin", None, "phone")
    tid = tickets.create(vdesk, account="bluefin", subject="Cancel everything", priority="low",
                         category="billing", channel="phone", request_type="cancellation",
                         verification_id=held.verification_id)  # fmt: skip
    with pytest.raises(UsageError, match="not_authorized"):
        tickets.update_fields(vdesk, tid, status="closed", code="fixed")
    tickets.update_fields(vdesk, tid, status="closed", code="not_authorized")
    assert tickets.show(vdesk, tid).resolution_code == "not_authorized"


def test_chat_needs_a_verified_pin(vdesk: Desk) -> None:
    with pytest.raises(UsageError, match="PIN"):
        tickets.create(vdesk, account="bluefin", subject="Help", priority="low",
                       category="technical", channel="chat")  # fmt: skip
    vid = _verified(vdesk, "priya@bluefin.example", channel="chat")
    tid = tickets.create(vdesk, account="bluefin", subject="Help", priority="low",
                         category="technical", channel="chat", verification_id=vid)  # fmt: skip
    assert tickets.show(vdesk, tid).status == "open"


def test_a_verification_lasts_for_its_call(vdesk: Desk) -> None:
    vid = _verified(vdesk, "priya@bluefin.example")
    later = Desk(vdesk.store, "lena", Clock(datetime.now(UTC) + timedelta(hours=3)),
                 vdesk.key_path)  # fmt: skip
    with pytest.raises(NotAllowed, match="earlier call"):
        tickets.create(later, account="bluefin", subject="x", priority="low",
                       category="technical", channel="phone", verification_id=vid)  # fmt: skip


def test_contact_changes_only_by_a_lead_or_a_verified_owner(vdesk: Desk) -> None:
    amir = Desk(vdesk.store, "amir", Clock(), vdesk.key_path)
    with pytest.raises(NotAllowed):
        directory.add_contact(amir, "bluefin", "New Person", ["new@bluefin.example"], [],
                              "authorized")  # fmt: skip
    by_ava = _verified(vdesk, "ava@bluefin.example", by=amir)
    with pytest.raises(NotAllowed, match="primary or secondary"):
        directory.add_contact(amir, "bluefin", "New Person", ["new@bluefin.example"], [],
                              "authorized", verification_id=by_ava)  # fmt: skip
    # the primary contact, verified on another agent's call: not amir's to act on
    lenas = _verified(vdesk, "priya@bluefin.example")
    with pytest.raises(NotAllowed, match="another staff member's call"):
        directory.add_contact(amir, "bluefin", "New Person", ["new@bluefin.example"], [],
                              "authorized", verification_id=lenas)  # fmt: skip
    assert not vdesk.store.query("SELECT id FROM contacts WHERE name = 'New Person'")
    by_priya = _verified(vdesk, "priya@bluefin.example", by=amir)
    c = directory.add_contact(amir, "bluefin", "New Person", ["new@bluefin.example"], [],
                              "authorized", verification_id=by_priya)  # fmt: skip
    assert c.role == "authorized"
    row = vdesk.store.query(
        "SELECT changes FROM audit WHERE action = 'contact.add' ORDER BY seq DESC LIMIT 1"
    )
    assert "Priya Naidoo (primary" in row[0][0]


def test_sub_account_is_scoped_to_its_services_and_requests(vdesk: Desk) -> None:
    web = vdesk.store.query("SELECT id FROM services WHERE account_id = 'bluefin'")[0][0]
    directory.add_service(vdesk, "bluefin", "email", "Mail", ["mail.bluefin.example"], None)
    mail_id = vdesk.store.query(
        "SELECT id FROM services WHERE account_id = 'bluefin' AND kind = 'email'"
    )[0][0]
    directory.add_contact(vdesk, "bluefin", "Dev Agency", ["dev@agency.example"], [],
                          "subaccount", services=[web], requests=["technical"])  # fmt: skip
    pin = verification.set_pin(vdesk, "bluefin", "dev@agency.example").pin
    ok = verification.verify(vdesk, "bluefin", "dev@agency.example", "phone", pin=pin,
                             request="technical", service=web)  # fmt: skip
    assert ok.allowed and ok.may == ("technical",)
    other = verification.verify(vdesk, "bluefin", "dev@agency.example", "phone", pin=pin,
                                request="technical", service=mail_id)  # fmt: skip
    assert not other.allowed and "Priya Naidoo (primary contact)" in other.who_can


def test_every_attempt_is_audited_with_agent_channel_contact_and_result(vdesk: Desk) -> None:
    pin = verification.set_pin(vdesk, "bluefin", "priya@bluefin.example").pin
    amir = Desk(vdesk.store, "amir", Clock(), vdesk.key_path)
    verification.verify(amir, "bluefin", "priya@bluefin.example", "chat", pin=wrong(pin))
    verification.verify(amir, "bluefin", "priya@bluefin.example", "phone", pin=pin)
    rows = vdesk.store.query(
        "SELECT staff_login, entity_id, changes FROM audit WHERE action = 'caller.verify'"
        " ORDER BY seq"
    )
    assert [r[0] for r in rows] == ["amir", "amir"]
    first, second = (json.loads(r[2]) for r in rows)
    assert first["channel"][1] == "chat" and first["result"][1] == "failed"
    assert second["channel"][1] == "phone" and second["result"][1] == "verified"
    assert all(pin not in r[2] for r in rows)


def test_who_may_make_which_request_is_policy_data(vdesk: Desk) -> None:
    from supportdesk.core.policy import load_preset
    from supportdesk.rules.policy import PolicyError
    from supportdesk.rules.policy_parse import parse_policy

    text = load_preset("demo").text
    with pytest.raises(PolicyError, match="owners_only"):
        parse_policy(text.replace('owners_only = ["billing"', 'owners_only = ["refunds"'), "x")
    relaxed = text.replace('owners_only = ["billing", ', "owners_only = [")
    sla.load_policy(vdesk, parse_policy(relaxed, "relaxed.toml"))
    pin = verification.set_pin(vdesk, "bluefin", "ava@bluefin.example").pin
    v = verification.verify(vdesk, "bluefin", "ava@bluefin.example", "phone", pin=pin,
                            request="billing")  # fmt: skip
    assert v.allowed and "billing" in v.may and "password_reset" in v.may_not
