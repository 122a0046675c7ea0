"""The demo generator: a realistic desk of any size, built fast. A tool above the desk
services (it uses them), not one of them.

The names the CLI, the tests and the benchmarks use are re-exported here.
"""

from __future__ import annotations

from .build import (
    BULK_TABLES,
    DEMO_ADMIN,
    DEMO_STAFF,
    WAITING_CLAIMS_CAP,
    DemoFile,
    DemoResult,
    DemoStaff,
    build_demo,
    build_demo_file,
    check_replaceable,
    demo_account_count,
    is_leftover_init,
    issue_demo_pins,
    stage_mark,
)

__all__ = [
    "BULK_TABLES",
    "DEMO_ADMIN",
    "DEMO_STAFF",
    "WAITING_CLAIMS_CAP",
    "DemoFile",
    "DemoResult",
    "DemoStaff",
    "build_demo",
    "build_demo_file",
    "check_replaceable",
    "demo_account_count",
    "is_leftover_init",
    "issue_demo_pins",
    "stage_mark",
]
