"""A reply made from a template (issue 20): rendered in the sandbox from the ticket's plain
facts, sent as the agent's reply, and the template's status, category and priority applied
in the same transaction through the same guard and rules as `ticket update` (an agent who
may not make a change by hand cannot make it through a template: nothing is sent then)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.template_context import context_for
from supportdesk.core.tickets import guard, load_ticket
from supportdesk.core.views import JsonMixin
from supportdesk.enums import EventKind, TemplateKind
from supportdesk.errors import NotFound, UsageError
from supportdesk.models import Template
from supportdesk.rules import templating
from supportdesk.services.outbox.customer import Mailed
from supportdesk.services.tickets.changes import apply_fields
from supportdesk.services.tickets.messages import add_message, check_message

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Filled(JsonMixin):
    """A template rendered for a ticket: what would be sent, and what it would change."""

    name: str
    subject: str
    body: str
    set_status: str | None
    set_category: str | None
    set_priority: str | None


def _reply_template(session: Session, name: str) -> Template:
    t = session.scalars(select(Template).where(Template.name == name)).first()
    if t is None:
        raise NotFound(f"no template named {name!r}")
    if t.kind != TemplateKind.REPLY.value:
        raise UsageError(f"template {name!r} is a {t.kind} template, not a reply")
    return t


def fill(desk: Desk, ticket_id: int, name: str) -> Filled:
    """Template `name` rendered for ticket `ticket_id` (to edit before it goes)."""
    permissions.require(desk.actor, "ticket.reply")
    with desk.store.read() as s:
        tpl = _reply_template(s, name)
        t = load_ticket(s, ticket_id)
        out = templating.render(tpl.subject, tpl.body, context_for(s, desk, t))
        return Filled(
            tpl.name, out.subject, out.body, tpl.set_status, tpl.set_category, tpl.set_priority
        )


def reply_with(desk: Desk, ticket_id: int, name: str, *, body: str | None = None) -> Mailed:
    """Reply on `ticket_id` with template `name` (its rendered body, or `body` when the agent
    edited it), then make the template's changes; one transaction."""
    with desk.write() as (session, record):
        tpl = _reply_template(session, name)
        t = load_ticket(session, ticket_id, lock=True)
        guard(desk, session, t, "ticket.reply")
        out = templating.render(tpl.subject, tpl.body, context_for(session, desk, t))
        text = out.body.strip() if body is None else body
        check_message(EventKind.REPLY, text)
        mailed = add_message(
            session,
            record,
            desk,
            t,
            EventKind.REPLY,
            text,
            visible=True,
            subject=out.subject or None,
        )
        assert mailed is not None
        if tpl.set_status or tpl.set_category or tpl.set_priority:
            guard(desk, session, t, "ticket.update")
            apply_fields(
                session,
                desk,
                record,
                t,
                status=tpl.set_status,
                category=tpl.set_category,
                priority=tpl.set_priority,
            )
        record("template.used", "ticket", t.id, {"template": [None, tpl.name]})
        return mailed
