"""The queue's search reads its candidates off a trigram index (migration 0014: SQLite's
FTS5 table `ticket_words`, kept by triggers; PostgreSQL's pg_trgm GIN index), on both
databases: the pages are exactly what the substring search gave before (compared with a
walk of every live ticket), through a ticket's life (created, resolved, reopened, subject
redacted), with hostile text searched for literally; migration 0014 goes down and up. The
plans are read in test_query_plans (SQLite) and test_pg_plans (PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from supportdesk.core import queue
from supportdesk.core.desk import Desk
from supportdesk.enums import View
from supportdesk.services import tickets
from tests.helpers.desk import new_ticket
from tests.helpers.migrations import migrate

HOSTILE_SEARCHES = [
    '"',
    '""',
    "'",
    "*",
    "mail*",
    "NEAR",
    "NEAR(mail bounce)",
    "mail AND bounce",
    "mail OR nothing",
    "NOT mail",
    "-mail",
    "^mail",
    "subject: mail",
    "{subject account_id}: x",
    "100%",
    "%",
    "_",
    "a_b",
    "\\",
    "C:\\temp",
    "[/x]",
    "(",
    "'; DROP TABLE tickets; --",
    "Ünïcode",
    "ÜNÏCODE",
    "\u202eevil",
]
SUBJECTS = [
    "Mailbox full",
    "mail bounces with 550",
    'He said "NEAR" and * then AND OR',
    "Disk at 100% on web-cpt-14",
    "a_b and C:\\temp\\x and [/x] (",
    "'; DROP TABLE tickets; -- from a form",
    "Ünïcode in the subject",
    "\u202eevil override",
    "Nothing to see here",
]


def _reference(desk: Desk, filt: queue.QueueFilter) -> list[int]:
    """The filter's ids by the old way: a walk of the view with the LIKE, no word index."""
    where, params = queue.where_clause(
        filt, desk.actor.staff_id, ilike=not desk.store.is_sqlite, words=False
    )
    sql = "SELECT t.id FROM tickets t" + where + queue.order_by(filt) + " LIMIT 1000"
    return [int(r[0]) for r in desk.store.query(sql, params)]


def _ids(desk: Desk, filt: queue.QueueFilter) -> list[int]:
    return [r.id for r in queue.page(desk, filt, limit=1000).rows]


def _words_rows(desk: Desk) -> int | None:
    """How many tickets the SQLite word table holds (None on PostgreSQL)."""
    if not desk.store.is_sqlite:
        return None
    return int(desk.store.query("SELECT count(*) FROM ticket_words_docsize")[0][0])


def test_search_follows_a_tickets_life(desk: Desk) -> None:
    mailbox = new_ticket(desk, "Mailbox full for qzxqv-corp")
    other = new_ticket(desk, "Site down")
    find = queue.QueueFilter(search="QZXQV")
    assert queue.search_ids(desk, find) == [mailbox]  # from the index, not a walk
    assert _ids(desk, find) == [mailbox] == _reference(desk, find)
    tickets.resolve(desk, mailbox, "fixed")
    assert queue.search_ids(desk, find) == []
    assert _ids(desk, find) == []
    tickets.update_fields(desk, mailbox, status="open")  # reopened: found again
    assert _ids(desk, find) == [mailbox]
    tickets.update_fields(desk, mailbox, status="pending_customer")  # another live view
    assert _ids(desk, find) == []
    assert _ids(desk, find.with_(view=View.WAITING)) == [mailbox]
    tickets.redact_ticket_text(desk, mailbox, "subject", "pasted a secret")
    assert queue.search_ids(desk, find.with_(view=View.WAITING)) == []
    assert _ids(desk, find.with_(view=View.WAITING)) == []
    assert _ids(desk, queue.QueueFilter(search="site DOWN")) == [other]
    live = desk.store.query("SELECT count(*) FROM tickets WHERE view <> 'done'")[0][0]
    assert _words_rows(desk) in (None, live)


