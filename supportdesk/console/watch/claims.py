"""Claims gone stale, for a lead's console: held tickets nobody touched for longer than the
policy allows, told in a toast the moment each one passes the threshold (and, at start, one
toast for those already stale).

The held tickets ride on the SLA watcher's read of the watch list (one worker per change
for both, `read_claims`); this watcher keeps them, checks them from memory every CHECK_S
and says what went stale. `StaleClaims` is the pure part, so the tests can check it
without a running console.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from supportdesk.console.watch import MAX_TOASTS
from supportdesk.safe_text import clean

if TYPE_CHECKING:
    from textual.timer import Timer

    from supportdesk.console.base import DeskApp
    from supportdesk.core.desk import Desk
    from supportdesk.services.escalation import Claim

CLAIMS_LIMIT = 1000  # held tickets a lead's console watches for going stale
CHECK_S = 5.0  # the claims are read from memory this often (a toast may be 5 s late)


def read_claims(desk: Desk) -> tuple[list[Claim], int]:
    """In a worker: the held tickets (at most CLAIMS_LIMIT) and the policy's stale
    threshold in seconds."""
    from supportdesk.core.claims import claim_rules
    from supportdesk.services import escalation

    return escalation.claims(desk, limit=CLAIMS_LIMIT), claim_rules(desk)[1]


def claim_is_stale(c: Claim, now: datetime, stale_after_s: int) -> bool:
    return c.touched_at is None or (now - c.touched_at).total_seconds() >= stale_after_s


@dataclass(frozen=True)
class StaleCrossing:
    """A claim that went stale while the console watched it."""

    claim: Claim
    untouched_s: int

    def message(self) -> str:
        c = self.claim
        minutes = self.untouched_s // 60
        return (
            f"#{c.ticket_id} held by {clean(c.holder)} untouched for {minutes} min "
            f"(tier {c.tier}, {clean(c.priority)})\n{clean(c.subject)}"
        )


class StaleClaims:
    """Held tickets a lead's console watches, checked from memory for the moment each one
    passes the stale threshold; a claim touched again is watched afresh."""

    def __init__(self) -> None:
        self.claims: dict[int, Claim] = {}
        self.stale_after_s = 45 * 60
        self.loaded = False
        self._stale: set[tuple[int, datetime | None]] = set()

    def replace(
        self, claims: Sequence[Claim], stale_after_s: int, now: datetime
    ) -> tuple[list[Claim], list[StaleCrossing]]:
        """Watch `claims` from now on. The first time: (the stale ones, no crossings), for
        one summary toast; afterwards: ([], the crossings the new data shows)."""
        first = not self.loaded
        self.loaded = True
        self.stale_after_s = stale_after_s
        self.claims = {c.ticket_id: c for c in claims}
        keys = {(c.ticket_id, c.touched_at) for c in claims}
        self._stale &= keys  # released, or touched again: no longer known as stale
        if first:
            stale = [c for c in claims if claim_is_stale(c, now, stale_after_s)]
            self._stale |= {(c.ticket_id, c.touched_at) for c in stale}
            return stale, []
        return [], self.check(now)

    def check(self, now: datetime) -> list[StaleCrossing]:
        out = []
        for c in self.claims.values():
            key = (c.ticket_id, c.touched_at)
            if key in self._stale or not claim_is_stale(c, now, self.stale_after_s):
                continue
            self._stale.add(key)
            untouched = int((now - c.touched_at).total_seconds()) if c.touched_at else 0
            out.append(StaleCrossing(c, untouched))
        return out

    def stale_count(self) -> int:
        return len(self._stale)


class ClaimsWatcher:
    """A lead's console: the stale claims, told in toasts (`told` keeps every one)."""

    def __init__(self, app: DeskApp) -> None:
        self.app = app
        self.claims = StaleClaims()
        self.told: list[str] = []  # every stale-claim toast, oldest first
        self._timer: Timer | None = None

    @property
    def loaded(self) -> bool:
        return self.claims.loaded

    def start(self) -> None:
        self._timer = self.app.set_interval(CHECK_S, self.check)

    def store_changed(self) -> None:
        """Nothing to do: the SLA watcher's next read brings the claims."""

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def landed(self, claims: Sequence[Claim], stale_after_s: int) -> None:
        """A read of the held tickets landed (the SLA watcher's worker read them)."""
        stale, crossings = self.claims.replace(claims, stale_after_s, self.app.desk.now())
        self._tell_at_start(stale)
        self._tell(crossings)

    def check(self) -> None:
        """Every CHECK_S, from memory: did a claim go stale?"""
        if self.claims.loaded:
            self._tell(self.claims.check(self.app.desk.now()))

    def _toast(self, message: str, title: str) -> None:
        self.told.append(message)
        self.app.notify(message, title=title, severity="warning", markup=False, timeout=15)

    def _tell_at_start(self, stale: Sequence[Claim]) -> None:
        """One toast for the claims already stale when the console starts, not one each."""
        if not stale:
            return
        holders = sorted({c.holder for c in stale})
        who = ", ".join(holders[:6]) + (", …" if len(holders) > 6 else "")
        minutes = self.claims.stale_after_s // 60
        self._toast(
            f"{len(stale)} claims untouched for {minutes} min or more (held by {who}); "
            "ctrl+t opens the tier boards",
            "Stale claims",
        )

    def _tell(self, crossings: Sequence[StaleCrossing]) -> None:
        if not crossings:
            return
        if len(crossings) <= MAX_TOASTS:
            for c in crossings:
                self._toast(c.message(), f"Claim went stale · #{c.claim.ticket_id}")
            return
        numbers = ", ".join(f"#{c.claim.ticket_id}" for c in crossings[:12])
        self._toast(
            f"{len(crossings)} claims went stale: {numbers}"
            + (", …" if len(crossings) > 12 else ""),
            "Claims went stale",
        )
