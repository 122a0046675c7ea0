"""Parse and validate a policy's TOML: `parse_policy` returns a whole, valid `Policy` or
raises one `PolicyError` reading "SOURCE:LINE: FIELD: problem" (`Locator` finds the line).

Pure: no database, no terminal."""

from __future__ import annotations

import json
import re
import tomllib
from bisect import bisect_right
from collections.abc import Mapping
from contextlib import suppress
from datetime import date, datetime, time
from itertools import pairwise
from types import MappingProxyType
from typing import Any, NoReturn

from supportdesk.enums import PRIORITY_ORDER, Priority
from supportdesk.errors import UsageError
from supportdesk.rules.calendar import (
    WEEKDAYS,
    Calendar,
    CalendarError,
    parse_interval,
)
from supportdesk.rules.local_time import zone_named
from supportdesk.rules.policy import (
    CLOCKS,
    DEFAULT_WARN,
    DURATION_RE,
    EscalationRules,
    MailRules,
    Plan,
    Policy,
    PolicyError,
    Target,
    VerificationRules,
    parse_duration,
)
from supportdesk.rules.policy_mail import parse_mail
from supportdesk.rules.policy_words import parse_request_words
from supportdesk.rules.request_types import REQUEST_TYPES
from supportdesk.rules.request_words import DEFAULT as DEFAULT_WORDS

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_INTERVAL = re.compile(r"\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*", re.ASCII)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_SCALAR = re.compile(r"[^,\]}\r\n#]*")  # a number, boolean, date or time, to its delimiter


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate a policy; all or nothing (PolicyError on the first problem)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, problem = _toml_error_position(text, exc)
        raise PolicyError(
            f"{source}:{line}: invalid TOML: {problem}", source=source, line=line
        ) from None
    except RecursionError:  # tomllib recurses per nested array or table: `x = [[[[...` 2,000 deep
        raise PolicyError(
            f"{source}: invalid TOML: values nested too deeply", source=source
        ) from None
    return _Checker(text, source).policy(data)


# -- validation ----------------------------------------------------------------------------

KeyPath = tuple[str | int, ...]

_VERIFICATION_KEYS = (
    "max_failures",
    "lockout",
    "unlisted_sender",
    "pin_digits",
    "owners_only",
    "phone_country",
)
_TOP_KEYS = (
    "name",
    "default_plan",
    "desk",
    "calendars",
    "plans",
    "verification",
    "escalation",
    "mail",
    "request_words",
)
_DESK_KEYS = ("timezone",)
_ESCALATION_KEYS = ("max_claims", "stale_after")
_CALENDAR_KEYS = ("timezone", *WEEKDAYS, "holidays")
_PLAN_KEYS = ("description", "calendar", "warn", "respond", "resolve")


