"""What a burst of toasts looks like on a call, at 80x24 and 160x48 (issue 17, item 3): the
caller's account with web-14's outage and the script to read, eight notifications at once;
the newest toasts bottom-right, compact, under one line counting the others.

The desk, the clock (frozen at 2026-11-20 09:00 UTC) and the time zone are fixed, so a
changed picture means the screen changed. Update with
`pytest tests/console/test_toast_snapshots.py --snapshot-update` and look at the SVGs first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from supportdesk.console.app import SupportDeskApp
from tests.helpers.console import DeskFixture
from tests.helpers.settle import until, workers_done
from tests.helpers.toasts import BURST, call_with_script, footer_current

SnapCompare = Callable[..., bool]
SMALL, LARGE = (80, 24), (160, 48)


async def _burst_on_a_call(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, SupportDeskApp)
    await until(pilot, lambda: app.queue_screen() is not None, 10, "the queue")
    await until(pilot, lambda: app.console_id is not None, 10, "presence")
    await call_with_script(pilot, app)
    for title, message, severity in BURST:
        app.notify(message, title=title, severity=severity, timeout=600)  # type: ignore[arg-type]
    await workers_done(app)
    await pilot.pause(0.3)
    # the call's keys (0 Not listed, i Incident) in the footer: a loaded CI run took the
    # picture while it still showed the keys of the stage before
    await footer_current(pilot)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_a_burst_on_a_call(outage_fx: DeskFixture, snap_compare: SnapCompare, size: tuple) -> None:
    """The script stays in view; the newest two toasts (80x24) or six (160x48) show, and
    "+6 more (1 error)" / "+2 more (1 error) · ctrl+b for all" above them."""
    assert snap_compare(
        SupportDeskApp(outage_fx.desk), terminal_size=size, run_before=_burst_on_a_call
    )
