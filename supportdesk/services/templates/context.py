"""What a template's placeholders are filled from (issue 20): plain strings picked field by
field from the ticket, its contact, the staff member acting, its plan, its due times (in the
desk's zone) and the open incident it is linked to. No ORM row goes into a template's
context: a contact row carries `pin_hash`, and a template could print anything it is given.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from supportdesk.core.desk_zone import desk_zone
from supportdesk.enums import Priority
from supportdesk.models import Contact, Incident, IncidentLink, IncidentUpdate
from supportdesk.rules.templating import Fields, make_context
from supportdesk.services.outbox.customer import span_words

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk
    from supportdesk.models import Ticket


def _when(desk: Desk, at: datetime | None) -> str:
    if at is None:
        return ""
    return at.astimezone(desk_zone(desk.store)).strftime("%a %d %b %Y %H:%M %Z")


def _first(name: str) -> str:
    return name.split()[0] if name.split() else ""


def ticket_facts(session: Session, desk: Desk, t: Ticket) -> dict[str, dict[str, str]]:
    """The context's values for ticket `t` (see FIELDS in rules/templating.py)."""
    contact_name = t.caller_name or ""
    if not contact_name and t.contact_id is not None:
        contact_name = session.scalar(select(Contact.name).where(Contact.id == t.contact_id)) or ""
    incident = session.execute(
        select(Incident.id, Incident.title, Incident.state)
        .join(IncidentLink, IncidentLink.incident_id == Incident.id)
        .where(IncidentLink.ticket_id == t.id)
        .order_by(Incident.resolved_at.is_not(None), Incident.id.desc())
        .limit(1)
    ).first()
    latest = ""
    if incident is not None:
        latest = (
            session.scalar(
                select(IncidentUpdate.body)
                .where(IncidentUpdate.incident_id == incident.id, IncidentUpdate.body != "")
                .order_by(IncidentUpdate.at.desc(), IncidentUpdate.id.desc())
                .limit(1)
            )
            or ""
        )
    actor = desk.actor
    return {
        "ticket": {
            "id": str(t.id),
            "subject": t.subject,
            "status": t.status.replace("_", " "),
            "priority": Priority.from_rank(t.priority_rank).value,
            "category": t.category,
        },
        "contact": {"name": contact_name, "first_name": _first(contact_name)},
        "agent": {"name": actor.name, "first_name": _first(actor.name), "login": actor.login},
        "plan": {
            "name": t.sla_plan or "",
            "respond_target": span_words(desk, t, t.respond_target_s) or "",
            "resolve_target": span_words(desk, t, t.resolve_target_s) or "",
        },
        "due": {"respond": _when(desk, t.respond_due), "resolve": _when(desk, t.resolve_due)},
        "incident": {
            "title": incident.title if incident else "",
            "status": incident.state if incident else "",
            "latest_update": latest,
        },
    }


def context_for(session: Session, desk: Desk, t: Ticket) -> dict[str, Fields]:
    return make_context(ticket_facts(session, desk, t))
