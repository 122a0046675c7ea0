"""Attachments go where their thread goes (issue 20): a merge moves them with the duplicate's
events, and the desk's own export carries them (bytes base64, or only their record) so that
importing it restores them byte for byte. Real processes, both databases."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from supportdesk.core.desk import Desk
from supportdesk.services import directory, tickets
from supportdesk.services.intake.mail_attachments import Part, keep
from supportdesk.store import Store
from tests.helpers.cli import run
from tests.helpers.desk import new_ticket

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40 + b"\x00\xff\xfe"
LOG = b"01:00:00 ERROR \x00\x01 php-fpm \xff\xfe\x80 [/x][bold] \x1b[2J exited\r\n" * 60


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def with_files(desk: Desk, ticket_id: int, parts: list[Part]) -> None:
    """The ticket's newest customer message came with `parts` (as `mail ingest` keeps them)."""
    with desk.write() as (s, record):
        keep(s, desk, record, ticket_id, parts)


def listing(env: dict[str, str], ticket_id: int) -> list[dict[str, object]]:
    p = run(env, "ticket", "attachment", "list", str(ticket_id), "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)  # type: ignore[no-any-return]


def saved_sha(env: dict[str, str], attachment_id: object, folder: Path) -> str:
    target = folder / f"saved-{attachment_id}"
    p = run(env, "ticket", "attachment", "save", str(attachment_id), str(target))
    assert p.returncode == 0, p.stderr
    return sha(target.read_bytes())


def test_a_merge_carries_the_duplicates_attachments(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    target = new_ticket(desk, "Shop down", contact_email="priya@bluefin.example")
    dup = new_ticket(desk, "Shop down again", contact_email="priya@bluefin.example")
    with_files(desk, dup, [Part("screenshot.png", "image/png", PNG), Part("error.log", "", LOG)])
    (tmp_path / "fix.log").write_bytes(LOG[::-1])
    tickets.reply(desk, dup, "Here is what we ran.", (str(tmp_path / "fix.log"),))
    with_files(desk, target, [Part("first.png", "image/png", PNG[:100])])
    before = listing(cli_env, dup)
    assert [a["name"] for a in before] == ["screenshot.png", "error.log", "fix.log"]

    p = run(cli_env, "ticket", "merge", str(dup), "--into", str(target))
    assert p.returncode == 0, p.stderr

    assert listing(cli_env, dup) == []
    after = listing(cli_env, target)
    assert [a["name"] for a in after] == ["screenshot.png", "error.log", "fix.log", "first.png"]
    moved = {a["id"]: a for a in after}
    for a in before:  # the same records, on the target now, with the same events
        assert {**a, "ticket": target} == moved[a["id"]]
    expected = {"first.png": PNG[:100], "screenshot.png": PNG, "error.log": LOG}
    expected["fix.log"] = LOG[::-1]
    for a in after:
        assert a["sha256"] == sha(expected[str(a["name"])])
        assert saved_sha(cli_env, a["id"], tmp_path) == a["sha256"]
    # the thread of the target shows each file under the entry it came with
    p = run(cli_env, "ticket", "show", str(target), "--json")
    shown = json.loads(p.stdout)
    files = {f["name"]: e["id"] for e in shown["events"] for f in e.get("files", [])}
    assert files == {str(a["name"]): a["event"] for a in after}
    p = run(cli_env, "ticket", "show", str(target))
    assert "error.log" in p.stdout and "\x1b" not in p.stdout
    audit = desk.store.query("SELECT changes FROM audit WHERE action = 'ticket.merge'")
    assert json.loads(audit[-1][0])["attachments_moved"] == [None, 3]


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _imported_as(desk: Desk, ref: int) -> int:
    rows = desk.store.query(
        "SELECT ticket_id FROM imported_tickets WHERE source = 'desk' AND ref = ?", (str(ref),)
    )
    assert len(rows) == 1
    return int(rows[0][0])


def _record(a: dict[str, object]) -> tuple[object, ...]:
    keys = ("name", "declared_type", "detected_type", "size", "sha256", "inline", "created_at")
    return (*(a[k] for k in keys), a["redacted_at"] is not None)


SUBJECT = "Shop down [/x] \x1b[2J [bold]again\u202e"


def ticket_with_files(desk: Desk, cli_env: dict[str, str], tmp_path: Path) -> int:
    """A ticket with a PNG, a binary log, a redacted file and a reply's file."""
    tid = new_ticket(desk, SUBJECT, contact_email="priya@bluefin.example")
    tickets.note(desk, tid, "The customer's files came by mail.")
    with_files(
        desk,
        tid,
        [
            Part("screenshot.png", "image/png", PNG, inline=True),
            Part("error.log", "text/plain", LOG),
            Part("secret.log", "text/plain", b"password=hunter2\n"),
        ],
    )
    (tmp_path / "fix.log").write_bytes(LOG[::-1])
    tickets.reply(desk, tid, "Here is what we ran.", (str(tmp_path / "fix.log"),))
    secret = next(a for a in listing(cli_env, tid) if a["name"] == "secret.log")
    p = run(cli_env, "ticket", "attachment", "redact", str(secret["id"]), "--reason", "pw")
    assert p.returncode == 0, p.stderr
    return tid


def test_the_desks_export_carries_attachments_byte_for_byte(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    tid = ticket_with_files(desk, cli_env, tmp_path)
    other = new_ticket(desk, "No files here")
    original = listing(cli_env, tid)

    out = tmp_path / "desk.jsonl"
    p = run(cli_env, "export", str(out))
    assert p.returncode == 0, p.stderr
    assert "4 attachments (3 with their bytes" in p.stdout
    assert out.stat().st_mode & 0o777 == 0o600
    lines = _lines(out)
    assert lines[0]["supportdesk_export"] == 1 and lines[0]["bytes"] is True
    files = [x for x in lines[1:] if x["type"] == "attachment" and x["ticket"] == str(tid)]
    assert [f["name"] for f in files] == ["screenshot.png", "error.log", "secret.log", "fix.log"]
    by_name = {f["name"]: f for f in files}
    assert by_name["secret.log"]["data"] is None and by_name["secret.log"]["redacted_at"]
    assert by_name["error.log"]["sha256"] == sha(LOG)
    p = run(cli_env, "export", str(out))  # never over a file unless --force
    assert p.returncode != 0 and "--force" in p.stderr and len(p.stderr.splitlines()) == 1

    p = run(cli_env, "import", str(out), "--json")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert result["format"] == "desk" and result["attachments"] >= 4
    new = _imported_as(desk, tid)
    assert new not in (tid, other)
    copied = listing(cli_env, new)
    assert [_record(a) for a in copied] == [_record(a) for a in original]
    for a in copied:
        if a["redacted_at"] is None:
            assert saved_sha(cli_env, a["id"], tmp_path) == a["sha256"]
    gone = next(a for a in copied if a["name"] == "secret.log")
    p = run(cli_env, "ticket", "attachment", "save", str(gone["id"]), cwd=tmp_path)
    assert p.returncode != 0 and "redacted" in p.stderr
    # each file under the same entry of the thread as on the original
    was, now = (
        json.loads(run(cli_env, "ticket", "show", str(t), "--json").stdout) for t in (tid, new)
    )
    assert now["subject"] == SUBJECT

    def under(shown: dict[str, object]) -> dict[str, tuple[str, str]]:
        return {
            f["name"]: (e["kind"], e["body"])
            for e in shown["events"]  # type: ignore[attr-defined]
            for f in e.get("files", [])
        }

    assert under(now) == under(was) and len(under(now)) == 4
    # the same export again: nothing new, one line, nothing changed
    p = run(cli_env, "import", str(out))
    assert p.returncode != 0 and "imported before" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_an_export_without_bytes_brings_back_the_records(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """--no-bytes: the records come back, their bytes do not (and saving one says why)."""
    tid = ticket_with_files(desk, cli_env, tmp_path)
    original = listing(cli_env, tid)
    out = tmp_path / "desk.jsonl"
    assert run(cli_env, "export", str(out)).returncode == 0
    slim = tmp_path / "slim.jsonl"
    p = run(cli_env, "export", str(slim), "--no-bytes")
    assert p.returncode == 0, p.stderr
    assert all(x.get("data") is None for x in _lines(slim))
    assert slim.stat().st_size < out.stat().st_size - len(PNG)
    p = run(cli_env, "import", str(slim), "--json")
    assert p.returncode == 0, p.stderr
    bare = listing(cli_env, _imported_as(desk, tid))
    assert [_record(a) for a in bare] == [_record(a) for a in original]
    png = next(a for a in bare if a["name"] == "screenshot.png")
    p = run(cli_env, "ticket", "attachment", "save", str(png["id"]), cwd=tmp_path)
    assert p.returncode != 0 and "left them out" in p.stderr


def test_an_export_whose_bytes_do_not_match_imports_nothing(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    from tests.helpers.desk import dump

    tid = new_ticket(desk, "Files", contact_email="priya@bluefin.example")
    tickets.note(desk, tid, "Files came.")
    with_files(desk, tid, [Part("a.png", "image/png", PNG), Part("b.log", "", LOG)])
    out = tmp_path / "desk.jsonl"
    assert run(cli_env, "export", str(out)).returncode == 0
    lines = out.read_bytes().splitlines()
    n = next(i for i, x in enumerate(lines) if b'"name":"b.log"' in x)
    f = json.loads(lines[n])
    f["data"] = base64.b64encode(LOG[:-1] + b"\x00").decode()
    lines[n] = json.dumps(f).encode()
    out.write_bytes(b"\n".join(lines) + b"\n")
    before = dump(desk.store)
    p = run(cli_env, "import", str(out))
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1
    assert "do not match" in p.stderr and "Traceback" not in p.stderr
    assert dump(desk.store) == before
    for bad in (b"{not json\n", b'{"supportdesk_export": 1}\n{"type": "ticket"}\n'):
        out.write_bytes(bad)
        p = run(cli_env, "import", str(out), "--format", "desk")
        assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert dump(desk.store) == before


def test_export_memory_stays_bounded(desk: Desk) -> None:
    """Forty files of 512 KiB (20 MiB): the export holds one file's bytes at a time."""
    import tracemalloc

    from supportdesk.services.intake.export_desk import write_export

    big = bytes(range(256)) * 2048
    for n in range(8):
        tid = new_ticket(desk, f"Files {n}")
        tickets.note(desk, tid, "Files came.")
        with_files(desk, tid, [Part(f"f{i}.bin", "", big[i:] + big[:i]) for i in range(5)])

    class Counter:
        written = 0

        def write(self, data: bytes) -> int:
            self.written += len(data)
            return len(data)

    sink = Counter()
    tracemalloc.start()
    try:
        summary = write_export(desk, sink, page=3)  # type: ignore[arg-type]
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.attachments_with_bytes == 40
    assert sink.written > 40 * len(big) * 4 // 3
    assert peak < 6 * len(big) * 4 // 3, f"peak {peak:,} bytes"


def test_a_restore_keeps_each_ticket_on_its_account_and_makes_no_one_primary(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The desk's export, imported on a new desk: one account per exported account (it made
    one per customer address, the first contact its primary: a former secondary contact
    owned the account and could cancel it); no contact is made (the export has no roles), a
    ticket keeps its address as its sender. Found by an attacking helper."""
    directory.add_contact(desk, "bluefin", "Sam Second", ["sam@bluefin.example"], [], "secondary")
    directory.add_contact(desk, "bluefin", "Ava Auth", ["ava@bluefin.example"], [], "authorized")
    directory.add_account(desk, "corvid", "Corvid Labs", "gold")
    directory.add_contact(desk, "corvid", "Cora Vid", ["cora@corvid.example"], [], "primary")
    sent = {"sam@bluefin.example": "bluefin", "ava@bluefin.example": "bluefin",
            "priya@bluefin.example": "bluefin", "cora@corvid.example": "corvid"}  # fmt: skip
    for email, account in sent.items():
        new_ticket(desk, f"From {email}", account=account, contact_email=email)
    out = tmp_path / "desk.jsonl"
    assert run(cli_env, "export", str(out)).returncode == 0

    restored_url = (
        str(tmp_path / "restored.db") if desk.store.is_sqlite else request.getfixturevalue("pg_url")
    )
    env = dict(cli_env, SUPPORTDESK_DB=restored_url,
               SUPPORTDESK_AUDIT_KEY=str(tmp_path / "restored.key"))  # fmt: skip
    p = run(env, "init", "--admin", "lena")
    assert p.returncode == 0, p.stderr
    p = run(env, "import", str(out), "--json")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert (result["accounts_created"], result["contacts_created"]) == (2, 0)
    restored = Store(restored_url)
    try:
        accounts = sorted(r[0] for r in restored.query("SELECT id FROM accounts"))
        assert accounts == ["bluefin", "corvid"]
        assert restored.query("SELECT count(*) FROM contacts")[0][0] == 0
        rows = restored.query("SELECT subject, account_id, sender, contact_id FROM tickets")
        assert {s: (a, e, c) for s, a, e, c in rows} == {
            f"From {email}": (account, email, None) for email, account in sent.items()
        }
    finally:
        restored.dispose()