class _Checker:
    """Turns tomllib's dict into a Policy, or raises at the first problem with its line."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.locator = Locator(text)

    def fail(self, path: KeyPath, problem: str) -> NoReturn:
        line = self.locator.line(path)
        name = _dotted(path)
        raise PolicyError(
            f"{self.source}:{line}: {name}: {problem}",
            source=self.source,
            line=line,
            field=name,
        )

    # -- generic shapes --
    def table(self, value: Any, path: KeyPath, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"expected a table, got {_kind(value)}")
        for key in value:
            if key not in allowed:
                self.fail((*path, key), f"unknown key (expected one of: {', '.join(allowed)})")
        return value

    def names(self, value: Any, path: KeyPath, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"expected a table of {what}s, got {_kind(value)}")
        if not value:
            self.fail(path, f"no {what}s defined")
        for key in value:
            if not _NAME.fullmatch(key):
                self.fail(
                    (*path, key),
                    f"a {what} name is letters, digits, '-' and '_', not starting with '-' or '_'",
                )
        return value

    def required(self, table: dict[str, Any], path: KeyPath, key: str) -> Any:
        if key not in table:
            self.fail((*path, key), "missing")
        return table[key]

    def string(self, value: Any, path: KeyPath, *, empty: bool = False) -> str:
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {_kind(value)}")
        if not empty and not value.strip():
            self.fail(path, "must not be empty")
        return value

    def array(self, value: Any, path: KeyPath, of: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, f"expected an array of {of}, got {_kind(value)}")
        return value

    # -- the document --
    def policy(self, data: dict[str, Any]) -> Policy:
        self.table(data, (), _TOP_KEYS)
        name = self.string(self.required(data, (), "name"), ("name",))
        raw_calendars = self.names(self.required(data, (), "calendars"), ("calendars",), "calendar")
        calendars = {
            key: self.calendar(key, value, ("calendars", key))
            for key, value in raw_calendars.items()
        }
        raw_plans = self.names(self.required(data, (), "plans"), ("plans",), "plan")
        plans = {
            key: self.plan(key, value, ("plans", key), calendars)
            for key, value in raw_plans.items()
        }
        default = self.string(self.required(data, (), "default_plan"), ("default_plan",))
        if default not in plans:
            self.fail(("default_plan",), f"no plan named {default!r} (plans: {', '.join(plans)})")
        rules = VerificationRules()
        if "verification" in data:
            rules = self.verification(data["verification"], ("verification",))
        claims = EscalationRules()
        if "escalation" in data:
            claims = self.escalation(data["escalation"], ("escalation",))
        mail = MailRules()
        if "mail" in data:
            mail = parse_mail(self, data["mail"], ("mail",))
        words = DEFAULT_WORDS
        if "request_words" in data:
            words = parse_request_words(self, data["request_words"], ("request_words",))
        zone = None
        if "desk" in data:
            zone = self.desk(data["desk"], ("desk",))
        return Policy(
            name=name,
            calendars=MappingProxyType(calendars),
            plans=MappingProxyType(plans),
            default_plan=default,
            text=self.text,
            verification=rules,
            escalation=claims,
            mail=mail,
            request_words=words,
            timezone=zone,
        )

    def desk(self, value: Any, path: KeyPath) -> str | None:
        """`[desk] timezone`: the zone every screen and CLI text shows times in."""
        spec = self.table(value, path, _DESK_KEYS)
        if "timezone" not in spec:
            return None
        name = self.string(spec["timezone"], (*path, "timezone"))
        try:
            zone_named(name)
        except UsageError:
            self.fail((*path, "timezone"), f"unknown time zone {name!r}")
        return name

    def escalation(self, value: Any, path: KeyPath) -> EscalationRules:
        spec = self.table(value, path, _ESCALATION_KEYS)
        out = EscalationRules()
        limit, stale = out.max_claims, out.stale_after_s
        if "max_claims" in spec:
            limit = spec["max_claims"]
            if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
                self.fail((*path, "max_claims"), "expected a whole number from 1 to 100")
        if "stale_after" in spec:
            text = self.string(spec["stale_after"], (*path, "stale_after"))
            try:
                stale = parse_duration(text)
            except ValueError:
                self.fail((*path, "stale_after"), f"not a duration: {text!r} (e.g. 45m, 2h)")
            if not 60 <= stale <= 7 * 86400:
                self.fail((*path, "stale_after"), "expected from 1m to 7d")
        return EscalationRules(limit, stale)

    def verification(self, value: Any, path: KeyPath) -> VerificationRules:
        spec = self.table(value, path, _VERIFICATION_KEYS)
        out = VerificationRules()
        failures, lockout, unlisted, digits = (
            out.max_failures,
            out.lockout_s,
            out.unlisted_sender,
            out.pin_digits,
        )
        if "max_failures" in spec:
            failures = spec["max_failures"]
            if (
                not isinstance(failures, int)
                or isinstance(failures, bool)
                or not 1 <= failures <= 20
            ):
                self.fail((*path, "max_failures"), "expected a whole number from 1 to 20")
        if "lockout" in spec:
            text = self.string(spec["lockout"], (*path, "lockout"))
            try:
                lockout = parse_duration(text)
            except ValueError:
                self.fail((*path, "lockout"), f"not a duration: {text!r} (e.g. 15m, 1h)")
        if "unlisted_sender" in spec:
            unlisted = spec["unlisted_sender"]
            if unlisted not in ("close", "hold"):
                self.fail((*path, "unlisted_sender"), 'expected "close" or "hold"')
        if "pin_digits" in spec:
            digits = spec["pin_digits"]
            if not isinstance(digits, int) or isinstance(digits, bool) or not 6 <= digits <= 12:
                self.fail((*path, "pin_digits"), "expected a whole number from 6 to 12")
        owners = out.owners_only
        if "owners_only" in spec:
            items = self.array(spec["owners_only"], (*path, "owners_only"), "request types")
            for item in items:
                if item not in REQUEST_TYPES:
                    self.fail(
                        (*path, "owners_only"),
                        f"unknown request type {item!r} (one of: {', '.join(REQUEST_TYPES)})",
                    )
            owners = frozenset(items)
        country = out.phone_country
        if "phone_country" in spec:
            country = self.string(spec["phone_country"], (*path, "phone_country"))
            if not re.fullmatch(r"\+[1-9]\d{0,2}", country):
                self.fail((*path, "phone_country"), 'expected a country calling code, e.g. "+27"')
        return VerificationRules(failures, lockout, unlisted, digits, owners, country)

    def calendar(self, name: str, value: Any, path: KeyPath) -> Calendar:
        spec = self.table(value, path, _CALENDAR_KEYS)
        zone = self.string(self.required(spec, path, "timezone"), (*path, "timezone"))
        days: dict[str, list[str]] = {}
        for day in WEEKDAYS:
            if day in spec:
                days[day] = self.day(spec[day], (*path, day))
        if not any(days.values()):
            self.fail(path, "no opening hours at all (every day is missing or empty)")
        holidays = self.holidays(spec.get("holidays", []), (*path, "holidays"))
        try:
            return Calendar.from_spec(name, zone, days, holidays)
        except CalendarError as exc:
            if "time zone" in str(exc):
                self.fail((*path, "timezone"), f"unknown time zone {zone!r}")
            self.fail(path, str(exc))  # pragma: no cover - the checks above come first

    def day(self, value: Any, path: KeyPath) -> list[str]:
        items = self.array(value, path, '"HH:MM-HH:MM" strings')
        parsed: list[tuple[int, int, str]] = []
        for index, item in enumerate(items):
            where = (*path, index)
            if not isinstance(item, str):
                self.fail(where, f'expected "HH:MM-HH:MM", got {_kind(item)}')
            if not _INTERVAL.fullmatch(item):
                self.fail(where, f'not an interval "HH:MM-HH:MM": {item!r}')
            try:
                start, end = parse_interval(item)
            except CalendarError:
                self.fail(
                    where, f"not an interval within 00:00-24:00 ending after it starts: {item!r}"
                )
            parsed.append((start, end, item))
        ordered = sorted(parsed)
        for (_s1, end1, text1), (start2, _e2, text2) in pairwise(ordered):
            if start2 < end1:
                self.fail(path, f"intervals overlap ({text1.strip()}, {text2.strip()})")
        return [text for _s, _e, text in parsed]

    def holidays(self, value: Any, path: KeyPath) -> list[str]:
        items = self.array(value, path, "ISO dates")
        out = []
        for index, item in enumerate(items):
            if isinstance(item, date) and not isinstance(item, datetime):
                out.append(item.isoformat())  # a TOML date literal: 2026-12-25
                continue
            if not isinstance(item, str):
                self.fail((*path, index), f"expected an ISO date, got {_kind(item)}")
            try:
                if len(item) != 10:
                    raise ValueError(item)
                out.append(date.fromisoformat(item).isoformat())
            except ValueError:
                self.fail((*path, index), f"not an ISO date YYYY-MM-DD: {item!r}")
        return out

    def plan(self, name: str, value: Any, path: KeyPath, calendars: dict[str, Calendar]) -> Plan:
        spec = self.table(value, path, _PLAN_KEYS)
        description = self.string(spec.get("description", ""), (*path, "description"), empty=True)
        calendar_name = self.string(self.required(spec, path, "calendar"), (*path, "calendar"))
        if calendar_name not in calendars:
            known = ", ".join(calendars)
            self.fail(
                (*path, "calendar"), f"no calendar named {calendar_name!r} (calendars: {known})"
            )
        warn = self.warn(spec.get("warn", list(DEFAULT_WARN)), (*path, "warn"))
        targets = {
            clock: self.targets(self.required(spec, path, clock), (*path, clock))
            for clock in CLOCKS
        }
        return Plan(
            name=name,
            calendar=calendars[calendar_name],
            warn=warn,
            respond=targets["respond"],
            resolve=targets["resolve"],
            description=description,
        )

    def warn(self, value: Any, path: KeyPath) -> tuple[int, ...]:
        items = self.array(value, path, "percentages")
        previous = 0
        for item in items:
            if isinstance(item, bool) or not isinstance(item, int):
                self.fail(path, f"expected whole percentages, got {_kind(item)}")
            if not 1 <= item <= 99:
                self.fail(path, f"each threshold is a percentage from 1 to 99, not {item}")
            if item <= previous:
                self.fail(path, f"thresholds must be strictly increasing: {items}")
            previous = item
        return tuple(items)

    def targets(self, value: Any, path: KeyPath) -> Mapping[Priority, Target]:
        spec = self.table(value, path, tuple(str(p) for p in PRIORITY_ORDER))
        out: dict[Priority, Target] = {}
        for priority in PRIORITY_ORDER:
            raw = self.required(spec, path, str(priority))
            where = (*path, str(priority))
            if not isinstance(raw, str):
                self.fail(where, f'expected a duration, "best_effort" or "none", got {_kind(raw)}')
            try:
                out[priority] = Target.parse(raw)
            except ValueError as exc:
                if raw and (DURATION_RE.fullmatch(raw) or raw[:1] in ("P", "p")):
                    self.fail(where, str(exc))  # well formed but zero or too long, or ISO
                self.fail(
                    where,
                    f'expected a duration ("30m", "4h", "1h30m", "2d", "PT1H30M"), "best_effort" '
                    f'or "none", not {raw!r}',
                )
        return MappingProxyType(out)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a float ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time"
    return type(value).__name__  # pragma: no cover - tomllib makes nothing else


def _dotted(path: KeyPath) -> str:
    """The dotted TOML key of a path; array indexes are left out (the line shows which)."""
    keys = [key for key in path if isinstance(key, str)]
    if not keys:
        return "(top level)"
    return ".".join(key if _BARE_KEY.fullmatch(key) else _quote(key) for key in keys)


def _quote(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)  # a valid TOML basic string, on one line


_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


def _toml_error_position(text: str, exc: tomllib.TOMLDecodeError) -> tuple[int, str]:
    """(line, message) from tomllib's "... (at line L, column C)" / "(at end of document)"."""
    message = str(exc).splitlines()[0] if str(exc) else "invalid TOML"
    match = _TOML_POSITION.search(message)
    if match is None:  # pragma: no cover - every tomllib error carries a position
        return 1, message
    problem = message[: match.start()]
    if match.group(1):
        return int(match.group(1)), f"{problem} (column {match.group(2)})"
    lines = text.splitlines()
    last = max((i for i, line in enumerate(lines, 1) if line.strip()), default=1)
    return last, f"{problem} (at the end of the file)"


