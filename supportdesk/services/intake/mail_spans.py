"""A received message parsed without a second copy of its files (issue 20, item 2).

The email package keeps every part's encoded text in the message tree: beside the raw bytes
the mail server piped in, that is the message twice (34 MB of base64 for 25 MB of files,
held until the files are stored). Here a large part in clean base64, what attachments
nearly always are, keeps instead where its text lies in the raw bytes (after checking that
the bytes there are that text); `get_payload` gives what the email package would give,
read from there. Anything else (small, not base64, not clean) stays as the package keeps it.
"""

from __future__ import annotations

import binascii
import email.feedparser
import email.message
import email.policy
import re
from typing import Any

CHUNK = 64 * 1024  # bytes fed to the parser at a time
SPAN_MIN = 64 * 1024  # characters: a smaller part keeps its text
COMPARE = 1 << 20  # bytes compared at a time when checking a span
TRIES = 16  # places looked at for a part's text before it keeps its text
# A base64 payload as mail clients write it: the alphabet in lines, padding at its end only.
CLEAN_BASE64 = re.compile(r"[A-Za-z0-9+/\r\n]*(?:=[\r\n]*){0,2}")
_EOL = re.compile(r"(\r\n|\r|\n)\Z")  # the line ending the parser takes off a part's end


def clean_base64(payload: str) -> bool:
    """Whether `payload` decodes the same with or without the email package's repairs:
    ASCII, the alphabet in lines, whole groups of four, padding only at the end."""
    if not payload.isascii():
        return False
    letters = len(payload) - payload.count("\r") - payload.count("\n")
    return letters % 4 == 0 and CLEAN_BASE64.fullmatch(payload) is not None


class _Raw:
    """The raw bytes being parsed, how far they have been fed, and where the last part found
    in them ends (parts are completed in order)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.fed = 0
        self.after = 0

    def find(self, text: str) -> int | None:
        """Where `text` lies in the bytes fed so far, from the end of the last part found."""
        head = text[:256].encode("ascii")
        start = self.data.find(head, self.after, self.fed)
        for _ in range(TRIES):
            if start < 0 or start + len(text) > self.fed:
                return None
            if self._same(start, text):
                self.after = start + len(text)
                return start
            start = self.data.find(head, start + 1, self.fed)
        return None

    def _same(self, start: int, text: str) -> bool:
        for at in range(0, len(text), COMPARE):
            piece = text[at : at + COMPARE].encode("ascii")
            if self.data[start + at : start + at + len(piece)] != piece:
                return False
        return True


class SpannedMessage(email.message.Message):
    """compat32's Message; a large clean base64 leaf holds `span`, (start, end) of its text
    in the raw bytes, instead of the text."""

    def __init__(self, raw: _Raw | None = None, policy: Any = email.policy.compat32) -> None:
        super().__init__(policy)
        self.raw = raw
        self.span: tuple[int, int] | None = None
        self.eol = ""

    def set_payload(self, payload: Any, charset: Any = None) -> None:
        self.span = None
        if (
            self.raw is not None
            and charset is None
            and isinstance(payload, str)
            and len(payload) >= SPAN_MIN
            and str(self.get("content-transfer-encoding", "")).lower() == "base64"
            and clean_base64(payload)
        ):
            start = self.raw.find(payload)
            if start is not None:
                self.span = (start, start + len(payload))
                found = _EOL.search(payload)
                # the parser takes a part's last line ending off when a boundary follows:
                # it then finds this stand-in and leaves "" (see text())
                self.eol = found.group(0) if found else ""
                self._payload = self.eol
                return
        super().set_payload(payload, charset)

    def text(self) -> str:
        """The part's encoded text, as the email package would hold it."""
        assert self.span is not None and self.raw is not None
        start, end = self.span
        if self.eol and self._payload == "":
            end -= len(self.eol)
        return self.raw.data[start:end].decode("ascii")

    def get_payload(self, i: Any = None, decode: bool = False) -> Any:
        if self.span is None or self.raw is None:
            message: Any = super()
            return message.get_payload(i, decode)
        if i is not None:
            raise TypeError(f"Expected list, got {type(self._payload)}")
        if not decode:
            return self.text()
        start, end = self.span  # clean base64: the line endings are skipped either way
        with memoryview(self.raw.data) as view:
            return binascii.a2b_base64(view[start:end])


def message_of(raw: bytes) -> Any:
    """`raw` parsed as `email.message_from_bytes(raw, policy=compat32)` parses it (it never
    refuses a header), fed in chunks: that function decodes the whole message to one str and
    reads it through a StringIO, which widens it to 4 bytes a character (a 34 MB message
    took 250 MB to parse). Large clean base64 parts hold spans of `raw` (SpannedMessage)."""
    source = _Raw(raw)

    def factory(policy: Any = email.policy.compat32) -> SpannedMessage:
        return SpannedMessage(source, policy)

    parser = email.feedparser.BytesFeedParser(factory, policy=email.policy.compat32)
    for start in range(0, len(raw), CHUNK):
        piece = raw[start : start + CHUNK]
        source.fed = start + len(piece)
        parser.feed(piece)
    return parser.close()
