"""Migration 0020 on its own: files that earlier merges left on the closed duplicate move to
where its thread went, along a chain of merges, on SQLite and PostgreSQL; files of tickets
that were never merged stay where they are."""

from __future__ import annotations

from supportdesk.core.desk import Desk
from supportdesk.services import tickets
from supportdesk.services.tickets.attachments import list_attachments
from supportdesk.store import HEAD_REVISION
from tests.helpers.desk import Fx, new_ticket
from tests.helpers.migrations import migrate


def _file_on(desk: Desk, ticket: int, name: str) -> None:
    with desk.store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO attachments (ticket_id, name, declared_type, detected_type, size, sha256,"
            " data, inline, created_at) VALUES (%(t)s, %(n)s, 'text/plain', 'text/plain', 2,"
            " 'ab', %(d)s, %(f)s, %(c)s)"
            if desk.store.engine.dialect.name == "postgresql"
            else "INSERT INTO attachments (ticket_id, name, declared_type, detected_type, size,"
            " sha256, data, inline, created_at) VALUES (:t, :n, 'text/plain', 'text/plain', 2,"
            " 'ab', :d, :f, :c)",
            {"t": ticket, "n": name, "d": b"hi", "f": False, "c": "2026-12-01 10:00:00+00"},
        )


def _where(desk: Desk) -> dict[str, int]:
    rows = desk.store.query("SELECT name, ticket_id FROM attachments ORDER BY name")
    return {str(n): int(t) for n, t in rows}


def test_0020_moves_files_left_on_merged_tickets_along_the_chain(fx: Fx) -> None:
    desk, at = fx.desk, fx.as_
    first = new_ticket(at("amir", 0), "Mail one")
    second = new_ticket(at("amir", 1), "Mail two")
    third = new_ticket(at("amir", 2), "Mail three")
    alone = new_ticket(at("amir", 3), "Never merged")
    for ticket, name in ((first, "a.log"), (second, "b.log"), (third, "c.log"), (alone, "d.log")):
        _file_on(desk, ticket, name)
    tickets.merge(at("lena", 10), first, second)
    tickets.merge(at("lena", 11), second, third)
    assert _where(desk) == {"a.log": third, "b.log": third, "c.log": third, "d.log": alone}
    # as an earlier merge left them: on the duplicates
    migrate(desk, "0019", down=True)
    with desk.store.engine.begin() as conn:
        for ticket, name in ((first, "a.log"), (second, "b.log")):
            conn.exec_driver_sql(
                f"UPDATE attachments SET ticket_id = {int(ticket)} WHERE name = '{name}'"
            )
    assert _where(desk)["a.log"] == first
    migrate(desk, "head")
    assert desk.store.schema_revision() == HEAD_REVISION
    assert _where(desk) == {"a.log": third, "b.log": third, "c.log": third, "d.log": alone}
    assert [a.name for a in list_attachments(desk, third)] == ["a.log", "b.log", "c.log"]
