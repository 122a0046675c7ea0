"""Importing other helpdesks' exports: rows per second, on SQLite and PostgreSQL.

Usage: python benchmarks/bench_import.py [--data DIR] [--copies N] [--pg URL] [--skip-pg]

Reads the real exports in ../shared/data (customer_support_tickets.csv, a Kaggle ticket
table of 8,469 rows; incident_event_log_subset.csv, 5,998 ServiceNow changes of 890
incidents) when they are there, else says so and stops. Each is imported into a fresh desk
through the same code as `supportdesk import` (parse, then one transaction); `--copies N`
repeats the Kaggle rows N times under new ids to see how the time grows. The files are read,
never copied into the repository.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pg_schema import PG_URL, drop_schema, pg_schema

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.services.admin.setup import init_database
from supportdesk.services.intake import importer
from supportdesk.store import Store

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data"


def copies_of(path: Path, n: int) -> bytes:
    """The Kaggle export with its rows repeated `n` times under new ticket ids and e-mails."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    header, body = rows[0], rows[1:]
    ref, email = header.index("Ticket ID"), header.index("Customer Email")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for copy in range(n):
        for row in body:
            row = list(row)
            row[ref] = f"{copy}-{row[ref]}"
            row[email] = f"c{copy}.{row[email]}"
            writer.writerow(row)
    return out.getvalue().encode()


def run(label: str, url: str, key: Path, name: str, data: bytes) -> None:
    store = Store(url)
    desk = Desk(store, "lena", Clock(), key)
    init_database(desk, admin="lena")
    t0 = time.perf_counter()
    export = importer.read_export_file(name, now=desk.now(), data=data)
    parsed = time.perf_counter() - t0
    r = importer.import_export(desk, export)
    total = time.perf_counter() - t0
    store.dispose()
    print(
        f"  {label:<10} {name:<36} {export.rows:>7,} rows -> {r.imported:>7,} tickets, "
        f"{r.accounts_created:>6,} accounts: parse {parsed:5.2f} s, all {total:5.2f} s "
        f"({r.imported / total:,.0f} tickets/s)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--copies", type=int, default=4, help="also import the Kaggle rows x N")
    ap.add_argument("--pg", default=PG_URL)
    ap.add_argument("--skip-pg", action="store_true")
    args = ap.parse_args()
    kaggle = args.data / "customer_support_tickets.csv"
    servicenow = args.data / "incident_event_log_subset.csv"
    if not kaggle.exists() or not servicenow.exists():
        print(f"the exports are not in {args.data}: nothing to measure (see --data)")
        return
    inputs = [
        (kaggle.name, kaggle.read_bytes()),
        (servicenow.name, servicenow.read_bytes()),
    ]
    if args.copies > 1:
        inputs.append((f"kaggle x {args.copies}", copies_of(kaggle, args.copies)))
    print(f"cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as folder:
        key = Path(folder) / "audit.key"
        for i, (name, data) in enumerate(inputs):
            run("SQLite", str(Path(folder) / f"import{i}.db"), key, name, data)
        if args.skip_pg:
            return
        for name, data in inputs:
            url, schema = pg_schema(args.pg)
            if url is None:
                print(f"  PostgreSQL skipped: {schema}")
                return
            try:
                run("PostgreSQL", url, key, name, data)
            finally:
                drop_schema(args.pg, schema)


if __name__ == "__main__":
    main()
