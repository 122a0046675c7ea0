"""The order pytest-xdist hands the tests out in: the long ones first.

Under `--dist loadgroup` the scheduler queues each `xdist_group` as one unit (the biggest
first) and every other test as a unit of its own, in collection order, and gives a worker
the next unit whenever it runs short. A test of tens of seconds collected late starts when
the other worker has almost nothing left, and that worker then idles until it ends. So under
xdist the modules whose tests are long (from a full run's `--durations=0`: a test of 8 s or
more, or 4 s and more on average) are collected first, the longest first; the order inside a
module, and of everything else, stays as collected. A module missing here only runs later.
"""

from __future__ import annotations

import os

import pytest

LONG_FIRST = (
    "tests/console/test_memory.py",
    "tests/console/test_lead_day.py",
    "tests/test_benchmarks.py",
    "tests/console/test_console.py",
    "tests/services/test_calendar.py",
    "tests/services/test_demo.py",
    "tests/cli/test_hostile_display_cli.py",
    "tests/console/test_console_sla.py",
    "tests/services/test_pg_plans.py",
    "tests/console/test_call_flow.py",
    "tests/services/test_verification.py",
    "tests/console/test_type_ahead_tmux.py",
    "tests/console/test_hostile_display.py",
    "tests/console/test_console_incidents.py",
    "tests/console/test_console_escalation.py",
    "tests/console/test_serve.py",
    "tests/console/test_phone_day.py",
    "tests/console/test_console_time.py",
    "tests/console/test_delivery_console.py",
    "tests/console/test_template_picker.py",
    "tests/console/test_escalation_snapshots.py",
    "tests/console/test_call_snapshots.py",
    "tests/console/test_incident_snapshots.py",
    "tests/console/test_attachments_console.py",
    "tests/console/test_lead_board_console.py",
    "tests/console/test_console_snapshots.py",
    "tests/console/test_request_type_console.py",
    "tests/console/test_toasts.py",
)


def long_first(items: list[pytest.Item]) -> None:
    """Reorder `items` in place when this process is an xdist worker (every worker sorts
    the same collection the same way, as xdist requires)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return
    rank = {path: i for i, path in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
