"""SLA policy as data: a TOML file of business calendars and plans, parsed and validated.

A policy names calendars (a zone, weekly opening intervals, holidays) and plans (a calendar,
warning thresholds, and a response and a resolution target per priority). A target is a
duration of business time ("4h", "1h30m", "2d" = 48 h of open time, "90s", or ISO 8601 such
as "PT1H30M"), "best_effort" (the clock is tracked and shown, never breached) or "none" (no
clock at all). An optional `[desk]` table names the desk's one time zone (`timezone`, an IANA
name: every screen and every CLI text line shows times in it; default the zone of the
default plan's calendar; a person's SUPPORTDESK_TZ overrides it, see rules/local_time).

`parse_policy` either returns a whole, valid `Policy` or raises one `PolicyError` whose
message reads "SOURCE:LINE: FIELD: problem". tomllib reports no positions for values, so a
small scanner (`Locator`) maps every dotted key of the text to the line that defines it;
a field that is missing falls back to the line of its nearest enclosing table.

Pure: no database, no terminal. Parsing and validation: `rules/policy_parse.py`; the text
and JSON of `policy show`: `rules/policy_text.py`; reading files and the policy in force:
`core/policy.py`. Presets ship in `data/policies/*.toml`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from supportdesk.enums import Priority
from supportdesk.errors import UsageError
from supportdesk.rules.calendar import (
    Calendar,
)
from supportdesk.rules.request_words import DEFAULT as DEFAULT_WORDS
from supportdesk.rules.request_words import RequestWords

TargetKind = Literal["duration", "best_effort", "none"]
ClockName = Literal["respond", "resolve"]
CLOCKS: tuple[ClockName, ...] = ("respond", "resolve")
DEFAULT_WARN: tuple[int, ...] = (50, 75)
MAX_DURATION = 366 * 24 * 3600  # a year of business time; more is a typo, not a promise

DURATION_RE = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", re.ASCII)  # not "１h"
# ISO 8601 durations of days and clock time: "PT1H30M", "P1DT2H", "PT90S", "P2W" (a week is
# 7 days); a day is 24 business hours, as "1d" is. Years and months have no fixed length in
# business time and are refused by name.
ISO_DURATION_RE = re.compile(
    r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", re.ASCII | re.IGNORECASE
)
ISO_CALENDAR_RE = re.compile(r"P(?:\d+[YW])*(?:\d+Y|\d+M)", re.ASCII | re.IGNORECASE)


class PolicyError(UsageError):
    """A policy that cannot be used; one line, "SOURCE:LINE: FIELD: problem"."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.line = line
        self.field = field


# -- durations and targets ---------------------------------------------------------------


def parse_duration(text: str) -> int:
    """Business-time seconds of "90s", "30m", "4h", "1h30m", "2d" (d = 24 h of open time),
    or of an ISO 8601 duration: "PT1H30M", "P1DT2H", "PT90S", "P1W" (P1D = 24 business hours).

    Whole numbers only; no zero, no sign, no bare number, no spaces; years and months
    refused (they have no fixed length in business time)."""
    if not isinstance(text, str):
        raise ValueError(f"not a duration: {text!r}")
    if text[:1] in ("P", "p"):
        return _iso_duration(text)
    match = DURATION_RE.fullmatch(text)
    if not text or match is None:
        raise ValueError(
            f'not a duration like "90s", "30m", "4h", "1h30m", "2d" or "PT1H30M": {text!r}'
        )
    days, hours, minutes, secs = (int(part or 0) for part in match.groups())
    return _checked(((days * 24 + hours) * 60 + minutes) * 60 + secs, text)


