"""How large a message the desk reads, and how it reads a large one (issue 20): the raw limit
comes from the policy's attachment limits (base64 x4/3, line breaks x78/76, 2 MiB for the
body and headers), a message over it is refused before it is parsed, one within it is filed
byte for byte, on both databases; the decoding shortcuts give what the email package gives."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import io
import os
import random
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.rules.files import detect_type, is_utf8
from supportdesk.rules.policy_intake import MESSAGE_MARGIN, intake_json, intake_lines
from supportdesk.rules.policy_intake import raw_message_max as raw_max
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import sla
from supportdesk.services.intake import mail, mail_attachments, mail_parse
from tests.helpers.policy import POLICY

MB = 1 << 20


def _policy_with(desk: Desk, each: int, total: int) -> None:
    text = current_policy(desk).text
    lines = f"attachment_max = {each}\nmessage_attachments_max = {total}\n"
    if "[intake]\n" in text:
        text = text.replace("[intake]\n", "[intake]\n" + lines, 1)
    else:
        text += "\n[intake]\n" + lines
    sla.load_policy(desk, parse_policy(text, "p.toml"))


def _files_mail(sizes: list[int], message_id: str, crlf: bool = True) -> tuple[bytes, list[bytes]]:
    outer = MIMEMultipart("mixed")
    outer["From"] = "priya@bluefin.example"
    outer["Subject"] = "files"
    outer["Message-ID"] = message_id
    outer.attach(MIMEText("See attached.", "plain"))
    files = []
    for i, size in enumerate(sizes):
        data = random.Random(i).randbytes(size)
        files.append(data)
        part = MIMEApplication(data)
        part.add_header("Content-Disposition", "attachment", filename=f"f{i}.bin")
        outer.attach(part)
    policy = email.policy.SMTP if crlf else email.policy.compat32
    return outer.as_bytes(policy=policy), files


def _rules(total: int) -> object:
    text = POLICY + f"\n[intake]\nattachment_max = {total}\nmessage_attachments_max = {total}\n"
    return parse_policy(text, "p.toml").intake


def test_the_raw_limit_is_the_attachments_encoded_plus_room() -> None:
    default = parse_policy(POLICY, "p.toml").intake
    assert raw_max(default) == 35_872_340 + MESSAGE_MARGIN  # 25 MiB: 34,952,536 + CRLFs
    for total in (0, 1, 3, 1000, MB, 50 * MB, 100 * MB):
        limit = raw_max(_rules(total))  # type: ignore[arg-type]
        assert total * 4 / 3 * 78 / 76 + MESSAGE_MARGIN <= limit
        assert limit <= total * 4 / 3 * 78 / 76 + MESSAGE_MARGIN + 8
    # as a mail client sends it (CRLF, 76-character lines): the policy's whole allowance in
    # one file or in many fits, with room to spare for a long body
    for sizes in ([4 * MB], [MB] * 4, [MB // 8] * 32):
        raw, _files = _files_mail(sizes, "<fits@x>")
        assert len(raw) + 1_000_000 < raw_max(_rules(sum(sizes)))  # type: ignore[arg-type]
    lines = "\n".join(intake_lines(parse_policy(POLICY, "p.toml")))
    assert f"raw message: at most {raw_max(default):,} bytes" in lines
    assert intake_json(parse_policy(POLICY, "p.toml"))["raw_message_max"] == raw_max(default)


def test_a_50_mb_policy_files_45_mb_of_attachments_byte_for_byte(desk: Desk) -> None:
    _policy_with(desk, 50 * MB, 50 * MB)
    raw, files = _files_mail([15 * MB, 15 * MB, 15 * MB], "<forty-five@bluefin.example>")
    assert len(raw) > 36 * MB  # more than the old fixed limit
    r = mail.ingest(desk, raw)
    del raw
    assert r.action == "opened", r
    rows = desk.store.query(
        "SELECT name, size, sha256 FROM attachments WHERE ticket_id = ? ORDER BY id",
        (r.ticket_id,),
    )
    assert rows == [
        (f"f{i}.bin", len(data), hashlib.sha256(data).hexdigest()) for i, data in enumerate(files)
    ]
    stored = desk.store.query(
        "SELECT data FROM attachments WHERE ticket_id = ? AND name = 'f1.bin'", (r.ticket_id,)
    )
    assert bytes(stored[0][0]) == files[1]


def test_a_1_mb_policy_refuses_a_5_mb_message_before_parsing_it(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    _policy_with(desk, MB, MB)
    raw, _files = _files_mail([4 * MB], "<five@bluefin.example>")
    assert len(raw) > 5 * 10**6
    parsed_sizes: list[int] = []
    real_parse = mail_parse.parse

    def parse(data: bytes, envelope: str | None = None) -> mail_parse.Parsed:
        parsed_sizes.append(len(data))
        return real_parse(data, envelope)

    monkeypatch.setattr(mail_parse, "parse", parse)
    before = desk.store.query("SELECT count(*) FROM tickets")
    r = mail.ingest(desk, raw)
    limit = mail_parse.max_message(desk)
    assert limit == raw_max(current_policy(desk).intake) < 4 * MB
    assert r.action == "quarantined" and r.reason is not None
    assert r.reason == (
        f"oversized: {len(raw):,} bytes (at most {limit:,}, from the policy's attachment "
        f"limits); the first {mail_parse.KEEP_OVERSIZED:,} kept"
    )
    assert "\n" not in r.reason
    assert parsed_sizes == [mail_parse.KEEP_OVERSIZED]  # only the part kept was read
    row = desk.store.query(
        "SELECT size, raw, sender FROM mail_messages WHERE id = ?", (r.quarantine_id,)
    )
    assert row[0][0] == len(raw) and bytes(row[0][1]) == raw[: mail_parse.KEEP_OVERSIZED]
    assert row[0][2] == "priya@bluefin.example"
    assert desk.store.query("SELECT count(*) FROM tickets") == before
    assert desk.store.query("SELECT count(*) FROM attachments") == [(0,)]


def _leaf(payload: bytes, cte: str = "base64") -> object:
    raw = (
        b"From: a@b.example\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n" + payload
    )
    return mail_parse.message_of(raw)


def test_base64_decodes_as_the_email_package_decodes_it() -> None:
    rng = random.Random(20)
    bodies = [b"", b"\r\n", b"QQ==", b"QUI=\r\n", b"QUJD", b"QQ=\r\n=\r\n", b"QQ", b"QUJDR"]
    bodies += [b"QQ==QUJD", b"Q===", b"====", b"QU!JD", b"QUJD\r\n\xff\xfe", b"QU JD", b"=QUJD"]
    bodies += [b"QUJD\nRA==\n", b"QUJD\rRA==\r", b"QUJD==\r\n", b"-QUJD", b"QUJD\x00"]
    for _ in range(300):
        data = rng.randbytes(rng.randrange(0, 400))
        text = base64.b64encode(data)
        width = rng.choice([4, 76, 64, 1000, 3])
        sep = rng.choice([b"\r\n", b"\n", b"\r"])
        body = sep.join(text[i : i + width] for i in range(0, len(text), width)) + sep
        if rng.random() < 0.3:  # damage it: a stray character, lost padding, a blank
            at = rng.randrange(0, len(body) + 1)
            body = body[:at] + rng.choice([b"*", b" ", b"=", b"\t", b"\xc3\xa9", b""]) + body[at:]
        bodies.append(body)
    for body in bodies:
        for cte in ("base64", "BASE64", "quoted-printable", "7bit"):
            part = _leaf(body, cte)
            expected = _leaf(body, cte).get_payload(decode=True)  # type: ignore[attr-defined]
            assert mail_attachments.bytes_of(part) == expected, (body, cte)


def test_a_kept_part_lets_its_encoded_text_go() -> None:
    msg = mail_parse.message_of(_files_mail([3000], "<t@x>")[0])
    parts = mail_attachments.collect(msg, None, mail_parse.decode_header)
    parts = [p for p in parts if p.declared_type == "application/octet-stream"]
    data = random.Random(0).randbytes(3000)
    assert [p.name for p in parts] == ["f0.bin"] and parts[0].data is None
    assert parts[0].take() == data
    assert parts[0].source.get_payload() == ""  # the 4 KB of base64 are gone from the tree


def _samples() -> list[bytes]:
    """Messages whose large base64 parts the parser keeps as spans of the raw bytes, and
    some it must not: periodic and repeated files, LF and CRLF, a forwarded message, a
    single-part message, a damaged part, non-ASCII bytes."""
    from email.mime.message import MIMEMessage

    out = [_files_mail([100, 5000, 70_000, 300_000], "<m@x>", crlf)[0] for crlf in (True, False)]
    outer = MIMEMultipart("mixed")
    outer["From"] = "a@b.example"
    for data in (b"\xff" * 200_000, b"\xff" * 200_000, b"\x00" * 99_999, os.urandom(100_000)):
        outer.attach(MIMEApplication(data))
    inner = MIMEMultipart("mixed")
    inner["Subject"] = "forwarded"
    inner.attach(MIMEApplication(b"\xff" * 150_000))
    outer.attach(MIMEMessage(inner))
    out += [outer.as_bytes(), outer.as_bytes(policy=email.policy.SMTP)]
    big = base64.encodebytes(os.urandom(120_000))
    out.append(b"From: a@b.example\r\nContent-Transfer-Encoding: base64\r\n\r\n" + big)
    out.append(b"From: a@b.example\nContent-Transfer-Encoding: base64\n\n" + big.rstrip())
    broken = big[:50_000] + b"*" + big[50_000:]
    out.append(b"From: a@b.example\nContent-Transfer-Encoding: base64\n\n" + broken)
    out.append(b"From: a@b.example\nSubject: =?utf-8?q?caf=C3=A9?=\n\n\xff\xfebody\r\n.")
    out.append(b"From: a@b.example\r\n\r\n" + os.urandom(300_000))
    return out


def test_the_message_is_parsed_as_message_from_bytes_parses_it() -> None:
    spans = 0
    for raw in _samples():
        ours = mail_parse.message_of(raw)
        theirs = email.message_from_bytes(raw, policy=email.policy.compat32)
        assert ours.as_bytes() == theirs.as_bytes()
        pairs = list(zip(ours.walk(), theirs.walk(), strict=True))
        for mine, stdlib in pairs:
            spans += getattr(mine, "span", None) is not None
            if not mine.is_multipart():
                assert mine.get_payload() == stdlib.get_payload()
                assert mine.get_payload(decode=True) == stdlib.get_payload(decode=True)
                assert mail_attachments.bytes_of(mine) == stdlib.get_payload(decode=True)
    assert spans >= 12  # the large clean parts were kept as spans, not as text


def test_utf8_is_checked_a_chunk_at_a_time() -> None:
    text = ("é" * 10 + "€😀 ok\n").encode()
    for chunk in (1, 2, 3, 5, 7, 1 << 20):
        assert is_utf8(text, chunk)
        assert not is_utf8(text + b"\xe2\x82", chunk)  # cut inside the last character
        assert not is_utf8(text[:5] + b"\xff" + text[5:], chunk)
    assert detect_type(text * 1000) == "text/plain"
    assert detect_type(b"log line\n" * 1000 + b"\xc3") == "application/octet-stream"


class _Trickle(io.RawIOBase):
    """A stream that returns at most 7 bytes a read, as a raw pipe may."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self.data.read(min(len(buffer), 7))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_reading_stops_at_the_limit_and_drains_the_rest() -> None:
    data = bytes(range(256)) * 40
    for stream in (io.BytesIO(data), _Trickle(data)):
        got = mail_parse.read_limited(stream, len(data))  # type: ignore[arg-type]
        assert (got.data, got.size, got.oversized) == (data, len(data), False)
    for stream in (io.BytesIO(data), _Trickle(data)):
        got = mail_parse.read_limited(stream, len(data) - 1, keep=100)  # type: ignore[arg-type]
        assert (got.data, got.size, got.oversized) == (data[:100], len(data), True)
        assert stream.read() == b""  # drained
    assert mail_parse.read_limited(None, 10) == mail_parse.Received(b"", 0, 10)
