"""What the console's toasts say about escalation: notices written for this person (a lead
reassigned or took over their ticket, a ticket was handed back, a complaint, a watched ticket
changed) and, for leads, claims that went stale while the console ran.

Pure logic on the services' dataclasses, so the app only routes and the tests can check the
words without a running console.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from supportdesk.safe_text import clean

if TYPE_CHECKING:
    from supportdesk.core.notices import NoticeView
    from supportdesk.services.escalation import Claim

NOTICE_TITLE = {
    "reassigned": "Ticket taken from you",
    "assigned": "Ticket assigned to you",
    "handed back": "Ticket handed back to you",
    "escalated": "Ticket escalated",
    "complaint": "Complaint for a supervisor",
    "watch": "Watched ticket",
}
WARNING_KINDS = frozenset({"reassigned", "escalated", "complaint"})


def notice_title(n: NoticeView) -> str:
    title = NOTICE_TITLE.get(n.kind, clean(n.kind.replace("_", " ").capitalize()))
    return f"{title} · #{n.ticket_id}" if n.ticket_id is not None else title


def notice_severity(n: NoticeView) -> str:
    return "warning" if n.kind in WARNING_KINDS else "information"


def notices_summary(notices: Sequence[NoticeView]) -> str:
    numbers = sorted({n.ticket_id for n in notices if n.ticket_id is not None})
    shown = ", ".join(f"#{i}" for i in numbers[:12]) + (", …" if len(numbers) > 12 else "")
    latest = clean(notices[-1].body, multiline=True)
    return f"{len(notices)} notices about {shown or 'your work'}; the latest:\n{latest}"


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
