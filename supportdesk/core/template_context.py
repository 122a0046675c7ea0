"""What a template's placeholders are filled from (issue 20): plain strings picked field by
field from the ticket, its contact, the staff member acting, its plan, its due times (in the
desk's zone) and the open incident it is linked to. No ORM row goes into a template's
context: a contact row carries `pin_hash`, and a template could print anything it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from supportdesk.core.desk_zone import desk_zone
from supportdesk.core.policy import current_policy
from supportdesk.enums import Priority, TemplateKind
from supportdesk.models import (
    Contact,
    Incident,
    IncidentLink,
    IncidentServer,
    IncidentUpdate,
    Template,
)
from supportdesk.rules.templating import Fields, Rendered, make_context, render

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.desk import Desk
    from supportdesk.models import Ticket


def _hours(seconds: int) -> str:
    if seconds % 3600 == 0:
        n = seconds // 3600
        return f"{n} hour" if n == 1 else f"{n} hours"
    n = max(1, round(seconds / 60))
    return f"{n} minute" if n == 1 else f"{n} minutes"


def span_words(desk: Desk, ticket: Ticket, seconds: int | None) -> str | None:
    """ "4 business hours" for a target of `seconds` on the calendar of the ticket's plan
    ("hours" alone on a calendar open around the clock); None for no target."""
    if not seconds:  # best effort, or no such clock
        return None
    try:
        calendar = current_policy(desk).plan_for(ticket.sla_plan).calendar
        always = not calendar.holidays and all(
            sum(end - start for start, end in day) >= 24 * 60 for day in calendar.week
        )
    except Exception:  # a plan the policy no longer has: say business hours, the safe word
        always = False
    span = _hours(seconds)
    if not always:
        unit = span.split(" ", 1)
        span = f"{unit[0]} business {unit[1]}"
    return span


def _when(desk: Desk, at: datetime | None) -> str:
    if at is None:
        return ""
    return at.astimezone(desk_zone(desk.store)).strftime("%a %d %b %Y %H:%M %Z")


def _first(name: str) -> str:
    return name.split()[0] if name.split() else ""


def incident_facts(session: Session, desk: Desk, incident_id: int) -> dict[str, str]:
    """The `incident` namespace for incident `incident_id`: its id, title, state, servers
    (by name), when it was opened (in the desk's zone) and its latest customer update (an
    update or the resolution: never the "opened" or "acknowledged" entries, which no
    customer was sent)."""
    row = session.execute(
        select(Incident.title, Incident.state, Incident.opened_at).where(Incident.id == incident_id)
    ).first()
    if row is None:
        return {}
    servers = session.scalars(
        select(IncidentServer.server)
        .where(IncidentServer.incident_id == incident_id)
        .order_by(IncidentServer.server)
    ).all()
    latest = (
        session.scalar(
            select(IncidentUpdate.body)
            .where(
                IncidentUpdate.incident_id == incident_id,
                IncidentUpdate.kind.in_(("update", "resolved")),
                IncidentUpdate.body != "",
            )
            .order_by(IncidentUpdate.at.desc(), IncidentUpdate.id.desc())
            .limit(1)
        )
        or ""
    )
    return {
        "id": str(incident_id),
        "title": row.title,
        "status": row.state,
        "servers": ", ".join(servers),
        "opened": _when(desk, row.opened_at),
        "latest_update": latest,
        "update_text": latest,
    }


def ticket_facts(session: Session, desk: Desk, t: Ticket) -> dict[str, dict[str, str]]:
    """The context's values for ticket `t` (see FIELDS in rules/templating.py); its incident
    is the one it is linked to, an open one first, then the newest."""
    contact_name = t.caller_name or ""
    if not contact_name and t.contact_id is not None:
        contact_name = session.scalar(select(Contact.name).where(Contact.id == t.contact_id)) or ""
    incident_id = session.scalar(
        select(Incident.id)
        .join(IncidentLink, IncidentLink.incident_id == Incident.id)
        .where(IncidentLink.ticket_id == t.id)
        .order_by(Incident.resolved_at.is_not(None), Incident.id.desc())
        .limit(1)
    )
    incident = {} if incident_id is None else incident_facts(session, desk, incident_id)
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
        "incident": incident,
    }


def context_for(session: Session, desk: Desk, t: Ticket) -> dict[str, Fields | str]:
    return make_context(ticket_facts(session, desk, t))


def desk_facts(desk: Desk) -> dict[str, dict[str, str]]:
    """The context's values when there is no ticket (a maintenance notice): the agent."""
    actor = desk.actor
    return {"agent": {"name": actor.name, "first_name": _first(actor.name), "login": actor.login}}


def of_kind(session: Session, kind: TemplateKind) -> Template | None:
    """The template the desk uses for an automatic message of `kind` (the first by name),
    or None: the built-in text then."""
    return session.scalars(
        select(Template).where(Template.kind == kind.value).order_by(Template.name).limit(1)
    ).first()


def automatic(
    session: Session,
    desk: Desk,
    kind: TemplateKind,
    t: Ticket | None,
    extra: Mapping[str, Mapping[str, str]] | None = None,
    *,
    code: str = "",
) -> Rendered | None:
    """An automatic message of `kind` on ticket `t` (None: no ticket, e.g. a maintenance
    notice) from the lead's template of that kind, or None when there is none (the built-in
    text then). `extra` fills or overrides namespaces (plain strings: the window, the
    reseller, this incident update); `code` is a confirmation's one-time code. A template
    that cannot render here (it was checked when saved) falls back to the built-in text
    too, and so does a confirmation whose body lost the code: an automatic message is never
    lost to a template."""
    from supportdesk.errors import UsageError

    template = of_kind(session, kind)
    if template is None:
        return None
    facts = ticket_facts(session, desk, t) if t is not None else desk_facts(desk)
    for namespace, values in (extra or {}).items():
        facts[namespace] = {**facts.get(namespace, {}), **values}
    try:
        out = render(template.subject, template.body, make_context(facts, code=code))
    except UsageError:
        return None
    if kind is TemplateKind.CONFIRMATION and (not code or code not in out.body):
        return None
    return out
