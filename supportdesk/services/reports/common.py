"""What the lead board and its drill-downs share: the day's start in the desk's zone, epochs,
and how long a hold is too long."""

from __future__ import annotations

from datetime import datetime, timedelta

from supportdesk.core.desk import Desk

HELD_TOO_LONG = timedelta(hours=4)


def epoch_of(moment: datetime) -> int:
    return int(moment.timestamp())


def day_start(desk: Desk, now: datetime) -> datetime:
    """Midnight today in the desk's zone (the default plan's calendar)."""
    from supportdesk.core.policy import current_policy

    policy = current_policy(desk)
    zone = policy.plan_for(None).calendar.zone
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)
