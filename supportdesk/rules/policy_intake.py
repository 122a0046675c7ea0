"""The policy's `[intake]` table (issue 19, 3): what the desk accepts, parsed and shown.

    [intake]
    channels = ["email"]                 # phone, chat, portal refused with `refusal`
    refusal = "We take support requests by e-mail only: write to support@example.com"
    chat_needs_pin = true                # a chat ticket needs a verified support PIN
    unverified_callers = "hold"          # or "allow": a caller nobody verified is held
    unlisted_senders = "once_off"        # or "close" / "hold"
    once_off_account = "once-off"        # where once-off mail is filed (made when needed)
    once_off_max_open = 3                # open tickets per once-off sender; more: closed
    attachment_max = 10485760            # bytes per attachment, decoded (issue 20)
    message_attachments_max = 26214400   # bytes of attachments per message, decoded
    source = "the seed's words behind these rules"

    [intake.mailboxes]                   # envelope recipient -> support | complaint | billing
    "support@example.com" = "support"
    "complaint@example.com" = "complaint"

    [intake.who_may_ask.billing]         # per request type: who may ask, and the seed's words
    who = "the primary contact or a sub-account"
    source = "\"Any technical service request or billing change ...\" (seed 000)"

`[verification] unlisted_sender` (close | hold) is the older name of `unlisted_senders`; it
still works, and `[intake]` wins when both are given. Pure: no database, no terminal.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from supportdesk.enums import Channel
from supportdesk.rules.policy import IntakeRules, Policy, VerificationRules
from supportdesk.rules.policy_mail import LOCAL_RE, Checker, KeyPath
from supportdesk.rules.request_types import REQUEST_TYPES, label

INTAKE_KEYS = (
    "channels",
    "refusal",
    "chat_needs_pin",
    "unverified_callers",
    "unlisted_senders",
    "once_off_account",
    "once_off_max_open",
    "mailboxes",
    "who_may_ask",
    "source",
    "attachment_max",
    "message_attachments_max",
)
ATTACHMENTS_CEILING = 100 * 1024 * 1024  # bytes: the most either attachment limit may be
# Room in a raw message beside its attachments (issue 20): the body (at most 200,000
# characters, limits.BODY: ~1.1 MB even as 4-byte UTF-8 in base64), an HTML alternative of
# an ordinary body, the headers (Received chains, DKIM signatures: tens of KB) and each
# part's MIME headers, boundary and last short line (~300 bytes a part).
MESSAGE_MARGIN = 2 * 1024 * 1024
BASE64_LINE = 76  # characters a base64 line holds (RFC 2045), each followed by CRLF
CHANNELS = tuple(c.value for c in Channel)
ROUTES = {
    "support": "a ticket as usual",
    "complaint": "a complaint, flagged for a supervisor (the leads are told)",
    "billing": "a billing ticket (category billing, billing suggested as its request type)",
}
UNLISTED = ("close", "hold", "once_off")
TEXT_LIMIT = 2000


def parse_intake(
    p: Checker, value: Any, path: KeyPath, verification: VerificationRules
) -> IntakeRules:
    spec = p.table(value, path, INTAKE_KEYS)
    out = IntakeRules(unlisted_senders=verification.unlisted_sender)
    channels = out.channels
    if "channels" in spec:
        items = spec["channels"]
        if not isinstance(items, list) or not items:
            p.fail((*path, "channels"), f"expected a non-empty array of: {', '.join(CHANNELS)}")
        for item in items:
            if item not in CHANNELS:
                p.fail(
                    (*path, "channels"), f"unknown channel {item!r} (one of: {', '.join(CHANNELS)})"
                )
        channels = tuple(dict.fromkeys(items))
    refusal = out.refusal
    if "refusal" in spec:
        refusal = _text(p, spec["refusal"], (*path, "refusal"))
    flag = out.chat_needs_pin
    if "chat_needs_pin" in spec:
        flag = spec["chat_needs_pin"]
        if not isinstance(flag, bool):
            p.fail((*path, "chat_needs_pin"), "expected true or false")
    callers = _choice(p, spec, path, "unverified_callers", ("hold", "allow"), out)
    unlisted = _choice(p, spec, path, "unlisted_senders", UNLISTED, out)
    account = out.once_off_account
    if "once_off_account" in spec:
        account = p.string(spec["once_off_account"], (*path, "once_off_account"))
        if not LOCAL_RE.fullmatch(account) or len(account) > 64 or account != account.lower():
            p.fail((*path, "once_off_account"), "expected an account id: a-z, 0-9, '.', '-'")
    most = out.once_off_max_open
    if "once_off_max_open" in spec:
        most = spec["once_off_max_open"]
        if not isinstance(most, int) or isinstance(most, bool) or not 1 <= most <= 100:
            p.fail((*path, "once_off_max_open"), "expected a whole number from 1 to 100")
    return IntakeRules(
        channels=channels,
        refusal=refusal,
        chat_needs_pin=flag,
        unverified_callers=callers,
        unlisted_senders=unlisted,
        once_off_account=account,
        once_off_max_open=most,
        mailboxes=_mailboxes(p, spec.get("mailboxes", {}), (*path, "mailboxes")),
        who_may_ask=_who(p, spec.get("who_may_ask", {}), (*path, "who_may_ask")),
        source=_text(p, spec["source"], (*path, "source")) if "source" in spec else "",
        attachment_max=_bytes(p, spec, path, "attachment_max", out.attachment_max),
        message_attachments_max=_bytes(
            p, spec, path, "message_attachments_max", out.message_attachments_max
        ),
    )


def raw_message_max(rules: IntakeRules) -> int:
    """The most bytes of raw message the desk reads (more is quarantined unread): the policy's
    `message_attachments_max` as it travels, base64 (4 characters for 3 bytes) in lines of
    76 characters and CRLF (x78/76: x1.0263, so x1.368 in all), plus MESSAGE_MARGIN for the
    body and headers. The attachment limits count decoded bytes; this one counts what the
    mail server pipes in, so that a message within the policy is never refused unread."""
    encoded = 4 * -(-rules.message_attachments_max // 3)
    return encoded + 2 * -(-encoded // BASE64_LINE) + MESSAGE_MARGIN


def _bytes(p: Checker, spec: dict[str, Any], path: KeyPath, key: str, default: int) -> int:
    if key not in spec:
        return default
    value = spec[key]
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not 0 <= value <= ATTACHMENTS_CEILING
    ):
        p.fail((*path, key), f"expected a number of bytes from 0 to {ATTACHMENTS_CEILING:,}")
    return int(value)


def _text(p: Checker, value: Any, path: KeyPath) -> str:
    text = " ".join(p.string(value, path).split())
    if len(text) > TEXT_LIMIT:
        p.fail(path, f"expected at most {TEXT_LIMIT:,} characters")
    return text


def _choice(
    p: Checker, spec: dict[str, Any], path: KeyPath, key: str, allowed: tuple[str, ...], out: Any
) -> Any:
    if key not in spec:
        return getattr(out, key)
    if spec[key] not in allowed:
        p.fail((*path, key), "expected " + " or ".join(f'"{a}"' for a in allowed))
    return spec[key]


def _mailboxes(p: Checker, value: Any, path: KeyPath) -> MappingProxyType[str, str]:
    if not isinstance(value, dict):
        p.fail(path, "expected a table of address = route")
    out = {}
    for address, route in value.items():
        local, at, domain = address.rpartition("@")
        if not at or not LOCAL_RE.fullmatch(local) or "." not in domain or " " in domain:
            p.fail((*path, address), f"not an e-mail address: {address!r}")
        if route not in ROUTES:
            p.fail((*path, address), f"expected a route: {', '.join(ROUTES)}")
        if address.lower() in out:
            p.fail((*path, address), "this address is listed twice")
        out[address.lower()] = route
    return MappingProxyType(out)


def _who(p: Checker, value: Any, path: KeyPath) -> MappingProxyType[str, tuple[str, str]]:
    spec = p.table(value, path, REQUEST_TYPES)
    out = {}
    for request, item in spec.items():
        where = (*path, request)
        if isinstance(item, str):
            out[request] = (_text(p, item, where), "")
            continue
        entry = p.table(item, where, ("who", "source"))
        if "who" not in entry:
            p.fail((*where, "who"), "missing")
        source = _text(p, entry["source"], (*where, "source")) if "source" in entry else ""
        out[request] = (_text(p, entry["who"], (*where, "who")), source)
    return MappingProxyType(out)


# -- `policy show` ------------------------------------------------------------------------


def refusal_text(rules: IntakeRules, channel: str) -> str:
    """The desk's words refusing a ticket on `channel`."""
    taken = ", ".join(rules.channels)
    default = f"this desk takes tickets by {taken} only, not by {channel}"
    return rules.refusal or default


