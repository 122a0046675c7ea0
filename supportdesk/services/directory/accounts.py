"""Customer accounts, their SLA plan and their services."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, or_, select

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.core.tickets import parse_enum
from supportdesk.core.views import AccountView, ContactView, ServiceView
from supportdesk.enums import AccountStatus, ServiceKind
from supportdesk.errors import NotFound, NothingToDo, UsageError
from supportdesk.models import Account, Contact, ContactPoint, Service, Ticket
from supportdesk.rules import limits
from supportdesk.services.directory.resellers import check_reseller, lock_accounts, referral_in

ACCOUNT_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def add_account(
    desk: Desk,
    account_id: str,
    company: str,
    plan: str,
    notes: str = "",
    reseller: str | None = None,
) -> AccountView:
    """A new account; with `reseller`, an end customer of that reseller (who is referred to
    it on every path: services/directory/resellers.py)."""
    permissions.require(desk.actor, "account.manage")
    limits.check(account_id, limits.ACCOUNT_ID)
    limits.check(company, limits.COMPANY)
    limits.check(plan, limits.PLAN)
    limits.check(notes, limits.NOTES)
    if reseller is not None:
        limits.check(reseller, limits.ACCOUNT_ID, what="--reseller")
    if not ACCOUNT_RE.fullmatch(account_id):
        raise UsageError(f"account id {account_id!r}: lowercase letters, digits, . _ -")
    if not company.strip() or not plan.strip():
        raise UsageError("an account needs a company and a plan")
    check_plan(desk, plan)
    with desk.write() as (session, record):
        if session.get(Account, account_id) is not None:
            raise UsageError(f"account {account_id!r} already exists")
        if reseller is not None:
            lock_accounts(session, reseller)
            check_reseller(session, account_id, reseller)
        acct = Account(
            id=account_id,
            company=company,
            plan=plan,
            status=AccountStatus.ACTIVE.value,
            notes=notes,
            reseller_id=reseller,
            created_at=desk.now(),
        )
        session.add(acct)
        changes: dict[str, Any] = {
            "company": [None, company],
            "plan": [None, plan],
            "notes": [None, notes],
        }
        if reseller is not None:
            changes["reseller"] = [None, reseller]
        record("account.add", "account", account_id, changes)
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
            a,
            services=services,
            contacts=tuple(contacts),
            open_tickets=int(open_count),
            referral=referral_in(s, a),
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
