"""Attachments in and out (issue 20, items 2 and 3), in real processes on both databases:
`mail ingest` keeps every part that is not the body, byte for byte, `ticket attachment
list|save` shows and writes them, oversized ones are refused with a note, hostile names are
sanitised."""

from __future__ import annotations

import hashlib
import json
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import sla, tickets
from tests.helpers.cli import run, run_bytes

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
INLINE_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00inline\xff" * 300
LOG = b"2026-12-07 01:00:00 ERROR php-fpm: pool www exited on signal 11\n" * 50
HTML = (
    "<html><body><p>Hello,</p><p>the <b>shop</b> is down: <img src='cid:shot1'></p></body></html>"
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ingest(env: dict[str, str], data: bytes, tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "message.eml"
    path.write_bytes(data)
    with path.open("rb") as stdin:
        p = run_bytes(env, "mail", "ingest", "--json", stdin=stdin.fileno())
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)  # type: ignore[no-any-return]


def rich_mail(message_id: str = "<att-1@bluefin.example>") -> bytes:
    """HTML-only body with an inline image beside it, a PNG and a log attached."""
    outer = MIMEMultipart("mixed")
    outer["From"] = "Priya <priya@bluefin.example>"
    outer["To"] = "support@desk.example"
    outer["Subject"] = "Shop down, screenshots attached"
    outer["Message-ID"] = message_id
    related = MIMEMultipart("related")
    related.attach(MIMEText(HTML, "html", "utf-8"))
    inline = MIMEImage(INLINE_PNG, "png")
    inline.add_header("Content-ID", "<shot1>")
    inline.add_header("Content-Disposition", "inline", filename="shot1.png")
    related.attach(inline)
    outer.attach(related)
    png = MIMEImage(PNG, "png")
    png.add_header("Content-Disposition", "attachment", filename="screenshot.png")
    outer.attach(png)
    log = MIMEBase("text", "plain")
    log.set_payload(LOG)
    from email import encoders

    encoders.encode_base64(log)
    log.add_header("Content-Disposition", "attachment", filename="error.log")
    outer.attach(log)
    return outer.as_bytes()


def listing(env: dict[str, str], ticket_id: object) -> list[dict[str, object]]:
    p = run(env, "ticket", "attachment", "list", str(ticket_id), "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)  # type: ignore[no-any-return]


def test_a_mail_with_files_round_trips_byte_for_byte(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    r = ingest(cli_env, rich_mail(), tmp_path)
    assert r["action"] == "opened", r
    t = tickets.show(desk, r["ticket"])  # type: ignore[arg-type]
    assert "the shop is down" in (t.description or "") and "<b>" not in (t.description or "")
    rows = listing(cli_env, r["ticket"])
    by_name = {a["name"]: a for a in rows}
    assert set(by_name) == {"message.html", "shot1.png", "screenshot.png", "error.log"}
    assert by_name["shot1.png"]["inline"] is True
    assert by_name["screenshot.png"]["detected_type"] == "image/png"
    assert by_name["error.log"]["detected_type"] == "text/plain"
    assert by_name["message.html"]["declared_type"] == "text/html"
    assert len({a["event"] for a in rows}) == 1 and rows[0]["event"] is not None
    expected = {
        "shot1.png": INLINE_PNG,
        "screenshot.png": PNG,
        "error.log": LOG,
        "message.html": HTML.encode(),
    }
    for name, data in expected.items():
        a = by_name[name]
        assert a["sha256"] == sha(data) and a["size"] == len(data)
        p = run(cli_env, "ticket", "attachment", "save", str(a["id"]), cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert sha((tmp_path / name).read_bytes()) == sha(data)
    # never over an existing file unless --force
    a = by_name["screenshot.png"]
    p = run(cli_env, "ticket", "attachment", "save", str(a["id"]), cwd=tmp_path)
    assert p.returncode != 0 and "--force" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    (tmp_path / "screenshot.png").write_bytes(b"other")
    p = run(cli_env, "ticket", "attachment", "save", str(a["id"]), "--force", cwd=tmp_path)
    assert p.returncode == 0 and (tmp_path / "screenshot.png").read_bytes() == PNG
    target = tmp_path / "sub.png"
    p = run(cli_env, "ticket", "attachment", "save", str(a["id"]), str(target))
    assert p.returncode == 0 and target.read_bytes() == PNG


def _limits(desk: Desk, each: int, total: int) -> None:
    text = current_policy(desk).text
    lines = f"attachment_max = {each}\nmessage_attachments_max = {total}\n"
    if "[intake]\n" in text:
        text = text.replace("[intake]\n", "[intake]\n" + lines, 1)
    else:
        text += "\n[intake]\n" + lines
    sla.load_policy(desk, parse_policy(text, "p.toml"))


def test_oversized_attachments_are_refused_with_a_note(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    _limits(desk, len(PNG), len(PNG) + len(LOG) - 1)
    outer = MIMEMultipart("mixed")
    outer["From"] = "priya@bluefin.example"
    outer["Subject"] = "big files"
    outer["Message-ID"] = "<att-big@bluefin.example>"
    outer.attach(MIMEText("See attached.", "plain"))
    for name, data in (("ok.png", PNG), ("huge.bin", b"\x00" * (len(PNG) + 1)), ("late.log", LOG)):
        part = MIMEApplication(data)
        part.add_header("Content-Disposition", "attachment", filename=name)
        outer.attach(part)
    r = ingest(cli_env, outer.as_bytes(), tmp_path)
    assert r["action"] == "opened"
    assert [a["name"] for a in listing(cli_env, r["ticket"])] == ["ok.png"]
    t = tickets.show(desk, r["ticket"])  # type: ignore[arg-type]
    notes = " ".join(e.body or "" for e in t.events if e.kind == "note")
    assert "'huge.bin'" in notes and "per attachment" in notes
    assert "'late.log'" in notes and "of attachments" in notes


def test_hostile_file_names_are_sanitised_and_shown_literally(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    outer = MIMEMultipart("mixed")
    outer["From"] = "priya@bluefin.example"
    outer["Subject"] = "names"
    outer["Message-ID"] = "<att-names@bluefin.example>"
    outer.attach(MIMEText("Files.", "plain"))
    for name in ("../../etc/passwd", "\x1b[2J.txt", "invoice\u202egnp.exe", "...hidden"):
        part = MIMEApplication(b"data\n")
        part.add_header("Content-Disposition", "attachment", filename=name)
        outer.attach(part)
    r = ingest(cli_env, outer.as_bytes(), tmp_path)
    names = [a["name"] for a in listing(cli_env, r["ticket"])]
    assert names == ["_.._etc_passwd", "[2J.txt", "invoicegnp.exe", "hidden"]
    p = run(cli_env, "ticket", "attachment", "list", str(r["ticket"]))
    assert p.returncode == 0 and "\x1b" not in p.stdout and "\u202e" not in p.stdout
    saved = tmp_path / "saved"
    saved.mkdir()
    for a in listing(cli_env, r["ticket"]):
        p = run(cli_env, "ticket", "attachment", "save", str(a["id"]), cwd=saved)
        assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in saved.iterdir()) == sorted(names)


def test_save_of_a_missing_attachment_is_one_line(cli_env: dict[str, str]) -> None:
    p = run(cli_env, "ticket", "attachment", "save", "999999")
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1


def test_reply_attach_reaches_the_smtp_server_byte_for_byte(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    from tests.helpers.desk import new_ticket
    from tests.helpers.smtp import Tls, smtp_server, with_mail, write_config

    with_mail(desk)
    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    (tmp_path / "fix.png").write_bytes(PNG)
    (tmp_path / "steps.log").write_bytes(LOG)
    before = desk.store.query("SELECT count(*) FROM attachments")[0][0]
    p = run(
        cli_env, "ticket", "reply", str(tid), "See attached.", "--attach", str(tmp_path / "nope")
    )
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1
    assert desk.store.query("SELECT count(*) FROM attachments")[0][0] == before
    args = ["--attach", str(tmp_path / "fix.png"), "--attach", str(tmp_path / "steps.log")]
    p = run(cli_env, "ticket", "reply", str(tid), "See attached.", *args)
    assert p.returncode == 0, p.stderr
    rows = listing(cli_env, tid)
    assert [(a["name"], a["sha256"]) for a in rows] == [
        ("fix.png", sha(PNG)),
        ("steps.log", sha(LOG)),
    ]
    assert all(a["outbox"] is not None for a in rows)
    tls = Tls.make(tmp_path)
    with smtp_server(tls) as srv:
        config = str(write_config(tmp_path, srv, tls))
        p = run(cli_env, "mail", "send", "--once", "--config", config)
        assert p.returncode == 0, p.stderr
    sent = [m.message for m in srv.messages]
    with_files = [m for m in sent if any(True for _ in m.iter_attachments())]
    assert len(with_files) == 1
    got = {a.get_filename(): a.get_payload(decode=True) for a in with_files[0].iter_attachments()}
    assert {k: sha(v) for k, v in got.items()} == {"fix.png": sha(PNG), "steps.log": sha(LOG)}
    body = with_files[0].get_body(("plain",))
    assert body is not None and "See attached." in body.get_content()


def test_redaction_removes_the_bytes_and_keeps_the_record(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    r = ingest(cli_env, rich_mail("<att-redact@bluefin.example>"), tmp_path)
    log = next(a for a in listing(cli_env, r["ticket"]) if a["name"] == "error.log")
    p = run(cli_env, "ticket", "attachment", "redact", str(log["id"]), "--reason", "a password")
    assert p.returncode == 0, p.stderr
    after = next(a for a in listing(cli_env, r["ticket"]) if a["id"] == log["id"])
    assert after["redacted_at"] is not None
    assert (after["name"], after["size"], after["sha256"]) == (log["name"], len(LOG), sha(LOG))
    assert desk.store.query("SELECT data FROM attachments WHERE id = ?", (log["id"],)) == [(None,)]
    p = run(cli_env, "ticket", "attachment", "save", str(log["id"]), cwd=tmp_path)
    assert p.returncode != 0 and "redacted" in p.stderr and not (tmp_path / "error.log").exists()
    p = run(cli_env, "ticket", "attachment", "redact", str(log["id"]), "--reason", "again")
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1
    audit = desk.store.query("SELECT count(*) FROM audit WHERE action = 'attachment.redact'")
    assert audit == [(1,)]


def test_a_forwarded_message_is_kept_as_its_bytes_and_reads_as_text(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    from email.mime.message import MIMEMessage

    inner = MIMEText("The original error: 500 on /checkout", "plain")
    inner["From"] = "shop@bluefin.example"
    inner["Subject"] = "Alert"
    outer = MIMEMultipart("mixed")
    outer["From"] = "priya@bluefin.example"
    outer["Subject"] = "Forwarding the alert"
    outer["Message-ID"] = "<att-fwd@bluefin.example>"
    outer.attach(MIMEText("See the alert below.", "plain"))
    outer.attach(MIMEMessage(inner))
    r = ingest(cli_env, outer.as_bytes(), tmp_path)
    rows = listing(cli_env, r["ticket"])
    assert [(a["name"], a["declared_type"]) for a in rows] == [
        ("attachment-1.eml", "message/rfc822")
    ]
    p = run(cli_env, "ticket", "attachment", "save", str(rows[0]["id"]), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    saved = (tmp_path / "attachment-1.eml").read_bytes()
    assert sha(saved) == rows[0]["sha256"] and b"500 on /checkout" in saved
    from supportdesk.services.tickets.attachments import text_of

    view, text = text_of(desk, rows[0]["id"])  # type: ignore[arg-type]
    assert view.readable and "Subject: Alert" in text
    p = run(cli_env, "ticket", "show", str(r["ticket"]), "--json")
    assert p.returncode == 0, p.stderr
    shown = json.loads(p.stdout)
    files = [f for e in shown["events"] for f in e.get("files", [])]
    assert [f["name"] for f in files] == ["attachment-1.eml"]
    p = run(cli_env, "ticket", "show", str(r["ticket"]))
    assert f"file {rows[0]['id']}: attachment-1.eml (message/rfc822" not in p.stdout
    assert f"file {rows[0]['id']}: attachment-1.eml (text/plain, " in p.stdout


def test_the_limits_are_policy_and_leave_room_in_the_raw_message_limit() -> None:
    import email.policy

    from supportdesk.rules.policy import PolicyError
    from tests.helpers.policy import POLICY

    rules = parse_policy(POLICY, "p.toml").intake
    assert (rules.attachment_max, rules.message_attachments_max) == (10 << 20, 25 << 20)
    text = POLICY + "\n[intake]\nattachment_max = 2048\nmessage_attachments_max = 4096\n"
    rules = parse_policy(text, "p.toml").intake
    assert (rules.attachment_max, rules.message_attachments_max) == (2048, 4096)
    try:
        parse_policy(POLICY + '\n[intake]\nattachment_max = "big"\n', "p.toml")
    except PolicyError as exc:
        assert "attachment_max" in str(exc)
    else:
        raise AssertionError("a bad attachment_max was accepted")
    # the default 25 MB of attachments, base64-encoded in one message, fits the raw limit
    from supportdesk.rules.policy_intake import raw_message_max

    outer = MIMEMultipart("mixed")
    outer["From"] = "priya@bluefin.example"
    outer.attach(MIMEText("files", "plain"))
    for n in range(3):
        size = (10 << 20) if n < 2 else (5 << 20)
        part = MIMEApplication(b"\xff" * size)
        part.add_header("Content-Disposition", "attachment", filename=f"f{n}.bin")
        outer.attach(part)
    default = parse_policy(POLICY, "p.toml").intake
    assert len(outer.as_bytes(policy=email.policy.SMTP)) < raw_message_max(default)


def test_types_come_from_the_bytes_and_names_are_made_safe() -> None:
    from supportdesk.rules.files import detect_type, sanitise_name

    cases = {
        PNG: "image/png",
        b"\xff\xd8\xff\xe0JFIF": "image/jpeg",
        b"GIF89a..": "image/gif",
        b"%PDF-1.7": "application/pdf",
        b"PK\x03\x04zip": "application/zip",
        b"\x1f\x8b\x08gz": "application/gzip",
        "naïve log\r\n\tline\f".encode(): "text/plain",
        b"ansi \x1b[31mred": "application/octet-stream",
        "c1 \x85 control".encode(): "application/octet-stream",
        b"\xff\xfe not utf-8": "application/octet-stream",
    }
    assert {k: detect_type(k) for k in cases} == cases
    assert sanitise_name("..\\..\\boot.ini") == "_.._boot.ini"
    assert sanitise_name("   ") == "attachment-1.bin"
    assert sanitise_name(None, "image/png", 3) == "attachment-3.png"
    long = sanitise_name("a" * 400 + ".log")
    assert len(long) == 255 and long.endswith(".log")
    assert sanitise_name("line\u2028break\u200b.txt") == "linebreak.txt"


def _files(sizes: list[int], message_id: str) -> bytes:
    import email.policy
    import random

    outer = MIMEMultipart("mixed")
    outer["From"] = "priya@bluefin.example"
    outer["Subject"] = "files"
    outer["Message-ID"] = message_id
    outer.attach(MIMEText("See attached.", "plain"))
    for i, size in enumerate(sizes):
        part = MIMEApplication(random.Random(i).randbytes(size))
        part.add_header("Content-Disposition", "attachment", filename=f"f{i}.bin")
        outer.attach(part)
    return outer.as_bytes(policy=email.policy.SMTP)


def test_the_raw_limit_follows_the_policy_through_the_pipe(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    from supportdesk.rules.policy_intake import raw_message_max

    mb = 1 << 20
    _limits(desk, mb, mb)
    limit = raw_message_max(current_policy(desk).intake)
    p = run(cli_env, "policy", "show")
    assert p.returncode == 0 and f"raw message: at most {limit:,} bytes" in p.stdout
    fits = _files([mb // 2, mb // 2], "<fits@bluefin.example>")
    r = ingest(cli_env, fits, tmp_path)
    assert r["action"] == "opened" and len(listing(cli_env, r["ticket"])) == 2
    big = _files([5 * mb], "<five@bluefin.example>")
    r = ingest(cli_env, big, tmp_path)
    assert r["action"] == "quarantined" and r["ticket"] is None
    assert r["reason"] == (
        f"oversized: {len(big):,} bytes (at most {limit:,}, from the policy's attachment "
        "limits); the first 1,048,576 kept"
    )
    kept = desk.store.query("SELECT size, raw FROM mail_messages WHERE id = ?", (r["quarantine"],))
    assert kept[0][0] == len(big) and bytes(kept[0][1]) == big[: 1 << 20]


MEASURE = (
    "import resource, subprocess, sys\n"
    "p = subprocess.run([sys.executable, '-m', 'supportdesk', 'mail', 'ingest', '--json'])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(f'rc={p.returncode} peak_kb={peak}', file=sys.stderr)\n"
)


def _peak_kb(env: dict[str, str], path: Path) -> int:
    """One `mail ingest` of `path`: its own peak RSS (a small Python in between starts it,
    since a child's peak starts from its parent's at fork)."""
    import subprocess
    import sys

    with path.open("rb") as stdin:
        p = subprocess.run(
            [sys.executable, "-c", MEASURE], stdin=stdin, capture_output=True, env=env, timeout=300
        )
    rc, peak = p.stderr.decode().split()[-2:]
    assert rc == "rc=0" and json.loads(p.stdout)["action"] == "opened", p.stderr[-2000:]
    return int(peak.removeprefix("peak_kb="))


def test_a_large_message_costs_little_more_than_its_size_in_memory(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 20: 20 MB of attachments (27 MB raw) once took ~7x their raw size over a small
    message's peak (the whole message as a 4-byte-a-character StringIO, every file decoded
    at once, ORM rows holding them to the commit); now about 3x: the raw bytes, the parsed
    tree, one file decoded and the database's cache."""
    small = tmp_path / "small.eml"
    small.write_bytes(_files([], "<small@bluefin.example>"))
    big = tmp_path / "big.eml"
    big.write_bytes(_files([8 << 20, 8 << 20, 4 << 20], "<big@bluefin.example>"))
    extra_kb = _peak_kb(cli_env, big) - _peak_kb(cli_env, small)
    raw_kb = big.stat().st_size // 1024
    assert extra_kb < 3.5 * raw_kb, (extra_kb, raw_kb)
