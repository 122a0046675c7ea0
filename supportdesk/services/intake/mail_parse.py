"""One message from outside, read and decoded without trusting any of it.

Input is read in chunks up to a limit (a 400 MB message never sits in memory); every charset
Python can decode is decoded (`iso-8859-8-i` as iso-8859-8, known aliases), others read as
latin-1 with a note; RFC 2047 encoded-words with bad charsets or bad base64 stay readable;
invalid bytes are replaced, NUL and lone surrogates (which neither database stores) removed.
Nothing here raises for what a message contains: what cannot be filed comes back as a
`problem` (the message then goes to the quarantine).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email.utils
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from supportdesk.rules import limits
from supportdesk.rules.policy_intake import raw_message_max
from supportdesk.services.intake import mail_attachments, mail_spans

if TYPE_CHECKING:
    from supportdesk.core.desk import Desk

# The desk's limits come from rules/limits.py (one table for every path in); the raw message's
# from the policy (max_message: its attachments base64-encoded and room around them, issue 20).
KEEP_OVERSIZED = 1024 * 1024  # bytes of an oversized message kept in the quarantine
SUBJECT_LIMIT = limits.SUBJECT.chars  # longer subjects are cut with a note, never refused
NAME_LIMIT = limits.NAME.chars
EMAIL_LIMIT = limits.EMAIL.chars
BODY_LIMIT = limits.BODY.chars  # a longer body goes to the quarantine
MESSAGE_ID_LIMIT = 255
CHUNK = 64 * 1024

# Charset labels mail clients send that Python's codec registry does not know by that name.
CHARSET_ALIASES = {
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "x-euc": "euc_jp",
    "windows-874": "cp874",
    "x-windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-greek": "mac_greek",
    "x-mac-turkish": "mac_turkish",
    "x-mac-centraleurope": "mac_latin2",
    "x-mac-ce": "mac_latin2",
    "x-gbk": "gbk",
    "gb2312": "gb18030",  # mail labelled gb2312 is often GBK: the superset reads both
    "gbk": "gb18030",
    "x-cp1250": "cp1250",
    "x-cp1251": "cp1251",
    "x-cp1252": "cp1252",
    "x-user-defined": "latin-1",
    "ansi_x3.4-1968": "ascii",
    "iso-10646-ucs-2": "utf-16-be",
    "csutf8": "utf-8",
}
# Codecs that exist but are not a charset a message can honestly be in: refuse them and read
# the bytes as latin-1 (`unicode_escape` would turn text into control sequences).
REFUSED_CODECS = frozenset(
    {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "mbcs", "oem"}
)
UNKNOWN_CHARSETS = frozenset({"unknown-8bit", "unknown", "x-unknown", "8bit", "binary"})
ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([qQbB])\?([^?\s]*)\?=")
_GAP = re.compile(r"^[ \t\r\n]+$")
_SURROGATES = re.compile("[\ud800-\udfff]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_STAND_IN = "encodedwordzq"


def ticket_id_limit() -> int:
    """The largest ticket number the id column holds (a larger [#N] refers to nothing)."""
    from sqlalchemy import BigInteger

    from supportdesk.models import Ticket

    return 2**63 - 1 if isinstance(Ticket.__table__.c.id.type, BigInteger) else 2**31 - 1


def subject_limit() -> int:
    """The desk's subject limit, or the column's when that is narrower."""
    from supportdesk.models import Ticket

    length = getattr(Ticket.__table__.c.subject.type, "length", None)
    return min(SUBJECT_LIMIT, length) if length else SUBJECT_LIMIT


def max_message(desk: Desk) -> int:
    """The most bytes of raw message this desk reads, from its policy's attachment limits
    (rules/policy_intake.raw_message_max); a larger message is quarantined unread."""
    from supportdesk.core.policy import current_policy

    return raw_message_max(current_policy(desk).intake)


def oversized(desk: Desk, raw: bytes, size: int) -> str | None:
    """Why a message of `size` bytes (`raw` its first bytes, or all of them) is over this
    desk's limit, in words; None when it is not."""
    limit = max_message(desk)
    if size <= limit and size <= len(raw):
        return None
    return f"{size:,} bytes (at most {limit:,}, from the policy's attachment limits)"


@dataclass(frozen=True)
class Received:
    """What came in on stdin: `data` (all of it, or the first part of an oversized one), how
    many bytes there were in all, and the limit it was read with."""

    data: bytes
    size: int
    limit: int

    @property
    def oversized(self) -> bool:
        return self.size > self.limit


def read_limited(stream: IO[bytes] | None, limit: int, keep: int = KEEP_OVERSIZED) -> Received:
    """Read at most `limit` + 1 bytes (the desk's `max_message`); past the limit keep the first
    `keep` bytes and drain the rest without holding it. Draining lets the mail server's write
    finish (a pipe closed early would fail its delivery and have it retried, or bounced).
    One read into one buffer: a buffered stream returns its bytes without a second copy."""
    if stream is None:
        return Received(b"", 0, limit)
    chunks: list[bytes] = []
    size = 0
    while size <= limit:  # a raw stream may return less than asked before its end
        data = stream.read(limit + 1 - size)
        if not data:
            break
        chunks.append(data)
        size += len(data)
    whole = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    chunks.clear()
    data = b""
    if size <= limit:
        return Received(whole, size, limit)
    first = whole[:keep]
    del whole
    sink = bytearray(CHUNK)
    view = memoryview(sink)
    readinto = getattr(stream, "readinto", None)
    while True:
        n = readinto(view) if readinto is not None else len(stream.read(CHUNK))
        if not n:
            break
        size += n
    return Received(first, size, limit)


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def storable(text: str) -> str:
    """`text` as both databases store it: no NUL, no lone surrogate."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii() and _SURROGATES.search(text):
        text = _SURROGATES.sub("\ufffd", text)
    return text


def codec_for(label: str | None) -> str | None:
    """The Python codec for a MIME charset label, or None when there is none we trust."""
    if not label:
        return None
    name = label.strip().strip("\"'").split("*", 1)[0].strip().lower()  # RFC 2231 *lang
    if not name or len(name) > 64 or name in UNKNOWN_CHARSETS:
        return None
    candidates = [name, CHARSET_ALIASES.get(name)]
    if name.endswith(("-i", "-e")):  # iso-8859-8-i / iso-8859-6-e: same bytes, bidi hint
        candidates.append(name[:-2])
    for candidate in candidates:
        if not candidate:
            continue
        try:
            info = codecs.lookup(candidate)
        except Exception:  # LookupError, or a label the registry chokes on
            continue
        if not getattr(info, "_is_text_encoding", True) or info.name in REFUSED_CODECS:
            continue
        return info.name
    return None


def decode_bytes(data: bytes, label: str | None, notes: list[str], what: str = "body") -> str:
    """`data` in its declared charset; an unknown one (or none, when the bytes are not UTF-8)
    as latin-1, noted."""
    return _without_nul(_decoded(data, label, notes, what), notes, what)


def _decoded(data: bytes, label: str | None, notes: list[str], what: str) -> str:
    codec = codec_for(label)
    if codec is None:
        if not label:
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                notes.append(f"{what}: no charset given and not UTF-8: read as latin-1")
                return data.decode("latin-1")
        notes.append(f"{what}: charset {_label(label)} unknown: read as latin-1")
        return data.decode("latin-1")
    try:
        return data.decode(codec, "replace")
    except Exception:  # a codec that fails even with errors="replace"
        notes.append(f"{what}: charset {_label(label or '')} failed to decode: read as latin-1")
        return data.decode("latin-1")


def _without_nul(text: str, notes: list[str], what: str) -> str:
    nuls = text.count("\x00")
    if nuls:
        notes.append(f"{what}: {nuls:,} NUL character{'s' if nuls > 1 else ''} removed")
    return storable(text)


def _label(label: str) -> str:
    return repr(storable(label.strip())[:40])


def _word(charset: str, encoding: str, text: str, notes: list[str]) -> str | None:
    """One RFC 2047 encoded-word decoded, or None to keep it as written."""
    try:
        if encoding in "bB":
            data = base64.b64decode(text + "=" * (-len(text) % 4), validate=False)
        else:
            data = binascii.a2b_qp(text.encode("ascii", "replace"), header=True)
    except (binascii.Error, ValueError):
        return None
    return decode_bytes(data, charset, notes, "header")


def decode_header(value: str, notes: list[str]) -> str:
    """A header as text: raw 8-bit bytes read as UTF-8 (RFC 6532), folds undone, encoded-words
    decoded (the blanks between two of them dropped, as RFC 2047 says)."""
    raw = value.encode("utf-8", "surrogateescape")
    text = _FOLD.sub("", raw.decode("utf-8", "replace"))
    if "=?" not in text:
        return _without_nul(text, notes, "header")
    out: list[str] = []
    pos = 0
    last_was_word = False
    for m in ENCODED_WORD.finditer(text):
        gap = text[pos : m.start()]
        decoded = _word(m.group(1), m.group(2), m.group(3), notes)
        if decoded is None:
            out.append(gap + m.group(0))
            last_was_word = False
        else:
            if not (last_was_word and _GAP.match(gap)):
                out.append(gap)
            out.append(decoded)
            last_was_word = True
        pos = m.end()
    out.append(text[pos:])
    return _without_nul("".join(out), notes, "header")


def address_ok(address: str) -> bool:
    if not address or len(address) > EMAIL_LIMIT or address.count("@") != 1:
        return False
    local, domain = address.split("@")
    if not local or not domain:
        return False
    return all(
        not ch.isspace()
        and unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs")
        and ch not in '<>(),;:\\"[]'
        for ch in address
    )


def clip(text: str, limit: int, what: str, notes: list[str]) -> str:
    """`text` cut to `limit` characters, with a note saying so: never a silent cut."""
    if len(text) <= limit:
        return text
    notes.append(f"{what} truncated from {len(text):,} to {limit:,} characters")
    return text[:limit]


@dataclass
class Parsed:
    """What ingest needs from a message; `problem` says why it cannot be filed."""

    sender: str = ""
    sender_name: str | None = None
    subject: str = "(no subject)"
    body: str = ""
    message_id: str | None = None
    envelope_sender: str | None = None
    automatic: str | None = None  # why it is automatic mail (RFC 3834), or None
    refs: tuple[str, ...] = ()  # Message-IDs it answers: In-Reply-To, then References newest first
    # its From, Received and Authentication-Results headers in order, top first, for
    # rules/mail_auth.py (issue 19)
    trace: tuple[tuple[str, str], ...] = ()
    notes: list[str] = field(default_factory=list)
    problem: str | None = None
    attachments: list[Any] = field(default_factory=list)  # mail_attachments.Part


def message_of(raw: bytes) -> Any:
    """`raw` parsed once, as `email.message_from_bytes` with compat32 parses it, without a
    second copy of its files (mail_spans.py)."""
    return mail_spans.message_of(raw)


def headers(raw: bytes) -> tuple[Any, list[tuple[str, str]]]:
    """The parsed message (message_of) and its headers as written."""
    msg = message_of(raw)
    return msg, [(str(k), str(v)) for k, v in msg.raw_items()]


def _first(items: list[tuple[str, str]], name: str) -> list[str]:
    low = name.lower()
    return [v for k, v in items if k.strip().lower() == low]


def normalize_message_id(value: str | None) -> str | None:
    """A Message-ID as stored: trimmed; one longer than the column, as its digest."""
    if value is None:
        return None
    text = storable(" ".join(value.split()))
    if not text:
        return None
    if len(text) > MESSAGE_ID_LIMIT:
        return "sha256:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
    return text


def envelope_of(given: str | None, items: list[tuple[str, str]]) -> str | None:
    """The envelope sender: as the mail server passed it, else its Return-Path header;
    "<>" for a bounce (the null sender)."""
    if given is None:
        found = _first(items, "Return-Path")
        if not found:
            return None
        given = found[0]
    text = storable(decode_header(given, []).strip())
    if text in ("", "<>") or text.replace(" ", "") == "<>":
        return "<>"
    return text.strip("<>").strip()[:MESSAGE_ID_LIMIT] or "<>"


def automatic_reason(items: list[tuple[str, str]], envelope: str | None) -> str | None:
    """Why this is automatic mail, or None: RFC 3834 Auto-Submitted other than `no`,
    Precedence bulk/junk/list, any List-Id (a mailing list), the X-Autoreply/X-Autorespond
    headers some responders use instead, or an empty return path (a bounce)."""
    for value in _first(items, "Auto-Submitted"):
        token = value.split(";", 1)[0].strip().lower()
        if token and token != "no":
            return f"Auto-Submitted: {storable(token)[:40]}"
    for value in _first(items, "Precedence"):
        token = value.strip().lower()
        if token in ("bulk", "junk", "list"):
            return f"Precedence: {token}"
    if _first(items, "List-Id"):
        return "mailing list (List-Id)"
    for name in ("X-Autoreply", "X-Autorespond"):
        if any(v.strip().lower() not in ("", "no") for v in _first(items, name)):
            return f"{name} header"
    if envelope == "<>":
        return "a bounce (empty return path)"
    return None


TRACE = ("from", "received", "authentication-results")
MAX_TRACE = 200  # headers kept (the top ones: a server adds its own on top)


def trace_of(items: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The headers authentication reads (rules/mail_auth.py), in order, top first."""
    found = [(k.strip(), v[:8000]) for k, v in items if k.strip().lower() in TRACE]
    return tuple(found[:MAX_TRACE])


_MSG_ID = re.compile(r"<[^<>\s]{3,250}>")


def answered_ids(items: list[tuple[str, str]]) -> tuple[str, ...]:
    """The Message-IDs a message answers: In-Reply-To's, then References' newest first."""
    found: list[str] = []
    for name in ("In-Reply-To", "References"):
        for value in _first(items, name)[:1]:
            ids = _MSG_ID.findall(_FOLD.sub("", value)[:20_000])
            found += reversed(ids) if name == "References" else ids
    return tuple(dict.fromkeys(storable(i) for i in found))[:40]


def _body_part(msg: Any) -> Any:
    """The part holding the text: the first text/plain that is not an attachment, else the
    first text/html; a single-part message that is text (or has no Content-Type)."""
    if not msg.is_multipart():
        return msg if msg.get_content_maintype() == "text" else None
    html = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        if str(part.get("Content-Disposition", "")).strip().lower().startswith("attachment"):
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            return part
        if kind == "text/html" and html is None:
            html = part
    return html


def _charset_label(part: Any) -> str | None:
    try:
        value = part.get_param("charset")
    except Exception:
        return "(unreadable)"
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, value)
        value = value[2]
    return storable(str(value))


def body_of(msg: Any, notes: list[str]) -> str:
    part = _body_part(msg)
    if part is None:
        return ""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    text = decode_bytes(data, _charset_label(part), notes)
    if part.get_content_type() == "text/html":  # HTML-only mail: read as text, kept as a file
        from supportdesk.services.intake.mail_attachments import html_text

        text = storable(html_text(text))
    return text


def parse(raw: bytes, envelope_sender: str | None = None) -> Parsed:
    """Read a message; never raises. `problem` is set when it cannot be filed."""
    out = Parsed()
    try:
        _parse_into(out, raw, envelope_sender)
    except RecursionError:
        out.problem = "malformed message: nested too deeply"
    except Exception as exc:  # the email package has many ways to fail on broken input
        out.problem = f"malformed message: {type(exc).__name__}"
    return out


def _parse_into(out: Parsed, raw: bytes, envelope_sender: str | None) -> None:
    if not raw.strip():
        out.problem = "malformed message: empty"
        return
    msg, items = headers(raw)
    ids = _first(items, "Message-ID")
    out.message_id = normalize_message_id(ids[0]) if ids else None
    out.envelope_sender = envelope_of(envelope_sender, items)
    notes = out.notes
    subjects = _first(items, "Subject")
    if subjects:
        subject = " ".join(decode_header(subjects[0], notes).split())
        out.subject = subject or "(no subject)"
    froms = _first(items, "From")
    if not froms:
        out.problem = "malformed message: no From header"
        return
    if len(froms) > 1:
        out.problem = "ambiguous sender: several From headers"
        return
    # Addresses are read before encoded-words are decoded, so a display name cannot smuggle
    # in an address ("=?utf-8?q?=3Cboss@...=3E?=").
    # Each encoded-word stands in as a plain atom while the address is parsed.
    unfolded = _FOLD.sub("", froms[0].encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    words: list[str] = []

    def stand_in(m: re.Match[str]) -> str:
        words.append(m.group(0))
        return f"{_STAND_IN}{len(words) - 1}x"

    masked = ENCODED_WORD.sub(stand_in, unfolded)
    pairs = [(n, a) for n, a in email.utils.getaddresses([masked]) if n or a]
    if words:
        back = re.compile(_STAND_IN + r"(\d+)x")
        pairs = [(back.sub(lambda m: words[int(m.group(1))], n), a) for n, a in pairs]
        if any(back.search(a) for _, a in pairs):
            out.problem = "malformed message: an encoded-word inside the From address"
            return
    if len(pairs) > 1:
        out.problem = "ambiguous sender: several From addresses"
        return
    name, address = pairs[0] if pairs else ("", "")
    address = storable(address.strip().lower())
    if not address_ok(address):
        out.problem = "malformed message: no usable From address"
        return
    out.sender = address
    display = " ".join(decode_header(name, notes).split()) if name else ""
    out.sender_name = display or None
    out.automatic = automatic_reason(items, out.envelope_sender)
    out.refs = answered_ids(items)
    out.trace = trace_of(items)
    body = body_of(msg, notes)
    if len(body) > BODY_LIMIT:
        out.problem = f"body of {len(body):,} characters is over the desk's limit of {BODY_LIMIT:,}"
        return
    out.body = body
    out.attachments = mail_attachments.collect(msg, _body_part(msg), decode_header)
