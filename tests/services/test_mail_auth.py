"""Authentication-Results (RFC 8601) and one-time codes (issue 19, item 2): the pure rules,
hard. Only the desk's server's header above its Received: line counts; dmarc=pass for the
From: domain or aligned dkim=pass; spf alone never; exactly one From: mailbox."""

from __future__ import annotations

import pytest

from supportdesk.rules.mail_auth import aligned, authenticate, parse_results
from supportdesk.rules.one_time_codes import (
    CODE_CHARS,
    MASK,
    code_hash,
    found_codes,
    mask_codes,
    new_code,
    normalise,
    says_yes,
)
from supportdesk.rules.policy_parse import parse_policy
from tests.helpers.policy import POLICY

ID = "mx.desk.example"
FROM = ["Priya Naidoo <priya@bluefin.example>"]
RECEIVED = (
    "Received",
    "from mail.bluefin.example (mail.bluefin.example [192.0.2.7])\r\n"
    "\tby mx.desk.example (Postfix) with ESMTPS id 4XyZ; Mon, 23 Nov 2026 09:00:00 +0000",
)
OUTSIDE = ("Received", "from laptop by mail.bluefin.example; Mon, 23 Nov 2026 08:59:00 +0000")


def ar(value: str) -> tuple[str, str]:
    return ("Authentication-Results", value)


def check(*headers: tuple[str, str], froms: list[str] = FROM, authserv: str | None = ID):
    return authenticate(list(headers), froms, authserv)


# -- the parser --------------------------------------------------------------------------------
def test_a_full_header_with_comments_quotes_versions_and_case() -> None:
    r = parse_results(
        "MX.Desk.Example 1; (the desk) DKIM/1=Pass (good (nested) sig) header.d=BlueFin.example "
        'header.s="sel;1" reason="signature ok; verified"; spf=pass smtp.mailfrom=bluefin.example;'
        " dmarc = pass (p=reject) header.from = bluefin.example"
    )
    assert r is not None and r.authserv_id == "mx.desk.example"
    assert [(x.method, x.result) for x in r.results] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("dmarc", "pass"),
    ]
    assert r.results[0].props == {"header.d": "BlueFin.example", "header.s": "sel;1"}
    assert r.results[2].props["header.from"] == "bluefin.example"


def test_none_and_garbage_parse_to_nothing() -> None:
    r = parse_results("mx.desk.example 1; none")
    assert r is not None and r.results == ()
    assert parse_results("") is None and parse_results("; dkim=pass") is None
    r = parse_results('"mx.desk.example"; dkim=pass header.d=bluefin.example; = =; /x')
    assert r is not None and r.authserv_id == "mx.desk.example" and len(r.results) == 1


def test_a_comment_cannot_smuggle_a_result() -> None:
    r = parse_results("mx.desk.example; spf=pass (dmarc=pass header.from=bluefin.example)")
    assert r is not None and [x.method for x in r.results] == ["spf"]
    assert not check(ar(r"mx.desk.example; spf=pass (x \) dmarc=pass)"), RECEIVED).ok


@pytest.mark.parametrize(
    ("from_domain", "d", "ok"),
    [
        ("bluefin.example", "bluefin.example", True),
        ("bluefin.example", "BLUEFIN.EXAMPLE.", True),
        ("mail.bluefin.example", "bluefin.example", True),
        ("bluefin.example", "mail.bluefin.example", True),
        ("bluefin.example", "evil.example", False),
        ("bluefin.example", "notbluefin.example", False),
        ("bluefin.example", "example", False),  # a bare top-level domain aligns with nothing
        ("bluefin.example", "", False),
    ],
)
def test_alignment_is_equal_or_subdomain(from_domain: str, d: str, ok: bool) -> None:
    assert aligned(from_domain, d) is ok


# -- the decision ------------------------------------------------------------------------------
def test_dmarc_pass_above_the_received_line_authenticates() -> None:
    v = check(ar(f"{ID}; dmarc=pass header.from=bluefin.example"), RECEIVED, OUTSIDE)
    assert v.ok and v.address == "priya@bluefin.example" and v.domain == "bluefin.example"


def test_aligned_dkim_pass_authenticates() -> None:
    v = check(ar(f"{ID}; dkim=pass header.d=bluefin.example; dmarc=none"), RECEIVED)
    assert v.ok and "dkim=pass" in v.why


def test_a_forged_header_below_the_received_line_counts_for_nothing() -> None:
    forged = ar(f"{ID}; dmarc=pass header.from=bluefin.example; dkim=pass header.d=bluefin.example")
    v = check(ar(f"{ID}; dmarc=fail header.from=bluefin.example"), RECEIVED, forged, OUTSIDE)
    assert not v.ok and "dmarc=fail" in v.why
    v = check(RECEIVED, forged, OUTSIDE)  # the server added none; the sender's is below
    assert not v.ok and "above its Received" in v.why


