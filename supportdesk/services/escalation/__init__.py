"""Tier escalation: escalate and hand back, claim the top of a tier's board, release,
reassign and end a shift, the tier boards, stale claims, the brief for the next person, the
figures for leads. The claim itself is core's (`core.claims.claim_ticket`); the claim
rules, watchers and notices are core's too and are re-exported here.
"""

from __future__ import annotations

from supportdesk.core.claims import WORKING, holding
from supportdesk.core.claims import claim_rules as rules
from supportdesk.core.notices import notices
from supportdesk.services.escalation.boards import (
    BOARD_EXTRA,
    BOARD_LIMIT,
    BOARD_SELECT,
    N_EXTRA,
    BoardRow,
    TierBoard,
    tier_board,
    visible_tiers,
)
from supportdesk.services.escalation.briefs import (
    Authorizer,
    Brief,
    EscalationView,
    Neighbour,
    brief,
)
from supportdesk.services.escalation.claiming import (
    CLAIM_ATTEMPTS,
    NEXT_SQL,
    STALE_SQL,
    Claim,
    ClaimResult,
    Handover,
    ReassignResult,
    claim,
    claim_next,
    claims,
    default_tier,
    end_shift,
    reassign,
    release,
)
from supportdesk.services.escalation.moves import (
    TOP_TIER,
    EscalationResult,
    acknowledge_complaint,
    deescalate,
    escalate,
    reason_given,
    to_supervisor,
)
from supportdesk.services.escalation.stats import Figures, figures
from supportdesk.services.escalation.upgrade import backfill

__all__ = [
    "BOARD_EXTRA",
    "BOARD_LIMIT",
    "BOARD_SELECT",
    "CLAIM_ATTEMPTS",
    "NEXT_SQL",
    "N_EXTRA",
    "STALE_SQL",
    "TOP_TIER",
    "WORKING",
    "Authorizer",
    "BoardRow",
    "Brief",
    "Claim",
    "ClaimResult",
    "EscalationResult",
    "EscalationView",
    "Figures",
    "Handover",
    "Neighbour",
    "ReassignResult",
    "TierBoard",
    "acknowledge_complaint",
    "backfill",
    "brief",
    "claim",
    "claim_next",
    "claims",
    "deescalate",
    "default_tier",
    "end_shift",
    "escalate",
    "figures",
    "holding",
    "notices",
    "reason_given",
    "reassign",
    "release",
    "rules",
    "tier_board",
    "to_supervisor",
    "visible_tiers",
]
