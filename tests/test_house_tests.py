"""The shape of the tests themselves (issue 14): fixtures live in conftests, where pytest
finds them; no test module imports another (shared helpers live in tests/helpers/); and
there is one way to wait on a running console (tests/helpers/settle.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SETTLE = TESTS / "helpers" / "settle.py"
PACKAGES = ("services", "console", "cli")
# a module the tests may import: the helpers, never a test module or a conftest
TEST_MODULE = re.compile(r"^(tests\.)?((\w+\.)*test_\w*|(\w+\.)*conftest)$")
# a function that waits on the console, by its name (a test may say "until" in its own)
WAITER = re.compile(r"\bdef\s+((?!test_)\w*(?:until|settle)\w*)\s*\(")


def _files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__snapshots__" not in p.parts)


def _name(path: Path) -> str:
    return str(path.relative_to(TESTS.parent))


def _is_fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for d in node.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if isinstance(target, ast.Attribute) and target.attr == "fixture":
            return True
        if isinstance(target, ast.Name) and target.id == "fixture":
            return True
    return False


def _fixtures(path: Path) -> list[str]:
    return [
        node.name
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_fixture(node)
    ]


def test_fx_is_a_conftest_fixture() -> None:
    """`fx` is defined once per package that has one, in its conftest.py, never in a test
    module; every package has a conftest.py with its fixtures."""
    found = [
        _name(path)
        for path in _files()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "fx"
    ]
    assert found == ["tests/console/conftest.py", "tests/services/conftest.py"]
    assert all(_fixtures(TESTS / package / "conftest.py") for package in PACKAGES)


def test_no_fixture_name_means_two_things() -> None:
    """Within what one test sees (the root conftest, its package's conftest and its own
    module), every fixture name is defined once: no module overrides a conftest's fixture,
    and no two modules of a package define the same name for different desks."""
    root = {name: "tests/conftest.py" for name in _fixtures(TESTS / "conftest.py")}
    clashes = []
    for package in PACKAGES:
        seen = dict(root)
        for path in sorted((TESTS / package).glob("*.py")):
            for name in _fixtures(path):
                if name in seen:
                    clashes.append(f"{name}: {seen[name]} and {_name(path)}")
                seen[name] = _name(path)
    for path in sorted(TESTS.glob("test_*.py")):
        clashes += [
            f"{n}: tests/conftest.py and {_name(path)}" for n in _fixtures(path) if n in root
        ]
    assert clashes == []


def test_no_test_module_imports_a_test_module_or_a_conftest() -> None:
    """Helpers shared between test modules live in tests/helpers/; pytest finds fixtures by
    itself, so nothing imports a conftest."""
    found = []
    for path in _files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            found += [f"{_name(path)}: {m}" for m in modules if TEST_MODULE.match(m)]
    assert found == []


def test_one_way_to_wait_on_the_console() -> None:
    """Only tests/helpers/settle.py defines a wait (`until`, `settle`, anything named so, in
    a module or in code a test runs in another process) or polls the app in a loop; every
    other test waits through it."""
    waiters = []
    loops = []
    for path in _files():
        if path == SETTLE:
            continue
        text = path.read_text()
        waiters += [f"{_name(path)}: {name}" for name in WAITER.findall(text)]
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.While):
                continue
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Attribute)
                    and inner.func.attr == "pause"
                    and isinstance(inner.func.value, ast.Name)
                    and inner.func.value.id == "pilot"
                ):
                    loops.append(f"{_name(path)}:{node.lineno}")
    assert waiters == []
    assert loops == []
    defined = WAITER.findall(SETTLE.read_text())
    assert sorted(defined) == ["settle", "until"]


def test_ci_runs_the_readme_test_command_in_parallel() -> None:
    """The README's one test command is the one CI runs, and it runs the suite on every core
    with the timing group kept on one worker (issue 15)."""
    readme = (TESTS.parent / "README.md").read_text(encoding="utf-8")
    ci = (TESTS.parent / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        line
        for line in readme.splitlines()
        if line.startswith("python3 -m venv") and "pytest" in line
    ]
    assert len(commands) == 1, commands
    assert commands[0] in ci.splitlines()
    assert "-n auto" in commands[0] and "--dist loadgroup" in commands[0]


def test_the_long_first_list_names_test_modules_that_exist() -> None:
    """tests/helpers/order.py's list stays true to the suite: a renamed module would quietly
    lose its place at the front."""
    from tests.helpers.order import LONG_FIRST

    missing = [p for p in LONG_FIRST if not (TESTS.parent / p).is_file()]
    assert missing == []
    assert len(set(LONG_FIRST)) == len(LONG_FIRST)
