"""Resellers (seed 002, 5c): which account is a reseller's end customer, and the referral
every path gives such a customer instead of a ticket.

`referral_in` is the one place the referral is made: `verify`, `ticket new`, mail ingest,
the call screen and `account show` all use the `Referral` it returns (its wording is in
core.views.Referral). `set_reseller` sets or clears an account's reseller (audited),
refusing a reseller that does not exist, the account itself, or a loop of resellers.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportdesk.core import permissions
from supportdesk.core.desk import Desk, Recorder
from supportdesk.core.views import Referral
from supportdesk.enums import ContactRole
from supportdesk.errors import NotFound, NothingToDo, UsageError
from supportdesk.models import Account, Contact, ContactPoint
from supportdesk.rules import limits

MAX_CHAIN = 32  # resellers of resellers: deeper than this is refused as a loop would be


def referral_in(session: Session, account: Account | str) -> Referral | None:
    """The referral for `account` when it is a reseller's end customer (None otherwise),
    with the reseller's primary contact: name, first e-mail and first phone on file."""
    acct = session.get(Account, account) if isinstance(account, str) else account
    if acct is None or acct.reseller_id is None:
        return None
    reseller = session.get(Account, acct.reseller_id)
    if reseller is None:  # the foreign key makes this impossible; say so plainly if not
        return Referral(acct.id, acct.reseller_id, acct.reseller_id, None, None, None)
    primary = session.scalars(
        select(Contact)
        .where(
            Contact.account_id == reseller.id,
            Contact.active,
            Contact.role == ContactRole.PRIMARY.value,
        )
        .order_by(Contact.id)
    ).first()
    email = phone = None
    if primary is not None:
        points = session.execute(
            select(ContactPoint.kind, ContactPoint.value)
            .where(ContactPoint.contact_id == primary.id)
            .order_by(ContactPoint.id)
        ).all()
        email = next((v for k, v in points if k == "email"), None)
        phone = next((v for k, v in points if k == "phone"), None)
    return Referral(
        acct.id,
        reseller.id,
        reseller.company,
        primary.name if primary is not None else None,
        email,
        phone,
    )


def referral(desk: Desk, account_id: str) -> Referral | None:
    """`referral_in`, read on its own (the call screen, `account show`)."""
    limits.check(account_id, limits.ACCOUNT_ID)
    with desk.store.read() as session:
        return referral_in(session, account_id)


def check_reseller(session: Session, account_id: str, reseller_id: str) -> Account:
    """The reseller `reseller_id` may take `account_id` as an end customer: it exists, is
    not the account, and is not (through its own resellers) an end customer of it."""
    limits.check(reseller_id, limits.ACCOUNT_ID, what="--reseller")
    if reseller_id == account_id:
        raise UsageError(f"account {account_id} cannot be its own reseller")
    reseller = session.get(Account, reseller_id)
    if reseller is None:
        raise NotFound(f"no reseller account {reseller_id!r}")
    above: Account | None = reseller
    for _hop in range(MAX_CHAIN):
        if above is None or above.reseller_id is None:
            return reseller
        if above.reseller_id == account_id:
            raise UsageError(
                f"{reseller_id} cannot be the reseller of {account_id}: {reseller_id} is "
                f"itself a customer of {account_id} (through {above.id})"
            )
        above = session.get(Account, above.reseller_id)
    raise UsageError(f"{reseller_id} is more than {MAX_CHAIN} resellers deep")


def set_reseller(desk: Desk, account_id: str, reseller_id: str | None) -> Referral | None:
    """Make `account_id` an end customer of `reseller_id`, or (None) no one's. Returns the
    referral it now gets. Audited as account.reseller."""
    permissions.require(desk.actor, "account.manage")
    limits.check(account_id, limits.ACCOUNT_ID)
    if reseller_id is not None:
        limits.check(reseller_id, limits.ACCOUNT_ID, what="--reseller")
    with desk.write() as (session, record):
        lock_accounts(session, account_id, reseller_id)
        acct = session.get(Account, account_id)
        if acct is None:
            raise NotFound(f"no account {account_id!r}")
        if reseller_id is not None:
            check_reseller(session, account_id, reseller_id)
        if acct.reseller_id == reseller_id:
            now = f"a customer of {reseller_id}" if reseller_id else "no reseller's customer"
            raise NothingToDo(f"account {account_id} is already {now}")
        note_reseller(record, acct, reseller_id)
        acct.reseller_id = reseller_id
        session.flush()
        return referral_in(session, acct)


def lock_accounts(session: Session, *ids: str | None) -> None:
    """Lock the account and its new reseller, in id order (PostgreSQL; SQLite's writes are
    serial already): two changes that would close a loop together then run one after the
    other, and the second sees the first's reseller and refuses."""
    wanted = sorted({i for i in ids if i is not None})
    session.execute(
        select(Account.id).where(Account.id.in_(wanted)).order_by(Account.id).with_for_update()
    ).all()


def note_reseller(record: Recorder, acct: Account, reseller_id: str | None) -> None:
    record("account.reseller", "account", acct.id, {"reseller": [acct.reseller_id, reseller_id]})
