"""Declaring an incident and keeping customers informed: open, post updates, acknowledge."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.clocks import on_first_response
from supportdesk.core.desk import Desk
from supportdesk.core.staff_lookup import login_of, staff_by_login
from supportdesk.enums import EventKind, Role, Speaker, TemplateKind
from supportdesk.errors import NotAllowed, NothingToDo, UsageError
from supportdesk.rules import limits
from supportdesk.services.incidents.common import (
    DONE,
    STATES,
    body_digest,
    incident_text,
    known_servers,
    load_incident,
    parse_cadence,
    require_manager,
    require_open,
    server_names,
)
from supportdesk.services.incidents.reading import summary
from supportdesk.services.incidents.views import IncidentSummary, UpdateResult

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.models import Incident, Ticket, TicketEvent


def default_script(title: str, servers: Sequence[str]) -> str:
    return (
        f"We know about a problem on {', '.join(servers)}: {title}. Our engineers are on it; "
        "you do not need to open a ticket. We will update you as soon as we know more."
    )


def templated_script(
    session: Session, desk: Desk, incident_id: int, fallback: str
) -> tuple[str, dict[str, Any]]:
    """The script of incident `incident_id` (its servers added) from the lead's template of
    kind incident_script, filled with the incident's placeholders and the declaring agent's,
    with what the audit says of it; `fallback` (the built-in words) when there is no such
    template, or it does not render, renders to nothing or to more than the script's
    limit: a broken template never stops a declaration."""
    from supportdesk.core.template_context import automatic, incident_facts, of_kind

    template = of_kind(session, TemplateKind.INCIDENT_SCRIPT)
    if template is None:
        return fallback, {}
    session.flush()  # the servers' rows
    facts = {"incident": incident_facts(session, desk, incident_id)}
    out = automatic(session, desk, TemplateKind.INCIDENT_SCRIPT, None, facts)
    words = out.body.strip() if out is not None else ""
    try:
        limits.check(words, limits.SCRIPT, what="script", required=True)
    except UsageError as e:
        why = str(e) if out is not None else "it does not render"
        return fallback, {"script_template": [None, f"{template.name} not used ({why})"]}
    return words, {"script_template": [None, template.name]}


def open_incident(
    desk: Desk,
    servers: Iterable[str],
    title: str,
    *,
    cadence: str | None = None,
    script: str | None = None,
    owner: str | None = None,
) -> IncidentSummary:
    """Open an incident on `servers`; its owner is the on-call engineer (`owner`, else the
    engineer or lead opening it). The first customer update is due one cadence from now."""
    from supportdesk.models import Incident, IncidentServer, IncidentUpdate

    actor = desk.actor
    permissions.require(actor, "incident.open")
    names = server_names(servers)
    what = incident_text(title, "a title (--title)", 300)
    every = parse_cadence(cadence)
    given = (script or "").strip()
    words = given or default_script(what, names)
    if len(words) > 4000:
        raise UsageError(f"the script is too long ({len(words)} characters; at most 4000)")
    limits.check(words, limits.SCRIPT, what="--script")
    with desk.write() as (session, record):
        known_servers(session, names)
        if owner:
            person = staff_by_login(session, owner)
            if person.role == Role.AGENT.value:
                raise UsageError(
                    f"{person.login} is an agent: an incident's owner is the on-call engineer "
                    "or a lead"
                )
            owner_id, owner_login = person.id, person.login
        elif actor.role is Role.AGENT:
            raise UsageError("name the on-call engineer who owns the incident (--owner LOGIN)")
        else:
            owner_id, owner_login = actor.staff_id, actor.login
        now = desk.now()
        due = now + timedelta(seconds=every)
        inc = Incident(
            title=what,
            state="investigating",
            script=words,
            owner_id=owner_id,
            opened_by_id=actor.staff_id,
            opened_at=now,
            updated_at=now,
            cadence_s=every,
            next_update_due=due,
        )
        session.add(inc)
        session.flush()
        for name in names:
            session.add(IncidentServer(incident_id=inc.id, server=name))
        source: dict[str, Any] = {}
        if not given:  # a lead's incident_script template, filled, else the built-in words
            words, source = templated_script(session, desk, inc.id, words)
            inc.script = words
        if owner_id != actor.staff_id:  # the on-call engineer hears it on their console
            from supportdesk.core.notices import notify

            notify(
                session,
                desk,
                owner_id,
                None,
                "incident",
                f"{actor.login} opened incident #{inc.id} on {', '.join(names)} and made you "
                f"its owner: {what}",
            )
        session.add(
            IncidentUpdate(
                incident_id=inc.id,
                kind="opened",
                state="investigating",
                body=what,
                by_id=actor.staff_id,
                at=now,
                tickets_posted=0,
            )
        )
        record(
            "incident.open",
            "incident",
            inc.id,
            {
                "title": [None, what],
                "servers": [None, list(names)],
                "owner": [None, owner_login],
                "state": [None, "investigating"],
                "cadence_s": [None, every],
                "next_update_due": [None, due.isoformat()],
                "script": [None, body_digest(words)],
                **source,
            },
        )
        iid = inc.id
    return summary(desk, iid)


def post_reply(
    session: Session, desk: Desk, record: Any, ticket: Ticket, body: str, incident_id: int
) -> TicketEvent:
    """The update as a customer-visible reply on one linked ticket (its first response when
    it had none), with its audit row. The mail to its contact is queued by the caller, once
    per contact (outbox.customer.queue_incident_update)."""
    from supportdesk.core.tickets import add_event, first_response

    now = desk.now()
    event = add_event(session, desk, ticket, EventKind.REPLY, body=body, visible=True)
    changes: dict[str, Any] = {
        "body": [None, body_digest(body)],
        "incident": [None, incident_id],
    }
    first_response(ticket, now, changes)
    on_first_response(session, desk, ticket, f"incident #{incident_id} update")
    ticket.last_speaker = Speaker.STAFF.value
    ticket.last_activity_at = now
    ticket.updated_at = now
    record("ticket.reply", "ticket", ticket.id, changes)
    return event


def linked_tickets(session: Session, incident_id: int, *, lock: bool = False) -> list[Any]:
    from sqlalchemy import select

    from supportdesk.models import IncidentLink, Ticket

    stmt = (
        select(Ticket, IncidentLink)
        .join(IncidentLink, IncidentLink.ticket_id == Ticket.id)
        .where(IncidentLink.incident_id == incident_id)
        .order_by(Ticket.id)
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Ticket)
    return list(session.execute(stmt).all())


def update_text(inc: Incident, body: str) -> str:
    return f"Update on the incident affecting your service ({inc.title}): {body}"


def post_update(
    desk: Desk,
    incident_id: int,
    body: str,
    *,
    state: str | None = None,
    script: str | None = None,
) -> UpdateResult:
    """A customer update: posted as a reply on every live linked ticket, in one transaction;
    the next update is then due one cadence later. May move the state (not to resolved:
    `resolve` does that) and replace the script agents read."""
    from supportdesk.models import IncidentUpdate

    words = incident_text(body, "the update's text")
    if state is not None:
        state = state.strip().lower()
        if state not in STATES:
            raise UsageError(f"unknown state {state!r} (one of: {', '.join(STATES)})")
        if state == "resolved":
            raise UsageError("resolve an incident with `supportdesk incident resolve`")
    new_script = (script or "").strip() or None
    if new_script is not None:
        incident_text(new_script, "--script")
    with desk.write() as (session, record):
        inc = load_incident(session, incident_id, lock=True)
        require_manager(desk, inc)
        require_open(inc, "updated")
        now = desk.now()
        posted: list[int] = []
        replies: list[tuple[Ticket, TicketEvent]] = []
        reply = update_text(inc, words)
        for ticket, _link in linked_tickets(session, inc.id, lock=True):
            if ticket.status in DONE:
                continue
            replies.append((ticket, post_reply(session, desk, record, ticket, reply, inc.id)))
            posted.append(ticket.id)
        changes: dict[str, Any] = {
            "body": [None, body_digest(words)],
            "tickets_posted": [None, posted],
            "next_update_due": [
                inc.next_update_due.isoformat() if inc.next_update_due else None,
                (now + timedelta(seconds=inc.cadence_s)).isoformat(),
            ],
        }
        new_state = state or inc.state
        if new_state != inc.state:
            changes["state"] = [inc.state, new_state]
            inc.state = new_state
        if new_script is not None and new_script != inc.script:
            changes["script"] = [body_digest(inc.script), body_digest(new_script)]
            inc.script = new_script
        inc.next_update_due = now + timedelta(seconds=inc.cadence_s)
        inc.updated_at = now
        update = IncidentUpdate(
            incident_id=inc.id,
            kind="update",
            state=inc.state,
            body=words,
            by_id=desk.actor.staff_id,
            at=now,
            tickets_posted=len(posted),
        )
        session.add(update)
        session.flush()
        from supportdesk.services.outbox.customer import queue_incident_update

        mailed = queue_incident_update(
            session, desk, (inc.id, update.id, inc.title), reply, replies, words=words
        )
        if mailed:
            changes["mailed"] = [None, mailed]
        record("incident.update", "incident", inc.id, changes)
        return UpdateResult(inc.id, update.id, inc.state, tuple(posted), inc.next_update_due)


def acknowledge(desk: Desk, incident_id: int) -> IncidentSummary:
    """A lead or the on-call engineer (the owner) takes it on: no console rings for it again."""
    from supportdesk.models import IncidentUpdate

    with desk.write() as (session, record):
        inc = load_incident(session, incident_id, lock=True)
        actor = desk.actor
        if not (actor.is_lead or inc.owner_id == actor.staff_id):
            owner = login_of(session, inc.owner_id)
            raise NotAllowed(
                f"only a lead or the on-call engineer ({owner}) acknowledges incident #{inc.id}"
            )
        require_open(inc, "acknowledged")
        if inc.acknowledged_at is not None:
            who = login_of(session, inc.acknowledged_by_id)
            raise NothingToDo(f"incident #{inc.id} was already acknowledged by {who}")
        now = desk.now()
        inc.acknowledged_at = now
        inc.acknowledged_by_id = actor.staff_id
        inc.updated_at = now
        session.add(
            IncidentUpdate(
                incident_id=inc.id,
                kind="ack",
                state=inc.state,
                body=f"acknowledged by {actor.login}",
                by_id=actor.staff_id,
                at=now,
                tickets_posted=0,
            )
        )
        record(
            "incident.ack",
            "incident",
            inc.id,
            {"acknowledged_at": [None, now.isoformat()], "acknowledged_by": [None, actor.login]},
        )
    return summary(desk, incident_id)
