"""Engineers racing to drain one tier board, in real OS processes
(tests/services/test_claim_race.py and benchmarks/bench_claims.py share it).

`build_board` makes a desk whose tier-2 board holds N escalated tickets: the first is
opened and escalated through the services (so it is exactly what `escalate` leaves
behind: tier 2, tier_since, an open escalation, its events, its watcher), and the others
are copies of it made with set-based SQL, each with its own escalation row and events.

`race` starts one process per engineer (`python -c`, so nothing depends on how the caller
was started); each imports the services, says it is ready, waits for the start signal, and
loops over `escalation.claim_next` until the board is empty (NothingToDo), optionally
resolving each ticket it claims, as an engineer who works through the board does.
`cli_race` does the same with one loop of `supportdesk claim --next` invocations per
engineer, each a new process, until one exits with 4.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ENGINEERS = tuple(f"eng{i}" for i in range(1, 9))
TIER = 2
WORKER_CODE = "from tests.helpers.claim_race import worker_main; worker_main()"


# -- the board -----------------------------------------------------------------------------
def build_board(url: str, key_path: Path, tickets: int, *, max_claims: int = 5) -> None:
    """A fresh desk at `url` with a tier-2 board of `tickets` escalated, claimable tickets,
    the agent who escalated them (amir), and eight tier-2 engineers (ENGINEERS)."""
    from sqlalchemy import text

    from supportdesk.core.clock import Clock
    from supportdesk.core.desk import Desk
    from supportdesk.core.policy import load_preset
    from supportdesk.models import Ticket
    from supportdesk.rules.policy_parse import parse_policy
    from supportdesk.services import directory, escalation
    from supportdesk.services import tickets as ticket_service
    from supportdesk.services.admin.setup import init_database
    from supportdesk.store import Store

    preset = load_preset("demo").text
    assert "\nmax_claims = 5\n" in preset
    policy = parse_policy(preset.replace("\nmax_claims = 5\n", f"\nmax_claims = {max_claims}\n"))
    store = Store(url)
    try:
        lead = Desk(store, "lena", Clock(), key_path)
        init_database(lead, admin="lena", policy=policy)
        directory.add_staff(lead, "amir", "Amir Patel", 1, "agent")
        for n, login in enumerate(ENGINEERS, 1):
            directory.add_staff(lead, login, f"Engineer {n}", TIER, "engineer")
        directory.add_account(lead, "bluefin", "Bluefin Media", "gold")
        directory.add_contact(
            lead, "bluefin", "Priya Naidoo", ["priya@bluefin.example"], ["+27 21 555 0101"],
            "primary",
        )  # fmt: skip
        agent = Desk(store, "amir", Clock(), key_path)
        first = ticket_service.create(
            agent,
            account="bluefin",
            subject="Mail queue stuck on web-cpt-14",
            priority="high",
            category="technical",
            channel="phone",
            description="Outgoing mail has been queued since 08:10; customers are calling.",
        )
        escalation.escalate(
            agent,
            first,
            to_tier=TIER,
            reason="Exim queue frozen, needs root on the server",
            tried="Checked the customer's SPF and mailbox quota; both fine",
        )
        copies = tickets - 1
        if copies <= 0:
            return
        columns = [
            c.name for c in Ticket.__table__.columns if c.name not in ("id", "view")
        ]  # view is generated
        chosen = ", ".join(
            "t.subject || ' #' || CAST(n.i AS VARCHAR(12))" if c == "subject" else f"t.{c}"
            for c in columns
        )
        with store.write() as s:
            s.execute(
                text(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                    " WHERE i < :copies)"
                    f" INSERT INTO tickets ({', '.join(columns)}) SELECT {chosen}"
                    " FROM tickets t, n WHERE t.id = :first ORDER BY n.i"
                ),
                {"copies": copies, "first": first},
            )
            s.execute(
                text(
                    "INSERT INTO escalations (ticket_id, kind, from_tier, to_tier, reason,"
                    " tried, by_id, at) SELECT t.id, x.kind, x.from_tier, x.to_tier, x.reason,"
                    " x.tried, x.by_id, x.at FROM tickets t JOIN escalations x"
                    " ON x.id = t.escalation_id WHERE t.id > :first ORDER BY t.id"
                ),
                {"first": first},
            )
            s.execute(
                text(
                    "UPDATE tickets SET escalation_id = (SELECT max(x.id) FROM escalations x"
                    " WHERE x.ticket_id = tickets.id) WHERE id > :first"
                ),
                {"first": first},
            )
            s.execute(
                text(
                    "INSERT INTO ticket_events (ticket_id, kind, staff_id, from_customer,"
                    " visible, body, call_outcome, old_value, new_value, created_at)"
                    " SELECT t.id, e.kind, e.staff_id, e.from_customer, e.visible, e.body,"
                    " e.call_outcome, e.old_value, e.new_value, e.created_at"
                    " FROM tickets t JOIN ticket_events e ON e.ticket_id = :first"
                    " WHERE t.id > :first ORDER BY t.id, e.id"
                ),
                {"first": first},
            )
            s.execute(
                text(
                    "INSERT INTO watchers (ticket_id, staff_id, since) SELECT t.id,"
                    " w.staff_id, w.since FROM tickets t JOIN watchers w"
                    " ON w.ticket_id = :first WHERE t.id > :first"
                ),
                {"first": first},
            )
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    finally:
        store.dispose()


# -- in-process claims, one OS process per engineer ----------------------------------------
@dataclass
class WorkerResult:
    login: str
    claimed: list[int] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)  # claim_next's attempts per claim
    lost: int = 0  # LostRace that escaped claim_next (it retries 50 times first)
    errors: list[str] = field(default_factory=list)  # anything else: must stay empty
    seconds: float = 0.0  # from the start signal to the empty board


def worker_main() -> None:
    """One engineer: claim (and maybe resolve) until the board is empty; JSON on stdout."""
    args = json.loads(sys.argv[1])
    from supportdesk.core.clock import Clock
    from supportdesk.core.desk import Desk
    from supportdesk.errors import LostRace, NothingToDo
    from supportdesk.services import escalation
    from supportdesk.services import tickets as ticket_service
    from supportdesk.store import Store

    store = Store(args["url"])
    desk = Desk(store, args["login"], Clock(), Path(args["key"]))
    desk.audit_key  # noqa: B018 - read the key before the start, like the schema below
    store.check_schema()
    out = WorkerResult(args["login"])
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    while True:
        try:
            r = escalation.claim_next(desk, args["tier"])
        except NothingToDo:
            break
        except LostRace:
            out.lost += 1
            continue
        except Exception as exc:  # reported to the test, which fails on any
            out.errors.append(f"claim: {type(exc).__name__}: {exc}")
            break
        out.claimed.append(r.ticket_id)
        out.attempts.append(r.attempts)
        if args["resolve"]:
            try:
                ticket_service.resolve(desk, r.ticket_id, "fixed")
            except Exception as exc:
                out.errors.append(f"resolve #{r.ticket_id}: {type(exc).__name__}: {exc}")
                break
    out.seconds = time.perf_counter() - started
    store.dispose()
    print(json.dumps(out.__dict__), flush=True)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.pop("SUPPORTDESK_NOW", None)
    return env


@dataclass
class Race:
    results: list[WorkerResult]
    seconds: float  # start signal to the last worker's empty board

    @property
    def claimed(self) -> list[int]:
        return [t for r in self.results for t in r.claimed]


def race(
    url: str,
    key_path: Path,
    *,
    logins: tuple[str, ...] = ENGINEERS,
    tier: int = TIER,
    resolve: bool = True,
    timeout: float = 300,
) -> Race:
    """Start one process per login, let them all go at once, and collect what each did."""
    procs = []
    for login in logins:
        args = {"url": url, "key": str(key_path), "login": login, "tier": tier, "resolve": resolve}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER_CODE, json.dumps(args)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=_env(),
                cwd=ROOT,
            )
        )
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"a claim worker did not start: {line!r} {p.stderr.read()}")
        started = time.perf_counter()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            if p.returncode != 0 or not out.strip():
                raise RuntimeError(f"a claim worker failed ({p.returncode}): {err}")
            results.append(WorkerResult(**json.loads(out.strip().splitlines()[-1])))
        return Race(results, time.perf_counter() - started)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


# -- the same race through the command line ------------------------------------------------
@dataclass
class CliLoop:
    login: str
    codes: list[int] = field(default_factory=list)
    claimed: list[int] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


@dataclass
class CliRace:
    loops: list[CliLoop]
    seconds: float

    @property
    def claimed(self) -> list[int]:
        return [t for loop in self.loops for t in loop.claimed]

    @property
    def invocations(self) -> int:
        return sum(len(loop.codes) for loop in self.loops)


def cli_race(
    url: str,
    key_path: Path,
    *,
    logins: tuple[str, ...] = ENGINEERS,
    tier: int = TIER,
    limit: int = 10_000,
) -> CliRace:
    """One loop per login of `supportdesk claim --next --tier T --json` processes, all
    started together; each loop stops at the first exit code other than 0."""
    exe = str(Path(sys.executable).with_name("supportdesk"))
    command = [exe, "claim", "--next", "--tier", str(tier), "--json"]
    loops = [CliLoop(login) for login in logins]
    gate = threading.Barrier(len(loops) + 1)

    def run(loop: CliLoop) -> None:
        env = _env()
        env.update(SUPPORTDESK_DB=url, SUPPORTDESK_AUDIT_KEY=str(key_path))
        env["SUPPORTDESK_AGENT"] = loop.login
        gate.wait()
        for _ in range(limit):
            done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
            loop.codes.append(done.returncode)
            if done.returncode != 0:
                loop.stderr.append(done.stderr.strip())
                return
            data: dict[str, Any] = json.loads(done.stdout)
            loop.claimed.append(int(data["ticket_id"]))

    threads = [threading.Thread(target=run, args=(loop,)) for loop in loops]
    for t in threads:
        t.start()
    gate.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return CliRace(loops, time.perf_counter() - started)