# -- where a key is written ------------------------------------------------------------------


class Locator:
    """The line of every dotted key in a TOML text (tables, keys, inline tables, array items).

    It runs after tomllib accepted the text, so it only has to find structure, not check it;
    should it trip on something anyway, it keeps what it found so far."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.lines: dict[KeyPath, int] = {}
        self.starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        with suppress(IndexError, ValueError, tomllib.TOMLDecodeError):
            self.document()

    def line(self, path: KeyPath) -> int:
        """The line defining `path`, else its nearest enclosing key's line, else 1."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 1

    # -- scanning --
    def line_at(self, pos: int) -> int:
        return bisect_right(self.starts, pos)

    def record(self, path: KeyPath, pos: int) -> None:
        line = self.line_at(pos)
        for end in range(1, len(path) + 1):
            self.lines.setdefault(path[:end], line)

    def peek(self, text: str) -> bool:
        return self.s.startswith(text, self.i)

    def skip_blank(self, newlines: bool) -> None:
        """Skip spaces, tabs, comments and (when allowed) line breaks."""
        s, n = self.s, len(self.s)
        while self.i < n:
            c = s[self.i]
            if c in " \t" or (newlines and c in "\r\n"):
                self.i += 1
            elif c == "#":
                while self.i < n and s[self.i] != "\n":
                    self.i += 1
            else:
                return

    def document(self) -> None:
        table: KeyPath = ()
        n = len(self.s)
        while True:
            self.skip_blank(newlines=True)
            if self.i >= n:
                return
            start = self.i
            if self.peek("["):
                double = self.peek("[[")
                self.i += 2 if double else 1
                table = self.key()
                self.skip_blank(newlines=False)
                self.i += 2 if double else 1  # the closing bracket(s)
                self.record(table, start)
            else:
                keys = self.key()
                self.skip_blank(newlines=False)
                self.i += 1  # "="
                path = (*table, *keys)
                self.record(path, start)
                self.value(path)

    def key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            start = self.i
            if self.peek('"'):
                self.skip_basic_string()
                parts.append(tomllib.loads("k = " + self.s[start : self.i])["k"])
            elif self.peek("'"):
                end = self.s.index("'", self.i + 1)
                parts.append(self.s[self.i + 1 : end])
                self.i = end + 1
            else:
                match = _BARE_KEY.match(self.s, self.i)
                if match is None:
                    raise ValueError("no key")
                parts.append(match.group())
                self.i = match.end()
            self.skip_blank(newlines=False)
            if not self.peek("."):
                return tuple(parts)
            self.i += 1

    def skip_basic_string(self) -> None:
        self.i += 1
        while self.s[self.i] != '"':
            self.i += 2 if self.s[self.i] == "\\" else 1
        self.i += 1

    def skip_multiline(self, quote: str) -> None:
        self.i += 3
        while not self.peek(quote * 3):
            self.i += 2 if quote == '"' and self.s[self.i] == "\\" else 1
        self.i += 3
        for _ in range(2):  # up to two quotes may end the content right before the closer
            if self.peek(quote):
                self.i += 1

    def value(self, path: KeyPath) -> None:
        self.skip_blank(newlines=False)
        if self.peek('"""') or self.peek("'''"):
            self.skip_multiline(self.s[self.i])
        elif self.peek('"'):
            self.skip_basic_string()
        elif self.peek("'"):
            self.i = self.s.index("'", self.i + 1) + 1
        elif self.peek("["):
            self.i += 1
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek("]"):
                    self.i += 1
                    return
                self.record((*path, index), self.i)
                self.value((*path, index))
                self.skip_blank(newlines=True)
                if self.peek(","):
                    self.i += 1
                index += 1
        elif self.peek("{"):
            self.i += 1
            while True:
                self.skip_blank(newlines=True)
                if self.peek("}"):
                    self.i += 1
                    return
                start = self.i
                keys = self.key()
                self.skip_blank(newlines=False)
                self.i += 1  # "="
                self.record((*path, *keys), start)
                self.value((*path, *keys))
                self.skip_blank(newlines=True)
                if self.peek(","):
                    self.i += 1
        else:  # a number, boolean, date or time: runs to a delimiter
            match = _SCALAR.match(self.s, self.i)
            assert match is not None
            if match.end() == self.i:
                raise ValueError("no value")
            self.i = match.end()
