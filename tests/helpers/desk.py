"""The desk the service and CLI tests work on (tests/conftest.py's `desk`), and ways to act
on it: a ticket with the usual fields, every row it holds, and `Fx`, the services' `fx`
(tests/services/conftest.py) that acts as anyone at a given minute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from supportdesk.core.desk import Desk
from supportdesk.models import Base, Setting
from supportdesk.services import directory, escalation, tickets
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store
from tests.helpers.templates import DeskTemplate

FROZEN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, office hours

DeskFactory = Callable[..., Desk]


def new_ticket(
    desk: Desk, subject: str = "Site down", priority: str = "medium", **kw: object
) -> int:
    args: dict[str, object] = dict(
        account="bluefin", subject=subject, priority=priority, category="technical", channel="phone"
    )
    args.update(kw)
    return tickets.create(desk, **args)  # type: ignore[arg-type]


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in a stable order (primary key, else every column), and the
    schema version: equal dumps mean an unchanged database, on either database."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.read() as s:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in s.execute(select(table).order_by(*order))]
        out["alembic_version"] = [
            tuple(r) for r in s.execute(text("SELECT * FROM alembic_version"))
        ]
    return out


class Fx:
    """The services' desk and a desk for anyone on it at T0 plus some minutes (or at any
    moment), with the rows and counts the tests compare."""

    def __init__(self, desk: Desk, make: DeskFactory) -> None:
        self.desk = desk
        self.make = make

    def as_(self, login: str, minutes: float = 0) -> Desk:
        return self.make(login, T0 + timedelta(minutes=minutes))

    def at(self, login: str, when: datetime) -> Desk:
        return self.make(login, when)

    def count(self, table: str) -> int:
        return int(self.desk.store.query(f"SELECT count(*) FROM {table}")[0][0])

    def audit_count(self) -> int:
        return int(self.desk.store.query("SELECT count(*) FROM audit")[0][0])

    def state(self) -> tuple:
        """Everything a refused incident or maintenance write must leave as it was."""
        q = self.desk.store.query
        return (
            self.count("audit"),
            tuple(q("SELECT id, status, window_id, first_response_at FROM tickets ORDER BY id")),
            self.count("ticket_events"),
            tuple(q("SELECT id, state, acknowledged_at, next_update_due FROM incidents")),
            self.count("incident_links"),
            self.count("incident_calls"),
            self.count("incident_updates"),
            self.count("maintenance_windows"),
            self.count("window_servers"),
        )

    def row(self, tid: int, *cols: str) -> tuple:
        return tuple(
            self.desk.store.query(f"SELECT {', '.join(cols)} FROM tickets WHERE id = ?", (tid,))[0]
        )

    def events(self, tid: int) -> list:
        return list(tickets.show(self.desk, tid).events)

    def holder(self, tid: int) -> str | None:
        rows = self.desk.store.query(
            "SELECT s.login FROM tickets t LEFT JOIN staff s ON s.id = t.holder_id WHERE t.id = ?",
            (tid,),
        )
        return rows[0][0]

    def notices(self, login: str) -> list[str]:
        return [n.body for n in escalation.notices(self.as_(login), after=0)]

    def escalated(self, subject: str = "Site down", priority: str = "high", minutes: float = 0):
        """A ticket amir opened, took and escalated to tier 2."""
        amir = self.as_("amir", minutes)
        tid = new_ticket(amir, subject, priority)
        tickets.claim(amir, tid)
        escalation.escalate(amir, tid, reason="needs root on web-cpt-14", tried="restarted php")
        return tid


def build_shared_desk(lead: Desk) -> None:
    """The `desk` fixture's desk (its docstring says what it holds)."""
    init_database(lead, admin="lena")
    directory.add_staff(lead, "amir", "Amir Patel", 1, "agent")
    directory.add_staff(lead, "tomas", "Tomas Berg", 2, "engineer")
    directory.add_staff(lead, "una", "Una Okafor", 3, "engineer")
    directory.add_account(lead, "bluefin", "Bluefin Media", "gold")
    directory.add_contact(
        lead, "bluefin", "Priya Naidoo", ["priya@bluefin.example"], ["+27 21 555 0101"], "primary"
    )
    directory.add_service(
        lead, "bluefin", "managed_server", "Web", ["bluefin.example"], "web-cpt-14"
    )


SHARED_DESK = DeskTemplate("desk", build_shared_desk)


def build_fx_desk(lead: Desk) -> None:
    """`fx`'s desk: the shared desk, where anyone may write under a frozen clock, two more
    staff and two more accounts (see `fx`)."""
    build_shared_desk(lead)
    with lead.write() as (session, _record):
        session.add(Setting(key="demo", value="1"))
    directory.add_staff(lead, "ben", "Ben Okafor", 2, "engineer")
    directory.add_staff(lead, "nomsa", "Nomsa Khumalo", 1, "agent")
    directory.add_account(lead, "corvid", "Corvid Labs", "gold")
    directory.add_service(lead, "corvid", "shared_hosting", "Web", ["corvid.example"], "web-jnb-2")
    directory.add_account(lead, "daisy", "Daisy Bakery", "gold")
    directory.add_service(lead, "daisy", "email", "Mail", ["daisy.example"], "web-cpt-14")
    directory.add_service(lead, "daisy", "shared_hosting", "Shop", ["shop.daisy"], "web-jnb-2")


FX_DESK = DeskTemplate("services-fx", build_fx_desk)
