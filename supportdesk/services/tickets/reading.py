"""What the ticket screen shows, as plain data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import and_, select

from supportdesk.core import permissions
from supportdesk.core.clocks import (
    clocks_of,
)
from supportdesk.core.desk import Desk
from supportdesk.core.presence import marker_cutoff
from supportdesk.core.request_block import request_block
from supportdesk.core.tickets import (
    load_ticket,
)
from supportdesk.core.views import EventView, TicketView
from supportdesk.enums import (
    Priority,
)
from supportdesk.models import (
    Account,
    Contact,
    Presence,
    Service,
    Staff,
    TicketEvent,
    Verification,
)
from supportdesk.services.outbox.views import ticket_deliveries
from supportdesk.services.tickets.attachments import event_files


def show(desk: Desk, ticket_id: int) -> TicketView:
    """Everything the ticket screen shows, as plain data."""
    permissions.require(desk.actor, "ticket.read")
    with desk.store.read() as s:
        t = load_ticket(s, ticket_id)
        logins = dict(s.execute(select(Staff.id, Staff.login)).all())
        company = s.scalar(select(Account.company).where(Account.id == t.account_id)) or ""
        contact = (
            s.scalar(select(Contact.name).where(Contact.id == t.contact_id))
            if t.contact_id
            else None
        )
        confirmed_by = (
            s.scalar(
                select(Contact.name)
                .join(Verification, Verification.contact_id == Contact.id)
                .where(Verification.id == t.verification_id)
            )
            if t.confirmed_at is not None and t.verification_id is not None
            else None
        )
        service_label = (
            s.scalar(select(Service.label).where(Service.id == t.service_id))
            if t.service_id
            else None
        )
        files = event_files(s, ticket_id)
        events = tuple(
            EventView(
                id=e.id,
                kind=e.kind,
                at=e.created_at,
                author=logins.get(e.staff_id) if e.staff_id else None,
                from_customer=e.from_customer,
                visible=e.visible,
                body=e.body,
                call_outcome=e.call_outcome,
                old_value=e.old_value,
                new_value=e.new_value,
                redacted=e.redacted_at is not None,
                files=files.get(e.id, ()),
            )
            for e in s.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.created_at, TicketEvent.id)
            )
        )
        open_by = tuple(
            sorted(
                {
                    logins.get(sid, "?")
                    for sid in s.scalars(
                        select(Presence.staff_id).where(
                            and_(
                                Presence.ticket_id == ticket_id,
                                Presence.state != "off",
                                Presence.seen_at >= marker_cutoff(datetime.now(UTC)),
                            )
                        )
                    )
                    if sid != desk.actor.staff_id
                }
            )
        )
        return TicketView(
            id=t.id,
            account=t.account_id,
            company=company,
            # who reported it: an unlisted caller's own name, even once an owner confirmed
            contact=t.caller_name or contact,
            contact_id=t.contact_id,
            caller_name=t.caller_name,
            caller_phone=t.caller_phone,
            service=t.service_id,
            service_label=service_label,
            request_type=t.request_type,
            subject=t.subject,
            description=t.description,
            priority=Priority.from_rank(t.priority_rank).value,
            category=t.category,
            channel=t.channel,
            status=t.status,
            tier=t.tier,
            created_at=t.created_at,
            updated_at=t.updated_at,
            first_response_at=t.first_response_at,
            resolved_at=t.resolved_at,
            resolution_code=t.resolution_code,
            holder=logins.get(t.holder_id) if t.holder_id else None,
            merged_into=t.merged_into_id,
            last_speaker=t.last_speaker,
            last_activity_at=t.last_activity_at,
            events=events,
            open_by=open_by,
            sla_plan=t.sla_plan,
            clocks=clocks_of(t),
            window_id=t.window_id,
            confirmed_by=confirmed_by,
            suggested_type=t.suggested_type,
            suggested_words=tuple(json.loads(t.suggested_words or "[]")),
            request_block=request_block(s, desk, t),
            deliveries=ticket_deliveries(s, t.id),
        )
