"""Worker processes that make ticket chunks while the main process copies the previous ones
in (from PARALLEL_MIN tickets): into scratch SQLite files for an SQLite desk, as COPY text
files for a PostgreSQL one."""

from __future__ import annotations

import gc
import itertools
import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from supportdesk.errors import DeskError

from . import copytext
from .generate import Acct, Generator
from .load import insert_many
from .rows import EPOCH, EVENT_ROW, TICKET_ROW, Row, StaffRow

WORKER_CODE = "from supportdesk.demo.workers import worker_main; worker_main()"
MAX_PARTS = 8  # part files attached at once (SQLite allows 10 attached databases)


@dataclass(frozen=True)
class _Job:
    """What a worker process is asked to make (sent pickled on its stdin)."""

    seed: int
    now: datetime
    tickets: int
    staff: list[StaffRow]
    parts: tuple[int, ...]
    n_parts: int
    folder: str
    chunk_size: int
    policy_text: str | None
    copy_text: bool = False  # COPY text files (PostgreSQL) instead of SQLite part files


def _part_chunks(n_chunks: int, n_parts: int, part: int) -> range:
    """The chunks in part file `part`. The first and last parts are half the size of the
    others: the first so that copying starts early, the last so that little is left to copy
    once the workers are done."""
    weights = [1] * n_parts if n_parts < 6 else [1, 1] + [2] * (n_parts - 4) + [1, 1]
    total = sum(weights)
    edges = [0] + [round(n_chunks * c / total) for c in itertools.accumulate(weights)]
    for i in range(1, n_parts):  # every part at least one chunk (n_parts <= n_chunks)
        edges[i] = max(edges[i], edges[i - 1] + 1)
    for i in range(n_parts - 1, 0, -1):
        edges[i] = min(edges[i], edges[i + 1] - 1)
    return range(edges[part], edges[part + 1])


def _part_path(folder: str, part: int) -> str:
    return os.path.join(folder, f"part-{part:02d}.db")


