"""The company and contact names of queue rows (migration 0021): PostgreSQL keeps them on the
ticket row, where triggers keep them right (a rename, a ticket moved to another account or
contact, every new ticket); SQLite reads them by subquery. Either way the queue, the tier
boards and `supportdesk queue --json` show the current names, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from supportdesk.core import queue
from supportdesk.core.desk import Desk
from supportdesk.services import directory, escalation
from supportdesk.services.intake import importer, mail
from supportdesk.services.intake.export_formats import read_export
from supportdesk.store import HEAD_REVISION
from tests.helpers.cli import run
from tests.helpers.desk import Fx, new_ticket
from tests.helpers.migrations import migrate
from tests.helpers.samples import kaggle_csv, kaggle_row, message

# on PostgreSQL: tickets whose stored names are not their account's and contact's
NAMES_DIFFER = (
    "SELECT count(*) FROM tickets t"
    " WHERE t.company_name IS DISTINCT FROM (SELECT a.company FROM accounts a"
    " WHERE a.id = t.account_id)"
    " OR t.contact_name IS DISTINCT FROM (SELECT c.name FROM contacts c WHERE c.id = t.contact_id)"
)
STORED_COLUMNS = (
    "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema()"
    " AND table_name = 'tickets' AND column_name IN ('company_name', 'contact_name')"
)
NAME_TRIGGERS = (
    "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
    " WHERE c.relnamespace = current_schema()::regnamespace"
    " AND t.tgname IN ('tickets_names', 'accounts_names', 'contacts_names')"
)


def _sql(desk: Desk, sql: str, **params: Any) -> None:
    with desk.store.engine.begin() as conn:
        conn.execute(text(sql), params)


def _names(desk: Desk) -> dict[int, tuple[str, str | None]]:
    """Every queue row's (company, contact) by ticket id."""
    rows = queue.page(desk, queue.QueueFilter(), limit=1000).rows
    return {r.id: (r.company, r.contact) for r in rows}


def _stored_right(desk: Desk) -> None:
    """On PostgreSQL, every ticket's stored names are its account's and contact's."""
    if desk.store.is_sqlite:
        return
    assert desk.store.query(NAMES_DIFFER) == [(0,)]
    assert desk.store.query("SELECT count(*) - count(company_name) FROM tickets") == [(0,)]


def test_renamed_company_and_contact_show_in_the_queue_and_the_boards(fx: Fx) -> None:
    desk = fx.desk
    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    other = new_ticket(desk, account="corvid", caller_name="Sam Caller")
    escalated = fx.escalated("Disk full")  # on tier 2's board, as bluefin's
    assert _names(desk)[tid] == ("Bluefin Media", "Priya Naidoo")
    assert _names(desk)[other] == ("Corvid Labs", "Sam Caller")
    _sql(desk, "UPDATE accounts SET company = :c WHERE id = 'bluefin'", c="Bluefin Studios")
    _sql(desk, "UPDATE contacts SET name = :n WHERE name = 'Priya Naidoo'", n="Priya Pillay")
    names = _names(desk)
    assert names[tid] == ("Bluefin Studios", "Priya Pillay")
    assert names[other] == ("Corvid Labs", "Sam Caller")  # another account: unchanged
    board = escalation.tier_board(fx.as_("ben"), 2)
    assert {r.row.company for r in board.rows if r.ticket_id == escalated} == {"Bluefin Studios"}
    _stored_right(desk)


def test_a_ticket_moved_to_another_account_or_contact_shows_the_new_names(fx: Fx) -> None:
    desk = fx.desk
    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    ravi = directory.add_contact(
        desk, "corvid", "Ravi Pillai", ["ravi@corvid.example"], [], "primary"
    )
    _sql(
        desk,
        "UPDATE tickets SET account_id = 'corvid', contact_id = :c WHERE id = :t",
        c=ravi.id,
        t=tid,
    )
    assert _names(desk)[tid] == ("Corvid Labs", "Ravi Pillai")
    _stored_right(desk)
    _sql(desk, "UPDATE tickets SET contact_id = NULL, caller_name = 'Walk In' WHERE id = :t", t=tid)
    assert _names(desk)[tid] == ("Corvid Labs", "Walk In")
    _sql(desk, "UPDATE tickets SET account_id = 'daisy' WHERE id = :t", t=tid)
    assert _names(desk)[tid] == ("Daisy Bakery", "Walk In")
    _stored_right(desk)


