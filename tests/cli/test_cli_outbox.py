"""The CLI's side of queued mail (issue 18), as real processes on both databases: `ticket
reply` says where the reply was queued (never "sent"), or that it was only recorded and why;
the customer's answer threads back through `mail ingest` by In-Reply-To; `maintenance move`
moves the notices still queued."""

from __future__ import annotations

import json
from datetime import timedelta

from supportdesk.core.desk import Desk
from tests.helpers.cli import run, run_bytes
from tests.helpers.desk import new_ticket


def test_ticket_reply_says_where_it_was_queued(desk: Desk, cli_env: dict[str, str]) -> None:
    tid = new_ticket(desk, "Site down", contact_email="priya@bluefin.example")
    p = run(cli_env, "ticket", "reply", str(tid), "Restarted PHP.")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"reply on #{tid} queued to p***@bluefin.example"
    assert "sent" not in p.stdout
    (mid,) = desk.store.query("SELECT message_id FROM outbox WHERE ticket_id = ?", (tid,))
    # the customer's answer: no [#N] in the subject, In-Reply-To of our reply
    answer = (
        "From: Priya <priya@bluefin.example>\r\nTo: support@desk.example\r\n"
        f"Subject: Re: your mail\r\nMessage-ID: <answer-1@bluefin.example>\r\n"
        f"In-Reply-To: {mid[0]}\r\n\r\nWorks now, thanks.\r\n"
    ).encode()
    p2 = run_bytes(cli_env, "mail", "ingest", "--json", stdin=answer)
    assert p2.returncode == 0, p2.stderr
    result = json.loads(p2.stdout)
    assert (result["action"], result["ticket"]) == ("reply", tid)


def test_ticket_reply_without_an_address_says_it_was_not_mailed(
    desk: Desk, cli_env: dict[str, str]
) -> None:
    tid = new_ticket(desk, "Down", caller_name="Walk-in", caller_phone="+27 21 555 0199")
    p = run(cli_env, "ticket", "reply", str(tid), "We called you back.")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == (
        f"reply on #{tid} recorded; not e-mailed: no contact with an e-mail address on file"
    )
    assert desk.store.query("SELECT count(*) FROM outbox")[0][0] == 0


def test_maintenance_move_moves_the_queued_notices(desk: Desk, cli_env: dict[str, str]) -> None:
    from supportdesk.services.incidents import maintenance

    start = desk.now() + timedelta(days=5)
    w = maintenance.add_window(desk, ["web-cpt-14"], start, start + timedelta(hours=2), "Kernel")
    later = (start + timedelta(days=1)).replace(microsecond=0)
    p = run(
        cli_env,
        "maintenance",
        "move",
        str(w.id),
        "--from",
        later.isoformat(),
        "--to",
        (later + timedelta(hours=2)).isoformat(),
    )
    assert p.returncode == 0, p.stderr
    assert f"maintenance window #{w.id} moved" in p.stdout
    (subject,) = desk.store.query("SELECT subject FROM outbox WHERE kind = 'maintenance_notice'")
    assert later.strftime("%Y-%m-%d %H:%M") in subject[0]
    bad = run(cli_env, "maintenance", "move", str(w.id), "--from", later.isoformat(), "--to",
              (later - timedelta(hours=1)).isoformat())  # fmt: skip
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
