"""What `supportdesk policy show` prints: a policy as text and as JSON. Pure."""

from __future__ import annotations

from typing import Any

from supportdesk.enums import PRIORITY_ORDER
from supportdesk.rules.calendar import (
    MINUTES_PER_DAY,
    WEEKDAYS,
    Calendar,
)
from supportdesk.rules.policy import (
    CLOCKS,
    Policy,
    format_duration,
)

# -- showing -------------------------------------------------------------------------------


def describe(policy: Policy) -> str:
    """Human text for `supportdesk policy show`."""
    out = [
        f"Policy: {policy.name}",
        f"Digest: {policy.digest}",
        f"Default plan: {policy.default_plan}",
        f"Desk time zone: {policy.desk_zone}"
        + ("" if policy.timezone else " (the default plan's calendar; set [desk] timezone)")
        + "; SUPPORTDESK_TZ overrides it per person",
        f"Verification: {policy.verification.max_failures} PIN failures lock a contact for "
        f"{format_duration(policy.verification.lockout_s)}; mail from unlisted senders is "
        + ("closed" if policy.verification.unlisted_sender == "close" else "held"),
        "Only the primary or secondary contact may ask for: "
        + (", ".join(sorted(policy.verification.owners_only)) or "anything (no restriction)"),
        f"Claims: at most {policy.escalation.max_claims} tickets held at once; a claim "
        f"untouched for {format_duration(policy.escalation.stale_after_s)} is stale",
        *mail_lines(policy),
        "Words that suggest a request type (shown beside it, never applied: a person sets "
        "the type):",
        *(
            f"  {request.replace('_', ' ')}: " + (", ".join(words) or "never suggested")
            for request, words in policy.request_words.by_type
        ),
        "",
        "Calendars",
    ]
    for calendar in policy.calendars.values():
        hours = _weekly_minutes(calendar) / 60
        out.append(f"  {calendar.name}  ({calendar.zone.key}, {hours:g} h a week)")
        for line in _week_lines(calendar):
            out.append(f"    {line}")
        holidays = ", ".join(day.isoformat() for day in sorted(calendar.holidays))
        out.append(f"    holidays: {holidays or 'none'}")
    plans = list(policy.plans.values())
    out += ["", "Plans"]
    out += _table(
        ["plan", "calendar", "warn at", "description"],
        [
            [
                plan.name + (" (default)" if plan.name == policy.default_plan else ""),
                plan.calendar.name,
                ", ".join(f"{w}%" for w in plan.warn) or "-",
                " ".join(plan.description.split()),
            ]
            for plan in plans
        ],
    )
    for clock in CLOCKS:
        out += ["", f"{clock.capitalize()} within (open time on the plan's calendar)"]
        out += _table(
            ["plan", *(str(p) for p in PRIORITY_ORDER)],
            [[plan.name, *(plan.target(clock, p).text for p in PRIORITY_ORDER)] for plan in plans],
        )
    out += [
        "",
        'A duration counts open time only; "best_effort" is tracked but never breached;',
        '"none" has no clock. Warnings fire at the given share of a duration target.',
    ]
    return "\n".join(out)


def mail_lines(policy: Policy) -> list[str]:
    """The `[mail]` rules in words (issue 18)."""
    m = policy.mail
    if m.domain is None:
        return ["Mail: none is sent (no [mail] domain): replies are recorded only"]
    sends = [
        f"acknowledgements of new tickets (at most one per sender per "
        f"{format_duration(m.acknowledge_interval_s)})"
        if m.acknowledge
        else "",
        "incident updates (one per contact per update)" if m.incident_updates else "",
        f"maintenance notices {format_duration(m.maintenance_notice_s)} before a window"
        if m.maintenance_notice_s
        else "",
    ]
    automatic = [s for s in sends if s]
    return [
        f'Mail: replies go from "{m.from_name}" <{m.sender}> to the address on file; '
        f"automatic mail: {'; '.join(automatic) or 'none'}",
        f"  at most {m.per_domain_per_minute} messages a minute per destination domain; a "
        f"message deferred for {format_duration(m.max_defer_s)} fails"
        + ("; signature set" if m.signature else ""),
    ]


def mail_json(policy: Policy) -> dict[str, Any]:
    m = policy.mail
    return {
        "domain": m.domain,
        "from": m.sender,
        "from_name": m.from_name,
        "signature": m.signature,
        "acknowledge": m.acknowledge,
        "acknowledge_interval_seconds": m.acknowledge_interval_s,
        "confirmation_requests": m.confirmation_requests,
        "incident_updates": m.incident_updates,
        "maintenance_notice_seconds": m.maintenance_notice_s,
        "per_domain_per_minute": m.per_domain_per_minute,
        "max_defer_seconds": m.max_defer_s,
    }


def to_json(policy: Policy) -> dict[str, Any]:
    """A JSON-able form of the policy (without its source text; `digest` identifies it)."""
    rules = policy.verification
    return {
        "name": policy.name,
        "digest": policy.digest,
        "default_plan": policy.default_plan,
        "desk": {"timezone": policy.desk_zone, "timezone_set": policy.timezone is not None},
        "verification": {
            "max_failures": rules.max_failures,
            "lockout_seconds": rules.lockout_s,
            "unlisted_sender": rules.unlisted_sender,
            "pin_digits": rules.pin_digits,
            "owners_only": sorted(rules.owners_only),
        },
        "request_words": {request: list(words) for request, words in policy.request_words.by_type},
        "escalation": {
            "max_claims": policy.escalation.max_claims,
            "stale_after_seconds": policy.escalation.stale_after_s,
        },
        "mail": mail_json(policy),
        "calendars": {
            name: {
                "timezone": calendar.zone.key,
                "days": {
                    day: [_format_interval(i) for i in intervals]
                    for day, intervals in zip(WEEKDAYS, calendar.week, strict=True)
                },
                "holidays": [day.isoformat() for day in sorted(calendar.holidays)],
            }
            for name, calendar in policy.calendars.items()
        },
        "plans": {
            name: {
                "description": plan.description,
                "calendar": plan.calendar.name,
                "warn": list(plan.warn),
                **{
                    clock: {
                        str(priority): {
                            "kind": target.kind,
                            "seconds": target.seconds,
                            "text": target.text,
                        }
                        for priority, target in getattr(plan, clock).items()
                    }
                    for clock in CLOCKS
                },
            }
            for name, plan in policy.plans.items()
        },
    }


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Left-aligned columns, two spaces apart, indented by two."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def _format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _format_interval(interval: tuple[int, int]) -> str:
    return f"{_format_minute(interval[0])}-{_format_minute(interval[1])}"


def _weekly_minutes(calendar: Calendar) -> int:
    return sum(end - start for day in calendar.week for start, end in day)


def _week_lines(calendar: Calendar) -> list[str]:
    """Opening hours with runs of equal days folded: "mon-fri 08:00-18:00", "sat-sun closed"."""
    if all(day == ((0, MINUTES_PER_DAY),) for day in calendar.week):
        return ["every day 00:00-24:00 (24/7)"]
    lines = []
    first = 0
    for i in range(1, 8):
        if i < 7 and calendar.week[i] == calendar.week[first]:
            continue
        days = WEEKDAYS[first] if i - 1 == first else f"{WEEKDAYS[first]}-{WEEKDAYS[i - 1]}"
        hours = ", ".join(_format_interval(iv) for iv in calendar.week[first]) or "closed"
        lines.append(f"{days} {hours}")
        first = i
    return lines
