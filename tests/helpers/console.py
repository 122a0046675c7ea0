"""A small, fixed support desk for the console tests: real SQLite file, frozen clocks.

Every ticket is created through the services with its own frozen clock, so ages, "last
spoke" columns and thread times are the same on every run (snapshots depend on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from supportdesk.core import presence
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.models import Setting, Ticket
from supportdesk.services import directory, tickets
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DB_FILE = "t.db"
KEY_FILE = "k.key"

# (minutes before NOW, account, subject, priority, category, channel, contact e-mail)
TICKETS = [
    (
        300,
        "acme",
        "Website down after PHP upgrade on the shared server",
        "high",
        "technical",
        "email",
        "jane@acme.example",
    ),
    (
        30,
        "bluefin",
        "Invoice charged twice for November",
        "medium",
        "billing",
        "email",
        "ops@bluefin.example",
    ),
    (
        1500,
        "corvid",
        "Feature request: staging sites with one click",
        "low",
        "technical",
        "portal",
        None,
    ),
    (
        45,
        "acme",
        "All sites on web-14 return 502 Bad Gateway",
        "critical",
        "infrastructure",
        "phone",
        None,
    ),
    (  # by e-mail: a chat request needs a verified PIN, which would answer it at once
        200,
        "daisy",
        "SSL certificate expired on shop.daisy.example",
        "high",
        "security",
        "email",
        "mo@daisy.example",
    ),
    (
        90,
        "bluefin",
        "Mailbox quota warning for sales@",
        "medium",
        "technical",
        "email",
        "ops@bluefin.example",
    ),
    (
        2900,
        "corvid",
        "Suspicious login attempts on the control panel",
        "high",
        "security",
        "email",
        None,
    ),
    (
        15,
        "daisy",
        "Please move the weekly backup window to Sunday night",
        "low",
        "infrastructure",
        "portal",
        "mo@daisy.example",
    ),
    (
        600,
        "acme",
        "DNS change for acme.example not visible yet",
        "medium",
        "technical",
        "phone",
        "jane@acme.example",
    ),
    (
        5,
        "bluefin",
        "Cancel the old reseller plan at the end of the month",
        "medium",
        "billing",
        "email",
        "ops@bluefin.example",
    ),
    (
        4400,
        "corvid",
        "Disk space alert on managed server cv-02",
        "high",
        "infrastructure",
        "email",
        None,
    ),
    (
        120,
        "daisy",
        "Password reset for the hosting control panel",
        "low",
        "security",
        "phone",
        "mo@daisy.example",
    ),
]
# Expected queue order of the tickets above (ids are 1-based creation order) once the
# fixture has moved #9 to held, #11 to waiting and #7 to scheduled.
QUEUE_ORDER = [4, 1, 5, 6, 2, 10, 3, 12, 8]


@dataclass
class DeskFixture:
    """The desk a console test runs on, plus what it needs to act as others."""

    path: Path
    key: Path
    desk: Desk
    ana_console: str

    def desk_at(self, login: str = "lena", minutes_before: int = 0) -> Desk:
        clock = Clock(NOW - timedelta(minutes=minutes_before))
        return Desk(Store(str(self.path)), login, clock, audit_key_path=self.key)


def build_desk(tmp_path: Path) -> DeskFixture:
    """Create the database, staff, accounts and twelve tickets; return the console's desk."""
    make_desk_files(tmp_path)
    return open_desk(tmp_path)


def open_desk(folder: Path) -> DeskFixture:
    """The console's desk on the files `make_desk_files` made in `folder` (or a copy of
    them): ana's console is opened now, in this process, on ticket #1."""
    path, key = folder / DB_FILE, folder / KEY_FILE
    fx = DeskFixture(path=path, key=key, desk=_lead_at(path, key, NOW), ana_console="")
    ana = fx.desk_at("ana")
    fx.ana_console = presence.start_console(ana)
    presence.set_open_ticket(ana, fx.ana_console, 1)
    return fx


def _lead_at(path: Path, key: Path, when: datetime) -> Desk:
    return Desk(Store(str(path)), "lena", Clock(when), audit_key_path=key)