def who_may_ask(policy: Policy, request: str) -> tuple[str, str]:
    """Who may ask for `request` on this desk, in words, and the seed's sentence behind it
    ("" when the preset quotes none): the preset's own words, else what the rules do."""
    if request in policy.intake.who_may_ask:
        return policy.intake.who_may_ask[request]
    if request in policy.verification.owners_only:
        return "the primary or secondary contact, proven by a verified call", ""
    anyone = "any listed contact (a sub-account: within the services and requests it was given)"
    return anyone, ""


def intake_lines(policy: Policy) -> list[str]:
    """The `[intake]` rules in words."""
    rules = policy.intake
    refused = [c for c in CHANNELS if c not in rules.channels]
    out = [
        "Intake: tickets are taken by "
        + ", ".join(rules.channels)
        + (
            f'; {", ".join(refused)} refused: "{refusal_text(rules, refused[0])}"'
            if refused
            else ""
        ),
        "  chat: "
        + (
            "needs the contact's verified support PIN"
            if rules.chat_needs_pin
            else "no support PIN needed"
        ),
        "  callers nobody verified: "
        + (
            "held awaiting authorization until an authorized contact confirms"
            if rules.unverified_callers == "hold"
            else "their tickets open"
        ),
        "  mail from an address no account lists: " + _unlisted_words(rules),
    ]
    if rules.mailboxes:
        out.append(
            "  mailboxes (the envelope recipient, never To:); mail to any other address "
            "is filed closed with the reason:"
        )
        out += [f"    {addr} -> {ROUTES[route]}" for addr, route in rules.mailboxes.items()]
    else:
        out.append("  mailboxes: none listed: mail to any address is a ticket as usual")
    out.append(
        f"  attachments kept from a message: at most {rules.attachment_max:,} bytes each, "
        f"{rules.message_attachments_max:,} in all (decoded); a larger one is refused with "
        "a note on the ticket"
    )
    out.append(
        f"  raw message: at most {raw_message_max(rules):,} bytes (those attachments in "
        f"base64, x4/3 and x78/76 for line breaks, plus {MESSAGE_MARGIN:,} for the body "
        "and headers); a larger one goes to the quarantine unparsed"
    )
    if rules.source:
        out.append(f"  source: {rules.source}")
    out.append("Who may ask, per request type:")
    for request in REQUEST_TYPES:
        who, source = who_may_ask(policy, request)
        out.append(f"  {label(request)}: {who}")
        if source:
            out.append(f"    source: {source}")
    return out


