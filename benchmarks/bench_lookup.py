"""The call screen's account lookup on a big demo: realistic queries typed one key at a time.

Usage: python benchmarks/bench_lookup.py [--db PATH|URL] [--tickets N] [--per-kind N]

Uses --db, else /tmp/d1m.db when it exists, else builds a 1,000,000-ticket demo (100,000
accounts) at /tmp/supportdesk-bench-1m.db. A database at an older schema is copied next to
itself and the copy upgraded (`supportdesk init`, with the original's audit key), so the
original is left as it was.

Every prefix of every query is one search, as when an agent types it: account ids, company
names, first and other domains, e-mail addresses, phone numbers as callers say them, ticket
numbers, and misses (a typo'd company, an unknown domain: the searches that scan). Prints
p50 / p99 / max per keystroke by kind and overall; the budget is 100 ms.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from supportdesk.core import audit_key
from supportdesk.core.desk import Desk
from supportdesk.services.callers import lookup
from supportdesk.store import HEAD_REVISION, Store

BUDGET_MS = 100.0
DEFAULT_DB = Path("/tmp/d1m.db")
BUILT_DB = Path("/tmp/supportdesk-bench-1m.db")


def build(path: Path, tickets: int) -> None:
    print(f"building a {tickets:,}-ticket demo at {path} ...", flush=True)
    t0 = time.perf_counter()
    command = [sys.executable, "-m", "supportdesk", "--db", str(path), "demo"]
    subprocess.run(
        [*command, "--tickets", str(tickets), "--no-open"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"  built in {time.perf_counter() - t0:.1f} s")


def at_head(path: Path) -> Path:
    """`path`, or an upgraded copy of it when its schema is older than this code's."""
    store = Store(str(path))
    revision = store.schema_revision()
    store.dispose()
    if revision == HEAD_REVISION:
        return path
    copy = path.with_name(f"{path.stem}-at{HEAD_REVISION}{path.suffix}")
    if copy.exists():
        copied = Store(str(copy))
        ready = copied.schema_revision() == HEAD_REVISION
        copied.dispose()
        if ready:
            print(f"{path} is at schema {revision}: using its upgraded copy {copy}")
            return copy
        copy.unlink()
    print(f"{path} is at schema {revision}: copying it to {copy} and upgrading the copy")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(str(copy))
    source.backup(target)  # consistent, WAL included
    source.close()
    target.close()
    key = audit_key.key_path_for(str(path.resolve()))
    subprocess.run(
        [sys.executable, "-m", "supportdesk", "--db", str(copy), "--audit-key", str(key), "init"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return copy


def queries(store: Store, per_kind: int, seed: int) -> dict[str, list[tuple[str, str | None]]]:
    """(typed text, the account it should find, None for a miss) by kind, from the data."""
    rng = random.Random(seed)

    def sample(sql: str, params: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        rows = sorted((str(a), str(b)) for a, b in store.query(sql, params))
        return rng.sample(rows, min(per_kind, len(rows)))

    accounts = "SELECT id, company FROM accounts"
    out: dict[str, list[tuple[str, str | None]]] = {}
    out["account id"] = [(a, a) for a, _ in sample(accounts)]
    out["company"] = [(c, a) for a, c in sample(accounts)]
    domains = sample("SELECT account_id, domains FROM services WHERE domains <> ''")
    out["first domain"] = [(d.split()[0], a) for a, d in domains]
    # bound, not literal: psycopg would take a literal % for a placeholder
    more = sample("SELECT account_id, domains FROM services WHERE domains LIKE ?", ("% %",))
    out["other domain"] = [(d.split()[-1], a) for a, d in more]
    points = (
        "SELECT cp.value, c.account_id FROM contact_points cp"
        " JOIN contacts c ON c.id = cp.contact_id WHERE cp.kind = '{}'"
    )
    out["e-mail"] = list(sample(points.format("email")))
    # phone numbers as a caller says them: "+27 82 555 0199"
    out["phone"] = [
        (f"{p[:3]} {p[3:5]} {p[5:8]} {p[8:]}", a) for p, a in sample(points.format("phone"))
    ]
    top = int(store.query("SELECT max(id) FROM tickets")[0][0] or 1)
    tickets = [rng.randrange(1, top + 1) for _ in range(per_kind)]
    out["ticket #"] = [
        (f"#{t}", str(store.query("SELECT account_id FROM tickets WHERE id = ?", [t])[0][0]))
        for t in tickets
    ]
    misses = [c for _a, c in sample(accounts)]
    out["miss (typo)"] = [(c[:3] + "qz" + c[3:], None) for c in misses]
    out["miss (domain)"] = [(f"nosuch{rng.randrange(10**6)}.co.za", None) for _ in misses]
    return out


def type_queries(desk: Desk, items: list[tuple[str, str | None]]) -> tuple[list[float], int]:
    """Type every query one key at a time, as an agent does: milliseconds per keystroke, and
    how many queries found their account (a miss: found nothing) once fully typed."""
    times: list[float] = []
    found = 0
    for text, expected in items:
        hits: list[lookup.AccountHit] = []
        for end in range(1, len(text) + 1):
            t0 = time.perf_counter()
            hits = lookup.find_accounts(desk, text[:end])
            times.append((time.perf_counter() - t0) * 1000)
        accounts = [h.account for h in hits]
        found += expected in accounts if expected else not accounts
    return times, found


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None)
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--per-kind", type=int, default=25)
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    if args.db and "://" in args.db:  # PostgreSQL: used as it is (at the schema's head)
        where = args.db
    else:
        if args.db:
            path = Path(args.db)
        elif DEFAULT_DB.exists():
            path = DEFAULT_DB
        else:
            path = BUILT_DB
        if not path.exists():
            build(path, args.tickets)
        where = str(at_head(path))
    desk = Desk(Store(where), "lena")
    store = desk.store
    n_accounts = store.query("SELECT count(*) FROM accounts")[0][0]
    n_tickets = store.query("SELECT max(id) FROM tickets")[0][0]
    print(f"database: {desk.store.display_name()} ({n_accounts:,} accounts, {n_tickets:,} tickets)")
    kinds = queries(store, args.per_kind, args.seed)
    for items in kinds.values():  # warm the caches and the imports (a console has them)
        lookup.find_accounts(desk, items[0][0])
    everything: list[float] = []
    print(f"{'kind':<15}{'keys':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  found")
    for kind, items in kinds.items():
        times, found = type_queries(desk, items)
        everything += times
        print(
            f"{kind:<15}{len(times):>6}{statistics.median(times):>9.1f}{pct(times, 99):>9.1f}"
            f"{max(times):>9.1f}  {found}/{len(items)}"
        )
    p50, p99 = statistics.median(everything), pct(everything, 99)
    print(
        f"{'all':<15}{len(everything):>6}{p50:>9.1f}{p99:>9.1f}{max(everything):>9.1f}"
        f"  budget {BUDGET_MS:.0f} ms per keystroke: {'OK' if p99 < BUDGET_MS else 'OVER'}"
    )


if __name__ == "__main__":
    main()