def make_desk_files(folder: Path) -> DeskFixture:
    """Make the fixed desk's database and audit key in `folder`, everything under frozen
    clocks (nothing in it depends on when or in which process it was made, so one build can
    be copied for many tests: tests/helpers/templates.py); the fixture it returns has no
    console open and its stores are closed."""
    path, key = folder / DB_FILE, folder / KEY_FILE
    desk = _lead_at(path, key, NOW - timedelta(days=10))
    store = desk.store
    init_database(desk, admin="lena", admin_name="Lena Park")
    with store.write() as s:  # a demo desk: agents may write under the frozen clocks below
        s.add(Setting(key="demo", value="1"))
    directory.add_staff(desk, "ana", "Ana Ruiz", 1, "agent")
    directory.add_staff(desk, "bo", "Bo Chen", 2, "engineer")
    for acct, company in [
        ("acme", "Acme Hosting Ltd"),
        ("bluefin", "Bluefin Media"),
        ("corvid", "Corvid Labs"),
        ("daisy", "Daisy Bakery"),
    ]:
        directory.add_account(desk, acct, company, "gold")
    directory.add_contact(
        desk, "acme", "Jane Doe", ["jane@acme.example"], ["+44 20 7946 0001"], "primary"
    )
    directory.add_contact(desk, "bluefin", "Ola Berg", ["ops@bluefin.example"], [], "primary")
    directory.add_contact(desk, "daisy", "Mo Daisy", ["mo@daisy.example"], [], "primary")
    directory.add_service(
        desk, "acme", "shared_hosting", "Shared hosting", ["acme.example"], "web-14"
    )
    fx = DeskFixture(path=path, key=key, desk=desk, ana_console="")
    for minutes, acct, subject, prio, cat, chan, email in TICKETS:
        tickets.create(
            fx.desk_at("lena", minutes),
            account=acct,
            subject=subject,
            priority=prio,
            category=cat,
            channel=chan,
            contact_email=email,
            service_id=1 if acct == "acme" else None,
            description=f"{subject}. Customer wrote in via {chan}.",
        )
    tickets.reply(fx.desk_at("lena", 280), 1, "We are looking at the PHP version on web-14.")
    tickets.note(fx.desk_at("lena", 270), 1, "Rolled PHP back to 8.2 on web-14; watching.")
    tickets.log_call(fx.desk_at("lena", 40), 4, "spoke", "Customer confirms 502 on all sites.")
    tickets.claim(fx.desk_at("ana", 190), 5)
    tickets.claim(fx.desk_at("bo", 100), 6)
    tickets.claim(fx.desk_at("lena", 3), 10)
    tickets.update_fields(fx.desk_at("lena", 500), 9, status="awaiting_authorization")
    tickets.update_fields(fx.desk_at("lena", 2000), 11, status="pending_customer")
    tickets.update_fields(fx.desk_at("lena", 2500), 7, status="scheduled")
    with store.write() as s:  # no escalation service yet: put two tickets at tier 2 directly
        s.execute(update(Ticket).where(Ticket.id.in_([2, 6])).values(tier=2))
    store.dispose()
    return fx


# Clocks of the tickets above at NOW (gold plan: respond 4h, resolve 8h/16h/40h/80h by
# priority, warnings at 50/75/90%, office hours Mon-Fri 08:00-18:00 Africa/Johannesburg,
# so NOW is Friday 11:00 there): #5 respond past 75% with exactly 1h left, #12 respond past
# 50%, #3 respond breached 7h ago, #9 respond past 75% while resolve is paused (awaiting
# authorization), #11 both breached and paused (waiting on the customer), #7 respond
# breached and resolve paused (scheduled), #1 and #4 respond met; the rest are running.
PAUSED_TICKET = 13


def add_paused_ticket(fx: DeskFixture) -> int:
    """A ticket scheduled ten minutes after it came in: both clocks paused, none breached
    (the fixture's other paused clocks are breached ones)."""
    tid = tickets.create(
        fx.desk_at("lena", 20),
        account="daisy",
        subject="Move the shop database to the new cluster tonight",
        priority="medium",
        category="infrastructure",
        channel="portal",
        contact_email="mo@daisy.example",
    )
    tickets.update_fields(fx.desk_at("lena", 10), tid, status="scheduled")
    return tid
