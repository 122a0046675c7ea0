"""Verifying a caller (phone, chat) and setting support PINs, in the database (issue 4).

A verification names an account and one of its contacts, then proves it with the contact's
PIN or, on the phone when the caller does not know it, a callback to a number on file. Every
attempt is a row in `verifications` and an audit row (agent, channel, contact, result; never
the PIN). Failures are counted on the contact itself with one conditional UPDATE, so every
console and CLI process shares the count; after the policy's number of consecutive failures
the contact is locked for the policy's lockout. A failed verdict never says which part was
wrong. Verification lasts for the call: what it returns is used to open or confirm tickets
now, never stored as a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.desk import Desk
from supportdesk.enums import Channel
from supportdesk.errors import NotAllowed, NotFound, UsageError
from supportdesk.rules import limits, verify_rules
from supportdesk.rules.local_time import text_time
from supportdesk.rules.verify_rules import (
    FAILED,
    HELD,
    LOCKED,
    REFERRED,
    VERIFIED,
    Permission,
    person_of,
)
from supportdesk.services.directory.resellers import referral_in

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from supportdesk.core.views import Referral
    from supportdesk.models import Account, Contact

RECENT_ATTEMPTS = 5


@dataclass(frozen=True)
class Attempt:
    at: datetime
    agent: str | None
    channel: str
    method: str
    result: str


@dataclass(frozen=True)
class Verdict:
    """What the agent sees: one of VERIFIED, FAILED, LOCKED, HELD (caller not listed or not
    verified: a report can only be held), REFERRED (an end customer of a reseller)."""

    state: str
    account: str
    company: str
    channel: str
    contact_id: int | None = None
    contact: str | None = None
    role: str | None = None
    request: str | None = None
    allowed: bool = False  # the request (if any) may be made by this contact
    may: tuple[str, ...] = ()
    may_not: tuple[str, ...] = ()
    who_can: tuple[str, ...] = ()  # for what this contact may not do
    attempts_left: int | None = None
    locked_until: datetime | None = None
    recent: tuple[Attempt, ...] = field(default=())
    verification_id: int | None = None
    message: str = ""
    referral: Referral | None = None  # REFERRED: the reseller and its contact

    @property
    def verified(self) -> bool:
        return self.state == VERIFIED

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "state": self.state,
            "account": self.account,
            "contact": self.contact,
            "role": self.role,
            "request": self.request,
            "allowed": self.allowed,
            "may": list(self.may),
            "may_not": list(self.may_not),
            "who_can": list(self.who_can),
            "attempts_left": self.attempts_left,
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
            "verification": self.verification_id,
            "message": self.message,
            "referral": self.referral.to_json() if self.referral is not None else None,
        }


def _people(session: Session, account_id: str) -> list[Contact]:
    from sqlalchemy import select

    from supportdesk.models import Contact

    return list(
        session.scalars(
            select(Contact)
            .where(Contact.account_id == account_id, Contact.active)
            .order_by(Contact.id)
        )
    )


def find_contact(session: Session, account_id: str, ref: str) -> Contact:
    """A contact of the account by e-mail address, phone number, id or exact name."""
    from sqlalchemy import select

    from supportdesk.models import Contact, ContactPoint
    from supportdesk.rules.limits import normalise_phone

    text = limits.check(ref, limits.CONTACT_REF, what="--contact").strip()
    if not text:
        raise UsageError("name the contact: e-mail, phone, id or name")
    query = select(Contact).where(Contact.account_id == account_id, Contact.active)
    if "@" in text:
        query = query.join(ContactPoint, ContactPoint.contact_id == Contact.id).where(
            ContactPoint.kind == "email", ContactPoint.value == text.lower()
        )
    elif text.isascii() and text.isdigit() and len(text) < 6:
        query = query.where(Contact.id == int(text))
    elif text.startswith("+") or text.replace(" ", "").isdigit():
        query = query.join(ContactPoint, ContactPoint.contact_id == Contact.id).where(
            ContactPoint.kind == "phone", ContactPoint.value == normalise_phone(text)
        )
    else:
        query = query.where(Contact.name == text)
    found = session.scalars(query).first()
    if found is None:
        raise NotFound(f"no contact {ref!r} on account {account_id}")
    return found


def _account(session: Session, account_id: str) -> Account:
    from supportdesk.models import Account

    limits.check(account_id, limits.ACCOUNT_ID)
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id!r}")
    return account


def _recent(session: Session, contact_id: int) -> tuple[Attempt, ...]:
    from sqlalchemy import select

    from supportdesk.models import Staff, Verification

    rows = session.execute(
        select(
            Verification.created_at,
            Staff.login,
            Verification.channel,
            Verification.method,
            Verification.result,
        )
        .outerjoin(Staff, Staff.id == Verification.staff_id)
        .where(Verification.contact_id == contact_id)
        .order_by(Verification.id.desc())
        .limit(RECENT_ATTEMPTS)
    ).all()
    return tuple(Attempt(*row) for row in rows)


def verify(
    desk: Desk,
    account_id: str,
    contact_ref: str | None,
    channel: str,
    *,
    pin: str | None = None,
    callback_number: str | None = None,
    request: str | None = None,
    service: int | None = None,
) -> Verdict:
    """Verify a caller. `contact_ref` None means the caller is not listed (HELD). Exactly
    one proof: `pin`, or `callback_number` (phone only: the number the agent called back)."""
    from supportdesk.core.policy import current_policy
    from supportdesk.models import Verification
    from supportdesk.rules.limits import normalise_phone
    from supportdesk.rules.request_types import check_request_type

    actor = desk.actor
    permissions.require(actor, "caller.verify")
    try:
        chan = Channel(channel)
    except ValueError:
        raise UsageError(f"unknown channel {channel!r} (phone, chat or email)") from None
    if request is not None:
        check_request_type(request)
    if contact_ref is not None:
        if pin is None and callback_number is None:
            raise UsageError("give the caller's PIN, or the number you called them back on")
        if pin is not None and callback_number is not None:
            raise UsageError("one proof at a time: the PIN or a callback")
        if callback_number is not None and chan is not Channel.PHONE:
            raise UsageError(f"{chan.value} requests need the contact's PIN (no callback)")
        if pin is not None:
            # malformed input is refused before anything is read or counted: a typo, an
            # empty line or a pasted megabyte is not an attempt at the contact's PIN
            verify_rules.check_pin_format(pin)
    rules = current_policy(desk).verification
    called = None
    if contact_ref is not None:
        if callback_number is not None:
            # the same: a number that is no number (empty, a typo of letters) is not an
            # attempt; a local one is in the desk's country, as the call search reads it
            limits.check(callback_number, limits.PHONE, what="--callback")
            try:
                called = normalise_phone(callback_number, rules.phone_country)
            except UsageError:
                raise UsageError(f"--callback: not a phone number: {callback_number!r}") from None
        limits.check(account_id, limits.ACCOUNT_ID)
    now = desk.now()
    with desk.write() as (session, record):
        account = _account(session, account_id)
        if service is not None:
            from supportdesk.models import Service

            svc = session.get(Service, service) if limits.fits_id(service) else None
            if svc is None or svc.account_id != account.id:
                raise NotFound(f"no service {service} on account {account.id}")
        base: dict[str, Any] = {
            "account": account.id,
            "company": account.company,
            "channel": chan.value,
            "request": request,
        }

        def log(contact_id: int | None, method: str, result: str, detail: str | None) -> int:
            row = Verification(
                account_id=account.id,
                contact_id=contact_id,
                staff_id=actor.staff_id,
                channel=chan.value,
                method=method,
                result=result,
                request=request,
                detail=detail,
                created_at=now,
            )
            session.add(row)
            session.flush()
            record(
                "caller.verify",
                "contact" if contact_id is not None else "account",
                contact_id if contact_id is not None else account.id,
                {
                    "account": [None, account.id],
                    "channel": [None, chan.value],
                    "method": [None, method],
                    "result": [None, result],
                    "request": [None, request],
                    "verification": [None, row.id],
                },
            )
            return row.id

        referred = referral_in(session, account)
        if referred is not None:
            vid = log(None, "none", REFERRED, referred.reseller)
            return Verdict(
                REFERRED,
                verification_id=vid,
                message=referred.message,
                referral=referred,
                **base,
            )
        people = _people(session, account.id)
        if contact_ref is None:
            vid = log(None, "none", HELD, None)
            owners = verify_rules.who_can(
                "contact_change", [person_of(c) for c in people], None, rules.owners_only
            )
            return Verdict(
                HELD,
                verification_id=vid,
                who_can=owners,
                message=(
                    "caller not listed: a report is held until an authorized contact confirms"
                    f" it ({', '.join(owners) or 'no owner on file'})"
                ),
                **base,
            )
        contact = find_contact(session, account.id, contact_ref)
        person = person_of(contact)
        locked_until = contact.locked_until
        if locked_until is not None and locked_until > now:
            vid = log(contact.id, "pin" if pin is not None else "callback", LOCKED, None)
            return Verdict(
                LOCKED,
                contact_id=contact.id,
                contact=contact.name,
                locked_until=locked_until,
                recent=_recent(session, contact.id),
                verification_id=vid,
                attempts_left=0,
                message=f"{contact.name} is locked until {text_time(locked_until, desk.zone)}",
                **base,
            )
        if pin is not None:
            method = "pin"
            good = verify_rules.pin_matches(pin, contact.pin_hash)
            detail = None
        else:
            method = "callback"
            assert called is not None
            on_file = {p for p in _points(session, contact.id, "phone")}
            good = called in on_file
            detail = called
        if good:
            _reset_failures(session, contact.id)
            vid = log(contact.id, method, VERIFIED, detail)
            grant: Permission = verify_rules.permission(
                person, request, [person_of(c) for c in people], service, rules.owners_only
            )
            return Verdict(
                VERIFIED,
                contact_id=contact.id,
                contact=contact.name,
                role=contact.role,
                allowed=grant.allowed,
                may=grant.may,
                may_not=grant.may_not,
                who_can=_who_can_all(grant, people, contact, service, rules.owners_only),
                verification_id=vid,
                message=(
                    f"{contact.name}, {verify_rules.ROLE_LABEL.get(contact.role, contact.role)}"
                    + ("" if grant.allowed else f": {grant.refusal(request or '')}")
                ),
                **base,
            )
        counted = count_failure(session, contact.id, now, rules)
        if counted is None:  # another terminal's failure locked the contact meanwhile
            current = session.get(type(contact), contact.id, populate_existing=True)
            assert current is not None and current.locked_until is not None
            vid = log(contact.id, method, LOCKED, detail)
            return Verdict(
                LOCKED,
                contact_id=contact.id,
                contact=contact.name,
                locked_until=current.locked_until,
                recent=_recent(session, contact.id),
                verification_id=vid,
                attempts_left=0,
                message=(
                    f"{contact.name} is locked until {text_time(current.locked_until, desk.zone)}"
                ),
                **base,
            )
        failures, until = counted
        locked = until is not None and until > now
        vid = log(contact.id, method, LOCKED if locked else FAILED, detail)
        left = max(rules.max_failures - failures, 0)
        return Verdict(
            LOCKED if locked else FAILED,
            contact_id=contact.id,
            contact=contact.name,
            attempts_left=left,
            locked_until=until if locked else None,
            recent=_recent(session, contact.id) if locked else (),
            verification_id=vid,
            message=(
                f"not verified: {contact.name} is now locked until {text_time(until, desk.zone)}"
                if locked and until is not None
                else f"not verified ({left} {'attempt' if left == 1 else 'attempts'} left)"
            ),
            **base,
        )


def _who_can_all(
    grant: Permission,
    people: list[Contact],
    contact: Contact,
    service: int | None,
    owners_only: frozenset[str],
) -> tuple[str, ...]:
    """Who can make each request this contact may not (for the verdict's "who can")."""
    others = [person_of(c) for c in people if c.id != contact.id]
    names: list[str] = []
    for request in grant.may_not:
        for label in verify_rules.who_can(request, others, service, owners_only):
            if label not in names:
                names.append(label)
    return tuple(names)


def _points(session: Session, contact_id: int, kind: str) -> list[str]:
    from sqlalchemy import select

    from supportdesk.models import ContactPoint

    return list(
        session.scalars(
            select(ContactPoint.value).where(
                ContactPoint.contact_id == contact_id, ContactPoint.kind == kind
            )
        )
    )


def _reset_failures(session: Session, contact_id: int) -> None:
    from sqlalchemy import update

    from supportdesk.models import Contact

    session.execute(
        update(Contact).where(Contact.id == contact_id).values(failed_attempts=0, locked_until=None)
    )


def count_failure(
    session: Session, contact_id: int, now: datetime, rules: Any
) -> tuple[int, datetime | None] | None:
    """One more consecutive failure, counted by the database (all consoles share it): the
    contact is locked when the count reaches the policy's maximum. Returns (count, lock),
    or None when the contact is locked: the UPDATE is conditional on no running lock, so
    attempts that raced past the lock check (PostgreSQL reads before it waits for the row)
    count nothing and the counter stops at the maximum."""
    from sqlalchemy import case, update

    from supportdesk.models import Contact

    lock = now + timedelta(seconds=rules.lockout_s)
    # a lock that has run out starts a new series of failures
    expired = Contact.locked_until.is_not(None) & (Contact.locked_until <= now)
    count = case((expired, 1), else_=Contact.failed_attempts + 1)
    row = session.execute(
        update(Contact)
        .where(
            Contact.id == contact_id,
            Contact.locked_until.is_(None) | (Contact.locked_until <= now),
        )
        .values(
            failed_attempts=count,
            locked_until=case(
                (count >= rules.max_failures, lock),
                (expired, None),
                else_=Contact.locked_until,
            ),
        )
        .returning(Contact.failed_attempts, Contact.locked_until)
    ).first()
    return None if row is None else (int(row[0]), row[1])


# -- PINs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PinResult:
    contact_id: int
    contact: str
    pin: str  # shown once, here, and nowhere else

    def to_json(self) -> dict[str, Any]:
        return {"contact": self.contact, "contact_id": self.contact_id, "pin": self.pin}


def set_pin(desk: Desk, account_id: str, contact_ref: str, *, rotate: bool = False) -> PinResult:
    """Generate a contact's support PIN (leads only). Refuses to replace an existing PIN
    unless `rotate`. The PIN is returned once; only its scrypt hash is stored."""
    from supportdesk.core.policy import current_policy

    permissions.require(desk.actor, "contact.pin")
    digits = current_policy(desk).verification.pin_digits
    with desk.write() as (session, record):
        _account(session, account_id)
        contact = find_contact(session, account_id, contact_ref)
        if contact.pin_hash is not None and not rotate:
            raise UsageError(f"{contact.name} already has a PIN: use --rotate to replace it")
        pin = verify_rules.new_pin(digits)
        contact.pin_hash = verify_rules.hash_pin(pin)
        contact.pin_set_at = desk.now()
        contact.failed_attempts = 0
        contact.locked_until = None
        record(
            "contact.pin",
            "contact",
            contact.id,
            {"pin": ["set" if rotate else None, "rotated" if rotate else "set"]},
        )
        return PinResult(contact.id, contact.name, pin)


def unlock(desk: Desk, account_id: str, contact_ref: str) -> tuple[Attempt, ...]:
    """A lead lifts a lockout after seeing the attempt log (returned)."""
    permissions.require(desk.actor, "contact.pin")
    with desk.write() as (session, record):
        contact = find_contact(session, _account(session, account_id).id, contact_ref)
        if not contact.failed_attempts and contact.locked_until is None:
            from supportdesk.errors import NothingToDo

            raise NothingToDo(f"{contact.name} is not locked")
        recent = _recent(session, contact.id)
        record(
            "contact.unlock",
            "contact",
            contact.id,
            {
                "failed_attempts": [contact.failed_attempts, 0],
                "locked_until": [
                    contact.locked_until.isoformat() if contact.locked_until else None,
                    None,
                ],
            },
        )
        contact.failed_attempts = 0
        contact.locked_until = None
        return recent


__all__ = [
    "FAILED",
    "HELD",
    "LOCKED",
    "REFERRED",
    "VERIFIED",
    "NotAllowed",
    "PinResult",
    "Verdict",
    "set_pin",
    "unlock",
    "verify",
]
