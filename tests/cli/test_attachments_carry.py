"""Attachments go where their thread goes (issue 20): a merge moves them with the duplicate's
events, and the desk's own export carries them (bytes base64, or only their record) so that
importing it restores them byte for byte. Real processes, both databases."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from supportdesk.core.desk import Desk
from supportdesk.services import tickets
from supportdesk.services.intake.mail_attachments import Part, keep
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
