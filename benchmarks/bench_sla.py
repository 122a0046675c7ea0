"""Recomputing the SLA clocks of every open ticket after a policy change.

Usage: python benchmarks/bench_sla.py [--db PATH] [--tickets N]
Builds a demo database (default 1,000,000 tickets, about a fifth of them open) unless --db
names an existing one, then loads a changed policy (every respond target of the demo's
plans moved) as a lead, which recomputes the due times of all open tickets in one
transaction, and loads the original back. Prints the tickets recomputed and the seconds
each load took. Target: under 20 s for the 200,000 open tickets of the 1M demo.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.core.policy import current_policy
from supportdesk.demo import build_demo
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import sla
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store


def _shifted(text: str) -> str:
    """The same policy with every duration target one hour longer."""

    def later(match: re.Match[str]) -> str:
        hours = int(match.group(1))
        return f'"{hours + 1}h"'

    return re.sub(r'"(\d+)h"', later, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an existing demo database (default: build one)")
    parser.add_argument("--audit-key", help="the audit key of --db (default: its usual place)")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_sla_"))
    path = args.db or str(folder / "demo.db")
    key = args.audit_key or (folder / "audit.key" if not args.db else None)
    store = Store(path)
    desk = Desk(store, "lena", Clock(), key)
    if not args.db:
        init_database(desk, admin="lena")
        started = time.perf_counter()
        build_demo(desk, tickets=args.tickets)
        print(f"demo of {args.tickets:,} tickets built in {time.perf_counter() - started:.1f} s")
    open_tickets = store.query("SELECT count(*) FROM tickets WHERE view <> 'done'")[0][0]
    print(f"open tickets: {open_tickets:,}")
    original = current_policy(desk)
    changed = parse_policy(_shifted(original.text), "changed.toml")
    for label, policy in (("changed policy", changed), ("original policy", original)):
        started = time.perf_counter()
        result = sla.load_policy(desk, policy)
        seconds = time.perf_counter() - started
        print(
            f"{label}: {result.recomputed:,} open tickets recomputed in {seconds:.1f} s "
            f"({seconds / max(result.recomputed, 1) * 1e6:.0f} µs per ticket)"
        )
    store.dispose()


if __name__ == "__main__":
    main()
