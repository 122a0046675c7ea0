"""Hostile mail on both databases (issue 12): every case is filed or quarantined, never a crash;
cuts and guesses are noted on the ticket; what is quarantined opens nothing; automatic mail
never opens, reopens or confirms.

One desk per database serves every case (a desk costs seconds to build); each case uses its
own Message-ID and checks only what it changed.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.safe_text import clean
from supportdesk.services import directory, tickets
from supportdesk.services.admin.setup import init_database
from supportdesk.services.intake import mail
from supportdesk.store import Store
from tests.helpers.postgres import PG_URL, need_postgres

PRIYA = "priya@bluefin.example"


def mk(
    *headers: str | bytes,
    body: bytes = b"Hello.\r\n",
    sender: str | None = PRIYA,
    subject: str | None = "Help",
    ctype: str | None = "text/plain; charset=utf-8",
) -> bytes:
    """A message: From/Subject/Message-ID/Content-Type unless given None, then `headers`."""
    lines: list[bytes] = []
    if sender is not None:
        lines.append(f"From: Priya <{sender}>".encode())
    if subject is not None:
        lines.append(b"Subject: " + subject.encode())
    lines.append(f"Message-ID: <{uuid.uuid4().hex}@hostile.example>".encode())
    if ctype is not None:
        lines.append(b"Content-Type: " + ctype.encode())
    lines += [h.encode() if isinstance(h, str) else h for h in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@dataclass(frozen=True)
class Case:
    raw: bytes
    action: str | tuple[str, ...]
    subject: str | None = None  # the ticket's subject, exactly
    subject_len: int | None = None
    body: str | None = None  # the ticket's description (or reply body), exactly
    body_has: str | None = None
    note: str | None = None  # a substring of the ticket's mail note
    no_note: bool = False
    reason: str | None = None  # a substring of the quarantine reason
    status: str | None = None  # the referenced ticket's status afterwards
    caller_name_len: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def b64(text: str, charset: str = "utf-8") -> str:
    return base64.b64encode(text.encode(charset)).decode()


LONG = "x" * 5000
HEBREW = b64("שלח", "iso-8859-8")
CASES: dict[str, Case] = {
    # -- subjects and other headers
    "huge subject": Case(mk(subject=LONG), "opened", subject_len=300,
                         note="subject truncated from 5,000 to 300 characters"),
    "subject at the column width": Case(mk(subject="y" * 300), "opened", subject="y" * 300,
                                        no_note=True),
    "subject just past 1000": Case(mk(subject="z" * 1001), "opened", subject_len=300,
                                   note="subject truncated from 1,001"),
    "NUL in subject": Case(mk(subject="a\x00b"), "opened", subject="ab",
                           note="header: 1 NUL character removed"),
    "raw ESC in subject": Case(mk(subject="\x1b[2J\x1b]0;pwned\x07"), "opened",
                               subject="\x1b[2J\x1b]0;pwned\x07"),
    "encoded-word with ESC": Case(mk(subject="=?utf-8?q?=1B]0;pwned=07?= hi"), "opened",
                                  subject="\x1b]0;pwned\x07 hi"),
    "encoded-word unknown charset": Case(mk(subject="=?x-garbage?q?caf=E9?="), "opened",
                                         subject="café",
                                         note="header: charset 'x-garbage' unknown"),
    "encoded-word iso-8859-8-i": Case(mk(subject=f"=?iso-8859-8-i?b?{HEBREW}?="), "opened",
                                      subject="שלח", no_note=True),
    "encoded-word bad base64": Case(mk(subject="=?utf-8?b?!!!*?= x"), "opened"),
    "encoded-word unknown-8bit": Case(mk(subject="=?unknown-8bit?q?=FCber?="), "opened",
                                      subject="über", note="charset 'unknown-8bit' unknown"),
    "encoded-word non-text codec": Case(mk(subject="=?zlib?q?abc?="), "opened", subject="abc",
                                        note="charset 'zlib' unknown"),
    "encoded-word unicode-escape refused": Case(mk(subject="=?unicode-escape?q?=5Cx1b?="),
                                                "opened", subject="\\x1b",
                                                note="charset 'unicode-escape' unknown"),
    "adjacent encoded-words join": Case(mk(subject="=?utf-8?q?a?= =?utf-8?q?b?="), "opened",
                                        subject="ab"),
    "raw UTF-8 subject": Case(mk(subject="Grüße 你好"), "opened", subject="Grüße 你好"),
    "invalid UTF-8 subject": Case(mk(b"Subject: caf\xe9 \xff", subject=None), "opened",
                                  subject="caf\ufffd \ufffd"),
    "RTL override": Case(mk(subject="invoice\u202efdp.exe"), "opened",
                         subject="invoice\u202efdp.exe"),
    "markup in subject": Case(mk(subject="[bold]x[/] [link=http://e.example]y[/link] [/x]"),
                              "opened", subject="[bold]x[/] [link=http://e.example]y[/link] [/x]"),
    "blank subject": Case(mk(subject="   "), "opened", subject="(no subject)"),
    "no subject": Case(mk(subject=None), "opened", subject="(no subject)"),
    "folded subject": Case(mk(subject="part one\r\n\tpart two"), "opened",
                           subject="part one part two"),
    "1000 Received lines": Case(mk(*[f"Received: from h{i} by mx; Mon, 1 Jan 2026"
                                     for i in range(1000)]), "opened"),
    "100k header line": Case(mk("X-Long: " + "q" * 100_000), "opened"),
    "NUL in another header": Case(mk(b"X-Evil: a\x00b"), "opened"),
    "long Message-ID": Case(mk("Message-ID: <" + "m" * 2000 + "@x>"), "opened"),
    # -- senders
    "missing From": Case(mk(sender=None), "quarantined", reason="no From header"),
    "From with only a name": Case(mk(b"From: Priya Naidoo", sender=None), "quarantined",
                                  reason="no usable From address"),
    "From with two addresses": Case(mk(b"From: a@x.example, b@y.example", sender=None),
                                    "quarantined", reason="several From addresses"),
    "two From headers": Case(mk(b"From: mallory@evil.example"), "quarantined",
                             reason="several From headers"),
    "empty From": Case(mk(b"From: ", sender=None), "quarantined", reason="From address"),
    "From <>": Case(mk(b"From: <>", sender=None), "quarantined", reason="From address"),
    "From address too long": Case(mk(sender="a" * 250 + "@example.com"), "quarantined",
                                  reason="no usable From address"),
    "From with a control": Case(mk(b"From: <pri\x01ya@bluefin.example>", sender=None),
                                ("quarantined", "closed_unlisted")),
    "smuggled address in an encoded name": Case(
        mk(b"From: =?utf-8?q?=3Cpriya@bluefin.example=3E?= <mallory@evil.example>",
           sender=None), "closed_unlisted", extra={"caller_name": "<priya@bluefin.example>"}),
    "non-ASCII address": Case(mk("From: Jörg <jörg@bücher.example>".encode(), sender=None),
                              "closed_unlisted"),
    "long display name": Case(mk(("From: " + "N" * 500 + " <n@nowhere.example>").encode(),
                                 sender=None), "closed_unlisted", caller_name_len=200,
                              note="sender name truncated from 500 to 200 characters"),
    "ESC in encoded display name": Case(
        mk(b"From: =?utf-8?q?=1B[31mBoss?= <boss@nowhere.example>", sender=None),
        "closed_unlisted", extra={"caller_name": "\x1b[31mBoss"}),
    "upper-case listed address": Case(mk(sender="PRIYA@BLUEFIN.EXAMPLE"), "opened"),
    # -- charsets and bodies
    "body unknown-8bit": Case(mk(ctype="text/plain; charset=unknown-8bit", body=b"caf\xe9"),
                              "opened", body="café", note="body: charset 'unknown-8bit'"),
    "body iso-8859-8-i": Case(mk(ctype="text/plain; charset=iso-8859-8-i", body=b"\xf9\xec"),
                              "opened", body="של", no_note=True),
    "body x-garbage": Case(mk(ctype="text/plain; charset=x-garbage", body=b"\xe9t\xe9"),
                           "opened", body="été", note="charset 'x-garbage' unknown"),
    "body bad UTF-8": Case(mk(body=b"ok \xff\xfe done"), "opened", body="ok \ufffd\ufffd done"),
    "body UTF-8 surrogate bytes": Case(mk(body=b"a\xed\xa0\x80b"), "opened",
                                       body_has="a\ufffd"),
    "body utf-16 odd length": Case(mk(ctype="text/plain; charset=utf-16", body=b"\xff\xfea\x00b"),
                                   "opened"),
    "body empty charset": Case(mk(ctype="text/plain; charset=", body=b"plain"), "opened",
                               body="plain"),
    "body RFC 2231 charset": Case(mk(ctype="text/plain; charset*=utf-8''x", body=b"ok"),
                                  "opened"),
    "body windows-874": Case(mk(ctype="text/plain; charset=windows-874", body=b"\xa1"),
                             "opened", body="ก", no_note=True),
    "body gb2312": Case(mk(ctype="text/plain; charset=gb2312", body="你好".encode("gbk")),
                        "opened", body="你好", no_note=True),
    "body ks_c_5601-1987": Case(mk(ctype="text/plain; charset=ks_c_5601-1987",
                                   body="안녕".encode("euc_kr")), "opened", body="안녕"),
    "body utf-7": Case(mk(ctype="text/plain; charset=unicode-1-1-utf-7", body=b"a+AOk-"),
                       "opened", body="aé"),
    "body zlib codec": Case(mk(ctype="text/plain; charset=zlib", body=b"x\x9c"), "opened",
                            note="charset 'zlib' unknown"),
    "body undefined codec": Case(mk(ctype="text/plain; charset=undefined", body=b"hi"),
                                 "opened", body="hi", note="charset 'undefined' unknown"),
    "body latin-1 without charset": Case(mk(ctype="text/plain", body=b"na\xefve"), "opened",
                                         body="naïve", note="no charset given"),
    "base64 body with garbage": Case(mk("Content-Transfer-Encoding: base64",
                                        body=b"SGVs!!bG8=\r\n***"), "opened"),
    "broken quoted-printable": Case(mk("Content-Transfer-Encoding: quoted-printable",
                                       body=b"a=ZZb=\r\nc=4"), "opened"),
    "unknown transfer encoding": Case(mk("Content-Transfer-Encoding: x-uuencode",
                                         body=b"begin 644 x"), "opened"),
    "NUL in body": Case(mk(body=b"a\x00b\x00c"), "opened", body="abc",
                        note="body: 2 NUL characters removed"),
    "body over the limit": Case(mk(body=b"w" * 200_001), "quarantined",
                                reason="body of 200,001 characters is over"),
    "body at the limit": Case(mk(body=b"v" * 200_000), "opened", body_has="vvvv"),
    "attachment only": Case(mk(ctype='multipart/mixed; boundary="b"',
                               body=b"--b\r\nContent-Type: application/pdf\r\n"
                                    b"Content-Disposition: attachment\r\n\r\n%PDF\r\n--b--\r\n"),
                            "opened", body=""),
    "multipart alternative": Case(mk(ctype='multipart/alternative; boundary="b"',
                                     body=b"--b\r\nContent-Type: text/html\r\n\r\n<b>h</b>\r\n"
                                          b"--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
                                          b"--b--\r\n"), "opened", body_has="plain"),
    # issue 20: HTML-only mail reads as text (the HTML is kept as an attachment)
    "html only": Case(mk(ctype="text/html; charset=utf-8", body=b"<p>hi</p>"), "opened",
                      body="hi"),
    "deeply nested multipart": Case(
        mk(ctype='multipart/mixed; boundary="b0"',
           body=b"".join(f"--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{i + 1}\"\r\n\r\n"
                         .encode() for i in range(3000))),
        ("opened", "quarantined")),
    "multipart without boundary": Case(mk(ctype="multipart/mixed", body=b"--x\r\nhi"), "opened"),
    "malformed content type": Case(mk(ctype=";;;; charset==", body=b"hi"), "opened"),
    "not a message": Case(b"this is not a message", "quarantined", reason="no From header"),
    "empty input": Case(b"", "quarantined", reason="empty"),
    "binary garbage": Case(bytes(range(256)) * 40, "quarantined"),
    "headers only": Case(b"From: priya@bluefin.example\r\nSubject: x", "opened"),
    "LF line endings": Case(mk().replace(b"\r\n", b"\n"), "opened", subject="Help"),
    "CR line endings": Case(mk().replace(b"\r\n", b"\r"), ("opened", "quarantined")),
    # -- references
    "bare #N": Case(mk(subject="Order #{open} failed"), "opened"),
    "[#N] in the body only": Case(mk(body=b"see [#{open}]"), "opened"),
    "[#N] past INTEGER": Case(mk(subject="[#3000000001] x"), "opened"),
    "[#N] of no ticket": Case(mk(subject="[#987654] x"), "opened"),
    "[#N] from a stranger": Case(mk(subject="Re: [#{open}] close it",
                                    sender="mallory@evil.example"), "closed_unlisted"),
    "[#held] Yes from the primary": Case(mk(subject="Re: [#{held}] confirm", body=b"Yes"),
                                         "reply_held", status="awaiting_authorization"),
    "[#held] with a huge subject": Case(mk(subject="Re: [#{held}] " + LONG),
                                        "reply_held", status="awaiting_authorization"),
    "[#open] reply": Case(mk(subject="Re: [#{open}] more"), "reply", status="open"),
    # -- automatic mail
    "auto-replied to an open ticket": Case(mk("Auto-Submitted: auto-replied",
                                              subject="Re: [#{open}] away"), "auto_note",
                                           status="open"),
    "auto-replied to a held ticket": Case(mk("Auto-Submitted: auto-replied",
                                             subject="Re: [#{held}] yes", body=b"Yes"),
                                          "auto_note", status="awaiting_authorization"),
    "auto-generated to a waiting ticket": Case(mk("Auto-Submitted: auto-generated; owner=x",
                                                  subject="[#{pending}] ooo"), "auto_note",
                                               status="pending_customer"),
    "list mail to a waiting ticket": Case(mk("Precedence: list", subject="[#{pending}] digest"),
                                          "auto_note", status="pending_customer"),
    "auto-replied with no ticket": Case(mk("Auto-Submitted: auto-replied"), "quarantined",
                                        reason="automatic mail (Auto-Submitted: auto-replied)"),
    "Auto-Submitted: no is a person": Case(mk("Auto-Submitted: no"), "opened"),
    "Precedence bulk": Case(mk("Precedence: bulk"), "quarantined", reason="Precedence: bulk"),
    "Precedence junk": Case(mk("Precedence: junk"), "quarantined", reason="Precedence: junk"),
    "bounce (Return-Path <>)": Case(mk("Return-Path: <>", subject="Undelivered Mail"),
                                    "quarantined", reason="a bounce"),
    "bounce to a held ticket": Case(mk("Return-Path: <>", subject="[#{held}] Yes"),
                                    "auto_note", status="awaiting_authorization"),
}  # fmt: skip


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Desk, dict[str, int]]]:
    """One desk for every case: bluefin with Priya, an open, a held and a waiting ticket."""
    folder: Path = tmp_path_factory.mktemp("hostile")
    schema = None
    if request.param == "sqlite":
        url = str(folder / "desk.db")
    else:
        need_postgres()
        import psycopg

        schema = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    store = Store(url)
    desk = Desk(store, "lena", Clock(), folder / "audit.key")
    try:
        init_database(desk, admin="lena")
        directory.add_account(desk, "bluefin", "Bluefin Media", "gold")
        directory.add_contact(desk, "bluefin", "Priya Naidoo", [PRIYA], [], "primary")
        ids = {
            "open": tickets.create(desk, account="bluefin", subject="Open one", priority="medium",
                                   category="technical", channel="phone", contact_email=PRIYA),
            "held": tickets.create(desk, account="bluefin", subject="Cancel it", priority="low",
                                   category="billing", channel="phone",
                                   request_type="cancellation"),
            "pending": tickets.create(desk, account="bluefin", subject="Waiting", priority="low",
                                      category="technical", channel="phone", contact_email=PRIYA),
        }  # fmt: skip
        tickets.update_fields(desk, ids["open"], status="open")
        tickets.update_fields(desk, ids["pending"], status="pending_customer")
        assert tickets.show(desk, ids["held"]).status == "awaiting_authorization"
        yield desk, ids
    finally:
        store.dispose()
        if schema is not None:
            import psycopg

            with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _fill(raw: bytes, ids: dict[str, int]) -> bytes:
    for key, value in ids.items():
        raw = raw.replace(b"{" + key.encode() + b"}", str(value).encode())
    return raw


def _count(desk: Desk, table: str) -> int:
    return int(desk.store.query(f"SELECT count(*) FROM {table}")[0][0])


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_mail(shared: tuple[Desk, dict[str, int]], name: str) -> None:
    desk, ids = shared
    case = CASES[name]
    raw = _fill(case.raw, ids)
    before = {t: _count(desk, t) for t in ("tickets", "ticket_events", "mail_messages")}
    r = mail.ingest(desk, raw)
    expected = case.action if isinstance(case.action, tuple) else (case.action,)
    assert r.action in expected, (r.action, r.reason)
    assert _count(desk, "mail_messages") == before["mail_messages"] + 1
    if r.action == "quarantined":
        assert r.ticket_id is None and r.quarantine_id is not None
        assert _count(desk, "tickets") == before["tickets"]
        assert _count(desk, "ticket_events") == before["ticket_events"]
        kept, reason = desk.store.query(
            "SELECT raw, reason FROM mail_messages WHERE id = ?", (r.quarantine_id,)
        )[0]
        assert bytes(kept) == raw
        if case.reason:
            assert case.reason in reason
        assert "\x1b" not in clean(reason)
        return
    assert r.ticket_id is not None
    t = tickets.show(desk, r.ticket_id)
    notes = [e.body or "" for e in t.events if e.kind == "note" and "mail: " in (e.body or "")]
    if r.action in ("opened", "closed_unlisted", "held_unlisted"):
        assert _count(desk, "tickets") == before["tickets"] + 1
        text = t.description
    else:
        assert _count(desk, "tickets") == before["tickets"]
        text = next(
            (e.body or "" for e in reversed(t.events) if e.kind == "reply" and e.from_customer),
            "",
        )
    if case.subject is not None:
        assert t.subject == case.subject
    if case.subject_len is not None:
        assert len(t.subject) == case.subject_len
    if case.body is not None:
        assert text == case.body
    if case.body_has is not None:
        assert case.body_has in text
    if case.note is not None:
        assert any(case.note in n for n in notes), notes
    if case.no_note:
        assert notes == []
    if case.status is not None:
        assert t.status == case.status
    if case.caller_name_len is not None:
        assert len(t.caller_name or "") == case.caller_name_len
    if "caller_name" in case.extra:
        assert t.caller_name == case.extra["caller_name"]
    for value in (t.subject, t.description, t.caller_name or "", *notes):
        assert "\x00" not in value
        assert "\x1b" not in clean(value, multiline=True)  # shown, never obeyed
    if r.action in ("reply_held", "auto_note"):
        confirmed = desk.store.query("SELECT confirmed_at FROM tickets WHERE id = ?", (t.id,))
        assert confirmed == [(None,)]
