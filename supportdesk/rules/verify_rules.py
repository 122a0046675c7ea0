"""Who may ask for what, and support PINs: pure rules, no database (issue 4).

From the seed policies: restricted administrative requests (a password or credential reset,
contact changes, cancellation, billing changes) are accepted only from the primary or the
secondary (off-server) contact (seed 001, 3); technical requests on a service from anyone
authorized for that service (seed 000: the primary contact or a sub-account added for the
service); an end customer of a reseller is referred to the reseller (seed 002, 5c). A
refusal always names who can authorize instead.

PINs are generated with `secrets`, stored only as salted scrypt hashes and compared in
constant time; the plaintext exists once, in the answer to the command that set it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from supportdesk.enums import ContactRole
from supportdesk.errors import UsageError
from supportdesk.rules.request_types import OWNERS_ONLY as OWNERS_ONLY  # their home
from supportdesk.rules.request_types import REQUESTS as REQUESTS
from supportdesk.rules.request_types import check_request_type, label

OWNERS = (ContactRole.PRIMARY.value, ContactRole.SECONDARY.value)
ROLE_LABEL = {
    "primary": "primary contact",
    "secondary": "secondary (off-server) contact",
    "authorized": "authorized support contact",
    "subaccount": "sub-account",
}

PIN_DIGITS = 6
MAX_PIN_LENGTH = 12
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1

CALL_WINDOW = timedelta(hours=2)  # a verification lasts for the call it was made on
# ... and is the proof of whoever made it: a caller who tells a second agent "your colleague
# just verified me" has to be verified again (a verification's id is a small number)
OTHERS_CALL = "verification {id} is another staff member's call: verify the caller yourself"
# what a verification comes to (a Verdict's state)
VERIFIED, FAILED, LOCKED, HELD, REFERRED = "verified", "failed", "locked", "held", "referred"


@dataclass(frozen=True)
class Person:
    """A contact as the rules see it."""

    id: int
    name: str
    role: str
    services: frozenset[int] = frozenset()  # empty: every service of the account
    requests: frozenset[str] = frozenset()  # sub-accounts: what the owner allowed

    @property
    def label(self) -> str:
        return f"{self.name} ({ROLE_LABEL.get(self.role, self.role)})"


@dataclass(frozen=True)
class Permission:
    allowed: bool
    may: tuple[str, ...]  # request types this person may make
    may_not: tuple[str, ...]
    who_can: tuple[str, ...] = field(default=())  # for a refusal: the people who could

    def refusal(self, request: str) -> str:
        who = ", ".join(self.who_can) or "nobody on the account: a lead must update it"
        return f"{label(request)} needs an authorized contact: {who}"


def requests_of(
    person: Person, service: int | None = None, owners_only: frozenset[str] = OWNERS_ONLY
) -> tuple[str, ...]:
    """The request types `person` may make (on `service`, when given); `owners_only` (from
    the policy) are the ones only the primary or secondary contact may make."""
    if person.services and service is not None and service not in person.services:
        return ()
    out = []
    for request in REQUESTS:
        if request in owners_only and person.role not in OWNERS:
            continue
        sub = person.role == ContactRole.SUBACCOUNT.value
        if sub and person.requests and request not in person.requests:
            continue
        out.append(request)
    return tuple(out)


def permission(
    person: Person,
    request: str | None,
    others: Sequence[Person],
    service: int | None = None,
    owners_only: frozenset[str] = OWNERS_ONLY,
) -> Permission:
    """May `person` make `request` (on `service`)? `others` are the account's contacts, to
    name who can instead."""
    if request is not None:
        check_request_type(request)
    may = requests_of(person, service, owners_only)
    may_not = tuple(r for r in REQUESTS if r not in may)
    if request is None or request in may:
        return Permission(True, may, may_not)
    who = tuple(
        p.label for p in others if request in requests_of(p, service, owners_only) and p != person
    )
    return Permission(False, may, may_not, who)


def who_can(
    request: str,
    people: Iterable[Person],
    service: int | None = None,
    owners_only: frozenset[str] = OWNERS_ONLY,
) -> tuple[str, ...]:
    return tuple(p.label for p in people if request in requests_of(p, service, owners_only))


def request_refusal(
    request: str,
    requester: Person | None,
    proven: Person | None,
    others: Sequence[Person],
    service: int | None = None,
    owners_only: frozenset[str] = OWNERS_ONLY,
) -> str | None:
    """Why a ticket asking for `request` must wait for an authorized contact, or None.

    `requester` is the listed contact it came from (None: someone not listed); `proven` the
    contact a verified call proved (the one it was opened under or confirmed by). A proven
    contact who may make the request settles it. Otherwise a restricted request (`owners_only`)
    waits even from an owner, whose identity nothing proved (a From: header proves nobody),
    and any request waits from a contact who may not make it (a sub-account outside its
    services or requests). The reason names who can ask."""
    if proven is not None and request in requests_of(proven, service, owners_only):
        return None
    restricted = request in owners_only
    may = requester is not None and request in requests_of(requester, service, owners_only)
    if not restricted and (requester is None or may):
        return None
    who = ", ".join(who_can(request, others, service, owners_only))
    who = who or "nobody on the account: a lead must update it"
    if requester is not None and may:
        return (
            f"{label(request)} needs a verified call: {requester.label} may ask for it, once a "
            "call (PIN or callback) proves it is them"
        )
    whose = f"; {requester.label} may not ask for it" if requester is not None else ""
    return f"{label(request)} needs an authorized contact: {who}{whose}"


# -- PINs --------------------------------------------------------------------------------------
def new_pin(digits: int = PIN_DIGITS) -> str:
    """A random PIN of `digits` digits (leading zeros allowed)."""
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def check_pin_format(pin: str) -> str:
    """The PIN as typed, or UsageError: digits only, 4 to MAX_PIN_LENGTH of them. The
    message never repeats the PIN."""
    if not pin:
        raise UsageError("no PIN given")
    if len(pin) > MAX_PIN_LENGTH or not pin.isascii() or not pin.isdigit() or len(pin) < 4:
        raise UsageError("a PIN is 4 to 12 digits, nothing else")
    return pin


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    salt64, digest64 = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt64}${digest64}"


def pin_matches(pin: str, stored: str | None) -> bool:
    """Constant-time check of `pin` against a stored hash (False when there is none; the
    same work is done either way, so timing does not tell whether a PIN is set)."""
    if stored is None or not stored.startswith("scrypt$"):
        hashlib.scrypt(b"0", salt=b"0" * 16, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
        return False
    _tag, n, r, p, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(
        pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


class ContactRow(Protocol):
    """What `person_of` reads of a stored contact (the ORM row, or anything shaped like it)."""

    id: int
    name: str
    role: str
    services: str
    requests: str


def person_of(contact: ContactRow) -> Person:
    """A stored contact (its services and allowed requests kept as space-separated text)."""
    services = frozenset(int(x) for x in contact.services.split() if x.isdigit())
    return Person(
        contact.id, contact.name, contact.role, services, frozenset(contact.requests.split())
    )