def _write_part(gen: Generator, path: str, chunks: range) -> None:
    """Write the compact rows of some chunks into a scratch SQLite file, with a `chunks`
    table giving each chunk's ticket ids and event rowids."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute(f"CREATE TABLE tickets (id INTEGER PRIMARY KEY, {', '.join(TICKET_ROW[1:])})")
        db.execute(f"CREATE TABLE ticket_events ({', '.join(EVENT_ROW)})")
        db.execute("CREATE TABLE chunks (chunk INTEGER PRIMARY KEY, t0, t1, e0, e1)")
        db.execute("BEGIN")
        events = 0
        for number in chunks:
            ticket_rows, event_rows = gen.chunk(number)
            insert_many(db, "tickets", TICKET_ROW, ticket_rows)
            insert_many(db, "ticket_events", EVENT_ROW, event_rows)
            bounds = (number, ticket_rows[0][0], ticket_rows[-1][0], events + 1)
            events += len(event_rows)
            db.execute("INSERT INTO chunks VALUES (?, ?, ?, ?, ?)", (*bounds, events))
        db.execute("COMMIT")
    finally:
        db.close()


def _write_copy_part(gen: Generator, path: str, chunks: range, line: Callable[[Row], str]) -> None:
    """Write the rows of some chunks as COPY text, in `path`.tickets and `path`.ticket_events
    (named so only once complete: a file the loader finds is whole); `line` makes a ticket's
    line with its names (`copytext.ticket_line`)."""
    names = [f"{path}.tickets", f"{path}.ticket_events"]
    with open(names[0] + ".tmp", "wb") as tickets, open(names[1] + ".tmp", "wb") as events:
        for number in chunks:
            ticket_rows, event_rows = gen.chunk(number)
            tickets.write(copytext.ticket_text(ticket_rows, line))
            events.write(copytext.event_text(event_rows))
    for name in names:
        os.replace(name + ".tmp", name)


def worker_main() -> None:
    """Entry point of a worker process: read the job, the accounts and (for COPY text) the
    directory's names from stdin, write each part file, and say `part N` on stdout when it
    is complete."""
    gc.disable()  # the rows only live until they are written; nothing to collect
    try:
        job: _Job = pickle.load(sys.stdin.buffer)
        gen = Generator(
            job.seed,
            job.now,
            job.tickets,
            sqlite=True,
            chunk_size=job.chunk_size,
            policy_text=job.policy_text,
        )
        gen.prepare(job.staff)  # creation times, while the parent makes the directory
        gen.accts = [Acct.from_state(state) for state in pickle.load(sys.stdin.buffer)]
        names: copytext.Names | None = pickle.load(sys.stdin.buffer)
        gen.prepare(job.staff)
        n_chunks = gen.n_chunks
        for part in job.parts:
            path = _part_path(job.folder, part)
            chunks = _part_chunks(n_chunks, job.n_parts, part)
            if names is not None:
                _write_copy_part(gen, path, chunks, copytext.ticket_line(names))
            else:
                _write_part(gen, path, chunks)
            print(f"part {part}", flush=True)
    except BaseException:
        with suppress(Exception):
            print("error " + json.dumps(traceback.format_exc()), flush=True)


class Workers:
    """Worker processes that make the ticket chunks while this process loads them.

    They are plain `python -c` subprocesses (not multiprocessing), so they work whatever
    the caller's `__main__` is; they exchange only a pickled job, a line per finished part
    file, and the files themselves, which this process copies in without handling a value:
    SQLite part files with INSERT ... SELECT (in C, instead of binding every value in
    Python), or with `copy_text` files of COPY text, one chunk each, sent as they are.
    """

    def __init__(
        self,
        gen: Generator,
        staff: list[StaffRow],
        near: str | None,
        count: int,
        *,
        copy_text: bool = False,
    ) -> None:
        self.folder = tempfile.mkdtemp(prefix=".supportdesk-demo-", dir=near)
        self.copy_text = copy_text
        self.n_parts = gen.n_chunks if copy_text else min(MAX_PARTS, gen.n_chunks)
        self.n_chunks, self.chunk_size, self.n_tickets = gen.n_chunks, gen.chunk_size, gen.n_tickets
        self.procs: list[subprocess.Popen[bytes]] = []
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        for index in range(count):
            proc = subprocess.Popen(
                [sys.executable, "-c", WORKER_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            self.procs.append(proc)
            job = _Job(
                gen.seed,
                _datetime(gen.now),
                gen.n_tickets,
                staff,
                tuple(range(index, self.n_parts, count)),
                self.n_parts,
                self.folder,
                gen.chunk_size,
                gen.policy_text,
                copy_text,
            )
            assert proc.stdin is not None
            proc.stdin.write(pickle.dumps(job, pickle.HIGHEST_PROTOCOL))
            proc.stdin.flush()

    def send_accounts(self, accts: list[Acct], names: copytext.Names | None = None) -> None:
        """The directory, for the workers to make tickets of (`names` for COPY text)."""
        data = pickle.dumps([acct.state() for acct in accts], pickle.HIGHEST_PROTOCOL)
        data += pickle.dumps(names, pickle.HIGHEST_PROTOCOL)
        for part, proc in enumerate(self.procs):
            assert proc.stdin is not None
            try:
                proc.stdin.write(data)
                proc.stdin.close()
            except BrokenPipeError:
                self.wait(part)  # raises with what the worker said before it stopped
                raise

    def part_tickets(self, part: int) -> int:
        """How many tickets part `part` holds."""
        chunks = _part_chunks(self.n_chunks, self.n_parts, part)
        size = self.chunk_size
        return min(chunks.stop * size, self.n_tickets) - chunks.start * size

    def wait(self, part: int) -> str:
        """Block until part file `part` is complete; return its path."""
        proc = self.procs[part % len(self.procs)]
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if line.startswith("error "):
            raise DeskError(f"a demo worker failed:\n{json.loads(line[6:])}")
        if line != f"part {part}":
            raise DeskError("a demo worker process stopped unexpectedly")
        return _part_path(self.folder, part)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    with suppress(OSError):
                        pipe.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _datetime(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)
