"""Authenticated mail and one-time codes for the tests (issue 19, item 2): a policy whose
`[mail]` names the desk's receiving server, a held ticket whose contact was mailed a code,
and replies as the desk's server would pipe them to `mail ingest` (its Authentication-Results
above its Received: line, or a sender's forged one below it)."""

from __future__ import annotations

import re
from datetime import datetime

from supportdesk.core.desk import Desk
from supportdesk.rules.one_time_codes import CODE_RE
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import directory, sla
from tests.helpers.desk import new_ticket
from tests.helpers.policy import POLICY

AUTHSERV = "mx.desk.example"
DOMAIN = "desk.example"
AUTH_POLICY = POLICY + f'\n[mail]\ndomain = "{DOMAIN}"\nauthserv_id = "{AUTHSERV}"\n'
PRIYA = "priya@bluefin.example"
SAM = "sam@bluefin.example"
DMARC_PASS = (
    f"{AUTHSERV}; dkim=pass header.d=bluefin.example; dmarc=pass header.from=bluefin.example"
)
RECEIVED = (
    "Received: from mail.bluefin.example (mail.bluefin.example [192.0.2.7])\r\n"
    f"\tby {AUTHSERV} (Postfix) with ESMTPS id 4XyZ; Mon, 23 Nov 2026 09:00:00 +0000"
)
OUTSIDE = "Received: from laptop by mail.bluefin.example; Mon, 23 Nov 2026 08:59:00 +0000"


def use_auth_policy(desk: Desk) -> None:
    """The policy with [mail] and its authserv_id, and Sam, an authorized (non-owner)
    contact of bluefin beside Priya, the primary."""
    sla.load_policy(desk, parse_policy(AUTH_POLICY, "auth.toml"))
    directory.add_contact(desk, "bluefin", "Sam Lee", [SAM], ["+27 21 555 0102"], "authorized")


def held_ticket(desk: Desk, subject: str = "Reset my password") -> int:
    """A password reset Priya mailed in: held (nothing proved her), a code mailed to her."""
    return new_ticket(
        desk,
        subject,
        channel="email",
        contact_email=PRIYA,
        request_type="password_reset",
    )


def sent_code(desk: Desk, ticket_id: int) -> str:
    """The code in the newest confirmation request of the ticket, as the customer reads it
    (read from the outbox row before it is sent: the only place it is kept)."""
    rows = desk.store.query(
        "SELECT body FROM outbox WHERE kind = 'confirmation' AND ticket_id = ? ORDER BY id DESC",
        (ticket_id,),
    )
    m = CODE_RE.search(str(rows[0][0]))
    assert m is not None
    return m.group(0)


def request_id(desk: Desk, ticket_id: int) -> str:
    rows = desk.store.query(
        "SELECT message_id FROM outbox WHERE kind = 'confirmation' AND ticket_id = ? "
        "ORDER BY id DESC",
        (ticket_id,),
    )
    return str(rows[0][0])


_n = [0]


def reply(
    ticket_id: int,
    body: str,
    *,
    sender: str = PRIYA,
    top: tuple[str, ...] = (f"Authentication-Results: {DMARC_PASS}", RECEIVED),
    below: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
    in_reply_to: str | None = None,
) -> bytes:
    """A reply on `ticket_id` as the desk's server delivers it: `top` (its own headers, above
    and including its Received: line), then `below` (what came with the message)."""
    _n[0] += 1
    lines = [
        *top,
        *below,
        OUTSIDE,
        f"From: Someone <{sender}>",
        f"To: support@{DOMAIN}",
        f"Subject: Re: Reset my password [#{ticket_id}]",
        f"Message-ID: <r{_n[0]}.{datetime.now().timestamp()}@bluefin.example>",
        *([f"In-Reply-To: {in_reply_to}"] if in_reply_to else []),
        *extra,
        "Content-Type: text/plain; charset=utf-8",
        "",
        body,
    ]
    return "\r\n".join(lines).encode()


def answer(code: str, first: str = "Yes, go ahead") -> str:
    return f"{first}\n\nThe code: {code}\n\nPriya\n\n> Your one-time code: {code}\n"


def codes_in(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(CODE_RE, text)]
