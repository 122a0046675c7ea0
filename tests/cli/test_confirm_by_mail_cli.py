"""Confirmation by authenticated mail from the command line (issue 19, item 2), in real
processes on both databases: `ticket request-confirmation` mails a code it never prints,
`mail ingest` on stdin confirms with an authenticated "yes" carrying it and keeps a forged
one as the customer's words, and neither `ticket show`, `mail outbox` nor the audit print
the code."""

from __future__ import annotations

from pathlib import Path

from supportdesk.core.desk import Desk
from tests.helpers.authmail import (
    DMARC_PASS,
    PRIYA,
    RECEIVED,
    SAM,
    answer,
    held_ticket,
    reply,
    sent_code,
    use_auth_policy,
)
from tests.helpers.cli import one_line_error, run, run_bytes
from tests.helpers.desk import dump


def ingest(env: dict[str, str], data: bytes, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "reply.eml"
    path.write_bytes(data)
    with path.open("rb") as stdin:
        p = run_bytes(env, "mail", "ingest", stdin=stdin.fileno())
    return p.returncode, p.stdout.decode() + p.stderr.decode()


def contact_id(desk: Desk, email: str) -> str:
    rows = desk.store.query("SELECT contact_id FROM contact_points WHERE value = ?", (email,))
    return str(rows[0][0])


def test_request_confirm_and_the_code_never_printed(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    use_auth_policy(desk)
    tid = held_ticket(desk)
    first = sent_code(desk, tid)
    before = dump(desk.store)
    p = run(cli_env, "ticket", "request-confirmation", str(tid), "--contact", contact_id(desk, SAM))
    assert p.returncode != 0 and "Sam Lee cannot confirm" in one_line_error(p)
    assert dump(desk.store) == before  # refused: nothing changed
    p = run(
        cli_env, "ticket", "request-confirmation", str(tid), "--contact", contact_id(desk, PRIYA)
    )
    assert p.returncode == 0, p.stderr
    assert f"confirmation request for #{tid} queued to p***@bluefin.example" in p.stdout
    code = sent_code(desk, tid)
    assert code != first and code not in p.stdout
    # a forged Authentication-Results below the server's Received: the customer's words
    forged = reply(
        tid, answer(code), top=(RECEIVED,), below=(f"Authentication-Results: {DMARC_PASS}",)
    )
    rc, out = ingest(cli_env, forged, tmp_path)
    assert rc == 0 and "reply_held" in out and "not accepted" in out
    rc, out = ingest(cli_env, reply(tid, answer(code)), tmp_path)
    assert rc == 0 and "reply_confirmed" in out, out
    assert "confirmed by authenticated e-mail with a one-time code" in out
    shown = run(cli_env, "ticket", "show", str(tid))
    assert shown.returncode == 0 and "open" in shown.stdout
    assert "by authenticated e-mail with a one-time code" in shown.stdout
    printed = [
        shown.stdout,
        run(cli_env, "ticket", "show", str(tid), "--json").stdout,
        run(cli_env, "mail", "outbox").stdout,
        run(cli_env, "mail", "outbox", "--json").stdout,
        " ".join(str(r) for r in desk.store.query("SELECT * FROM audit")),
        " ".join(str(r) for r in desk.store.query("SELECT body FROM ticket_events")),
    ]
    for text in printed:
        for c in (code, first):
            assert c not in text and c.replace("-", "") not in text
