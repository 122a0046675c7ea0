"""The shape of the domain half (issue 13): one way a ticket is born, short modules, and no
module reaching into another's private names. import-linter checks the arrows between
packages; these check what it cannot see."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "supportdesk"
DOMAIN = ("core", "rules", "services")
LONG = 600  # lines; the demo generator and the migrations are tools, not desk modules


def _modules(*tops: str) -> list[Path]:
    return sorted(
        p
        for top in tops
        for p in (ROOT / top).rglob("*.py")
        if p.name != "demo.py" and "demo" not in p.parts
    )


def test_only_core_builds_a_ticket_row() -> None:
    """Every write path opens tickets through core.create.open_ticket (nonces, clocks, first
    event and audit row in one place); nobody else calls the Ticket constructor."""
    builders = []
    for path in _modules(*DOMAIN):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Ticket"
            ):
                builders.append(str(path.relative_to(ROOT)))
    assert builders == ["core/create.py"]


def test_domain_modules_are_short() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules(*DOMAIN)
        if (n := len(p.read_text().splitlines())) > LONG
    }
    assert long == {}


def test_no_private_name_crosses_a_module() -> None:
    """`from x import _name` between our modules (ruff's PLC2701 is a preview rule: this
    holds even if the linter's preview set changes)."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").startswith("supportdesk")
            ):
                found += [
                    f"{path.relative_to(ROOT)}: {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert found == []
