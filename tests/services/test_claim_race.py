"""Eight engineers drain one tier board at once, in real processes, on both databases.

Each engineer claims the top of the board (`escalation.claim_next`) and resolves what they
claimed before claiming again, as an engineer working through the board does. That keeps
everyone under the holding limit (only new/open tickets count) with the desk's real limit
of 5, so the limit is checked on every claim without ever being the reason a claim stops;
releasing instead would put tickets back on the board to be claimed twice, and a limit high
enough for 250 claims each is more than a policy may set (at most 100).

The command-line race runs eight loops of `supportdesk claim --next` processes on a
smaller board (each invocation is a new Python process), with a limit of 100 so that
nobody is stopped by it: every loop must end with exit code 4, the only other code being 0.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from supportdesk.core import audit
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.errors import NothingToDo
from supportdesk.services import escalation
from supportdesk.store import Store
from tests.helpers.claim_race import ENGINEERS, TIER, build_board, cli_race, race
from tests.helpers.settle import TIMING

pytestmark = TIMING  # one worker runs these one after another (tests/helpers/settle.py)

BOARD = 1000  # benchmarks/bench_claims.py drains 2,000 (a minute on both databases here)
CLI_BOARD = 24


def _check_each_claimed_once(
    url: str, key: Path, claims: dict[int, str], *, resolved: bool, total: int
) -> None:
    """`claims`: ticket -> who said they claimed it. The database must agree: each ticket
    held by that one person, one holder event, one `ticket.take` audit row, its escalation
    claimed by them; nothing left on the board; the audit chain intact."""
    store = Store(url)
    try:
        q = store.query
        logins = dict(q("SELECT id, login FROM staff"))
        rows = q("SELECT id, holder_id, status FROM tickets WHERE tier = ?", (TIER,))
        assert len(rows) == total == len(claims)
        for tid, holder, status in rows:
            assert logins.get(holder) == claims[tid], tid
            assert status == ("resolved" if resolved else "open"), tid
        takes = Counter(
            int(e) for (e,) in q("SELECT entity_id FROM audit WHERE action = 'ticket.take'")
        )
        assert set(takes) == set(claims) and set(takes.values()) == {1}
        holder_events = Counter(
            tid
            for (tid,) in q(
                "SELECT ticket_id FROM ticket_events WHERE kind = 'holder'"
                " AND new_value IS NOT NULL"
            )
        )
        assert set(holder_events) == set(claims) and set(holder_events.values()) == {1}
        escalations = q(
            "SELECT x.ticket_id, x.claimed_by_id, x.claimed_at FROM escalations x"
            " JOIN tickets t ON t.escalation_id = x.id"
        )
        assert len(escalations) == total
        for tid, by, at in escalations:
            assert at is not None and logins[by] == claims[tid], tid
        desk = Desk(store, ENGINEERS[0], Clock(), key)
        assert escalation.tier_board(desk, TIER).unclaimed == 0
        with pytest.raises(NothingToDo):
            escalation.claim_next(desk, TIER)
        with store.read() as s:
            check = audit.verify(s, desk.audit_key)
        assert check.ok, check.reason
    finally:
        store.dispose()


def test_eight_processes_drain_the_board_each_ticket_once(db_url: str, tmp_path: Path) -> None:
    key = tmp_path / "audit.key"
    build_board(db_url, key, BOARD)
    result = race(db_url, key, resolve=True)
    errors = [e for r in result.results for e in r.errors]
    assert errors == []  # on SQLite: no "database is locked" reached anyone
    assert sum(r.lost for r in result.results) == 0
    claimed = result.claimed
    assert len(claimed) == len(set(claimed)) == BOARD
    claims = {tid: r.login for r in result.results for tid in r.claimed}
    _check_each_claimed_once(db_url, key, claims, resolved=True, total=BOARD)
    assert sum(1 for r in result.results if r.claimed) >= 2  # it was a race


def test_eight_cli_loops_drain_the_board_each_ticket_once(db_url: str, tmp_path: Path) -> None:
    key = tmp_path / "audit.key"
    build_board(db_url, key, CLI_BOARD, max_claims=100)
    result = cli_race(db_url, key)
    for loop in result.loops:
        assert set(loop.codes) <= {0, 4}, (loop.login, loop.codes, loop.stderr)
        assert loop.codes[-1] == 4, (loop.login, loop.stderr)
        assert "nothing left to claim" in loop.stderr[-1]
    claimed = result.claimed
    assert len(claimed) == len(set(claimed)) == CLI_BOARD
    claims = {tid: loop.login for loop in result.loops for tid in loop.claimed}
    _check_each_claimed_once(db_url, key, claims, resolved=False, total=CLI_BOARD)
