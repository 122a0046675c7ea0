"""Fixtures of the CLI tests: desks as the commands under test need them, on both databases
(the `desk`, `cli_env` and `evil` fixtures they build on are in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from supportdesk.core.desk import Desk
from supportdesk.services import directory


@pytest.fixture
def corvid(desk: Desk) -> None:
    """A second account, corvid, with shared hosting on its own server (web-jnb-2)."""
    directory.add_account(desk, "corvid", "Corvid Labs", "gold")
    directory.add_service(desk, "corvid", "shared_hosting", "Web", ["corvid.example"], "web-jnb-2")


@pytest.fixture
def evil_env(
    evil: dict[str, Any], cli_env: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The hostile desk's ids, and the environment to run the CLI on it."""
    return evil, cli_env