def test_new_tickets_of_every_intake_path_show_their_names(fx: Fx) -> None:
    desk = fx.desk
    made = new_ticket(desk, contact_email="priya@bluefin.example")
    mailed = mail.ingest(desk, message("priya@bluefin.example", "Mail bouncing")).ticket_id
    export = kaggle_csv(kaggle_row("1", "carrollallison@example.com", name="Marisa Obrien"))
    zone, now = ZoneInfo("UTC"), datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    imported = importer.import_export(
        desk, read_export(export, name="export.csv", fmt="auto", zone=zone, now=now)
    ).first_ticket
    names = _names(desk)
    assert names[made] == names[mailed] == ("Bluefin Media", "Priya Naidoo")
    assert imported is not None and names[imported][1] == "Marisa Obrien"
    company = desk.store.query("SELECT company FROM accounts WHERE id = 'carrollallison'")
    assert names[imported][0] == company[0][0] != ""
    _stored_right(desk)


def test_queue_json_shows_the_renamed_names(cli_env: dict[str, str], desk: Desk) -> None:
    p = run(cli_env, "ticket", "new", "--account", "bluefin", "--subject", "Mail down",
            "--priority", "high", "--category", "technical", "--channel", "email",
            "--from", "priya@bluefin.example", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    _sql(desk, "UPDATE accounts SET company = :c WHERE id = 'bluefin'", c="Bluefin [b]Studios[/b]")
    _sql(desk, "UPDATE contacts SET name = :n WHERE name = 'Priya Naidoo'", n="Priya Pillay")
    p = run(cli_env, "queue", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert [(r["company"], r["contact"]) for r in rows] == [
        ("Bluefin [b]Studios[/b]", "Priya Pillay")
    ]
    _stored_right(desk)


def test_a_contact_tickets_name_cannot_be_deleted_and_a_written_name_is_put_back(fx: Fx) -> None:
    """Tickets keep their contact's row (the foreign key has no ON DELETE), so a stored
    name never outlives it; on PostgreSQL a name written onto a ticket is put back."""
    desk = fx.desk
    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    with pytest.raises(IntegrityError):
        _sql(desk, "DELETE FROM contacts WHERE name = 'Priya Naidoo'")
    assert _names(desk)[tid] == ("Bluefin Media", "Priya Naidoo")
    if not desk.store.is_sqlite:
        _sql(desk, "UPDATE tickets SET company_name = 'x', contact_name = 'y' WHERE id = :t", t=tid)
        assert fx.row(tid, "company_name", "contact_name") == ("Bluefin Media", "Priya Naidoo")
    _stored_right(desk)


def test_0021_backfills_the_names_and_goes_down_again(fx: Fx) -> None:
    desk = fx.desk
    pg = not desk.store.is_sqlite
    tid = new_ticket(desk, contact_email="priya@bluefin.example")
    walk_in = new_ticket(desk, account="corvid", caller_name="Sam Caller")
    migrate(desk, "0020", down=True)
    if pg:
        assert desk.store.query(STORED_COLUMNS) == [(0,)]
        assert desk.store.query(NAME_TRIGGERS) == [(0,)]
    # renamed while at 0020: the backfill reads the names as they are now
    _sql(desk, "UPDATE accounts SET company = :c WHERE id = 'bluefin'", c="Bluefin Studios")
    migrate(desk, "head")
    assert desk.store.schema_revision() == HEAD_REVISION
    if pg:
        assert desk.store.query(STORED_COLUMNS) == [(2,)]
        assert desk.store.query(NAME_TRIGGERS) == [(3,)]
        assert fx.row(tid, "company_name", "contact_name") == ("Bluefin Studios", "Priya Naidoo")
        assert fx.row(walk_in, "company_name", "contact_name") == ("Corvid Labs", None)
    names = _names(desk)
    assert names[tid] == ("Bluefin Studios", "Priya Naidoo")
    assert names[walk_in] == ("Corvid Labs", "Sam Caller")
    _stored_right(desk)
