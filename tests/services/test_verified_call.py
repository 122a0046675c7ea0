"""The respond clock's loophole closed (issue 19 item 4), on SQLite and PostgreSQL: a ticket
is answered at creation only when it names a verification of this call: one that verified a
contact of this account, made by the staff member opening the ticket, in the last two hours,
and not already used to answer another new ticket. `--during-verified-call` needs one and
refuses any other; a phone ticket without the flag simply opens unanswered then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.errors import NotAllowed, NotFound, UsageError
from supportdesk.services import directory, sla, tickets
from supportdesk.services.callers import verification
from tests.helpers.cli import one_line_error, run
from tests.helpers.desk import dump, new_ticket

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
PRIYA = "priya@bluefin.example"
AVA = "ava@bluefin.example"


@pytest.fixture
def cdesk(desk: Desk) -> Desk:
    """The shared desk at T0 with a second contact on bluefin (Ava, authorized) and PINs."""
    directory.add_contact(desk, "bluefin", "Ava Authorized", [AVA], [], "authorized")
    desk.clock = Clock(T0)
    return desk


def verified(desk: Desk, contact: str = PRIYA, minutes: float = 0) -> int:
    desk.clock = Clock(T0 + timedelta(minutes=minutes))
    pin = verification.set_pin(Desk(desk.store, "lena", Clock(), desk.key_path), "bluefin",
                               contact, rotate=True).pin  # fmt: skip
    v = verification.verify(desk, "bluefin", contact, "phone", pin=pin)
    assert v.state == "verified" and v.verification_id is not None
    return v.verification_id


def answered(desk: Desk, tid: int) -> bool:
    return sla.show(desk, tid).clocks[0].state == "met"


def test_the_flag_needs_a_verification_and_writes_nothing_without_one(cdesk: Desk) -> None:
    before = dump(cdesk.store)
    with pytest.raises(UsageError, match="--verification"):
        new_ticket(cdesk, channel="email", during_verified_call=True)
    assert dump(cdesk.store) == before


def test_a_verification_of_this_call_answers_the_ticket_on_any_channel(cdesk: Desk) -> None:
    vid = verified(cdesk)
    cdesk.clock = Clock(T0 + timedelta(minutes=5))
    tid = new_ticket(cdesk, channel="email", during_verified_call=True, verification_id=vid)
    t = tickets.show(cdesk, tid)
    assert answered(cdesk, tid) and t.status == "open" and t.contact == "Priya Naidoo"
    assert t.first_response_at == T0 + timedelta(minutes=5)


def test_one_verified_call_answers_one_new_ticket(cdesk: Desk) -> None:
    vid = verified(cdesk)
    first = new_ticket(cdesk, verification_id=vid)  # phone: answered without the flag
    assert answered(cdesk, first)
    before = dump(cdesk.store)
    with pytest.raises(NotAllowed, match=f"already answered ticket #{first}"):
        new_ticket(cdesk, "Mail too", channel="email", during_verified_call=True,
                   verification_id=vid)  # fmt: skip
    assert dump(cdesk.store) == before
    # a second problem on the same call, without the flag: opened, its respond clock running
    second = new_ticket(cdesk, "Mail too", verification_id=vid)
    assert not answered(cdesk, second)
    assert tickets.show(cdesk, second).contact == "Priya Naidoo"


def test_another_staff_members_verification_is_refused(cdesk: Desk) -> None:
    """A verification is the proof of whoever made it: a caller who tells a second agent
    "your colleague just verified me" is verified again (its id is a small number)."""
    amir = Desk(cdesk.store, "amir", Clock(), cdesk.key_path)
    pin = verification.set_pin(cdesk, "bluefin", PRIYA).pin
    v = verification.verify(amir, "bluefin", PRIYA, "phone", pin=pin)
    assert v.verification_id is not None
    lena = Desk(cdesk.store, "lena", Clock(), cdesk.key_path)
    before = cdesk.store.query("SELECT count(*) FROM tickets")
    with pytest.raises(NotAllowed, match="another staff member's call"):
        new_ticket(lena, during_verified_call=True, verification_id=v.verification_id)
    with pytest.raises(NotAllowed, match="another staff member's call"):
        new_ticket(lena, verification_id=v.verification_id)  # without the flag too
    assert cdesk.store.query("SELECT count(*) FROM tickets") == before
    mine = new_ticket(amir, "Amir's own", verification_id=v.verification_id)
    assert answered(amir, mine)


def test_a_verification_that_verified_nobody_does_not_answer(cdesk: Desk) -> None:
    verification.set_pin(cdesk, "bluefin", PRIYA)
    failed = verification.verify(cdesk, "bluefin", PRIYA, "phone", pin="0000000")
    held = verification.verify(cdesk, "bluefin", None, "phone")
    assert failed.state == "failed" and held.state == "held"
    with pytest.raises(NotAllowed, match="is failed"):
        new_ticket(cdesk, during_verified_call=True, verification_id=failed.verification_id)
    with pytest.raises(NotAllowed, match="did not verify a contact"):
        new_ticket(cdesk, during_verified_call=True, verification_id=held.verification_id,
                   caller_name="Jo Temp")  # fmt: skip


def test_an_earlier_call_another_account_or_another_caller_is_refused(cdesk: Desk) -> None:
    vid = verified(cdesk)
    directory.add_account(cdesk, "corvid", "Corvid Labs", "gold")
    with pytest.raises(NotFound, match=f"no verification {vid} for account corvid"):
        new_ticket(cdesk, account="corvid", during_verified_call=True, verification_id=vid)
    with pytest.raises(NotFound, match="no verification 999999"):
        new_ticket(cdesk, during_verified_call=True, verification_id=999999)
    with pytest.raises(NotAllowed, match=f"verification {vid} is not of {AVA}"):
        new_ticket(cdesk, contact_email=AVA, during_verified_call=True, verification_id=vid)
    cdesk.clock = Clock(T0 + timedelta(hours=2, minutes=1))  # past CALL_WINDOW (2 h)
    before = dump(cdesk.store)
    with pytest.raises(NotAllowed, match="earlier call"):
        new_ticket(cdesk, during_verified_call=True, verification_id=vid)
    assert dump(cdesk.store) == before


def test_cli_flag_without_a_verification_is_a_usage_error(
    cdesk: Desk, cli_env: dict[str, str]
) -> None:
    before = dump(cdesk.store)
    args = ("ticket", "new", "--account", "bluefin", "--subject", "x", "--priority", "low",
            "--category", "technical", "--channel", "email")  # fmt: skip
    p = run(cli_env, *args, "--during-verified-call")
    assert p.returncode == 2 and "--verification" in one_line_error(p)
    p = run(cli_env, *args, "--during-verified-call", "--from", PRIYA)
    assert p.returncode == 2 and "not mail" in one_line_error(p)
    assert dump(cdesk.store) == before
    live = Desk(cdesk.store, "lena", Clock(), cdesk.key_path)
    pin = verification.set_pin(live, "bluefin", PRIYA).pin
    v = verification.verify(live, "bluefin", PRIYA, "phone", pin=pin)
    p = run(cli_env, *args, "--during-verified-call", "--verification", str(v.verification_id))
    assert p.returncode == 0, p.stderr
    tid = int(p.stdout.split("#")[1].split()[0])
    assert answered(live, tid)
    p = run(cli_env, *args, "--during-verified-call", "--verification", str(v.verification_id))
    assert p.returncode == 1 and f"already answered ticket #{tid}" in one_line_error(p)
