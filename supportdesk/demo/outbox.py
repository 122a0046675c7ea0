"""The demo's mail (issue 18): the staff replies of the last two weeks, as the outbox would
hold them had the desk been sending all along, so that a demo thread shows its mail. Older
ones are sent (the server's answer is the demo's); those of the last quarter of an hour are
still queued. Only when the demo's policy has a `[mail]` domain. Plain SQL over the loaded
rows, in the build's transaction. Each contact's first address is found once for all of
them (GROUP BY), not per row: at a million tickets 280,000 lookups cost 1.4 s of the
INSERT's 5.6 s on PostgreSQL; the rows are numbered in the order of their events."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy import text as sql_text

from supportdesk.core.policy import DEFAULT_PRESET, load_preset, policy_from_text
from supportdesk.store import Store

WINDOW = timedelta(days=14)
STILL_QUEUED = timedelta(minutes=15)

INSERT = """
INSERT INTO outbox (kind, state, ticket_id, event_id, contact_id, to_addr, from_addr, subject,
    body, headers, message_id, queued_at, send_after, due_at, attempts, sent_at, server_reply)
SELECT 'reply',
    CASE WHEN e.created_at > :recent THEN 'queued' ELSE 'sent' END,
    e.ticket_id, e.id, t.contact_id, m.address,
    :sender, 'Re: ' || t.subject || ' [#' || t.id || ']', coalesce(e.body, ''), '{}',
    '<demo.' || e.id || '@' || :domain || '>', e.created_at, e.created_at, e.created_at,
    CASE WHEN e.created_at > :recent THEN 0 ELSE 1 END,
    CASE WHEN e.created_at > :recent THEN NULL ELSE e.created_at END,
    CASE WHEN e.created_at > :recent THEN NULL ELSE '250 2.0.0 Ok: queued (demo relay)' END
FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
JOIN (SELECT cp.contact_id, min(cp.value) AS address FROM contact_points cp
      WHERE cp.kind = 'email' GROUP BY cp.contact_id) m ON m.contact_id = t.contact_id
WHERE e.kind = 'reply' AND e.staff_id IS NOT NULL AND e.created_at > :since
ORDER BY e.id
"""


def add_demo_mail(conn: Connection, store: Store, policy_text: str | None, now: datetime) -> int:
    """The demo's outbox rows; how many."""
    policy = policy_from_text(policy_text) if policy_text else load_preset(DEFAULT_PRESET)
    rules = policy.mail
    if rules.domain is None or rules.sender is None:
        return 0
    done = conn.execute(
        sql_text(INSERT),
        {
            "recent": store.timestamp_param(now - STILL_QUEUED),
            "since": store.timestamp_param(now - WINDOW),
            "sender": rules.sender,
            "domain": rules.domain,
        },
    )
    return int(done.rowcount or 0)