def test_no_received_line_is_no_server_of_ours() -> None:
    v = check(ar(f"{ID}; dmarc=pass header.from=bluefin.example"))
    assert not v.ok and "no Received" in v.why


def test_another_servers_id_counts_for_nothing() -> None:
    v = check(ar("mx.elsewhere.example; dmarc=pass header.from=bluefin.example"), RECEIVED)
    assert not v.ok and "1 from other servers" in v.why
    assert not check(ar(f"{ID}.evil; dmarc=pass header.from=bluefin.example"), RECEIVED).ok


def test_spf_pass_alone_never_counts() -> None:
    v = check(ar(f"{ID}; spf=pass smtp.mailfrom=bluefin.example"), RECEIVED)
    assert not v.ok and "spf=pass" in v.why


def test_dkim_for_an_unaligned_domain_does_not_count() -> None:
    v = check(ar(f"{ID}; dkim=pass header.d=evil.example; dmarc=fail"), RECEIVED)
    assert not v.ok
    v = check(ar(f"{ID}; dmarc=pass header.from=evil.example"), RECEIVED)
    assert not v.ok  # a pass for another From: domain


def test_pass_is_read_in_any_case_and_fail_is_fail() -> None:
    assert check(ar(f"{ID.upper()}; DMARC=PASS HEADER.FROM=BLUEFIN.EXAMPLE"), RECEIVED).ok
    assert not check(ar(f"{ID}; dkim=neutral header.d=bluefin.example"), RECEIVED).ok


@pytest.mark.parametrize(
    "froms",
    [
        ["priya@bluefin.example, mallory@evil.example"],
        ["priya@bluefin.example", "mallory@evil.example"],
        [],
        ["undisclosed-recipients:;"],
    ],
)
def test_exactly_one_from_mailbox(froms: list[str]) -> None:
    v = check(ar(f"{ID}; dmarc=pass header.from=bluefin.example"), RECEIVED, froms=froms)
    assert not v.ok and "From:" in v.why


def test_without_an_authserv_id_nothing_is_authenticated() -> None:
    v = check(ar(f"{ID}; dmarc=pass header.from=bluefin.example"), RECEIVED, authserv=None)
    assert not v.ok and "authserv_id" in v.why


def test_the_policy_names_the_authserv_id() -> None:
    mail = '\n[mail]\ndomain = "desk.example"\nauthserv_id = "MX.Desk.Example"\n'
    p = parse_policy(POLICY + mail)
    assert p.mail.authserv_id == "mx.desk.example"
    with pytest.raises(Exception, match="authserv_id"):
        parse_policy(POLICY + '\n[mail]\ndomain = "desk.example"\nauthserv_id = "a b;c"\n')


# -- codes -------------------------------------------------------------------------------------
def test_a_code_is_128_random_bits_grouped_and_hashed() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    code = codes.pop()
    assert len(normalise(code)) == CODE_CHARS and code.count("-") == 4
    assert code_hash(code) == code_hash(code.lower().replace("-", ""))
    assert code not in code_hash(code) and len(code_hash(code)) == 64


def test_codes_are_found_outside_quotes_only_and_masked() -> None:
    code = new_code()
    other = new_code()
    body = f"Yes, go ahead\n\nmy code: {code.lower()}\n\n> Your one-time code: {other}\n"
    plain, quoted = found_codes(body)
    assert plain == (code_hash(code),) and quoted == (code_hash(other),)
    assert found_codes(f"> {code}") == ((), (code_hash(code),))
    masked = mask_codes(body, frozenset({code_hash(code)}))
    assert code.lower() not in masked and other in masked and MASK in masked
    assert code not in mask_codes(f"code {code}.")
    # prose is not a code, and a longer token is not one either
    assert found_codes("Hello there world about things") == ((), ())
    assert found_codes("X" + normalise(code)) == ((), ())


@pytest.mark.parametrize(
    ("body", "yes"),
    [
        ("Yes", True),
        ("  YES, go ahead!\nthanks", True),
        ("\n\nconfirmed.\n", True),
        ("Confirm", True),
        ("Yes ABCDE-FGHIJ-KLMNO-PQRST-UVWXYZ", True),
        ("> Yes\nNo, I did not ask for this", False),
        ("No", False),
        ("yes but wait", False),
        ("Not yes", False),
        ("", False),
        ("> yes", False),
    ],
)
def test_the_first_unquoted_line_says_yes(body: str, yes: bool) -> None:
    assert says_yes(body) is yes
