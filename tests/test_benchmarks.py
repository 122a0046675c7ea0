"""benchmarks/bench_databases.py runs end to end at a tiny size and prints, for both SQLite and
PostgreSQL, every figure it was asked for (the figures that need no tmux: the build, the CLI
process, the queue filters with their plans, the account lookup, the reports), then removes
the demos it built. No figure is judged here: the benchmark prints its own targets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.postgres import PG_URL, need_postgres

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench_databases.py"
FIGURES = "build,cli,filters,lookup,report"
# the table's rows for those figures, by the start of their label
ROWS = (
    "demo build, 500 tickets",
    "queue --limit 50, whole process",
    "first 500 rows, worst filter",
    "  ... its CPU in this process",
    "  filters over 10 ms",
    "  PG through psycopg",
    "  filters whose plan scans tickets",
    "  ... under force_generic_plan (PG)",
    "account lookup per keystroke",
    "30-day SLA report",
    "30-day escalation report",
)
NUMBER = re.compile(r"\d")


@pytest.mark.postgres
def test_bench_databases_prints_each_figure_for_both_databases(tmp_path: Path) -> None:
    need_postgres()
    sqlite = tmp_path / "demo.db"
    command = [sys.executable, str(BENCH), "--tickets", "500", "--runs", "1"]
    command += ["--filter-runs", "1", "--lookup-per-kind", "2", "--only", FIGURES]
    command += ["--pg", PG_URL, "--sqlite", str(sqlite)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=280)
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-4000:]
    assert re.search(r"^machine: .*cores", out, re.M), out
    assert re.search(r"^load average at the start: [\d.]+/", out, re.M), out
    assert re.search(r"^load average at the end: [\d.]+/", out, re.M), out
    assert re.search(r"^versions: Python .*SQLite .*PostgreSQL \d+", out, re.M), out

    lines = out[out.index("\nfigure ") + 1 :].splitlines()
    head = [c.strip() for c in lines[0].split("|")]
    assert head == ["figure", "SQLite", "PostgreSQL", "target", "baseline"], lines[0]
    table = {
        cells[0]: cells[1:]
        for cells in ([c.strip() for c in line.split("|")] for line in lines[2:])
        if len(cells) >= 3
    }
    for start in ROWS:
        found = [label for label in table if label.startswith(start.strip())]
        assert len(found) == 1, (start, list(table))
        sqlite_cell, pg_cell = table[found[0]][:2]
        assert NUMBER.search(pg_cell), (found[0], pg_cell)
        if "force_generic_plan" in start or "PG through" in start:
            assert sqlite_cell == "n/a", (found[0], sqlite_cell)  # PostgreSQL's alone
        else:
            assert NUMBER.search(sqlite_cell), (found[0], sqlite_cell)
    assert "FAILED" not in out and "error" not in {c for cells in table.values() for c in cells}
    assert not list(tmp_path.iterdir())  # built here, removed afterwards (no --keep)
