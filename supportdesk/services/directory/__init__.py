"""The desk's own records: staff, accounts, their services and contacts."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, or_, select

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.core.tickets import parse_enum
from supportdesk.core.views import AccountView, ContactView, ServiceView, StaffView
from supportdesk.enums import AccountStatus, ContactRole, Role, ServiceKind
from supportdesk.errors import NotAllowed, NotFound, NothingToDo, UsageError
from supportdesk.models import Account, Contact, ContactPoint, Service, Staff, Ticket
from supportdesk.rules import limits
from supportdesk.rules.limits import normalise_phone

LOGIN_RE = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")
ACCOUNT_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_AUTHORIZED = 3
MAX_POINTS = 20  # e-mail addresses, and phone numbers, of one contact


def _staff_view(s: Staff) -> StaffView:
    return StaffView(s.id, s.login, s.name, s.tier, s.role, s.active)


def add_staff(desk: Desk, login: str, name: str, tier: int, role: str) -> StaffView:
    permissions.require(desk.actor, "staff.manage")
    r = parse_enum(Role, role, "role")
    limits.check(login, limits.LOGIN)
    limits.check(name, limits.NAME, required=True)
    if not LOGIN_RE.fullmatch(login):
        raise UsageError(f"login {login!r}: lowercase letters, digits, . _ - (start with a letter)")
    permissions.validate_staff_tier(r, tier)
    with desk.write() as (session, record):
        if session.scalars(select(Staff).where(Staff.login == login)).first():
            raise UsageError(f"staff member {login!r} already exists")
        staff = Staff(login=login, name=name, tier=tier, role=r.value, created_at=desk.now())
        session.add(staff)
        session.flush()
        record(
            "staff.add",
            "staff",
            staff.id,
            {
                "login": [None, login],
                "name": [None, name],
                "tier": [None, tier],
                "role": [None, r.value],
            },
        )
        return _staff_view(staff)


def list_staff(desk: Desk) -> list[StaffView]:
    with desk.store.read() as s:
        return [_staff_view(x) for x in s.scalars(select(Staff).order_by(Staff.tier, Staff.login))]


def add_account(
    desk: Desk, account_id: str, company: str, plan: str, notes: str = ""
) -> AccountView:
    permissions.require(desk.actor, "account.manage")
    limits.check(account_id, limits.ACCOUNT_ID)
    limits.check(company, limits.COMPANY)
    limits.check(plan, limits.PLAN)
    limits.check(notes, limits.NOTES)
    if not ACCOUNT_RE.fullmatch(account_id):
        raise UsageError(f"account id {account_id!r}: lowercase letters, digits, . _ -")
    if not company.strip() or not plan.strip():
        raise UsageError("an account needs a company and a plan")
    check_plan(desk, plan)
    with desk.write() as (session, record):
        if session.get(Account, account_id) is not None:
            raise UsageError(f"account {account_id!r} already exists")
        acct = Account(
            id=account_id,
            company=company,
            plan=plan,
            status=AccountStatus.ACTIVE.value,
            notes=notes,
            created_at=desk.now(),
        )
        session.add(acct)
        record(
            "account.add",
            "account",
            account_id,
            {"company": [None, company], "plan": [None, plan], "notes": [None, notes]},
        )
    return show_account(desk, account_id)


def check_plan(desk: Desk, plan: str) -> None:
    """UsageError naming the policy's plans unless `plan` is one of them."""

    plans = current_policy(desk).plans
    if plan not in plans:
        raise UsageError(f"no SLA plan {plan!r} in the policy (plans: {', '.join(sorted(plans))})")


def set_plan(desk: Desk, account_id: str, plan: str) -> int:
    """Move an account to another SLA plan; its open tickets' clocks are recomputed with the
    new targets (stopped clocks keep their outcome). Returns how many tickets changed."""
    from supportdesk.services import sla

    permissions.require(desk.actor, "account.manage")
    limits.check(account_id, limits.ACCOUNT_ID)
    limits.check(plan, limits.PLAN)
    check_plan(desk, plan)
    with desk.write() as (session, record):
        acct = session.get(Account, account_id)
        if acct is None:
            raise NotFound(f"no account {account_id!r}")
        if acct.plan == plan:
            raise NothingToDo(f"account {account_id} is already on plan {plan}")
        old = acct.plan
        acct.plan = plan
        session.flush()
        changed = sla.recompute(
            session,
            desk,
            current_policy(desk),
            reason=f"plan {old} → {plan}",
            account_id=account_id,
        )
        record(
            "account.plan",
            "account",
            account_id,
            {"plan": [old, plan], "tickets_recomputed": [None, changed]},
        )
    return changed


