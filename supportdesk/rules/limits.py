"""One set of bounds for everything that comes from outside: text fields, ids, files.

Both databases must accept and refuse the same things, with one clear line, so every
service that writes outside text checks it here first (SQLite would store a 120 KB subject
or a NUL byte that PostgreSQL refuses with a driver message). Each limit is at most its
column's size in `supportdesk/models/`:

| field (constant)                               | at most           | column         |
|------------------------------------------------|-------------------|----------------|
| subject (SUBJECT), incident title (TITLE)      | 300 characters    | VARCHAR(300) * |
| description, reply, note, call note (BODY)     | 200,000           | TEXT           |
| incident update and script (incident_text)     | 4,000             | TEXT           |
| names: contact, staff, caller, company, label  | 200               | VARCHAR(200)   |
| e-mail address (EMAIL)                         | 254 (RFC 5321)    | VARCHAR(255)   |
| phone number (PHONE)                           | 64                | VARCHAR(64)    |
| login, account id, plan                        | 64                | VARCHAR(64)    |
| server name (SERVER)                           | 128               | VARCHAR(128)   |
| domain name (DOMAIN)                           | 253, 100 a service| TEXT           |
| reasons, complaint and handover notes (REASON) | 2,000             | TEXT           |
| what was tried (TRIED), account notes (NOTES)  | 10,000            | TEXT           |
| maintenance notice (NOTICE)                    | 2,000             | TEXT           |
| contact reference, search text                 | 254, 200          | (lookups only) |

* 1,000 was agreed for subjects, but `tickets.subject` is VARCHAR(300) on PostgreSQL: a
  longer limit needs a migration that widens the column first.

NUL characters are refused in every field (PostgreSQL cannot store them), and so are lone
surrogates: Python's stand-ins for bytes that were not UTF-8 (`os.fsdecode`, argv).
Paths that must not refuse (mail, imports) call `sanitise` instead, which strips NULs,
replaces surrogates and truncates with a note.

Ids: every table's id is INTEGER (PostgreSQL: at most 2^31-1), so a lookup by a larger id
finds nothing (`fits_id`); the CLI takes ids up to 2^63-1 and says so beyond.

Files: policy files, exports and key files are read with `read_bounded`: regular files
only (no /dev/zero, FIFO or directory: those hang or never end) and at most a size.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from supportdesk.errors import UsageError

MAX_ROW_ID = 2**31 - 1  # INTEGER on PostgreSQL; SQLite agrees by this rule
MAX_CLI_ID = 2**63 - 1  # what a 64-bit integer holds: the CLI's own bound


@dataclass(frozen=True)
class Limit:
    """A text field's name (used in messages) and its most characters."""

    what: str
    chars: int


SUBJECT = Limit("subject", 300)
BODY = Limit("body", 200_000)
DESCRIPTION = Limit("description", 200_000)
NAME = Limit("name", 200)
COMPANY = Limit("company", 200)
CALLER_NAME = Limit("caller name", 200)
LABEL = Limit("label", 200)
EMAIL = Limit("e-mail address", 254)
PHONE = Limit("phone number", 64)
LOGIN = Limit("login", 64)
ACCOUNT_ID = Limit("account id", 64)
PLAN = Limit("plan", 64)
SERVER = Limit("server", 128)
DOMAIN = Limit("domain", 253)
DOMAINS_PER_SERVICE = 100
REASON = Limit("reason", 2_000)
TRIED = Limit("tried", 10_000)
NOTES = Limit("notes", 10_000)
NOTICE = Limit("notice", 2_000)
TITLE = Limit("title", 300)
SCRIPT = Limit("script", 4_000)
REQUEST_TYPE = Limit("request type", 32)
CONTACT_REF = Limit("contact", 254)
SEARCH = Limit("search", 200)
PIN_MAX_CHARS = 12

# what a policy file, an export and a key file may weigh before they are read
MAX_POLICY_BYTES = 1 << 20  # 1 MiB: the bundled ones are a few KB
MAX_EXPORT_BYTES = 256 << 20  # 256 MiB: the real exports in data/ are a few MB
MAX_KEY_BYTES = 4096


