"""An account's contacts: who may ask for what, reached at which addresses and numbers."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.tickets import parse_enum
from supportdesk.core.views import ContactView
from supportdesk.enums import ContactRole
from supportdesk.errors import NotAllowed, NotFound, UsageError
from supportdesk.models import Account, Contact, ContactPoint, Service
from supportdesk.rules import limits
from supportdesk.rules.limits import normalise_phone

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


MAX_AUTHORIZED = 3


MAX_POINTS = 20  # e-mail addresses, and phone numbers, of one contact


def _owner_request(
    session: Any, desk: Desk, account_id: str, verification_id: int | None
) -> str | None:
    """The owner (primary or secondary contact, verified on this call) asking for a contact
    change, or None when a lead makes it on their own authority."""
    if verification_id is None:
        return None
    from supportdesk.core.request_block import this_call

    v = this_call(session, desk, verification_id, account_id)
    if v.result != "verified" or v.contact_id is None:
        raise NotAllowed(f"verification {verification_id} did not verify a contact")
    who = session.get(Contact, v.contact_id)
    if who is None or who.role not in ("primary", "secondary"):
        raise NotAllowed("contact changes are accepted only from the primary or secondary contact")
    return f"{who.name} ({who.role}, verification {v.id})"


def add_contact(
    desk: Desk,
    account_id: str,
    name: str,
    emails: list[str],
    phones: list[str],
    role: str,
    *,
    services: list[int] | None = None,
    requests: list[str] | None = None,
    verification_id: int | None = None,
) -> ContactView:
    """Add a contact. A lead may; anyone else only as the recorded request of the account's
    primary or secondary contact verified on this call (`verification_id`). `services`
    limits the contact to some of the account's services; `requests` (sub-accounts) to some
    request types."""
    from supportdesk.rules.request_types import check_request_type

    if verification_id is None or desk.actor.is_lead:
        permissions.require(desk.actor, "contact.manage")
    r = parse_enum(ContactRole, role, "contact role")
    for request in requests or ():
        check_request_type(request)
    if requests and r is not ContactRole.SUBACCOUNT:
        raise UsageError("only a sub-account is limited to some request types")
    limits.check(account_id, limits.ACCOUNT_ID)
    limits.check(name, limits.NAME)
    limits.check_all(emails, limits.EMAIL, most=MAX_POINTS)
    limits.check_all(phones, limits.PHONE, most=MAX_POINTS)
    if not name.strip():
        raise UsageError("a contact needs a name")
    mails = [e.strip().lower() for e in emails]
    for e in mails:
        if not EMAIL_RE.match(e):
            raise UsageError(f"not an e-mail address: {e!r}")
    from supportdesk.core.policy import current_policy

    country = current_policy(desk).verification.phone_country  # "082 ..." is a local number
    numbers = [normalise_phone(p, country) for p in phones]
    if not mails and not numbers:
        raise UsageError("a contact needs an e-mail address or a phone number")
    with desk.write() as (session, record):
        if session.get(Account, account_id) is None:
            raise NotFound(f"no account {account_id!r}")
        owner = _owner_request(session, desk, account_id, verification_id)
        for service_id in services or ():
            svc = session.get(Service, service_id) if limits.fits_id(service_id) else None
            if svc is None or svc.account_id != account_id:
                raise NotFound(f"no service {service_id} on account {account_id}")
        existing = session.scalars(
            select(Contact.role).where(Contact.account_id == account_id, Contact.active)
        ).all()
        if r in (ContactRole.PRIMARY, ContactRole.SECONDARY) and r.value in existing:
            raise UsageError(f"account {account_id} already has a {r.value} contact")
        if r is ContactRole.AUTHORIZED and existing.count(r.value) >= MAX_AUTHORIZED:
            raise UsageError(
                f"account {account_id} already has {MAX_AUTHORIZED} authorized contacts"
            )
        contact = Contact(
            account_id=account_id,
            name=name.strip(),
            role=r.value,
            created_at=desk.now(),
            services=" ".join(str(x) for x in sorted(set(services or ()))),
            requests=" ".join(sorted(set(requests or ()))),
        )
        session.add(contact)
        session.flush()
        for e in mails:
            session.add(ContactPoint(contact_id=contact.id, kind="email", value=e))
        for p in numbers:
            session.add(ContactPoint(contact_id=contact.id, kind="phone", value=p))
        record(
            "contact.add",
            "contact",
            contact.id,
            {
                "account": [None, account_id],
                "name": [None, contact.name],
                "role": [None, r.value],
                "emails": [None, mails],
                "phones": [None, numbers],
                "services": [None, contact.services],
                "requests": [None, contact.requests],
                "requested_by": [None, owner],
            },
        )
        return ContactView(contact.id, contact.name, r.value, tuple(mails), tuple(numbers), False)
