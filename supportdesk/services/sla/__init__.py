"""The SLA domain: load a new policy (and move accounts off dropped plans), recompute every
open ticket's clocks in bulk, clocks from history (imports, upgrades), and the views of a
ticket's clocks for the CLI and the screens. Clocks inside ticket writes are core's
(`core.clocks`); the policy in force is `core.policy`, re-exported here.
"""

from __future__ import annotations

from supportdesk.core.clocks import clocks_of
from supportdesk.core.policy import POLICY_KEY, current_policy, policy_from_text
from supportdesk.rules.policy import PolicyError
from supportdesk.rules.sla_engine import format_left
from supportdesk.services.sla.bulk import (
    BACKFILL_SQL,
    CLOCK_COLUMNS,
    CLOCK_FIELDS,
    EVENT_SQL,
    HELD_BY_CODE,
    RECOMPUTE_SQL,
    UPDATE_SQL,
    backfill,
    history_clocks,
    imported_clocks,
    recompute,
)
from supportdesk.services.sla.loading import LoadResult, load_policy
from supportdesk.services.sla.views import (
    MARKS,
    SHORT_PAUSE,
    ClockView,
    SlaView,
    clock_view,
    due,
    next_due_text,
    show,
    target_text,
)

__all__ = [
    "BACKFILL_SQL",
    "CLOCK_COLUMNS",
    "CLOCK_FIELDS",
    "EVENT_SQL",
    "HELD_BY_CODE",
    "MARKS",
    "POLICY_KEY",
    "RECOMPUTE_SQL",
    "SHORT_PAUSE",
    "UPDATE_SQL",
    "ClockView",
    "LoadResult",
    "PolicyError",
    "SlaView",
    "backfill",
    "clock_view",
    "clocks_of",
    "current_policy",
    "due",
    "format_left",
    "history_clocks",
    "imported_clocks",
    "load_policy",
    "next_due_text",
    "policy_from_text",
    "recompute",
    "show",
    "target_text",
]
