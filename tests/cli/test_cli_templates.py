"""`supportdesk template ...` and `ticket reply --template` (issue 20, item 1), as processes on
both databases: a lead keeps templates, an agent is refused in one line with the database
unchanged; a reply from a template is filled, sent and makes its change; --edit runs the
editor on the filled text."""

from __future__ import annotations

import json
from pathlib import Path

from supportdesk.core.desk import Desk
from tests.helpers.cli import run
from tests.helpers.desk import dump, new_ticket


def test_template_commands_and_a_reply_from_one(
    desk: Desk, cli_env: dict[str, str], tmp_path: Path
) -> None:
    body = tmp_path / "body.txt"
    body.write_text("Hello {{ contact.first_name }},\nplease send the logs for #{{ ticket.id }}.\n")
    p = run(
        cli_env,
        "template",
        "add",
        "need-logs",
        "--kind",
        "reply",
        "--subject",
        "Logs for {{ ticket.subject }}",
        "--body-file",
        str(body),
        "--set-status",
        "pending_customer",
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "template need-logs added (reply)"
    p = run(cli_env, "template", "list")
    assert p.stdout.split()[:2] == ["need-logs", "reply"]
    p = run(cli_env, "template", "show", "need-logs")
    assert "sets: status pending_customer" in p.stdout and "{{ contact.first_name }}" in p.stdout
    agent = {**cli_env, "SUPPORTDESK_AGENT": "amir"}
    before = dump(desk.store)
    p = run(agent, "template", "add", "x", "--kind", "reply", "--body-file", str(body))
    assert p.returncode != 0 and p.stderr.strip().count("\n") == 0
    assert "changing templates is for leads" in p.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text("{{ ''.__class__.__mro__ }}")
    p = run(cli_env, "template", "add", "bad", "--kind", "reply", "--body-file", str(bad))
    assert p.returncode != 0 and "unsafe" in p.stderr
    assert dump(desk.store) == before

    tid = new_ticket(desk, "Site down", contact_email="priya@bluefin.example")
    p = run(agent, "ticket", "reply", str(tid), "--template", "need-logs")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().startswith(f"reply on #{tid} queued to p***@bluefin.example")
    p = run(agent, "ticket", "show", str(tid), "--json")
    shown = json.loads(p.stdout)
    assert shown["status"] == "pending_customer"
    replies = [e["body"] for e in shown["events"] if e["kind"] == "reply"]
    assert replies == [f"Hello Priya,\nplease send the logs for #{tid}."]
    (subject,) = desk.store.query("SELECT subject FROM outbox WHERE kind = 'reply'")[0]
    assert subject == f"Re: Logs for Site down [#{tid}]"

    # --edit: the editor (a real process) changes the filled text before it goes
    p = run(cli_env, "template", "edit", "need-logs", "--set-status", "")
    assert p.returncode == 0, p.stderr
    editor = {**agent, "EDITOR": "sed -i s/Hello/Hi/", "VISUAL": "sed -i s/Hello/Hi/"}
    p = run(editor, "ticket", "reply", str(tid), "--template", "need-logs", "--edit")
    assert p.returncode == 0, p.stderr
    shown = json.loads(run(agent, "ticket", "show", str(tid), "--json").stdout)
    replies = [e["body"] for e in shown["events"] if e["kind"] == "reply"]
    assert replies[-1] == f"Hi Priya,\nplease send the logs for #{tid}."
    p = run(cli_env, "template", "remove", "need-logs")
    assert p.stdout.strip() == "template need-logs removed"
    p = run(agent, "ticket", "reply", str(tid), "--template", "need-logs")
    assert p.returncode != 0 and "no template named 'need-logs'" in p.stderr
