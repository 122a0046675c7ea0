"""The console's fixed desk (tests/helpers/console.py) with escalations on it, every one
made through the escalation service under its own frozen clock, so boards, waits, stale
marks and histories read the same on every run.

At NOW (lena: lead, bo: engineer tier 2, ana: agent tier 1), the tier 2 board is:

    mine (lena)   #8  escalated by ana 25 min ago, lena claimed it 10 min ago
    unclaimed     #1  high: escalated by ana 2 h ago (tried given), bo claimed and released
                      it, then bo flagged a complaint for the leads
                  #2  medium: put at tier 2 directly, no escalation
                  #12 low: escalated by ana 50 min ago
    waiting       #11 pending the customer, escalated by lena 40 min ago
    others        #6  held by bo for 100 min: stale (the policy's 45 min)
"""

from __future__ import annotations

from datetime import timedelta

from supportdesk.models import Account
from supportdesk.services import escalation, tickets
from tests.helpers.console import DeskFixture

REASON_1 = "PHP rollback did not fix the 502s: needs root on web-14"
TRIED_1 = "Rolled PHP back to 8.2, cleared the opcache, restarted php-fpm"
RELEASE_1 = "Off shift at 08:00; php-fpm logs are in the note"
COMPLAINT_1 = "Customer called twice, unhappy with the wait"
REASON_12 = "Control panel reset link fails for this account only"
REASON_11 = "Disk alert keeps coming back after cleanup; needs an engineer"
REASON_8 = "Backup window change needs the storage cluster"
ACME_NOTES = "VIP since 2019: be quick\nDNS changes only when Jane asks"
BOARD_ORDER = {
    "mine": [8],
    "unclaimed": [1, 2, 12],
    "waiting": [11],
    "others": [6],
}


def add_escalations(fx: DeskFixture) -> None:
    """Put the escalations above on the fixed desk (the console's `escalation_fx`)."""
    with fx.desk_at("lena", 60 * 24).write() as (session, _record):
        acme = session.get(Account, "acme")
        assert acme is not None
        acme.notes = ACME_NOTES
    escalation.escalate(fx.desk_at("ana", 120), 1, reason=REASON_1, tried=TRIED_1)
    tickets.claim(fx.desk_at("bo", 90), 1)
    escalation.release(fx.desk_at("bo", 60), 1, reason=RELEASE_1)
    escalation.escalate(fx.desk_at("ana", 50), 12, reason=REASON_12)
    escalation.escalate(fx.desk_at("lena", 40), 11, reason=REASON_11)
    escalation.to_supervisor(fx.desk_at("bo", 30), 1, reason=COMPLAINT_1)
    escalation.escalate(fx.desk_at("ana", 25), 8, reason=REASON_8)
    tickets.claim(fx.desk_at("lena", 10), 8)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
