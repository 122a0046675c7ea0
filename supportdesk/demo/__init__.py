"""The demo generator: a tool above the desk services (it uses them), not one of them.

Build a realistic demo database: staff, accounts, services, contacts and ticket threads.

A demo has to reach a million tickets in under a minute on SQLite (two minutes on
PostgreSQL) to show how the console behaves at that size, so nothing here goes through the
ORM. Rows are plain tuples from seeded `random.Random`s, bulk-loaded on the raw DBAPI
connection in one transaction:

- tickets are made in chunks of CHUNK, each with its own random numbers, so any process can
  make any chunk and the result depends only on the seed and `desk.now()`;
- from PARALLEL_MIN tickets, two worker processes make the chunks while this process loads
  the ones already made: on SQLite they write scratch SQLite files, which this process
  attaches and copies with INSERT ... SELECT (in C, instead of binding every value in
  Python); on PostgreSQL they write the text of COPY, which this process sends as it is;
- secondary indexes are dropped for the load and built afterwards, except the few that are
  cheaper to keep up to date (see `load.bulk_indexes`); the load runs in rollback-journal mode
  when it can (see `load.SqliteLoader`), and ANALYZE runs at the end;
- on PostgreSQL the load also drops the loaded tables' foreign keys and disables the change
  feed's NOTIFY triggers, and puts both back before the commit, with one NOTIFY for the
  consoles (see `pgload`): a failed or killed build leaves the desk as it was.

The texts come from `data/demo/*.toml`: templates with `{slots}`, pre-rendered per seed.

The demo staff is fixed so that documentation can name it (`--as LOGIN`):

=========  ====================  ========  ====
login      name                  role      tier
=========  ====================  ========  ====
lena       Lena Mokoena          lead      3
sipho      Sipho Dlamini         lead      3
amir       Amir Haddad           agent     1
nomsa      Nomsa Khumalo         agent     1
pieter     Pieter van Wyk        agent     1
fatima     Fatima Patel          agent     1
josh       Josh Reed             agent     1
lerato     Lerato Molefe         agent     1
dmitri     Dmitri Volkov         agent     1
chloe      Chloe Martin          agent     1
tomas      Tomas Ferreira        engineer  2
aisha      Aisha Naidoo          engineer  2
ben        Ben Okafor            engineer  2
kaito      Kaito Tanaka          engineer  2
marta      Marta Kowalska        engineer  2
ingrid     Ingrid Larsen         engineer  3
ravi       Ravi Iyer             engineer  3
zanele     Zanele Mthembu        engineer  3
=========  ====================  ========  ====

Logins that already exist (the admin lead made by `init`) are left as they are.

Threads: every ticket starts with a `created` event. Open, scheduled and recent tickets get a
full thread (first response, escalation, holder, follow-ups, status changes); tickets done
more than a week ago keep only their replies, escalations and merges (most were solved in
the first reply), so that a million tickets stay under three events each. The move from
`new` to `open` is implied by the first staff response and gets no event of its own.
`last_activity_at` (and `updated_at`) is the time of the last event; `last_speaker` is who
wrote the last `created`, `reply` or `call` event.

Modules by job: `texts` (names, subjects, bodies from data/demo), `rows` (row layouts),
`generate` (directory and ticket threads), `clocks` (a ticket's SLA columns, with a fast
path for resolved tickets), `workers` (parallel worker processes), `load` (bulk loaders,
SQLite's), `pgload` (PostgreSQL's), `copytext` (rows as COPY text), `handover` (shift-end
handovers), `outbox` (the demo's mail), `timing` (stage timings on stderr with
SUPPORTDESK_DEMO_STAGES=1: wall and CPU seconds of this process, the workers and the
PostgreSQL server process), `staff`, and `build` (build_demo, the atomic build of a demo
file, PINs). The names the CLI, the tests and the benchmarks use are
re-exported here.
"""

from __future__ import annotations

from .build import (
    DEMO_ADMIN,
    DemoFile,
    build_demo,
    build_demo_file,
    check_replaceable,
    demo_account_count,
    is_leftover_init,
    issue_demo_pins,
    stage_mark,
)
from .handover import WAITING_CLAIMS_CAP
from .rows import BULK_TABLES
from .staff import DEMO_STAFF, DemoResult, DemoStaff, Welcome

__all__ = [
    "BULK_TABLES",
    "DEMO_ADMIN",
    "DEMO_STAFF",
    "WAITING_CLAIMS_CAP",
    "DemoFile",
    "DemoResult",
    "DemoStaff",
    "Welcome",
    "build_demo",
    "build_demo_file",
    "check_replaceable",
    "demo_account_count",
    "is_leftover_init",
    "issue_demo_pins",
    "stage_mark",
]
