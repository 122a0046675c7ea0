"""A leased message as the bytes that go out (issue 18): From "name <sender>", To, Subject (one
line, whatever the customer typed), Date, the row's Message-ID and threading headers, a UTF-8
text body.

`compose` builds an `email.message.EmailMessage` (policy SMTP) and is the reference.
`compose_bytes` gives exactly the bytes `compose(...).as_bytes()` gives, cheaper: the email
package parses and refolds every header it is handed, which costs milliseconds a message; a
header whose value is plain (printable ASCII that fits on its line, no encoded-word opener,
the shape the package writes back unchanged) is written as it is, any other header goes
through the package's own parse and fold, and a body that is not plain 7-bit text of short
lines makes the whole message go through `compose`. A test holds the two byte for byte on
ordinary, long, non-ASCII and hostile input.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from supportdesk.rules.policy import MailRules

if TYPE_CHECKING:
    from supportdesk.services.outbox.leasing import Leased

EXTRA_HEADERS = ("In-Reply-To", "References", "Auto-Submitted")
AUTO_SUBMITTED = ("auto-replied", "auto-generated", "auto-notified")
MSG_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]{1,250}>")
# values the email package writes back as they are
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
PLAIN_ADDR = re.compile(rf"{_DOT_ATOM}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
PLAIN_MSG_ID = re.compile(rf"<{_DOT_ATOM}@{_DOT_ATOM}>")
PLAIN_TEXT = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
MAX_LINE = 78  # SMTP policy's max_line_length
BODY_HEADERS = b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 7bit\r\n'
BODY_HEADERS += b"MIME-Version: 1.0\r\n\r\n"


def flatten(text: str) -> str:
    """One header line from outside text: every control, line or paragraph separator (CR, LF,
    NUL, ESC, U+2028 ...) becomes a space, runs of spaces one space."""
    out = "".join(" " if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029") else c
                  for c in text)  # fmt: skip
    return " ".join(out.split())


def _headers(m: Leased, rules: MailRules, now: datetime) -> list[tuple[str, str]]:
    """The headers after From, in order, as the values handed to the email package."""
    out = [
        ("To", m.to_addr),
        ("Subject", flatten(m.subject) or "(no subject)"),
        ("Date", format_datetime(now.astimezone(UTC))),
        ("Message-ID", m.message_id),
    ]
    try:
        extra = json.loads(m.headers or "{}")
    except ValueError:
        extra = {}
    for name in EXTRA_HEADERS:
        value = extra.get(name) if isinstance(extra, dict) else None
        if not isinstance(value, str):
            continue
        if name == "Auto-Submitted":
            value = value.strip().lower()
            if value in AUTO_SUBMITTED:
                out.append((name, value))
            continue
        ids = MSG_ID.findall(value)
        if ids:
            out.append((name, ids[0] if name == "In-Reply-To" else " ".join(ids[-20:])))
    return out


def _body(m: Leased) -> str:
    return m.body.replace("\r\n", "\n").replace("\r", "\n")


def compose(m: Leased, rules: MailRules, now: datetime) -> EmailMessage:
    """The message as it goes out, built by the email package (see the module's text)."""
    msg = EmailMessage(policy=SMTP)
    local, _at, domain = m.from_addr.rpartition("@")
    msg["From"] = Address(display_name=flatten(rules.from_name), username=local, domain=domain)
    for name, value in _headers(m, rules, now):
        msg[name] = value
    msg.set_content(_body(m), charset="utf-8")
    return msg


@lru_cache(maxsize=64)
def _from_line(from_name: str, from_addr: str) -> bytes:
    """The From header, folded by the email package once per (name, address)."""
    local, _at, domain = from_addr.rpartition("@")
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=flatten(from_name), username=local, domain=domain)
    [(name, value)] = msg.raw_items()
    return SMTP.fold_binary(name, value)


def _plain(name: str, value: str) -> bool:
    """Whether the email package would write `name: value` back unchanged on one line."""
    if len(name) + 2 + len(value) > MAX_LINE or "=?" in value:
        return False
    if name == "To":
        return PLAIN_ADDR.fullmatch(value) is not None
    if name == "Message-ID":
        return PLAIN_MSG_ID.fullmatch(value) is not None
    return PLAIN_TEXT.fullmatch(value) is not None


def header_line(name: str, value: str) -> bytes:
    """One header as the email package (policy SMTP) writes it."""
    if _plain(name, value):
        return f"{name}: {value}\r\n".encode("ascii")
    return SMTP.fold_binary(*SMTP.header_store_parse(name, value))


def plain_body(text: str) -> bytes | None:
    """The body as the email package writes a 7-bit one (CRLF line ends, one at the end), or
    None when it would choose another encoding (non-ASCII text, a line over 78)."""
    if not text.isascii():
        return None
    lines = text.encode("ascii").splitlines()
    if any(len(line) > MAX_LINE for line in lines):
        return None
    return b"\r\n".join(lines) + b"\r\n" if lines else b"\r\n"


def compose_bytes(m: Leased, rules: MailRules, now: datetime) -> bytes:
    """`compose(m, rules, now).as_bytes()`, byte for byte, without the email package's cost
    for the plain parts (see the module's text)."""
    body = plain_body(_body(m))
    if body is None:
        return compose(m, rules, now).as_bytes()
    parts = [_from_line(rules.from_name, m.from_addr)]
    parts.extend(header_line(name, value) for name, value in _headers(m, rules, now))
    parts.append(BODY_HEADERS)
    parts.append(body)
    return b"".join(parts)
