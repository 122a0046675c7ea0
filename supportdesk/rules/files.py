"""Files from outside (issue 20): what the bytes are, and a name safe to show and to save.
Pure: no database, no terminal."""

from __future__ import annotations

import codecs
import re
import unicodedata

NAME_MAX = 255
MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
)
# C0 controls but tab, line feed, form feed and carriage return; DEL; C1 controls (U+0080 to
# U+009F, \xc2\x80-\xc2\x9f in UTF-8): found in the bytes, without decoding a 10 MB file
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]|\xc2[\x80-\x9f]")
EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/gzip": ".gz",
    "text/plain": ".txt",
    "text/html": ".html",
    "message/rfc822": ".eml",
}


def detect_type(data: bytes) -> str:
    """What the bytes are: png, jpeg, gif, pdf, zip or gzip by their magic number; text/plain
    when they are UTF-8 with no control characters but tab, line breaks and form feed; else
    application/octet-stream."""
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    if CONTROL_BYTES.search(data):
        return "application/octet-stream"
    return "text/plain" if is_utf8(data) else "application/octet-stream"


def is_utf8(data: bytes, chunk: int = 1 << 20) -> bool:
    """Whether `data` is UTF-8, checked a chunk at a time: decoding a 10 MB log whole would
    make a str of up to four times its size only to throw it away."""
    if data.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    with memoryview(data) as view:
        try:
            for start in range(0, len(view), chunk):
                decoder.decode(view[start : start + chunk])
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def sanitise_name(name: str | None, kind: str = "", number: int = 1) -> str:
    """A file name safe to show and to save: path separators become "_", control and format
    characters (escape sequences, bidi overrides) and leading dots and blanks go; at most
    255 characters (the extension kept). An empty result becomes `attachment-N.ext`."""
    text = (name or "").replace("/", "_").replace("\\", "_")
    text = "".join(
        c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp", "Co")
    )
    text = " ".join(text.split()).lstrip(". ")
    if not text:
        text = f"attachment-{number}{EXTENSIONS.get(kind, '.bin')}"
    if len(text) > NAME_MAX:
        _stem, dot, ext = text.rpartition(".")
        ext = dot + ext if dot and len(ext) <= 16 else ""
        text = text[: NAME_MAX - len(ext)] + ext
    return text
