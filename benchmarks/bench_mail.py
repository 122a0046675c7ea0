"""Messages per second: one `mail send` sender delivers a queued outbox to a local SMTP server,
on SQLite and PostgreSQL (issue 18).

Usage: python benchmarks/bench_mail.py [--messages 10000] [--runs 3] [--pg URL]

The outbox is filled with `queue_message` (one write), then `sending.send_due` (what `mail
send --once` runs) delivers it over one reused SMTP connection (plain SMTP on 127.0.0.1, no
TLS) to aiosmtpd's Sink handler, started as a process of its own so that it does not share
this interpreter. A batch of messages costs one lease (one short write) and the record of what
went (one write, an audit row per message); each message its SMTP conversation (MAIL, RCPT,
DATA) and its composition. Between runs every message is put back to queued. Prints each run
and the median. PostgreSQL runs in a fresh schema, dropped afterwards, or is skipped with the
reason.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pg_schema import PG_URL, drop_schema, pg_schema

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services.admin.setup import init_database
from supportdesk.services.outbox.config import TransportConfig
from supportdesk.services.outbox.queueing import queue_message
from supportdesk.services.outbox.sending import send_due
from supportdesk.services.outbox.transports import SmtpTransport
from supportdesk.store import Store
from tests.helpers.policy import POLICY

MAIL = """
[mail]
domain = "support.example"
per_domain_per_minute = 10000000
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("aiosmtpd did not start")


def build(url: str, key: Path, messages: int) -> Desk:
    desk = Desk(Store(url), "lena", Clock(None), key)
    init_database(desk, admin="lena", policy=parse_policy(POLICY + MAIL, "bench.toml"))
    with desk.write() as (session, _record):
        for i in range(messages):
            queue_message(
                session,
                desk,
                kind="reply",
                to_addr=f"customer{i}@domain{i % 50}.example",
                subject=f"Re: [#{5000 + i}] Site down",
                body="We restarted PHP-FPM on web-cpt-14; the site answers again.\n" * 5,
            )
    return desk


def requeue(desk: Desk) -> None:
    with desk.store.transaction() as tx:
        tx.run(
            "UPDATE outbox SET state = 'queued', send_after = queued_at, due_at = queued_at, "
            "attempts = 0, sent_at = NULL, server_reply = NULL"
        )


def measure(name: str, url: str, key: Path, args: argparse.Namespace, port: int) -> None:
    desk = build(url, key, args.messages)
    config = TransportConfig(host="127.0.0.1", port=port, security="none", timeout=30)
    rates = []
    for run in range(args.runs):
        if run:
            requeue(desk)
        t0 = time.perf_counter()
        summary = send_due(desk, SmtpTransport(config), lease_s=config.lease_s)
        seconds = time.perf_counter() - t0
        assert summary.sent == args.messages, summary.line()
        rates.append(summary.sent / seconds)
        print(f"{name}: run {run + 1}: {summary.sent:,} messages in {seconds:.1f} s "
              f"({rates[-1]:,.0f}/s)")  # fmt: skip
    print(f"{name}: median {statistics.median(rates):,.0f} messages/s")
    desk.store.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pg", default=PG_URL)
    args = ap.parse_args()
    proc, port = start_server()
    try:
        with tempfile.TemporaryDirectory() as folder:
            f = Path(folder)
            measure("SQLite", str(f / "bench.db"), f / "audit.key", args, port)
            url, schema = pg_schema(args.pg)
            if url is None:
                print(f"PostgreSQL: skipped ({schema})")
                return
            try:
                measure("PostgreSQL", url, f / "pg.key", args, port)
            finally:
                drop_schema(args.pg, schema)
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
