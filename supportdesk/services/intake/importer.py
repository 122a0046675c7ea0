"""Import another helpdesk's ticket export: accounts, contacts, tickets with their history
and SLA clocks, in one transaction (leads only).

The export is read into records first (`export_formats`, pure); a row that cannot become a
ticket fails the whole import, naming its line and field, unless `skip_bad` leaves it out.
Each customer is matched to an account of the desk by e-mail (or, for an export without
e-mail addresses, by the account id the export implies); the others get a new account on
the given plan with the customer as its primary contact. Each ticket gets its thread (when
it was opened, answered, resolved, reassigned), its clocks from that history
(`sla.on_import`: outcomes are counted only where the export says when the ticket began),
one audit row, and a reference to its row in the export, so importing the same export again
adds only what is new.

An export is known by its identity, not its file name: `--source NAME` when given, else a
digest of its first tickets (`export_formats.identity`). A ticket id already imported from
the same export is skipped; one imported from another export (or before exports had an
identity) is skipped only when its ticket is the same one (same customer and subject, or
same caller and opening time), so two exports that reuse ticket ids both import. What is
skipped is listed, with the ticket it matched and why.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from supportdesk.core import permissions
from supportdesk.core.audit import new_nonce, text_digest
from supportdesk.core.create import suggestion_columns
from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.core.views import JsonMixin
from supportdesk.enums import ContactRole, Speaker
from supportdesk.errors import NothingToDo, UsageError
from supportdesk.services import directory
from supportdesk.services.intake.export_records import Export, Problem, Record

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CHUNK = 500  # values per IN (...) list
SOURCE_NAME = re.compile(r"[\w.:/@+-][\w .:/@+-]{0,63}")


@dataclass(frozen=True)
class Skipped(JsonMixin):
    """A ticket of the export that was not imported because the desk has it already."""

    ref: str  # its id in the export
    ticket: int  # the desk's ticket it matched
    reason: str  # "this_export", "same_ticket" or "this_export_differs"
    text: str


@dataclass(frozen=True)
class ImportResult(JsonMixin):
    source: str
    format: str
    export_key: str  # which export this is (--source, or a digest of its first tickets)
    rows: int  # data rows in the file
    imported: int  # tickets added
    already: int  # tickets of this export imported before: left as they are
    rejected: int  # rows left out (skip_bad) because they cannot become tickets
    accounts_created: int
    accounts_matched: int
    contacts_created: int
    first_ticket: int | None
    last_ticket: int | None
    by_status: dict[str, int]
    notes: tuple[Problem, ...]  # rows kept although something in them was odd
    rejected_rows: tuple[Problem, ...]
    dry_run: bool
    skipped: tuple[Skipped, ...] = ()
    attachments: int = 0  # files written with the tickets (the desk's own export)


def read_export_file(
    path: str, *, fmt: str = "auto", zone: str = "UTC", now: datetime, data: bytes | None = None
) -> Export:
    """Read an export from `path` (or `data`, its bytes, when given: standard input) and parse
    it; times without an offset are in `zone`. UsageError, one line, when it cannot be."""
    from pathlib import Path
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from supportdesk.services.intake.export_formats import read_export

    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a folder of zones
        raise UsageError(
            f"unknown time zone {zone!r} (an IANA name such as Europe/Amsterdam)"
        ) from None
    from supportdesk.services.intake import import_desk

    if fmt == import_desk.FORMAT or (fmt == "auto" and import_desk.sniff(path, data)):
        return import_desk.read_desk_export(path, Path(path).name, data)  # times carry zones
    if data is None:
        from supportdesk.rules.limits import MAX_EXPORT_BYTES, read_bounded

        data = read_bounded(path, "import", MAX_EXPORT_BYTES)  # no hang on /dev/zero, a FIFO
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"cannot read {path}: not UTF-8 (byte {exc.start}); save it as UTF-8 CSV"
        ) from None
    text = text.replace("\x00", "")  # PostgreSQL cannot store NUL; in a CSV it means nothing
    return read_export(text, name=Path(path).name, fmt=fmt, zone=tz, now=now)


class _DryRun(Exception):
    def __init__(self, result: ImportResult) -> None:
        super().__init__("dry run")
        self.result = result


def import_export(
    desk: Desk,
    export: Export,
    *,
    plan: str | None = None,
    skip_bad: bool = False,
    dry_run: bool = False,
    source: str | None = None,
) -> ImportResult:
    """Import `export`; with `dry_run` everything is done and checked, then rolled back.
    `source` names the export (default: its identity, a digest of its first tickets)."""

    permissions.require(desk.actor, "desk.import")
    key = export.identity if source is None else check_source(source)
    if export.rejected and not skip_bad:
        bad = export.rejected[0]
        more = len(export.rejected) - 1
        raise UsageError(
            f"{export.name}:{bad.line}: {bad.text}"
            + (f" (and {more} more rows)" if more else "")
            + "; nothing was imported (--skip-bad imports the other rows)"
        )
    policy = current_policy(desk)
    plan_name = plan or policy.default_plan
    directory.check_plan(desk, plan_name)
    try:
        with desk.write() as (session, record):
            result = _write(session, record, desk, export, key, policy, plan_name, dry_run)
            if dry_run:
                raise _DryRun(result)  # leaves the transaction: it rolls back
            return result
    except _DryRun as done:
        return done.result


def check_source(name: str) -> str:
    """A `--source` name as given, or UsageError saying what one may be."""
    if not SOURCE_NAME.fullmatch(name) or name != name.strip():
        raise UsageError(f"--source {name!r}: 1 to 64 letters, digits, spaces or . _ : / @ + -")
    return name


def _skipped(session: Session, export: Export, key: str) -> dict[str, Skipped]:
    """The records of `export` the desk has already, by ref, with why."""
    from sqlalchemy import select

    from supportdesk.models import ImportedTicket, Ticket

    by_ref = {r.ref: r for r in export.records}
    seen: dict[str, list[tuple[str | None, int, bool]]] = {}
    for chunk in _chunks(sorted(by_ref)):
        for ref, export_key, tid, sender, subject, caller, created in session.execute(
            select(
                ImportedTicket.ref,
                ImportedTicket.export_key,
                ImportedTicket.ticket_id,
                Ticket.sender,
                Ticket.subject,
                Ticket.caller_name,
                Ticket.created_at,
            )
            .join(Ticket, Ticket.id == ImportedTicket.ticket_id)
            .where(ImportedTicket.source == export.format, ImportedTicket.ref.in_(chunk))
            .order_by(ImportedTicket.ticket_id)
        ):
            r = by_ref[ref]
            if r.contact_email is not None:
                same = (sender, subject) == (r.contact_email, r.subject[:300])
            else:
                same = (caller, created) == (r.contact_name, r.created_at)
            seen.setdefault(ref, []).append((export_key, tid, same))
    out: dict[str, Skipped] = {}
    for ref, found in seen.items():
        mine = [(tid, same) for k, tid, same in found if k == key]
        if mine:
            tid, same = mine[0]
            if same:
                out[ref] = Skipped(
                    ref, tid, "this_export", f"imported before from this export as #{tid}"
                )
            else:
                out[ref] = Skipped(
                    ref,
                    tid,
                    "this_export_differs",
                    f"imported before from this export as #{tid}, but that ticket has another "
                    "customer or subject: if this is another export, import it with --source",
                )
            continue
        alike = [tid for _k, tid, same in found if same]
        if alike:
            out[ref] = Skipped(
                ref,
                alike[0],
                "same_ticket",
                f"the same ticket (same customer and subject or opening) was imported before "
                f"as #{alike[0]}",
            )
    return out


def _write(
    session: Session,
    record: Any,
    desk: Desk,
    export: Export,
    key: str,
    policy: Any,
    plan_name: str,
    dry_run: bool,
) -> ImportResult:
    from supportdesk.models import ImportedTicket, Ticket, TicketEvent
    from supportdesk.models.base import bulk_insert
    from supportdesk.services import sla
    from supportdesk.services.intake import import_desk

    skipped = _skipped(session, export, key)
    records = [r for r in export.records if r.ref not in skipped]
    already = len(skipped)
    if not records:
        if not export.records:
            raise NothingToDo(f"nothing to import: {export.name} holds no tickets")
        differ = sum(1 for s in skipped.values() if s.reason == "this_export_differs")
        raise NothingToDo(
            f"nothing to import: the {len(export.records)} tickets of {export.name} "
            "were imported before"
            + (
                f" ({differ} of them with another customer or subject than the desk's:"
                " another export? import it with --source NAME)"
                if differ
                else ""
            )
        )
    now = desk.now()
    staff_id = desk.actor.staff_id
    accounts = _Accounts(session, plan_name, now, by_account=export.format == import_desk.FORMAT)
    accounts.prepare(records)
    placed = [accounts.place(r) for r in records]
    accounts.write()
    ids = reserve_ids(session, "tickets", len(records))
    tickets: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    clock_rows: list[dict[str, Any]] = []
    audit_rows = []
    # the desk's own export: files go with thread entries, so those get their ids here
    n_entries = sum(len(r.history) for r in records) if export.files else 0
    entry_ids = iter(reserve_ids(session, "ticket_events", n_entries)) if n_entries else None
    entry_of: dict[str, list[int]] = {}  # a record's ref -> its entries' ids, in order
    for tid, r, (account_id, contact_id) in zip(ids, records, placed, strict=True):
        clocks, clock_events = sla.imported_clocks(
            policy,
            accounts.plans[account_id],
            r.priority,
            status=r.status.value,
            created_at=r.created_at,
            first_response_at=r.first_response_at,
            resolved_at=r.resolved_at,
            code=r.resolution_code,
            last_activity_at=r.last_activity_at,
            start_known=r.start_known,
            pauses=r.pauses,
        )
        ticket = {
            "id": tid,
            "account_id": account_id,
            "contact_id": contact_id,
            "caller_name": r.contact_name if contact_id is None else None,
            "request_type": r.request_type,  # the export's type, which a person chose there
            **suggestion_columns(policy.request_words, r.subject, r.description),
            "subject": r.subject,
            "subject_nonce": new_nonce(),
            "description": r.description,
            "description_nonce": new_nonce() if r.description else None,
            "category": r.category.value,
            "priority_rank": r.priority.rank,
            "channel": r.channel.value,
            "status": r.status.value,
            "tier": 1,
            "tier_since": r.created_at,
            "created_at": r.created_at,
            "updated_at": max(r.last_activity_at, r.created_at),
            "first_response_at": r.first_response_at,
            "resolved_at": r.resolved_at,
            "resolution_code": r.resolution_code,
            "last_speaker": (Speaker.STAFF if r.staff_spoke_last else Speaker.CUSTOMER).value,
            "last_activity_at": r.last_activity_at,
            "sender": r.contact_email,
            **clocks,
        }
        tickets.append(ticket)
        rows = [_event_row(tid, h) for h in r.history]
        if entry_ids is not None:
            for row in rows:
                row["id"] = next(entry_ids)
            entry_of[r.ref] = [row["id"] for row in rows]
        events += rows
        clock_rows += [
            {**_EVENT_DEFAULTS, **e, "ticket_id": tid, "staff_id": staff_id, "created_at": now}
            for e in clock_events
        ]
        audit_rows.append(
            (
                "ticket.import",
                "ticket",
                tid,
                {
                    "source": [None, f"{export.format}:{key}:{r.ref}"],
                    "account": [None, account_id],
                    "contact": [None, contact_id],
                    "subject": [None, text_digest(r.subject, ticket["subject_nonce"])],
                    "priority": [None, r.priority.value],
                    "category": [None, r.category.value],
                    "channel": [None, r.channel.value],
                    "status": [None, r.status.value],
                    "created_at": [None, r.created_at.isoformat()],
                    "description": [
                        None,
                        text_digest(r.description or None, ticket["description_nonce"]),
                    ],
                    "sla_plan": [None, clocks["sla_plan"]],
                },
            )
        )
    bulk_insert(session, Ticket, tickets)
    bulk_insert(session, TicketEvent, events)
    bulk_insert(session, TicketEvent, clock_rows)
    by_ref = {r.ref: tid for tid, r in zip(ids, records, strict=True)}
    files = import_desk.insert_files(
        session,
        export,
        by_ref,
        lambda ref, n: entry_of[ref][n],
        lambda n: reserve_ids(session, "attachments", n),
    )
    audit_rows += files
    bulk_insert(
        session,
        ImportedTicket,
        [
            {
                "ticket_id": tid,
                "source": export.format,
                "export_key": key,
                "ref": r.ref,
                "imported_at": now,
            }
            for tid, r in zip(ids, records, strict=True)
        ],
    )
    summary = {
        "file": [None, export.name],
        "format": [None, export.format],
        "export": [None, key],
        "tickets": [None, len(records)],
        "skipped": [None, already],
        "first_ticket": [None, ids[0]],
        "last_ticket": [None, ids[-1]],
        "accounts_created": [None, accounts.created],
        "rejected_rows": [None, len(export.rejected)],
        **({"attachments": [None, len(files)]} if files else {}),
    }
    record.many([*audit_rows, ("desk.import", "import", export.name[:64], summary)])
    return ImportResult(
        source=export.name,
        format=export.format,
        export_key=key,
        rows=export.rows,
        imported=len(records),
        already=already,
        rejected=len(export.rejected),
        accounts_created=accounts.created,
        accounts_matched=len({a for a, _c in placed}) - accounts.created,
        contacts_created=accounts.contacts,
        first_ticket=ids[0],
        last_ticket=ids[-1],
        by_status=dict(Counter(r.status.value for r in records)),
        notes=tuple(p for p in export.notes if p.ref not in skipped),
        rejected_rows=tuple(export.rejected),
        dry_run=dry_run,
        skipped=tuple(skipped[r.ref] for r in export.records if r.ref in skipped),
        attachments=len(files),
    )


_EVENT_DEFAULTS: dict[str, Any] = {
    "from_customer": False,
    "visible": False,
    "body": None,
    "nonce": None,
    "call_outcome": None,
    "old_value": None,
    "new_value": None,
    "redacted_at": None,
}


def _event_row(ticket_id: int, h: Any) -> dict[str, Any]:
    return {
        **_EVENT_DEFAULTS,
        "ticket_id": ticket_id,
        "kind": h.kind.value,
        "staff_id": None,  # the export's people are not the desk's staff
        "from_customer": h.from_customer,
        "visible": h.visible,
        "body": h.body,
        "nonce": new_nonce() if h.body else None,  # 0009: every stored text has its nonce
        "old_value": h.old,
        "new_value": h.new,
        "call_outcome": h.call_outcome,
        "created_at": h.at,
        "redacted_at": h.redacted_at,
    }


def reserve_ids(session: Session, table: str, n: int) -> list[int]:
    """`n` new ids for rows of `table` (an integer primary key `id`), to insert in bulk with
    the ids known. PostgreSQL draws them from the table's sequence; SQLite's write
    transaction is exclusive (BEGIN IMMEDIATE), so the ids after the largest are free."""
    from sqlalchemy import text

    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text(
                    f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"
                    " FROM generate_series(1, :n)"
                ),
                {"n": n},
            )
        )
    top = session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}")) or 0
    return list(range(top + 1, top + 1 + n))


class _Accounts:
    """Finds or creates the account (and contact) of each record. The desk's accounts are
    read in chunks up front (`prepare`); new ones are written in bulk (`write`).

    A foreign export names customers, not accounts: each customer's e-mail address is an
    account with that customer as its primary contact, unless a contact of the desk has the
    address. The desk's own export (`by_account`) names each ticket's account: the ticket
    goes to that account (made with that id when this desk has none) and to the contact of
    that account with the ticket's address; it carries no contacts' roles, so it makes no
    contact: a ticket whose address that account does not list keeps it as its sender. A
    restore never makes anyone a primary contact (who may cancel, reset passwords)."""

    def __init__(self, session: Session, plan: str, now: datetime, *, by_account: bool) -> None:
        self.session = session
        self.plan = plan
        self.now = now
        self.by_account = by_account
        self.plans: dict[str, str] = {}  # account id -> its plan (for the clocks)
        self.by_email: dict[str, tuple[str, int]] = {}  # e-mail -> (account id, contact id)
        self.listed: dict[tuple[str, str], int] = {}  # (account id, e-mail) -> contact id
        self.taken: set[str] = set()  # account ids in use
        self.created = self.contacts = 0
        self._accounts: list[dict[str, Any]] = []
        self._contacts: list[dict[str, Any]] = []
        self._points: list[dict[str, Any]] = []

    def prepare(self, records: list[Record]) -> None:
        from sqlalchemy import select

        from supportdesk.models import Account, Contact, ContactPoint

        emails = sorted({r.contact_email for r in records if r.contact_email is not None})
        for chunk in _chunks(emails):
            for email, account_id, contact_id, plan in self.session.execute(
                select(ContactPoint.value, Contact.account_id, Contact.id, Account.plan)
                .join(Contact, ContactPoint.contact_id == Contact.id)
                .join(Account, Account.id == Contact.account_id)
                .where(ContactPoint.kind == "email", ContactPoint.value.in_(chunk), Contact.active)
                .order_by(Contact.id.desc())  # the first contact listing it wins
            ):
                self.by_email[email] = (account_id, contact_id)
                self.listed[(account_id, email)] = contact_id
                self.plans[account_id] = plan
        keys = sorted({r.account_key for r in records})
        for chunk in _chunks(keys):
            for account_id, plan in self.session.execute(
                select(Account.id, Account.plan).where(Account.id.in_(chunk))
            ):
                self.plans[account_id] = plan
        self.taken |= set(self.plans)
        n_new = 0 if self.by_account else len([e for e in emails if e not in self.by_email])
        self._contact_ids = iter(reserve_ids(self.session, "contacts", n_new)) if n_new else None

    def place(self, r: Record) -> tuple[str, int | None]:
        """(account id, contact id) for the record, creating what is missing."""
        if self.by_account and r.account_key:
            if r.account_key not in self.plans:
                self._new_account(r, r.account_key)
            email = r.contact_email
            return r.account_key, None if email is None else self.listed.get((r.account_key, email))
        if r.contact_email is None:
            if r.account_key not in self.plans:
                self._new_account(r, r.account_key)
            return r.account_key, None
        found = self.by_email.get(r.contact_email)
        if found is None:
            account_id = self._new_account(r, self._free_id(r.account_key))
            found = (account_id, self._new_contact(account_id, r, r.contact_email))
            self.by_email[r.contact_email] = found
        return found

    def write(self) -> None:
        """Insert the new accounts, contacts and the contacts' e-mail addresses."""
        from supportdesk.models import Account, Contact, ContactPoint
        from supportdesk.models.base import bulk_insert

        bulk_insert(self.session, Account, self._accounts)
        bulk_insert(self.session, Contact, self._contacts)
        bulk_insert(self.session, ContactPoint, self._points)

    def _free_id(self, base: str) -> str:
        """`base`, or `base-N` with the smallest N from 2 that no account has. The ids
        starting `base-` are read in one indexed prefix read, as the call screen's lookup
        does: a binary range on SQLite, LIKE on PostgreSQL (text_pattern_ops; a range there
        would follow the collation). A `_` matching more than itself only adds ids to avoid."""
        if base not in self.taken:
            return base
        from sqlalchemy import select

        from supportdesk.models import Account

        stem = f"{base[:57]}-"
        starts: Any
        if self.session.get_bind().dialect.name == "sqlite":
            starts = (Account.id >= stem) & (Account.id < stem[:-1] + ".")
        else:
            starts = Account.id.like(stem + "%")
        self.taken |= set(self.session.scalars(select(Account.id).where(starts)))
        n = 2
        while f"{stem}{n}" in self.taken:
            n += 1
        return f"{stem}{n}"

    def _new_account(self, r: Record, account_id: str) -> str:
        self._accounts.append(
            {
                "id": account_id,
                "company": r.company[:200],
                "plan": self.plan,
                "status": "active",
                "notes": "",
                "created_at": self.now,
            }
        )
        self.taken.add(account_id)
        self.plans[account_id] = self.plan
        self.created += 1
        return account_id

    def _new_contact(self, account_id: str, r: Record, email: str) -> int:
        assert self._contact_ids is not None
        contact_id = next(self._contact_ids)
        self._contacts.append(
            {
                "id": contact_id,
                "account_id": account_id,
                "name": (r.contact_name or r.company)[:200],
                "role": ContactRole.PRIMARY.value,
                "active": True,
                "created_at": self.now,
            }
        )
        self._points.append({"contact_id": contact_id, "kind": "email", "value": email})
        self.contacts += 1
        return contact_id


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]
