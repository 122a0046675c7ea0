"""Waiting on a running Textual app: the one way the console tests wait for it.

Workers land asynchronously, so a test never sleeps and hopes: it lets the app run until
what it needs holds (`until`), or until that holds and nothing is in flight any more
(`settle`). A wait that times out fails the test and says what it waited for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.worker import Worker, WorkerCancelled

# Tests that assert a latency or a silence, and the races of eight processes: under
# pytest-xdist (`--dist loadgroup`) one worker runs them one after another, so they never
# compete with each other for the machine's cores.
TIMING = pytest.mark.xdist_group("timing")

# seconds: a wait that needs longer says so. Only a failing test waits it out; a passing one
# goes on the moment what it waits for holds, so it is long enough for a machine running two
# test workers per core (a call screen's worker once took over 5 s there).
TIMEOUT = 15.0
POLL = 0.05  # seconds the app runs between two looks
# Textual's pilot waits, after every key it presses, until the process looks idle: it sleeps
# in windows of 20 ms until one passes with under 1 ms of CPU, twice per key, so a key cost
# at least 40 ms of doing nothing (a tenth of the suite's time went to these sleeps). The
# same test in windows of 4 ms: idle still means under a twentieth of a core for a whole
# window, and what a key starts in a worker is waited for by `settle`/`until`, as before.
IDLE_WINDOW = 0.004


def quick_idle() -> None:
    """Make Textual's idle test look in IDLE_WINDOW windows (called once per test process)."""
    import textual._wait as wait  # noqa: PLC2701 - the pilot's idle test has no public knob

    wait.SLEEP_GRANULARITY = IDLE_WINDOW
    wait.SLEEP_IDLE = IDLE_WINDOW / 20


async def until(
    pilot: Pilot[Any], check: Callable[[], bool], timeout: float = TIMEOUT, what: str = ""
) -> None:
    """Let the app run until `check()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await pilot.pause(POLL)


async def settle(
    pilot: Pilot[Any],
    check: Callable[[], bool] | None = None,
    timeout: float = TIMEOUT,
    what: str = "",
) -> None:
    """`until(check)` when given, then every worker done and the messages they posted
    handled (twice over: a worker's result may start another), then `check` again (what
    landed late may have undone it for a moment)."""
    if check is not None:
        await until(pilot, check, timeout, what)
    await workers_done(pilot.app)
    await pilot.pause(0.1)
    await workers_done(pilot.app)
    await pilot.pause(POLL)
    if check is not None:
        await until(pilot, check, timeout, what)


async def workers_done(app: App[Any]) -> None:
    """Every worker of `app` finished. One cancelled on the way (a newer one of its exclusive
    group took its place) counts as finished: the wait goes on for the others, where
    `wait_for_complete` alone would raise WorkerCancelled. A failed worker still raises."""
    workers: list[Worker[Any]] | None = None  # at first, all of them
    while True:
        try:
            await app.workers.wait_for_complete(workers)
            return
        except WorkerCancelled:
            workers = [w for w in app.workers if not w.is_finished]
            if not workers:
                return


async def handled(pilot: Pilot[Any]) -> None:
    """Every message the app was sent before now has been handled: a callback queued behind
    them has run. A toast is a message (`notify` posts it), so one raised before this call is
    in the app's list after it; `loaded` flags are set before their toasts are handled."""
    ran = asyncio.Event()
    pilot.app.call_later(ran.set)
    await until(pilot, ran.is_set, what="the app's queued messages")
