"""Tickets of every view in bulk, for the tests that read query plans (test_query_plans on
SQLite, test_pg_plans on PostgreSQL): no service calls, a few thousand rows in a second."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

STATUSES = [
    "new",
    "open",
    "open",
    "resolved",
    "closed",
    "closed",
    "pending_customer",
    "awaiting_authorization",
    "scheduled",
]
ACCOUNTS = 200
# the columns of each row `ticket_rows` makes, in order
TICKET_COLUMNS = (
    "id, account_id, subject, description, category, priority_rank, channel, status, tier, "
    "created_at, updated_at, holder_id, last_speaker, last_activity_at, request_type"
)


def account_ids() -> list[str]:
    return [f"acct{i}" for i in range(ACCOUNTS)]


def ticket_rows(
    rnd: random.Random, count: int, base: datetime, stamp: Callable[[datetime], Any]
) -> Iterator[tuple[Any, ...]]:
    """`count` tickets of random views, tiers, categories and holders (one in ten held by
    staff #1), created in the 70 days after `base`; times as `stamp` writes them."""
    for i in range(1, count + 1):
        ts = stamp(base + timedelta(minutes=rnd.randrange(100000)))
        holder = 1 if rnd.random() < 0.1 else None
        yield (
            i,
            f"acct{rnd.randrange(ACCOUNTS)}",
            f"subject {i}",
            "",
            rnd.choice(["technical", "billing", "infrastructure", "security"]),
            rnd.randrange(4),
            rnd.choice(["phone", "email", "chat", "portal"]),
            rnd.choice(STATUSES),
            rnd.choice([1, 1, 1, 2, 3]),
            ts,
            ts,
            holder,
            "customer",
            ts,
            "technical",
        )
