"""Hostile strings: what a customer (or an export, or a mail) may put in any field we show.

`HOSTILE_STRINGS` is the one list every display test runs through the console and the CLI
printers (import it; do not copy it). Each must come out literally: never parsed as Rich
markup, never obeyed by the terminal (title, screen clear, colours, hyperlinks, bidi), and
never crash an encoder (a lone surrogate is what invalid UTF-8 decodes to with
surrogateescape).

`storable` fits one to a field's length limit and drops what a database cannot hold (NUL on
PostgreSQL), so the same list feeds both databases. `hostile_desk` puts them in every field
the console and the CLI printers show; `HOSTILE_DESK` is the `desk` fixture's desk with them,
built once per test process and copied for each test that asks for `evil` (tests/conftest.py),
which `hostile_ids` reads back.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Any

from supportdesk.core.desk import Desk
from supportdesk.models import Ticket
from supportdesk.services import directory, escalation, incidents, tickets
from supportdesk.services.incidents import maintenance
from tests.helpers.desk import build_shared_desk
from tests.helpers.templates import DeskTemplate

ONE_MB = 1_000_000

HOSTILE_STRINGS: list[str] = [
    "[/x]",
    "Permission denied writing to [/var/www/html]",
    "[bold red]X[/] [link=file:///etc/passwd]click[/link]",
    "[@click=app.quit]x[/]",
    "\x1b]0;pwned\x07",
    "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "\x1b[2J",
    "\x1b[31mred\x1b[0m",
    "\x9b2J",
    "abc\u202edcba",
    "zero\u200bwidth",
    "line\u2028separator",
    "nul\x00byte",
    "bell\x07ring",
    "back\x08space",
    "A" * ONE_MB,
    "bad utf-8 \udcff here",
    "dev \U0001f469\u200d\U0001f4bb family \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\u5bbd\u5b57\u7b26\u6d4b\u8bd5 wide CJK",
    "e\u0301\u0302\u0303 combining",
    "{} {0} {name} %s %d %(x)s",
    "$(rm -rf /)",
]

# What must never reach a terminal: C0/C1 controls, format characters (bidi overrides,
# zero-width characters), line/paragraph separators and lone surrogates.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def unsafe_chars(text: str) -> set[str]:
    """Every character of `text` a terminal could obey (a newline between lines is fine)."""
    return {ch for ch in text if ch != "\n" and unicodedata.category(ch) in UNSAFE_CATEGORIES}


def storable(value: str, limit: int, *, postgres: bool) -> str:
    """`value` cut to `limit` characters, without NUL (the services refuse it on both
    databases, since PostgreSQL cannot store one; `postgres` is kept for the callers) and
    with lone surrogates as U+FFFD (neither driver can encode one to UTF-8: such text comes
    only from outside and is tested on the display paths that take it straight)."""
    value = value.replace("\x00", "")
    value = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value[:limit])
    return value


def short_ones() -> list[str]:
    """The hostile strings short enough to show whole in a table cell."""
    return [s for s in HOSTILE_STRINGS if len(s) <= 60]


# the services' limits (subject 1,000 characters), within what the column holds today
SUBJECT_LIMIT = min(1_000, getattr(Ticket.__table__.c.subject.type, "length", None) or 1_000)
BODY_LIMIT = 200_000
NAME_LIMIT = 200
EMAIL = "m[/x]\x1b]0;pwned\x07@evil.example"  # an address has no spaces
SERVER = "srv-\x1b]0;pwned\x07[/x]"  # a server name has no spaces or commas


def hostile_desk(desk: Desk) -> dict[str, Any]:
    """Fill the `desk` fixture with hostile data through the services; returns ids."""

    def fit(value: str, limit: int) -> str:
        # without NUL on both databases: the service limits refuse it everywhere now (edge-bounds)
        return storable(value, limit, postgres=True)

    company = "Evil [/var/www/html] \x1b]0;pwned\x07 Corp"
    directory.add_account(
        desk, "evil", company, "gold", notes=fit("\n".join(HOSTILE_STRINGS[:15]), 4000)
    )
    directory.add_service(
        desk, "evil", "managed_server", "[bold red]X[/] \x1b[2J label", ["evil.example"], SERVER
    )
    contact = directory.add_contact(
        desk,
        "evil",
        "[@click=app.quit]x[/] \x1b[31mMallory\u202e",
        [EMAIL],
        ["+1 555 0100"],
        "primary",
    )
    directory.add_staff(
        desk, "mallory", fit("Mal [/x] \x1b]0;pwned\x07 \u202eroy", NAME_LIMIT), 2, "engineer"
    )
    ids: list[int] = []
    for i, text in enumerate(HOSTILE_STRINGS):
        subject = fit(text, SUBJECT_LIMIT) or "empty"
        if not subject.strip():
            subject = f"blank {i}"
        tid = tickets.create(
            desk,
            account="evil",
            subject=subject,
            priority=("critical", "high", "medium", "low")[i % 4],
            category="technical",
            channel="email",
            contact_email=EMAIL,
            service_id=None,
            description=fit(text, BODY_LIMIT) or "-",
        )
        ids.append(tid)
    first = ids[4]  # the OSC title one: the ticket every screen opens
    tickets.reply(desk, first, fit("reply " + "\n".join(HOSTILE_STRINGS[:15]), BODY_LIMIT))
    tickets.note(desk, first, fit("note " + HOSTILE_STRINGS[1], BODY_LIMIT))
    for tid, reason in zip(ids[:6], HOSTILE_STRINGS, strict=False):
        escalation.escalate(
            desk, tid, to_tier=2, reason=fit(reason, 2000) or "why", tried=fit(reason, 2000)
        )
    escalation.reassign(desk, ids[5], "mallory")
    inc = incidents.open_incident(
        desk,
        [SERVER],
        "Outage [/var/www/html] \x1b]0;pwned\x07 \u202eevil",
        script=fit("\n".join(HOSTILE_STRINGS[:15]), 4000),
    )
    now = desk.now()
    maintenance.add_window(
        desk,
        [SERVER],
        now + timedelta(days=1),
        now + timedelta(days=1, hours=2),
        "Patch [/x] \x1b[2J \u202e night",
    )
    return {"tickets": ids, "first": first, "contact": contact.id, "incident": inc.id}


def build_hostile_desk(lead: Desk) -> None:
    """The `desk` fixture's desk, then the hostile data (its clocks read the real time, as the
    fixture's did: a template a few minutes old shows the same strings)."""
    build_shared_desk(lead)
    hostile_desk(lead)


HOSTILE_DESK = DeskTemplate("hostile", build_hostile_desk)


def hostile_ids(desk: Desk) -> dict[str, Any]:
    """What `hostile_desk` returned, read back from a copy of HOSTILE_DESK."""
    q = desk.store.query
    ids = [int(r[0]) for r in q("SELECT id FROM tickets WHERE account_id = 'evil' ORDER BY id")]
    (contact,) = q("SELECT id FROM contacts WHERE account_id = 'evil'")
    (incident,) = q("SELECT id FROM incidents")
    return {"tickets": ids, "first": ids[4], "contact": contact[0], "incident": incident[0]}
