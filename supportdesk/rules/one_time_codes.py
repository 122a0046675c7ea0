"""One-time confirmation codes (issue 19, item 2b): pure rules, no database.

A code is 128 bits from `secrets`, written as 26 base32 letters in five groups
(`ABCDE-FGHIJ-KLMNO-PQRST-UVWXYZ`: no 0/1/8/9 to misread). Only its SHA-256 is stored: for a
128-bit random secret a plain hash is enough (nobody can guess their way to a preimage), and
it lets a reply's code be looked up by its hash. A reply is read for codes in its unquoted
lines only (a `>` line is what the customer's mail program copied from our message), with
or without the dashes, in any case. Its first unquoted non-empty line must say yes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import timedelta

CODE_BITS = 128
CODE_VALID = timedelta(hours=72)
GROUPS = (5, 5, 5, 5, 6)
CODE_CHARS = sum(GROUPS)  # 26 base32 letters carry 130 bits; the last two are zero
# a code as written (dashes between groups, or none), not inside a longer word
CODE_RE = re.compile(
    r"(?<![A-Za-z0-9])"
    r"([A-Za-z2-7]{5})-?([A-Za-z2-7]{5})-?([A-Za-z2-7]{5})-?([A-Za-z2-7]{5})-?"
    r"([A-Za-z2-7]{6})(?![A-Za-z0-9])"
)
MASK = "[one-time code]"
# what a first line that says yes may be (after case folding and trailing punctuation)
YES = (
    "yes",
    "yes please",
    "yes, please",
    "yes go ahead",
    "yes, go ahead",
    "yes, please go ahead",
    "yes please go ahead",
    "go ahead",
    "confirm",
    "confirmed",
    "i confirm",
    "yes, i confirm",
    "yes i confirm",
)
MAX_SCAN = 200_000  # characters of a reply read for codes


def new_code() -> str:
    """A fresh code, grouped for reading."""
    letters = base64.b32encode(secrets.token_bytes(CODE_BITS // 8)).decode("ascii").rstrip("=")
    assert len(letters) == CODE_CHARS
    out, at = [], 0
    for n in GROUPS:
        out.append(letters[at : at + n])
        at += n
    return "-".join(out)


def normalise(code: str) -> str:
    """A code as hashed: its letters, upper-case, without dashes or blanks."""
    return "".join(c for c in code.upper() if c.isalnum())


def code_hash(code: str) -> str:
    """What is stored of a code: the SHA-256 of its normalised letters, hex."""
    return hashlib.sha256(normalise(code).encode("ascii")).hexdigest()


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def found_codes(body: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The hashes of the code-shaped tokens in `body`: (in unquoted lines, in quoted lines)."""
    plain: list[str] = []
    quoted: list[str] = []
    for line in body[:MAX_SCAN].splitlines():
        for m in CODE_RE.finditer(line):
            (quoted if _quoted(line) else plain).append(code_hash("".join(m.groups())))
    return tuple(dict.fromkeys(plain)), tuple(dict.fromkeys(quoted))


def mask_codes(text: str, hashes: frozenset[str] | None = None) -> str:
    """`text` with each code in it replaced by MASK: every code-shaped token, or only those
    whose hash is in `hashes`."""

    def sub(m: re.Match[str]) -> str:
        if hashes is None or code_hash("".join(m.groups())) in hashes:
            return MASK
        return m.group(0)

    return CODE_RE.sub(sub, text)


def first_line(body: str) -> str:
    """The first unquoted non-empty line of a reply, stripped."""
    for line in body[:MAX_SCAN].splitlines():
        if line.strip() and not _quoted(line):
            return line.strip()
    return ""


def says_yes(body: str) -> bool:
    """Whether the first unquoted non-empty line says yes (a YES phrase, any case, trailing
    punctuation ignored; a code after it on the same line is allowed)."""
    line = CODE_RE.sub(" ", first_line(body))
    words = " ".join(line.casefold().replace("\u2019", "'").split()).strip(" .!:;-")
    words = words.rstrip(" ,.!:;-")
    return words in YES
