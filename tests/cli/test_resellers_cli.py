"""Resellers from the command line (issue 19 item 5), as real processes on both databases:
`account add --reseller`, `account update --reseller / --no-reseller` with one-line
errors that change nothing, and the one referral, with the reseller's contact, printed by
`account show`, `verify` and a refused `ticket new`; hostile names print as visible escapes."""

from __future__ import annotations

import json
from typing import Any

from supportdesk.core.desk import Desk
from tests.helpers.cli import one_line_error, run
from tests.helpers.desk import dump
from tests.helpers.hostile import unsafe_chars

CONTACT = "Priya Naidoo, priya@bluefin.example, +27215550101"
NEW = ("ticket", "new", "--subject", "Site down", "--priority", "high", "--category",
       "technical", "--channel", "phone")  # fmt: skip


def ok(env: dict[str, str], *args: str) -> str:
    p = run(env, *args)
    assert p.returncode == 0, (args, p.stderr)
    return p.stdout


def test_add_update_and_show_a_resellers_customer(desk: Desk, cli_env: dict[str, str]) -> None:
    out = ok(cli_env, "account", "add", "endco", "--company", "End Co", "--plan", "gold",
             "--reseller", "bluefin")  # fmt: skip
    assert out.startswith("account endco added: endco is a customer of the reseller Bluefin")
    shown = ok(cli_env, "account", "show", "endco")
    assert "end customer of reseller bluefin (Bluefin Media)" in shown
    assert f"refer them to: {CONTACT}" in shown
    data = json.loads(ok(cli_env, "account", "show", "endco", "--json"))
    assert data["reseller"] == "bluefin" and data["referral"]["email"] == "priya@bluefin.example"
    assert ok(cli_env, "account", "update", "endco", "--no-reseller").strip() == (
        "account endco: no longer a reseller's customer"
    )
    assert "reseller" not in ok(cli_env, "account", "show", "endco")
    out = ok(cli_env, "account", "update", "endco", "--reseller", "bluefin")
    assert f"they must contact their reseller ({CONTACT})" in out
    rows = desk.store.query("SELECT action FROM audit WHERE entity_id = 'endco' ORDER BY seq")
    assert [r[0] for r in rows] == ["account.add", "account.reseller", "account.reseller"]


def test_refusals_are_one_line_and_change_nothing(desk: Desk, cli_env: dict[str, str]) -> None:
    ok(cli_env, "account", "add", "endco", "--company", "End Co", "--plan", "gold",
       "--reseller", "bluefin")  # fmt: skip
    before = dump(desk.store)
    cases = [
        (("account", "update", "endco"), 2, "give --reseller ACCOUNT or --no-reseller"),
        (("account", "update", "endco", "--reseller", "bluefin", "--no-reseller"), 2, "give"),
        (("account", "update", "endco", "--reseller", "ghost"), 1, "no reseller account"),
        (("account", "update", "endco", "--reseller", "endco"), 2, "its own reseller"),
        (("account", "update", "bluefin", "--reseller", "endco"), 2, "itself a customer"),
        (("account", "update", "endco", "--reseller", "bluefin"), 4, "already a customer"),
        (("account", "update", "ghost", "--no-reseller"), 1, "no account 'ghost'"),
        (("account", "add", "newco", "--company", "N", "--plan", "gold", "--reseller", "ghost"),
         1, "no reseller account"),
        ((*NEW, "--account", "endco"), 1, f"they must contact their reseller ({CONTACT})"),
    ]  # fmt: skip
    for args, code, says in cases:
        p = run(cli_env, *args)
        assert p.returncode == code, (args, p.returncode, p.stderr)
        assert says in one_line_error(p), (args, p.stderr)
    assert dump(desk.store) == before


def test_verify_prints_the_referral_with_the_contact(desk: Desk, cli_env: dict[str, str]) -> None:
    ok(cli_env, "account", "add", "endco", "--company", "End Co", "--plan", "gold",
       "--reseller", "bluefin")  # fmt: skip
    out = ok(cli_env, "verify", "--account", "endco")
    assert out.splitlines()[0] == (
        "REFERRED: endco is a customer of the reseller Bluefin Media (bluefin): they must "
        f"contact their reseller ({CONTACT}); no ticket is opened"
    )
    data = json.loads(ok(cli_env, "verify", "--account", "endco", "--json"))
    assert data["state"] == "referred" and data["referral"]["phone"] == "+27215550101"


def test_hostile_reseller_names_print_literally(
    desk: Desk, evil_env: tuple[dict[str, Any], dict[str, str]]
) -> None:
    """The hostile desk's `evil` account (its company and primary contact full of markup
    and escapes) as a reseller: every printer of the referral shows them inert."""
    _evil, env = evil_env
    ok(env, "account", "add", "endco", "--company", "End Co", "--plan", "gold",
       "--reseller", "evil")  # fmt: skip
    company = "Evil [/var/www/html] ␛]0;pwned␇ Corp"
    name = "[@click=app.quit]x[/] ␛[31mMallory\\u202e"
    printed = [
        ok(env, "account", "show", "endco"),
        ok(env, "verify", "--account", "endco"),
        ok(env, "account", "update", "endco", "--no-reseller"),
        ok(env, "account", "update", "endco", "--reseller", "evil"),
    ]
    p = run(env, *NEW, "--account", "endco")
    assert p.returncode == 1
    printed.append(one_line_error(p))
    for text in printed:
        assert not unsafe_chars(text), text
    for text in (printed[0], printed[1], printed[3], printed[4]):
        assert company in text and name in text, text
    data = json.loads(ok(env, "account", "show", "endco", "--json"))
    assert data["referral"]["company"] == "Evil [/var/www/html] \x1b]0;pwned\x07 Corp"
