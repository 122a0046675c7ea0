"""The policy's `[mail]` table (issue 18): what every writer of outgoing mail agrees on."""

from __future__ import annotations

import re
from typing import Any, NoReturn, Protocol

from supportdesk.rules.policy import MailRules, parse_duration

KeyPath = tuple[str | int, ...]


class Checker(Protocol):
    """What the policy parser lends a table's reader: typed reads that fail with the key's
    line (rules/policy_parse.py)."""

    def fail(self, path: KeyPath, problem: str) -> NoReturn: ...
    def table(self, value: Any, path: KeyPath, allowed: tuple[str, ...]) -> dict[str, Any]: ...
    def string(self, value: Any, path: KeyPath, *, empty: bool = False) -> str: ...


MAIL_KEYS = (
    "domain",
    "from",
    "from_name",
    "signature",
    "acknowledge",
    "acknowledge_interval",
    "confirmation_requests",
    "incident_updates",
    "maintenance_notice",
    "per_domain_per_minute",
    "max_defer",
    "authserv_id",
)

# a DNS name of at least two labels, letters, digits and hyphens (no IDN U-labels: the
# policy names the A-label form)
DOMAIN_RE = re.compile(
    r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
# an authserv-id as RFC 8601 allows it here: a token, usually the server's host name
AUTHSERV_RE = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,251}[a-z0-9])?")
LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def parse_mail(p: Checker, value: Any, path: KeyPath) -> MailRules:
    spec = p.table(value, path, MAIL_KEYS)
    out = MailRules()
    domain = out.domain
    if "domain" in spec:
        domain = p.string(spec["domain"], (*path, "domain")).lower()
        if not DOMAIN_RE.fullmatch(domain):
            p.fail((*path, "domain"), f"not a domain name: {domain!r} (e.g. support.example.com)")
    sender = out.from_addr
    if "from" in spec:
        sender = p.string(spec["from"], (*path, "from"))
        local, at, where = sender.rpartition("@")
        if not at or not LOCAL_RE.fullmatch(local) or where.lower() != domain:
            p.fail(
                (*path, "from"),
                f"expected an address on the desk's domain {domain or '(set [mail] domain)'}, "
                f"e.g. support@{domain or 'example.com'} (aligned for SPF and DMARC)",
            )
    name = out.from_name
    if "from_name" in spec:
        name = p.string(spec["from_name"], (*path, "from_name"))
        if len(name) > 80 or any(ord(c) < 32 or c in '"\\' for c in name):
            p.fail((*path, "from_name"), "expected up to 80 characters, no quotes or controls")
    signature = out.signature
    if "signature" in spec:
        signature = p.string(spec["signature"], (*path, "signature"), empty=True)
        if len(signature) > 2000:
            p.fail((*path, "signature"), "expected at most 2,000 characters")
    flags = {}
    for key in ("acknowledge", "confirmation_requests", "incident_updates"):
        flags[key] = getattr(out, key)
        if key in spec:
            if not isinstance(spec[key], bool):
                p.fail((*path, key), "expected true or false")
            flags[key] = spec[key]

    def duration(key: str, default: int | None, low: int, high: int, words: str) -> int | None:
        if key not in spec:
            return default
        text = p.string(spec[key], (*path, key))
        try:
            seconds = parse_duration(text)
        except ValueError:
            p.fail((*path, key), f"not a duration: {text!r} (e.g. 1h, 2d, PT30M)")
        if not low <= seconds <= high:
            p.fail((*path, key), f"expected {words}")
        return seconds

    interval = duration("acknowledge_interval", out.acknowledge_interval_s, 60, 86400, "1m to 1d")
    notice = duration("maintenance_notice", out.maintenance_notice_s, 60, 30 * 86400, "1m to 30d")
    max_defer = duration("max_defer", out.max_defer_s, 60, 7 * 86400, "1m to 7d")
    per_minute = out.per_domain_per_minute
    if "per_domain_per_minute" in spec:
        per_minute = spec["per_domain_per_minute"]
        if not isinstance(per_minute, int) or isinstance(per_minute, bool) or per_minute < 1:
            p.fail((*path, "per_domain_per_minute"), "expected a whole number from 1")
    authserv = out.authserv_id
    if "authserv_id" in spec:
        authserv = p.string(spec["authserv_id"], (*path, "authserv_id")).strip().lower()
        if not AUTHSERV_RE.fullmatch(authserv):
            p.fail(
                (*path, "authserv_id"),
                f"not an authserv-id: {authserv!r} (the receiving server's name in its "
                "Authentication-Results, e.g. mx.support.example.com)",
            )
    if domain is None and len(spec) > 0:
        p.fail((*path, "domain"), "the desk's domain is required to send mail")
    return MailRules(
        domain=domain,
        from_addr=sender,
        from_name=name,
        signature=signature,
        acknowledge=flags["acknowledge"],
        acknowledge_interval_s=interval or out.acknowledge_interval_s,
        confirmation_requests=flags["confirmation_requests"],
        incident_updates=flags["incident_updates"],
        maintenance_notice_s=notice,
        per_domain_per_minute=per_minute,
        max_defer_s=max_defer or out.max_defer_s,
        authserv_id=authserv,
    )
