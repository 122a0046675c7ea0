"""The directory: staff, customer accounts (and their plans and services), and contacts."""

from __future__ import annotations

from supportdesk.rules.limits import normalise_phone
from supportdesk.services.directory.accounts import (
    ACCOUNT_RE,
    add_account,
    add_service,
    check_plan,
    list_accounts,
    set_plan,
    show_account,
)
from supportdesk.services.directory.contacts import (
    EMAIL_RE,
    MAX_AUTHORIZED,
    MAX_POINTS,
    add_contact,
)
from supportdesk.services.directory.resellers import referral, referral_in, set_reseller
from supportdesk.services.directory.staff import LOGIN_RE, add_staff, list_staff

__all__ = [
    "ACCOUNT_RE",
    "EMAIL_RE",
    "LOGIN_RE",
    "MAX_AUTHORIZED",
    "MAX_POINTS",
    "add_account",
    "add_contact",
    "add_service",
    "add_staff",
    "check_plan",
    "list_accounts",
    "list_staff",
    "normalise_phone",
    "referral",
    "referral_in",
    "set_plan",
    "set_reseller",
    "show_account",
]
