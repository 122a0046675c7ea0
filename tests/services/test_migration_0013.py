"""Migration 0013 on its own: who stopped each clock (tickets.responded_by, resolved_by),
backfilled by frozen SQL from the history, on SQLite and PostgreSQL; and the upgrade goes
back down. Without the SLA event of a stop (a demo's or an imported history) the first staff
reply or call answers and the last change of status to resolved or closed resolves."""

from __future__ import annotations

from supportdesk.core.desk import Desk
from supportdesk.services import tickets
from supportdesk.store import HEAD_REVISION
from tests.helpers.desk import Fx, new_ticket
from tests.helpers.migrations import migrate


def _stopped_by(desk: Desk, tid: int) -> tuple[str | None, str | None]:
    row = desk.store.query(
        "SELECT r.login, s.login FROM tickets t LEFT JOIN staff r ON r.id = t.responded_by"
        " LEFT JOIN staff s ON s.id = t.resolved_by WHERE t.id = ?",
        (tid,),
    )[0]
    return row[0], row[1]


def test_0013_backfills_who_stopped_the_clocks(fx: Fx) -> None:
    desk, at = fx.desk, fx.as_

    answered = new_ticket(at("amir", 0), "Answered, open")
    tickets.reply(at("amir", 5), answered, "Looking.")
    solved = new_ticket(at("amir", 0), "Solved by a lead")
    tickets.reply(at("amir", 5), solved, "Looking.")
    tickets.claim(at("amir", 6), solved)
    tickets.resolve(at("lena", 30), solved, "fixed")
    untouched = new_ticket(at("amir", 0), "Nobody answered")
    before = {t: _stopped_by(desk, t) for t in (answered, solved, untouched)}
    assert before == {
        answered: ("amir", None),
        solved: ("amir", "lena"),
        untouched: (None, None),
    }
    # a history without the SLA events of the stops (as the demo writes it)
    legacy = new_ticket(at("amir", 0), "Legacy")
    tickets.reply(at("tomas", 5), legacy, "Fixed.")
    tickets.resolve(at("lena", 6), legacy, "fixed")
    # a slimmer one still (an older demo's done tickets): the replies only
    slim = new_ticket(at("amir", 0), "Slim")
    tickets.reply(at("amir", 5), slim, "Looking.")
    tickets.claim(at("tomas", 6), slim)
    tickets.reply(at("tomas", 7), slim, "Fixed the vhost.")
    tickets.resolve(at("tomas", 8), slim, "fixed")
    migrate(desk, "0012", down=True)
    assert desk.store.schema_revision() == "0012"
    with desk.store.engine.begin() as conn:
        conn.exec_driver_sql(
            f"DELETE FROM ticket_events WHERE kind = 'sla' AND ticket_id = {int(legacy)}"
        )
        conn.exec_driver_sql(
            f"DELETE FROM ticket_events WHERE kind IN ('sla', 'status') AND ticket_id = {int(slim)}"
        )
    migrate(desk, "head")
    assert desk.store.schema_revision() == HEAD_REVISION
    after = {t: _stopped_by(desk, t) for t in (answered, solved, untouched)}
    assert after == before
    assert _stopped_by(desk, legacy) == ("tomas", "lena")
    assert _stopped_by(desk, slim) == ("amir", "tomas")
