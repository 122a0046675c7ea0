"""Mail with attachments through `supportdesk mail ingest` (issue 20), on SQLite and PostgreSQL:
the time and the peak memory of the process that files a message carrying the policy's
default limits (10 + 10 + 5 MB = 25 MB of attachments, ~34 MB of base64), against a small
message; then `ticket attachment save` of the 10 MB file.

Usage: python benchmarks/bench_attachments.py [--pg URL]

Each figure is one `supportdesk` process of its own (as a mail server's pipe runs it); its
peak resident memory is read with getrusage(RUSAGE_CHILDREN) after it exits (children are
run smallest first, so the high-water mark belongs to the one measured). PostgreSQL runs in
a fresh schema, dropped afterwards, or is skipped with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pg_schema import PG_URL, drop_schema, pg_schema

from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store
from tests.helpers.policy import POLICY


def message(sizes: list[int], n: int) -> bytes:
    outer = MIMEMultipart("mixed")
    outer["From"] = "someone@unlisted.example"
    outer["Subject"] = f"files {n}"
    outer["Message-ID"] = f"<bench-{n}@unlisted.example>"
    outer.attach(MIMEText("See attached.", "plain"))
    for i, size in enumerate(sizes):
        part = MIMEApplication(os.urandom(size))
        part.add_header("Content-Disposition", "attachment", filename=f"f{i}.bin")
        outer.attach(part)
    return outer.as_bytes()


def run(env: dict[str, str], args: list[str], stdin: Path | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as f:
        p = subprocess.run(
            [sys.executable, "-m", "supportdesk", *args],
            stdin=f,
            capture_output=True,
            env=env,
            check=False,
        )
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{args}: exit {p.returncode}: {p.stderr.decode()[:300]}")
    return seconds, p.stdout.decode()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def measure(name: str, url: str, folder: Path) -> None:
    key = folder / f"{name}.key"
    desk = Desk(Store(url), "lena", Clock(None), key)
    init_database(desk, admin="lena", policy=parse_policy(POLICY, "bench.toml"))
    desk.store.dispose()
    env = {**os.environ, "SUPPORTDESK_DB": url, "SUPPORTDESK_AUDIT_KEY": str(key)}
    env.update(SUPPORTDESK_AGENT="lena", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    for label, sizes in (
        ("small message", []),
        ("25 MB of attachments", [10 << 20, 10 << 20, 5 << 20]),
    ):
        raw = folder / f"{name}-{len(sizes)}.eml"
        raw.write_bytes(message(sizes, len(sizes)))
        seconds, out = run(env, ["mail", "ingest", "--json"], raw)
        ticket = json.loads(out)["ticket"]
        print(
            f"{name}: mail ingest, {label} ({raw.stat().st_size / (1 << 20):.1f} MB raw): "
            f"{seconds:.2f} s, peak RSS so far {peak_mb():.0f} MB"
        )
    seconds, out = run(env, ["ticket", "attachment", "list", str(ticket), "--json"])
    first = json.loads(out)[0]["id"]
    target = folder / f"{name}-saved.bin"
    seconds, _out = run(env, ["ticket", "attachment", "save", str(first), str(target)])
    print(f"{name}: attachment save, 10 MB: {seconds:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default=PG_URL)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        f = Path(folder)
        measure("SQLite", str(f / "bench.db"), f)
        url, schema = pg_schema(args.pg)
        if url is None:
            print(f"PostgreSQL: skipped ({schema})")
            return
        try:
            measure("PostgreSQL", url, f)
        finally:
            drop_schema(args.pg, schema)


if __name__ == "__main__":
    main()
