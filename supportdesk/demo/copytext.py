"""The generator's compact rows as the text of PostgreSQL's COPY (tab-separated, `\\N` for
NULL, backslash escapes), so that a worker process can format them and the loading process
only sends bytes: adapting every value in the loading process (psycopg's `write_row`) cost
more than COPY itself on the server.

Times are the text the generator makes for SQLite (`sqlite_timestamp`, UTC without an
offset): the load sets its transaction's TimeZone to UTC, so PostgreSQL reads them as UTC.

A ticket's line ends with its company and contact name (NAMED_TICKET_COLUMNS, migration
0021), looked up in the directory's `Names`: the load disables the trigger that would look
them up row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .rows import (
    ACCOUNT_COLUMNS,
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    LAST_ACTIVITY,
    NULL_AS,
    SHAPES,
    TICKET_COLUMNS,
    TICKET_ROW,
    Row,
)

NULL = "\\N"
# columns of people's text, which may hold a tab, a newline or a backslash; every other
# column holds identifiers, codes, numbers or times the generator made
FREE_TEXT = frozenset({"caller_name", "caller_phone", "subject", "description", "body",
                       "old_value", "new_value"})  # fmt: skip


def escape(text: str) -> str:
    """A value as COPY's text format spells it."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    return text


# PostgreSQL keeps the names on the ticket row (migration 0021)
NAMED_TICKET_COLUMNS = (*TICKET_COLUMNS, "company_name", "contact_name")


@dataclass(frozen=True)
class Names:
    """The directory's names as COPY text: company by account id, name by contact id."""

    companies: dict[str, str]
    contacts: dict[int, str]


def names_of(accounts: Sequence[Row], contacts: Sequence[Row]) -> Names:
    """The names of directory rows (ACCOUNT_COLUMNS, CONTACT_COLUMNS), escaped once."""
    company, account_id = ACCOUNT_COLUMNS.index("company"), ACCOUNT_COLUMNS.index("id")
    name, contact_id = CONTACT_COLUMNS.index("name"), CONTACT_COLUMNS.index("id")
    return Names(
        {r[account_id]: escape(r[company]) for r in accounts},
        {r[contact_id]: escape(r[name]) for r in contacts},
    )


def _ticket_line_maker() -> Callable[[dict[str, str], dict[int, str]], Callable[[Row], str]]:
    """One ticket row (TICKET_ROW) as a COPY line of NAMED_TICKET_COLUMNS, compiled once (a
    generic loop over 48 columns cost several times as much per row); given the name
    lookups, it returns the line maker."""
    parts = []
    for name in TICKET_COLUMNS:
        index = TICKET_ROW.index("last_activity_at" if name == "updated_at" else name)
        value = f"r[{index}]"
        if name in FREE_TEXT:
            value = f"esc({value})"
        if name in NULL_AS:
            value = f"({value} if r[{index}] != {NULL_AS[name]!r} else N)"
        parts.append("{" + value + "}")
    account, contact = TICKET_ROW.index("account_id"), TICKET_ROW.index("contact_id")
    parts.append(f"{{co[r[{account}]]}}")
    parts.append(f"{{(cn[r[{contact}]] if r[{contact}] != {NULL_AS['contact_id']!r} else N)}}")
    source = 'lambda co, cn: lambda r: f"' + "\\t".join(parts) + '\\n"'
    maker: Callable[[dict[str, str], dict[int, str]], Callable[[Row], str]] = eval(
        source, {"esc": escape, "N": NULL}
    )
    return maker


_ticket_lines = _ticket_line_maker()
assert TICKET_ROW[LAST_ACTIVITY] == "last_activity_at"


def ticket_line(names: Names) -> Callable[[Row], str]:
    """The line maker of ticket rows with these names."""
    return _ticket_lines(names.companies, names.contacts)


# shape code -> the kind, from_customer, visible columns and the call outcome column
_SHAPE_TEXT = tuple(
    (f"{kind}\t", f"\t{from_customer}\t{visible}\t", f"\t{outcome or NULL}\t")
    for kind, from_customer, visible, outcome in SHAPES
)
assert EVENT_COLUMNS == (
    "ticket_id", "kind", "staff_id", "from_customer", "visible", "body", "call_outcome",
    "old_value", "new_value", "created_at",
)  # fmt: skip


def event_line(row: Row) -> str:
    """One event row (EVENT_ROW) as a COPY line of EVENT_COLUMNS."""
    ticket_id, shape, staff_id, body, old, new, at = row
    kind, flags, outcome = _SHAPE_TEXT[shape]
    return (
        f"{ticket_id}\t{kind}{staff_id or NULL}{flags}{escape(body) if body else NULL}"
        f"{outcome}{escape(old) if old else NULL}\t{escape(new) if new else NULL}\t{at}\n"
    )


def ticket_text(rows: Sequence[Row], line: Callable[[Row], str]) -> bytes:
    """Ticket rows (TICKET_ROW) as the data of one COPY of NAMED_TICKET_COLUMNS (`line`:
    `ticket_line(names)`)."""
    return "".join(map(line, rows)).encode()


def event_text(rows: Sequence[Row]) -> bytes:
    """Event rows (EVENT_ROW) as the data of one COPY of EVENT_COLUMNS."""
    return "".join(map(event_line, rows)).encode()
