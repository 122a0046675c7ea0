"""Mail with attachments through `supportdesk mail ingest` (issue 20), on SQLite and PostgreSQL:
the time and the peak memory of the process that files a message carrying the policy's
default limits (10 + 10 + 5 MB = 25 MB of attachments, ~34 MB of base64), against a small
message; then `ticket attachment save` of the 10 MB file.

Usage: python benchmarks/bench_attachments.py [--pg URL] [--runs N] [--source DIR]

Each figure is the median of --runs runs (3), each one `supportdesk` process of its own (as a
mail server's pipe runs it), a fresh Message-ID each time; its peak resident memory is that
child's own (through a small launcher, see LAUNCH). --source runs
another checkout's supportdesk (say, one of main before a change) against the same files.
PostgreSQL runs in a fresh schema, dropped afterwards, or is skipped with the reason.

Measured on the shared 2-core machine (issue 20, item 2), median of 3, peak RSS of one
`mail ingest` (small message / 25 MB of attachments, 33.8 MB raw):
  before (email.message_from_bytes through a 4-byte-a-character StringIO, every file decoded
  at once, ORM rows holding them to the commit): SQLite 60 / 314 MB, PostgreSQL 69 / 317 MB
  after (fed in chunks, large base64 parts kept as spans of the raw bytes, one file decoded
  at a time, SQLite blob I/O): SQLite 60 / 140 MB, PostgreSQL 69 / 137 MB
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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


# A child's peak RSS starts from its parent's at fork and exec (this process holds the 25 MB
# message it built), so a small Python in between starts each command and writes that
# grandchild's own peak (getrusage of its only child) to the file named first.
LAUNCH = (
    "import resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[2:])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(str(peak))\n"
    "sys.exit(p.returncode)\n"
)


def run(
    env: dict[str, str], args: list[str], stdin: Path | None = None
) -> tuple[float, float, str]:
    """One process: its seconds, its own peak RSS in MB, its stdout."""
    t0 = time.perf_counter()
    with (
        open(stdin, "rb") if stdin else open(os.devnull, "rb") as f,
        tempfile.NamedTemporaryFile() as peak,
    ):
        p = subprocess.run(
            [sys.executable, "-c", LAUNCH, peak.name, sys.executable, "-m", "supportdesk", *args],
            stdin=f,
            capture_output=True,
            env=env,
            cwd=env["PYTHONPATH"],  # `-m` puts the working directory first on sys.path
            check=False,
        )
        peak_kb = int(Path(peak.name).read_text() or 0)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{args}: exit {p.returncode}: {p.stderr.decode()[:300]}")
    return seconds, peak_kb / 1024, p.stdout.decode()


def measure(name: str, url: str, folder: Path, runs: int, source: Path) -> None:
    key = folder / f"{name}.key"
    desk = Desk(Store(url), "lena", Clock(None), key)
    init_database(desk, admin="lena", policy=parse_policy(POLICY, "bench.toml"))
    desk.store.dispose()
    env = {**os.environ, "SUPPORTDESK_DB": url, "SUPPORTDESK_AUDIT_KEY": str(key)}
    env.update(SUPPORTDESK_AGENT="lena", PYTHONPATH=str(source))
    ticket = None
    for label, sizes in (
        ("small message", []),
        ("25 MB of attachments", [10 << 20, 10 << 20, 5 << 20]),
    ):
        times, peaks = [], []
        for n in range(runs):
            raw = folder / f"{name}-{len(sizes)}.eml"
            raw.write_bytes(message(sizes, len(sizes) * 100 + n))
            seconds, peak, out = run(env, ["mail", "ingest", "--json"], raw)
            result = json.loads(out)
            assert result["action"] != "duplicate", result
            ticket = result["ticket"]
            times.append(seconds)
            peaks.append(peak)
        print(
            f"{name}: mail ingest, {label} ({raw.stat().st_size / (1 << 20):.1f} MB raw): "
            f"{statistics.median(times):.2f} s, peak RSS {statistics.median(peaks):.0f} MB "
            f"(median of {runs}; runs {', '.join(f'{p:.0f}' for p in peaks)} MB)"
        )
    _s, _p, out = run(env, ["ticket", "attachment", "list", str(ticket), "--json"])
    first = json.loads(out)[0]["id"]
    target = folder / f"{name}-saved.bin"
    seconds, peak, _out = run(env, ["ticket", "attachment", "save", str(first), str(target)])
    print(f"{name}: attachment save, 10 MB: {seconds:.2f} s, peak RSS {peak:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default=PG_URL)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1])
    args = ap.parse_args()
    source = args.source.resolve()
    print(f"supportdesk from {source}")
    with tempfile.TemporaryDirectory() as folder:
        f = Path(folder)
        measure("SQLite", str(f / "bench.db"), f, args.runs, source)
        url, schema = pg_schema(args.pg)
        if url is None:
            print(f"PostgreSQL: skipped ({schema})")
            return
        try:
            measure("PostgreSQL", url, f, args.runs, source)
        finally:
            drop_schema(args.pg, schema)


if __name__ == "__main__":
    main()