def _iso_duration(text: str) -> int:
    match = ISO_DURATION_RE.fullmatch(text)
    if match is None or text.upper() in ("P", "PT") or text.upper().endswith("T"):
        if ISO_CALENDAR_RE.match(text):
            raise ValueError(
                f"years and months have no fixed length in business time: {text!r} "
                '(use days: "P30D")'
            )
        raise ValueError(f'not an ISO 8601 duration like "PT1H30M" or "P1DT2H": {text!r}')
    weeks, days, hours, minutes, secs = (int(part or 0) for part in match.groups())
    return _checked((((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + secs, text)


def _checked(seconds: int, text: str) -> int:
    if seconds <= 0:
        raise ValueError(f"a duration must be longer than zero: {text!r}")
    if seconds > MAX_DURATION:
        raise ValueError(f"a duration of at most {MAX_DURATION // 3600}h: {text!r}")
    return seconds


def format_duration(seconds: int) -> str:
    """The canonical text of a duration: hours, minutes and seconds, "48h", "1h30m", "30m",
    "1m30s".

    The inverse of `parse_duration`: ValueError for zero and negatives."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise ValueError(f"not a whole number of seconds: {seconds!r}")
    if seconds <= 0:
        raise ValueError(f"not a positive number of seconds: {seconds} s")
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    parts = (f"{hours}h" if hours else "", f"{minutes}m" if minutes else "")
    return "".join(parts) + (f"{secs}s" if secs else "")


@dataclass(frozen=True)
class Target:
    """One clock's promise: a business duration, best effort (never breached), or none."""

    kind: TargetKind
    seconds: int | None = None

    def __post_init__(self) -> None:
        if self.kind == "duration":
            if isinstance(self.seconds, bool) or not isinstance(self.seconds, int):
                raise ValueError("a duration target needs seconds")
            if self.seconds <= 0:
                raise ValueError("a duration target must be longer than zero")
        elif self.kind in ("best_effort", "none"):
            if self.seconds is not None:
                raise ValueError(f"a {self.kind} target has no seconds")
        else:
            raise ValueError(f"unknown target kind {self.kind!r}")

    @classmethod
    def parse(cls, text: str) -> Target:
        """ "4h" -> duration, "best_effort", "none"; ValueError otherwise."""
        if text == "best_effort":
            return cls("best_effort")
        if text == "none":
            return cls("none")
        return cls("duration", parse_duration(text))

    @property
    def text(self) -> str:
        if self.kind == "duration":
            assert self.seconds is not None
            return format_duration(self.seconds)
        return self.kind

    @property
    def breachable(self) -> bool:
        return self.kind == "duration"

    def __str__(self) -> str:
        return self.text


# -- the policy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a customer on this plan is promised, per priority, on one calendar."""

    name: str
    calendar: Calendar
    warn: tuple[int, ...]
    respond: Mapping[Priority, Target] = field(hash=False)
    resolve: Mapping[Priority, Target] = field(hash=False)
    description: str = ""

    def target(self, clock: str, priority: Priority | str) -> Target:
        """The target of `clock` ("respond" or "resolve") for `priority`."""
        if clock == "respond":
            return self.respond[Priority(priority)]
        if clock == "resolve":
            return self.resolve[Priority(priority)]
        raise ValueError(f'clock is "respond" or "resolve", not {clock!r}')


@dataclass(frozen=True)
class VerificationRules:
    """How callers and senders are verified (issue 4), from the policy's optional
    `[verification]` table: consecutive PIN failures before a contact is locked, for how
    long, and what happens to mail from an address no account lists (seed 001 closes it,
    seed 000 holds it for confirmation)."""

    max_failures: int = 5
    lockout_s: int = 15 * 60
    unlisted_sender: Literal["close", "hold"] = "close"
    pin_digits: int = 6
    # request types only the primary or secondary contact may make (seed 001, 3)
    owners_only: frozenset[str] = frozenset(
        {"billing", "password_reset", "contact_change", "cancellation"}
    )
    # the desk's country: a caller's local number ("082 770 3025", a leading 0 for the trunk
    # prefix) is this code and the rest ("+27 82 770 3025"); None: numbers are international
    phone_country: str | None = None


@dataclass(frozen=True)
class EscalationRules:
    """Claims on the tier boards (issue 5), from the optional `[escalation]` table: how many
    tickets one person may hold at once (tickets waiting on the customer, scheduled or
    awaiting authorization do not count), and how long a claim may go untouched before it is
    flagged stale on the board and to the leads."""

    max_claims: int = 5
    stale_after_s: int = 45 * 60


@dataclass(frozen=True)
class MailRules:
    """What every writer of outgoing mail must agree on (issue 18), from the optional `[mail]`
    table: the desk's domain (its From address, Message-IDs and bounce address are on it;
    without one the desk sends nothing and a reply is only recorded), its From name and
    signature, which automatic messages are sent, and the sender's limits. The transport and
    its credentials are not policy: they live in the sender's configuration file."""

    domain: str | None = None
    from_addr: str | None = None  # `from`; default support@<domain>
    from_name: str = "Support"
    signature: str = ""
    acknowledge: bool = True  # a new ticket gets its number and the response target
    acknowledge_interval_s: int = 3600  # at most one acknowledgement per sender per this
    confirmation_requests: bool = True
    incident_updates: bool = True
    maintenance_notice_s: int | None = None  # `maintenance_notice`: how long before a window
    per_domain_per_minute: int = 60  # throttle per destination domain
    max_defer_s: int = 24 * 3600  # a message deferred past this fails
    # the desk's receiving server's authserv-id in Authentication-Results (issue 19): None,
    # no mail is authenticated (rules/mail_auth.py)
    authserv_id: str | None = None

    @property
    def enabled(self) -> bool:
        return self.domain is not None

    @property
    def sender(self) -> str | None:
        """The desk's From address."""
        if self.domain is None:
            return None
        return self.from_addr or f"support@{self.domain}"


@dataclass(frozen=True)
class IntakeRules:
    """What the desk accepts (issue 19, 3), from the optional `[intake]` table
    (rules/policy_intake.py): the channels a ticket may come in on (others are refused with
    `refusal`), whether chat needs a verified support PIN, whether a caller nobody verified
    is held or allowed, what becomes of mail from an address no account lists, the desk's
    mailboxes and what each routes to, and who may ask for each request type in the seed's
    words. The defaults are the desk before `[intake]`: every channel, chat needs a PIN,
    callers allowed, unlisted mail closed, no mailboxes (every recipient is support)."""

    channels: tuple[str, ...] = ("email", "phone", "chat", "portal")
    refusal: str = ""
    chat_needs_pin: bool = True
    unverified_callers: Literal["hold", "allow"] = "allow"
    unlisted_senders: Literal["close", "hold", "once_off"] = "close"
    once_off_account: str = "once-off"
    once_off_max_open: int = 1
    # envelope recipient (lower case) -> route: support | complaint | billing
    mailboxes: Mapping[str, str] = field(default_factory=dict, hash=False)
    # request type -> (who may ask, in words; the seed's sentence the preset interprets)
    who_may_ask: Mapping[str, tuple[str, str]] = field(default_factory=dict, hash=False)
    source: str = ""  # the seed's words behind the table as a whole
    # issue 20: attachments kept from a message, in bytes after decoding (larger: refused)
    attachment_max: int = 10 * 1024 * 1024
    message_attachments_max: int = 25 * 1024 * 1024

    def accepts(self, channel: str) -> bool:
        return channel in self.channels


@dataclass(frozen=True)
class Policy:
    """A parsed, valid policy; `text` is the TOML exactly as given (stored in the database)."""

    name: str
    calendars: Mapping[str, Calendar] = field(hash=False)
    plans: Mapping[str, Plan] = field(hash=False)
    default_plan: str
    text: str
    verification: VerificationRules = VerificationRules()
    escalation: EscalationRules = EscalationRules()
    mail: MailRules = MailRules()
    # `[request_words]`: the keywords that suggest a request type (never applied)
    request_words: RequestWords = DEFAULT_WORDS
    intake: IntakeRules = IntakeRules()
    timezone: str | None = None  # `[desk] timezone`; None: the default plan's calendar zone

    @property
    def desk_zone(self) -> str:
        """The zone the desk shows times in (before a person's SUPPORTDESK_TZ)."""
        return self.timezone or self.plan_for(None).calendar.zone.key

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:12]

    def plan_for(self, name: str | None) -> Plan:
        """The named plan; the default plan when `name` is None or names no plan."""
        if name is not None and name in self.plans:
            return self.plans[name]
        return self.plans[self.default_plan]
