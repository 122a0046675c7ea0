"""The append-only audit trail; see core.audit for the HMAC chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supportdesk.models.base import Base, UTCDateTime


class AuditEvent(Base):
    """One recorded change. `seq` is dense (1, 2, 3, ...) and each row's `mac` covers the row
    and the previous row's `mac`, so an edit, a gap or a re-ordering breaks the chain."""

    __tablename__ = "audit"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # real wall-clock time, never --at
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    staff_login: Mapped[str] = mapped_column(String(64))
    os_user: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(48))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[str] = mapped_column(Text)  # canonical JSON {field: [before, after]}
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
