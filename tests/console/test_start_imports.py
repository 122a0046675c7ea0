"""Paint first, load the rest after (issue 14): the console's start path imports only what the
first painted page of the queue needs.

A fresh interpreter does what `supportdesk` with no command does (the CLI module, the store,
the desk, its actor, the console) and runs the console headless at 160x48. The moment the
queue's first rows reach the screen (the app's first `_display` of a queue table that holds
rows), it writes down which modules are loaded; SQLAlchemy's ORM (and the models on it), the
policy engine, the audit chain and the services must not be among them: they load after that
paint, in workers or on first use. The probe then lets the console settle and checks that
the rest did load and the SLA clocks were filled in, so a probe that never looked is not a
pass. The desk is a busy one: a change arrives before the first paint (it reloads the window,
and must not start the watchers early).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from supportdesk.core.desk import Desk
from tests.helpers.desk import new_ticket

ROOT = Path(__file__).resolve().parents[2]

# loaded at the first paint: a failure (each costs start-up time the first page never uses)
NOT_AT_FIRST_PAINT = (
    "sqlalchemy.orm",  # ~0.4-0.8 s of imports: the write path, not the first page
    "supportdesk.models.base",  # the ORM models' base (the package is a lazy shim, and
    # models.timefmt, which the plain queue read uses, needs no ORM)
    "supportdesk.rules.policy",  # the policy engine: plans fill the clock cells a moment later
    "supportdesk.rules.policy_parse",
    "supportdesk.core.audit",  # the audit chain: writes only
    "supportdesk.services",  # every service is imported by the worker that calls it
    "psycopg",  # ~0.2 s: PostgreSQL's first page is read on libpq alone (supportdesk/pgread.py)
)

PROBE = textwrap.dedent(
    """
    import asyncio, importlib.abc, json, sys, threading, time, traceback

    t0 = time.perf_counter()
    db, key, out, watched = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    first = {}  # who imported each watched module first (for the failure message)

    class Witness(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name in watched and name not in first:
                stack = traceback.format_stack()[:-1]
                mine = [s for s in stack if "supportdesk" in s or "textual" in s]
                first[name] = threading.current_thread().name + ":\\n" + "".join(mine[-8:])
            return None

    sys.meta_path.insert(0, Witness())

    import supportdesk.cli  # what the `supportdesk` command imports first
    from supportdesk.core.clock import Clock
    from supportdesk.core.desk import Desk
    from supportdesk.store import Store
    from supportdesk.console.app import SupportDeskApp

    seen = {}

    display = SupportDeskApp._display

    def probe(self, screen, renderable):
        if "modules" not in seen and renderable is not None and not self._batch_count:
            table = screen.query("#queue") if screen.id == "queue-screen" else []
            if table and table.first().row_count > 0:
                seen["modules"] = sorted(sys.modules)
                seen["rows"] = table.first().row_count
                seen["seconds"] = time.perf_counter() - t0
        display(self, screen, renderable)

    SupportDeskApp._display = probe  # the console's own class (its CSS sits beside it)

    from supportdesk.console.base import StoreChanged
    from supportdesk.console.screens.queue import QueueScreen

    mount = QueueScreen.on_mount

    def busy(self):
        mount(self)
        self.app.post_message(StoreChanged())  # a busy desk: others write all the time

    QueueScreen.on_mount = busy

    store = Store(db)
    store.check_schema()  # as the CLI does before it opens the console
    desk = Desk(store, "lena", Clock(), key)
    desk.actor  # the CLI's one-line failure before the screen takes over

    async def main():
        app = SupportDeskApp(desk)
        async with app.run_test(size=(160, 48)) as pilot:
            deadline = time.monotonic() + 60
            while "modules" not in seen and time.monotonic() < deadline:
                await pilot.pause(0.02)
            q = app.queue_screen()
            # settled: the clocks are filled in (the plans arrived after the paint)
            while time.monotonic() < deadline:
                table = q.query_one("#queue")
                texts = [str(table.get_cell_at((r, 7))).strip() for r in range(table.row_count)]
                if q.loaded_generation == q.generation and all(texts):
                    break
                await pilot.pause(0.05)
            seen["clocks"] = texts
            seen["later"] = sorted(sys.modules)

    asyncio.run(main())
    store.dispose()
    seen["first"] = first
    with open(out, "w") as f:
        json.dump(seen, f)
    """
)


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """The `names` loaded (a name counts as loaded when it or a module under it is)."""
    return sorted({n for m in modules for n in names if m == n or m.startswith(n + ".")})


@pytest.mark.timeout(180)
def test_first_paint_needs_no_orm_no_policy_no_audit(
    desk: Desk, db_url: str, key_path: Path, tmp_path: Path
) -> None:
    for subject, priority in [
        ("All sites on web-14 return 502", "critical"),
        ("Invoice charged twice", "high"),
        ("Mailbox quota warning", "medium"),
    ]:
        new_ticket(desk, subject, priority)
    out = tmp_path / "probe.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTDESK_")}
    env["TZ"] = "UTC"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, db_url, str(key_path), str(out), *NOT_AT_FIRST_PAINT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(out.read_text())
    assert seen.get("rows") == 3, "the probe never saw the queue's rows painted"
    early = _loaded(seen["modules"], NOT_AT_FIRST_PAINT)
    who = "\n".join(f"{name} first imported in {seen['first'].get(name)}" for name in early)
    assert early == [], f"loaded before the first paint of the queue: {early}\n{who}"
    # after the paint the rest loads: the clocks are filled from the policy's plans
    assert "supportdesk.rules.policy" in seen["later"]
    assert all(seen["clocks"]), seen["clocks"]
