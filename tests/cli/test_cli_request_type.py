"""The request type through the CLI as real processes, on both databases (issue 19 item 1):
`mail ingest` and `ticket new` store the suggestion, `ticket show` prints it with the words
it matched, `ticket update --request-type` is a person's choice (checked again, audited),
and a blocked reply or resolution fails in one line, the database unchanged."""

from __future__ import annotations

import json

from supportdesk.core.desk import Desk
from supportdesk.core.policy import load_preset
from supportdesk.services import directory, sla, tickets
from supportdesk.services.callers import verification
from tests.helpers.cli import one_line_error, run, run_bytes
from tests.helpers.desk import DeskFactory, dump
from tests.helpers.samples import message


def test_mail_for_a_password_from_a_non_owner_through_the_cli(
    desk: Desk, cli_env: dict[str, str]
) -> None:
    p = load_preset("seed-001-itpossible")
    sla.load_policy(desk, p, move_plans={"gold": p.default_plan})
    directory.add_contact(
        desk, "bluefin", "Ava Authorized", ["ava@bluefin.example"], [], "authorized"
    )
    r = run_bytes(
        cli_env,
        "mail",
        "ingest",
        "--json",
        stdin=message("ava@bluefin.example", "Lost admin password", "Please reset it."),
    )
    assert r.returncode == 0, r.stderr
    tid = json.loads(r.stdout)["ticket"]

    shown = run(cli_env, "ticket", "show", str(tid))
    assert shown.returncode == 0, shown.stderr
    assert (
        "Request: technical — suggested: password reset (matched “password”, “reset”)"
        in shown.stdout
    )
    assert "Blocked" not in shown.stdout
    as_json = json.loads(run(cli_env, "ticket", "show", str(tid), "--json").stdout)
    assert as_json["suggested_type"] == "password_reset"
    assert as_json["suggested_words"] == ["password", "reset"]
    assert as_json["request_type"] == "technical" and as_json["request_block"] is None

    bad = run(cli_env, "ticket", "update", str(tid), "--request-type", "refund")
    assert bad.returncode == 2 and "refund" in one_line_error(bad)

    changed = run(cli_env, "ticket", "update", str(tid), "--request-type", "password_reset")
    assert changed.returncode == 0, changed.stderr
    assert f"ticket #{tid} updated: request type password reset" in changed.stdout
    assert "held: awaiting authorization" in changed.stdout
    assert "Priya Naidoo (primary contact)" in changed.stdout

    before = dump(desk.store)
    reply = run(cli_env, "ticket", "reply", str(tid), "Your new password is hunter2")
    assert reply.returncode == 1
    line = one_line_error(reply)
    assert f"ticket #{tid} cannot be answered yet" in line and "Priya Naidoo" in line
    resolve = run(cli_env, "ticket", "resolve", str(tid), "--code", "fixed")
    assert resolve.returncode == 1 and "cannot be resolved yet" in one_line_error(resolve)
    assert dump(desk.store) == before

    shown = run(cli_env, "ticket", "show", str(tid)).stdout
    assert "Request: password reset — as suggested (matched “password”, “reset”)" in shown
    assert "Blocked: password or credential reset needs an authorized contact" in shown
    assert "request_type technical -> password_reset" in shown
    audit = [row[0] for row in desk.store.query("SELECT action FROM audit ORDER BY seq")]
    assert "ticket.request_type" in audit

    pin = verification.set_pin(desk, "bluefin", "priya@bluefin.example").pin
    vid = verification.verify(
        desk, "bluefin", "priya@bluefin.example", "phone", pin=pin
    ).verification_id
    ok = run(cli_env, "ticket", "confirm", str(tid), "--verification", str(vid))
    assert ok.returncode == 0, ok.stderr
    reply = run(cli_env, "ticket", "reply", str(tid), "A reset link went to the primary contact")
    assert reply.returncode == 0, reply.stderr
    assert tickets.show(desk, tid).status == "open"


def test_ticket_new_on_the_portal_keeps_words_from_holding(
    desk: Desk, cli_env: dict[str, str]
) -> None:
    subject = "Please cancel my invoice"
    new = run(cli_env, "ticket", "new", "--account", "bluefin", "--subject", subject,
              "--priority", "low", "--category", "billing", "--channel", "portal",
              "--contact", "priya@bluefin.example", "--json")  # fmt: skip
    assert new.returncode == 0, new.stderr
    t = json.loads(new.stdout)
    assert (t["status"], t["request_type"], t["request_block"]) == ("new", "technical", None)
    assert t["suggested_type"] == "cancellation" and t["suggested_words"] == ["cancel"]


def test_another_agents_verification_confirms_nothing_and_adds_no_contact(
    desk: Desk, make_desk: DeskFactory, cli_env: dict[str, str]
) -> None:
    """lena (the CLI's login) names the verification amir made on his call: a caller who
    says "your colleague just verified me" is verified again; one line, nothing written."""
    directory.add_contact(
        desk, "bluefin", "Ava Authorized", ["ava@bluefin.example"], [], "authorized"
    )
    new = ("ticket", "new", "--account", "bluefin", "--subject", "Cancel it", "--priority",
           "high", "--category", "billing", "--channel", "email", "--contact",
           "ava@bluefin.example", "--request-type", "cancellation", "--json")  # fmt: skip
    held = run(cli_env, *new)
    assert held.returncode == 0, held.stderr
    tid = json.loads(held.stdout)["id"]
    pin = verification.set_pin(desk, "bluefin", "priya@bluefin.example").pin
    amirs = verification.verify(
        make_desk("amir"), "bluefin", "priya@bluefin.example", "phone", pin=pin
    ).verification_id
    before = dump(desk.store)
    for args in (
        ("ticket", "confirm", str(tid), "--verification", str(amirs)),
        (
            "contact",
            "add",
            "--account",
            "bluefin",
            "--name",
            "Eve",
            "--email",
            "eve@evil.example",
            "--role",
            "authorized",
            "--verification",
            str(amirs),
        ),
    ):
        p = run(cli_env, *args)
        assert p.returncode == 1, p
        assert f"verification {amirs} is another staff member's call" in one_line_error(p)
    assert dump(desk.store) == before
    assert tickets.show(desk, tid).status == "awaiting_authorization"
