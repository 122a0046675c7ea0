"""Claims per second: eight engineer processes drain a tier-2 board, on SQLite and PostgreSQL.

Usage: python benchmarks/bench_claims.py [--tickets 2000] [--cli-tickets 200] [--no-resolve]
       [--pg URL]

Each process loops over `escalation.claim_next` in-process until the board is empty,
resolving each ticket after claiming it (as an engineer working through the board does;
`--no-resolve` claims only, with a limit of 100, which drains at most 800 tickets). Then
eight shell-style loops of `supportdesk claim --next` processes drain a smaller board: the
rate a team of scripts gets, start-up of each process included. The board is built by
tests/helpers/claim_race.py (one escalation through the services, copied with set-based SQL).
PostgreSQL runs in a fresh schema, dropped afterwards, or is skipped with the reason.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pg_schema import PG_URL, drop_schema, pg_schema

from tests.helpers.claim_race import ENGINEERS, build_board, cli_race, race


def run(name: str, url: str, key: Path, args: argparse.Namespace, folder: Path) -> None:
    resolve = not args.no_resolve
    build_board(url, key, args.tickets, max_claims=5 if resolve else 100)
    r = race(url, key, resolve=resolve)
    claims = len(r.claimed)
    per = [len(w.claimed) for w in r.results]
    errors = [e for w in r.results for e in w.errors]
    retries = sum(a - 1 for w in r.results for a in w.attempts)
    what = "claim + resolve" if resolve else "claim"
    print(f"{name}: {claims:,} claims by {len(ENGINEERS)} processes in {r.seconds:.1f} s")
    rate = claims / r.seconds
    txn = 2 * rate if resolve else rate
    print(f"  {rate:,.0f} claims/s ({what}: {txn:,.0f} transactions/s)")
    print(f"  per process: {min(per)}..{max(per)} (median {statistics.median(per):.0f})")
    print(f"  lost races retried inside claim_next: {retries}; errors: {len(errors)}")
    for e in errors[:5]:
        print(f"    {e}")
    if args.cli_tickets:
        url2, key2 = url, key
        if name == "SQLite":
            url2 = str(folder / "cli.db")
            key2 = folder / "cli.key"
        else:
            pg_url, schema = pg_schema(PG_URL)
            assert pg_url is not None
            url2 = pg_url
            args.cleanup.append(schema)
        build_board(url2, key2, args.cli_tickets, max_claims=100)
        c = cli_race(url2, key2)
        codes = sorted({code for loop in c.loops for code in loop.codes})
        print(
            f"  CLI: {len(c.claimed):,} claims by 8 loops of `supportdesk claim --next` in "
            f"{c.seconds:.1f} s: {len(c.claimed) / c.seconds:.1f} claims/s, "
            f"{c.invocations / c.seconds:.1f} invocations/s; exit codes {codes}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=2000)
    ap.add_argument("--cli-tickets", type=int, default=200, help="0: skip the CLI race")
    ap.add_argument("--no-resolve", action="store_true")
    ap.add_argument("--pg", default=PG_URL)
    ap.add_argument("--skip-pg", action="store_true")
    args = ap.parse_args()
    args.cleanup = []
    folder = Path(tempfile.mkdtemp(prefix="bench-claims-"))
    print(f"cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")
    try:
        run("SQLite", str(folder / "desk.db"), folder / "k.key", args, folder)
        if args.skip_pg:
            print("PostgreSQL: skipped (--skip-pg)")
            return 0
        url, schema = pg_schema(args.pg)
        if url is None:
            print(f"PostgreSQL: skipped ({schema})")
            return 0
        args.cleanup.append(schema)
        run("PostgreSQL", url, folder / "pg.key", args, folder)
    finally:
        for schema in args.cleanup:
            drop_schema(args.pg, schema)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