@pytest.mark.parametrize("cap", [queue.SEARCH_CANDIDATES, 0], ids=["by-id", "walk"])
def test_hostile_search_text_is_literal(
    desk: Desk, cap: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quotes, FTS5's operators and column filters, LIKE's wildcards and backslashes are
    letters to look for: never an error, and what the substring search found before, both
    when the candidates are read by id and when the text is common (cap 0) and the view is
    walked (on SQLite with the word table as a filter)."""
    monkeypatch.setattr(queue, "SEARCH_CANDIDATES", cap)
    made = [new_ticket(desk, subject) for subject in SUBJECTS]
    sqlite = desk.store.is_sqlite
    for text in HOSTILE_SEARCHES:
        filt = queue.QueueFilter(search=text)
        got = _ids(desk, filt)
        assert got == _reference(desk, filt), text
        expected = {
            tid
            for tid, subject in zip(made, SUBJECTS, strict=True)
            if _contains(subject, text.strip(), sqlite=sqlite)
            or _contains("bluefin", text.strip(), sqlite=sqlite)
        }
        assert set(got) == expected, text
        assert queue.count(desk, filt) == len(got), text


def _contains(subject: str, text: str, *, sqlite: bool) -> bool:
    """SQLite's LIKE folds ASCII letters only; PostgreSQL's ILIKE folds all."""
    if sqlite:
        fold = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
        return text.translate(fold) in subject.translate(fold)
    return text.lower() in subject.lower()


def test_paging_through_a_search_keeps_the_order(desk: Desk) -> None:
    made = [new_ticket(desk, f"Mail relay {i} qzxqv", ("low", "high")[i % 2]) for i in range(7)]
    new_ticket(desk, "Unrelated")
    filt = queue.QueueFilter(search="qzxqv relay")
    assert queue.search_ids(desk, filt) == []  # "qzxqv relay" is in no subject
    filt = queue.QueueFilter(search="relay")
    assert queue.search_ids(desk, filt) == sorted(made)
    first = queue.page(desk, filt, limit=3, with_total=True)
    second = queue.page(desk, filt, after=first.rows[-1].key, limit=3)
    back = queue.page(desk, filt, before=second.rows[0].key, limit=3)
    whole = _reference(desk, filt)
    assert [r.id for r in first.rows + second.rows] == whole[:6]
    assert [r.id for r in back.rows] == whole[:3]
    assert first.total == 7 and second.has_more_before and second.has_more_after


def _below_search_words() -> str:
    """The revision the search words' migration follows (0012 when written; read from the
    script so that a renumbering at merge needs no change here)."""
    from alembic.script import ScriptDirectory

    import supportdesk

    scripts = ScriptDirectory(str(Path(supportdesk.__file__).parent / "migrations"))
    found = [s for s in scripts.walk_revisions() if str(s.path).endswith("_search_words.py")]
    assert len(found) == 1
    below = found[0].down_revision
    assert isinstance(below, str)
    return below


def _word_objects(desk: Desk) -> set[str]:
    if desk.store.is_sqlite:
        sql = "SELECT name FROM sqlite_master WHERE name LIKE ? AND type <> 'table'"
        sql += " UNION SELECT name FROM sqlite_master WHERE name = 'ticket_words'"
        pattern = "ticket_words%"
    else:  # (bound: psycopg would take a literal % for a placeholder)
        sql = "SELECT indexname FROM pg_indexes WHERE indexname LIKE ?"
        pattern = "ix_%_words"
    return {str(r[0]) for r in desk.store.query(sql, [pattern])}


def test_migration_0014_goes_down_and_up_and_fills_the_words(desk: Desk) -> None:
    """Up from the revision below on a desk with tickets: the index holds the live ones."""
    from supportdesk.store import HEAD_REVISION

    live = new_ticket(desk, "Mailbox full qzxqv")
    done = new_ticket(desk, "Mailbox gone qzxqv")
    tickets.resolve(desk, done, "fixed")
    made = _word_objects(desk)
    if desk.store.is_sqlite:
        assert made == {
            "ticket_words",
            "ticket_words_insert",
            "ticket_words_delete",
            "ticket_words_update",
        }
    else:
        assert made == {
            "ix_tickets_live_words",
            "ix_services_domain_words",
            "ix_accounts_company_words",
        }
    below = _below_search_words()
    migrate(desk, below, down=True)
    assert desk.store.schema_revision() == below
    assert _word_objects(desk) == set()
    migrate(desk, "head")
    assert desk.store.schema_revision() == HEAD_REVISION
    assert _word_objects(desk) == made
    filt = queue.QueueFilter(search="qzxqv")
    assert queue.search_ids(desk, filt) == [live]
    assert _ids(desk, filt) == [live]
    live_count = desk.store.query("SELECT count(*) FROM tickets WHERE view <> 'done'")[0][0]
    assert _words_rows(desk) in (None, live_count)


def test_lookup_word_searches_are_planned_for_their_pattern(desk: Desk) -> None:
    """The call screen's scans (a word inside a company name, a domain after a service's
    first) find the same accounts run after run, and on PostgreSQL are never prepared: a
    generic plan, blind to the pattern, read every account for a word nobody has (the
    trigram indexes of migration 0014 serve each pattern in its own plan)."""
    from supportdesk.services import directory
    from supportdesk.services.callers import lookup

    directory.add_service(
        desk, "bluefin", "email", "Mail", ["mail.ex", "bluefin-shop.example"], "w1"
    )
    calls: list[tuple[str, dict[str, Any]]] = []
    real = desk.store.query

    def spy(sql: str, params: Any = (), **kw: Any) -> list[tuple[Any, ...]]:
        calls.append((sql, kw))
        return real(sql, params, **kw)

    desk.store.query = spy  # type: ignore[method-assign]
    try:
        for _ in range(8):  # past psycopg's prepare threshold (5)
            assert [(h.account, h.matched) for h in lookup.find_accounts(desk, "media")] == [
                ("bluefin", "company")
            ]
            assert [(h.account, h.matched) for h in lookup.find_accounts(desk, "bluefin-sh")] == [
                ("bluefin", "domain")
            ]
            assert lookup.find_accounts(desk, "qzxqv") == []
            assert lookup.find_accounts(desk, "qzxqv.example") == []
    finally:
        del desk.store.query
    scans = [kw for sql, kw in calls if " LIKE " in sql]
    assert scans
    want = {} if desk.store.is_sqlite else {"prepare": False}
    assert all(kw == want for kw in scans), scans
