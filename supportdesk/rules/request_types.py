"""The request types a ticket can have: one home for their names and labels (issue 19).

A request type is what the customer asks for. Only a person sets it (the call screen's
form, `ticket new --request-type`, `ticket update --request-type`, the ticket screen's key);
words in a subject only suggest one (rules/request_words.py). Which types only the primary
or secondary contact may ask for is policy (`[verification] owners_only`); the default is
every type marked restricted here (seed 001, 3).
"""

from __future__ import annotations

from supportdesk.errors import UsageError

# request type -> (label, restricted to the primary or secondary contact by default)
REQUESTS: dict[str, tuple[str, bool]] = {
    "technical": ("technical support on a service", False),
    "billing": ("billing changes", True),
    "password_reset": ("password or credential reset", True),
    "contact_change": ("contact changes", True),
    "cancellation": ("cancellation", True),
}
REQUEST_TYPES: tuple[str, ...] = tuple(REQUESTS)
DEFAULT_REQUEST = "technical"  # where no person chose
OWNERS_ONLY = frozenset(r for r, (_label, restricted) in REQUESTS.items() if restricted)


def label(request: str) -> str:
    """What a request type asks for, in words ("password or credential reset")."""
    return REQUESTS.get(request, (request, False))[0]


def words(request: str) -> str:
    """The type's name as words ("password reset")."""
    return request.replace("_", " ")


def check_request_type(value: str) -> str:
    """`value` when it names a request type, else UsageError listing them."""
    if value not in REQUESTS:
        raise UsageError(f"unknown request type {value!r} (one of: {', '.join(REQUEST_TYPES)})")
    return value
