"""The demo build's stage timings (SUPPORTDESK_DEMO_STAGES=1): wall and CPU seconds per stage
on stderr, for this process, the worker processes and the PostgreSQL server process; nothing
without the variable."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from supportdesk import demo
from supportdesk.core.clock import Clock
from supportdesk.core.desk import Desk
from supportdesk.demo.timing import StageClock, process_cpu
from supportdesk.services.admin.setup import init_database
from supportdesk.store import Store

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LINE = re.compile(r"^  stage (\S+) +(\d+\.\d) s  cpu py +(\d+\.\d)(?:  workers +(\d+\.\d))?")


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_process_cpu_reads_this_process_and_not_a_missing_one() -> None:
    before = process_cpu(os.getpid())
    assert before is not None
    _spin(0.3)
    after = process_cpu(os.getpid())
    assert after is not None and after - before >= 0.2
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_cpu(child.pid) is None  # gone: unreadable, not an error


def test_stage_lines_count_cpu_per_group(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUPPORTDESK_DEMO_STAGES", "1")
    busy = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.process_time() + 0.6\n"
         "while time.process_time() < end: pass"]
    )  # fmt: skip
    stage = StageClock()
    stage.watch("workers", [busy.pid])
    _spin(0.3)
    busy.wait()
    stage("first")
    stage("second")  # nothing spent since
    lines = capsys.readouterr().err.splitlines()
    first, second = (LINE.match(line) for line in lines)
    assert first and second, lines
    assert first[1] == "first" and float(first[3]) >= 0.2
    # the worker's CPU up to its exit may be read before or after it ends: at least some
    assert first[4] is not None and float(first[4]) >= 0.0
    assert second[1] == "second" and float(second[3]) < 0.2


def test_silent_without_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SUPPORTDESK_DEMO_STAGES", raising=False)
    stage = StageClock()
    stage.watch("server", [os.getpid()])
    stage("quiet")
    assert capsys.readouterr().err == ""


@pytest.mark.postgres
def test_postgres_build_reports_its_server_process(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUPPORTDESK_DEMO_STAGES", "1")
    store = Store(pg_url)
    desk = Desk(store, "lena", clock=Clock(NOW), audit_key_path=tmp_path / "k.key")
    try:
        init_database(desk, admin="lena")
        demo.build_demo(desk, tickets=4000, seed=2)
    finally:
        store.dispose()
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("  stage ")]
    names = [x.split()[1] for x in lines]
    assert names[0] == "directory" and "load" in names and names[-1] == "vacuum"
    # the server's column when its process can be read here (a server on this machine)
    with_server = [" server " in line for line in lines]
    assert all(with_server) or not any(with_server), lines
    if all(with_server):
        spent = sum(float(line.rsplit("server", 1)[1]) for line in lines)
        assert spent > 0.0  # it loaded, indexed and analyzed the rows
