"""Everything the desk sends to a customer (issue 18): the outbox, and the alarms the sender
raises when the mail transport itself fails.

A message is a row written in the same transaction as the reply or event that causes it, so
a rollback sends nothing and a crash loses nothing; `supportdesk mail send` delivers what is
due later, taking each row by lease. Delivery is at least once: the Message-ID is made when
the row is queued, so a repeat after a crash carries the same one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supportdesk.models.base import Base, UTCDateTime


class OutboxMessage(Base):
    """One message to one address.

    kind: reply | acknowledgement | confirmation | incident_update | maintenance_notice.
    state: queued (waits for `send_after`) | sending (leased by `lease_owner` until
    `lease_until`) | sent (`server_reply` is the server's answer to DATA) | deferred (tried,
    next try at `send_after`, `last_error` says why) | failed (permanent: `last_error`).
    `dedupe_key` makes an automatic message's effect exactly once (one acknowledgement per
    ticket, one incident update per contact and update, one notice per contact and window).
    `headers` holds the extra headers as JSON (In-Reply-To, References, Auto-Submitted).
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"), default=None)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    to_addr: Mapped[str] = mapped_column(String(255))
    from_addr: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[str] = mapped_column(Text, default="{}")
    message_id: Mapped[str] = mapped_column(String(255))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), default=None)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime)
    # when it first came due (its send_after when queued, moved with a maintenance window,
    # reset by a retry): `max_defer` counts from here, so a notice queued days ahead of its
    # window is not failed on its first 4xx
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    server_reply: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        Index("uq_outbox_message_id", "message_id", unique=True),
        Index("uq_outbox_dedupe_key", "dedupe_key", unique=True),
        Index("ix_outbox_due", "state", "send_after", "id"),
        Index("ix_outbox_ticket", "ticket_id", "id"),
        Index("ix_outbox_event", "event_id"),
    )


class MailAlarm(Base):
    """A fault of the mail transport itself (AUTH refused, TLS failure, relay refused): every
    message is deferred and the lead's board shows the alarm until a delivery succeeds
    (`cleared_at`)."""

    __tablename__ = "mail_alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
