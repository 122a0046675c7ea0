"""Templates (issue 20): canned replies and the desk's automatic messages, kept by leads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supportdesk.models.base import Base, UTCDateTime


class Template(Base):
    """A named template of `kind` (supportdesk.enums.TemplateKind): a subject and a body in
    the sandboxed template language (supportdesk.rules.templating), and the status, category
    and priority a reply made from it sets (each optional)."""

    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    set_status: Mapped[str | None] = mapped_column(String(32), default=None)
    set_category: Mapped[str | None] = mapped_column(String(32), default=None)
    set_priority: Mapped[str | None] = mapped_column(String(8), default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_templates_name", "name", unique=True),
        Index("ix_templates_kind", "kind", "name"),
    )