def has_surrogates(value: str) -> bool:
    """True if `value` holds a lone surrogate (bytes that were not UTF-8, or a broken pair)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_chars(value: str, what: str) -> str:
    """`value` unchanged, or UsageError if it holds a NUL or is not valid UTF-8 (for text
    that is split or measured later)."""
    if has_surrogates(value):
        raise UsageError(f"{what}: not valid UTF-8")
    if "\x00" in value:
        raise UsageError(f"{what}: contains a NUL character")
    return value


def check(
    value: str,
    limit: Limit,
    *,
    what: str | None = None,
    required: bool = False,
) -> str:
    """`value` unchanged, or UsageError in one line: too long, a NUL, not UTF-8, or empty
    when `required`. `what` names the field in the message (default: the limit's)."""
    label = what or limit.what
    if not isinstance(value, str):
        raise UsageError(f"{label}: expected text")
    check_chars(value, label)
    if len(value) > limit.chars:
        raise UsageError(f"{label}: {len(value):,} characters, at most {limit.chars:,}")
    if required and not value.strip():
        raise UsageError(f"{label}: empty")
    return value


def check_optional(value: str | None, limit: Limit, *, what: str | None = None) -> str | None:
    """`check` for a field that may be absent (None passes)."""
    return None if value is None else check(value, limit, what=what)


def check_all(values: list[str] | tuple[str, ...], limit: Limit, *, what: str | None = None,
              most: int = 100) -> None:  # fmt: skip
    """`check` each of a repeated field, and at most `most` of them."""
    if len(values) > most:
        raise UsageError(f"{what or limit.what}: {len(values)} given, at most {most}")
    for v in values:
        check(v, limit, what=what)


_SURROGATE = re.compile("[\ud800-\udfff]")
TRUNCATED = "\n[truncated: {n:,} characters]"


def sanitise(value: str, limit: Limit) -> str:
    """`value` made storable on both databases without refusing it (mail, imports): NULs
    dropped, lone surrogates replaced by U+FFFD, and cut to the limit: a one-line field
    with an ellipsis, a body with a note saying how many characters it had (the note fits
    in the limit)."""
    out = value.replace("\x00", "")
    if has_surrogates(out):
        out = _SURROGATE.sub("\ufffd", out)
    if len(out) <= limit.chars:
        return out
    note = TRUNCATED.format(n=len(out))
    if limit.chars < 1000:  # a one-line field (subject, name): cut it, with an ellipsis
        return out[: limit.chars - 1] + "…"
    return out[: limit.chars - len(note)] + note


def fits_id(value: object) -> bool:
    """True if `value` can be a row id in every table on both databases (1..2^31-1): a
    lookup by any other number finds nothing and must not reach the database."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ROW_ID


def decode_utf8(data: bytes, what: str) -> str:
    """Bytes as UTF-8 text (a byte-order mark dropped), or UsageError naming `what`."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what}: not valid UTF-8 (byte {exc.start})") from None


def _size(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB" if n >= (1 << 20) else f"{n:,} bytes"


def open_regular(path: str | Path, what: str) -> BinaryIO:
    """A regular file opened for reading, or UsageError in one line: missing, unreadable, not
    a regular file (a directory, /dev/zero, a FIFO: never opened, as reading them hangs or
    never ends). Opened non-blocking and checked again after opening, so a file swapped for
    a FIFO in between cannot hang the read."""
    name = str(path)
    try:
        before = os.stat(name)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"{what}: cannot read {name}: {reason}") from None
    if not stat.S_ISREG(before.st_mode):
        kind = "a directory" if stat.S_ISDIR(before.st_mode) else "not a regular file"
        raise UsageError(f"{what}: {name} is {kind}")
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UsageError(f"{what}: cannot read {name}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(f"{what}: {name} is not a regular file")
    return os.fdopen(fd, "rb")


def read_bounded(path: str | Path, what: str, max_bytes: int) -> bytes:
    """A regular file's bytes (`open_regular`), or UsageError in one line when it is larger
    than `max_bytes`."""
    name = str(path)
    with open_regular(name, what) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise UsageError(f"{what}: {name} is {_size(size)}, at most {_size(max_bytes)}")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UsageError(f"{what}: {name} is larger than {_size(max_bytes)}")
    return data


def read_stream_bounded(stream: object, what: str, max_bytes: int) -> bytes:
    """At most `max_bytes` from a binary stream (standard input), or UsageError if more."""
    read = getattr(stream, "read", None)
    if read is None:
        return b""
    data = read(max_bytes + 1)
    if data is None:
        return b""
    if isinstance(data, str):  # a text stream in tests: take it as given
        data = data.encode("utf-8", "surrogateescape")
    if len(data) > max_bytes:
        raise UsageError(f"{what}: more than {_size(max_bytes)}")
    return bytes(data)


__all__ = [
    "MAX_CLI_ID",
    "MAX_ROW_ID",
    "Limit",
    "check",
    "check_all",
    "check_chars",
    "check_optional",
    "decode_utf8",
    "fits_id",
    "has_surrogates",
    "read_bounded",
    "read_stream_bounded",
    "sanitise",
]


def normalise_phone(phone: str, country: str | None = None) -> str:
    """A phone number as stored: "+digits". A local number (a leading 0, no "+") is in
    `country` when given (the policy's `phone_country`): "082 770 3025" is "+27827703025"."""
    check(phone, PHONE)
    digits = re.sub(r"[^0-9]", "", phone)
    if len(digits) < 6 or any(ch.isdigit() and not ch.isascii() for ch in phone):
        # "٠١٢" or "０１２" is no number a desk can dial (and was kept, or silently dropped)
        raise UsageError(f"not a phone number: {phone!r}")
    if country and not phone.lstrip().startswith("+") and digits.startswith("0"):
        return country + digits[1:]
    return "+" + digits