def _owner_request(
    session: Any, desk: Desk, account_id: str, verification_id: int | None
) -> str | None:
    """The owner (primary or secondary contact, verified on this call) asking for a contact
    change, or None when a lead makes it on their own authority."""
    if verification_id is None:
        return None
    from supportdesk.models import Verification
    from supportdesk.rules.verify_rules import CALL_WINDOW

    v = session.get(Verification, verification_id) if limits.fits_id(verification_id) else None
    if v is None or v.account_id != account_id:
        raise NotFound(f"no verification {verification_id} for account {account_id}")
    if v.result != "verified" or v.contact_id is None:
        raise NotAllowed(f"verification {verification_id} did not verify a contact")
    if desk.now() - v.created_at > CALL_WINDOW:
        raise NotAllowed(f"verification {verification_id} was for an earlier call: verify again")
    who = session.get(Contact, v.contact_id)
    if who is None or who.role not in ("primary", "secondary"):
        raise NotAllowed("contact changes are accepted only from the primary or secondary contact")
    return f"{who.name} ({who.role}, verification {v.id})"


def list_accounts(desk: Desk, search: str | None = None, limit: int = 50) -> list[AccountView]:
    if not 1 <= limit <= 10_000:
        raise UsageError("--limit must be between 1 and 10000")
    if search is not None:
        limits.check(search, limits.SEARCH, what="--search")
    with desk.store.read() as s:
        stmt = select(Account).order_by(Account.id).limit(limit)
        if search:
            text = search.strip()  # % _ and \ are searched for, not obeyed (as in the queue)
            text = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = f"%{text}%"
            stmt = stmt.where(
                or_(
                    Account.id.ilike(like, escape="\\"),
                    Account.company.ilike(like, escape="\\"),
                )
            )
        return [_account_view(a) for a in s.scalars(stmt)]


def _account_view(a: Account, **extra: Any) -> AccountView:
    return AccountView(
        id=a.id,
        company=a.company,
        plan=a.plan,
        status=a.status,
        suspended_reason=a.suspended_reason,
        notes=a.notes,
        reseller=a.reseller_id,
        created_at=a.created_at,
        **extra,
    )


def show_account(desk: Desk, account_id: str) -> AccountView:
    limits.check(account_id, limits.ACCOUNT_ID)
    with desk.store.read() as s:
        a = s.get(Account, account_id)
        if a is None:
            raise NotFound(f"no account {account_id!r}")
        services = tuple(
            ServiceView.of(x)
            for x in s.scalars(
                select(Service).where(Service.account_id == account_id).order_by(Service.id)
            )
        )
        contacts = []
        for c in s.scalars(
            select(Contact)
            .where(Contact.account_id == account_id, Contact.active)
            .order_by(Contact.id)
        ):
            points = s.execute(
                select(ContactPoint.kind, ContactPoint.value).where(ContactPoint.contact_id == c.id)
            ).all()
            contacts.append(
                ContactView(
                    c.id,
                    c.name,
                    c.role,
                    tuple(v for k, v in points if k == "email"),
                    tuple(v for k, v in points if k == "phone"),
                    c.pin_hash is not None,
                )
            )
        open_count = (
            s.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.account_id == account_id, Ticket.view != "done")
            )
            or 0
        )
        return _account_view(
            a, services=services, contacts=tuple(contacts), open_tickets=int(open_count)
        )


def add_service(
    desk: Desk, account_id: str, kind: str, label: str, domains: list[str], server: str | None
) -> ServiceView:
    permissions.require(desk.actor, "service.manage")
    k = parse_enum(ServiceKind, kind, "service kind")
    limits.check(account_id, limits.ACCOUNT_ID)
    limits.check(label, limits.LABEL)
    limits.check_all(domains, limits.DOMAIN, most=limits.DOMAINS_PER_SERVICE)
    limits.check_optional(server, limits.SERVER)
    with desk.write() as (session, record):
        if session.get(Account, account_id) is None:
            raise NotFound(f"no account {account_id!r}")
        svc = Service(
            account_id=account_id,
            kind=k.value,
            label=label or k.value,
            domains=" ".join(d.lower() for d in domains),
            server=server,
            created_at=desk.now(),
        )
        session.add(svc)
        session.flush()
        record(
            "service.add",
            "service",
            svc.id,
            {
                "account": [None, account_id],
                "kind": [None, k.value],
                "label": [None, svc.label],
                "domains": [None, svc.domains],
                "server": [None, server],
            },
        )
        return ServiceView.of(svc)


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
    from supportdesk.rules.verify_rules import REQUESTS

    if verification_id is None or desk.actor.is_lead:
        permissions.require(desk.actor, "contact.manage")
    r = parse_enum(ContactRole, role, "contact role")
    for request in requests or ():
        if request not in REQUESTS:
            raise UsageError(f"unknown request type {request!r} (one of: {', '.join(REQUESTS)})")
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
    numbers = [normalise_phone(p) for p in phones]
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