def _unlisted_words(rules: IntakeRules) -> str:
    if rules.unlisted_senders == "close":
        return "filed closed, unanswered"
    if rules.unlisted_senders == "hold":
        return "held awaiting authorization"
    return (
        f"a once-off client's: filed on account {rules.once_off_account}, at most "
        f"{rules.once_off_max_open} open per sender (more: filed closed with the reason); "
        "no account is made for them"
    )


def intake_json(policy: Policy) -> dict[str, Any]:
    rules = policy.intake
    return {
        "channels": list(rules.channels),
        "refusal": rules.refusal,
        "chat_needs_pin": rules.chat_needs_pin,
        "unverified_callers": rules.unverified_callers,
        "unlisted_senders": rules.unlisted_senders,
        "once_off_account": rules.once_off_account,
        "once_off_max_open": rules.once_off_max_open,
        "mailboxes": dict(rules.mailboxes),
        "attachment_max": rules.attachment_max,
        "message_attachments_max": rules.message_attachments_max,
        "raw_message_max": raw_message_max(rules),
        "source": rules.source,
        "who_may_ask": {
            request: dict(zip(("who", "source"), who_may_ask(policy, request), strict=True))
            for request in REQUEST_TYPES
        },
    }


__all__ = [
    "intake_json",
    "intake_lines",
    "parse_intake",
    "raw_message_max",
    "refusal_text",
    "who_may_ask",
]
