"""What ships: the wheel holds every package and data file, and module paths written as
strings (worker code, `python -m`, entry points) name modules that exist.

The editable install used by every other test reads the source tree, so a package left out
of the wheel, or a string naming a module that has moved, passes everything else. The wheel
is built once per session (`pip wheel --no-deps`, a few seconds); CI (.ci/run) also installs
it in a fresh virtual environment and builds a demo with it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import itertools
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "supportdesk"
DATA = ROOT / "data"
LEFT_BEHIND = (".*", "build", "dist", "*.egg-info", "__pycache__", "tests", "benchmarks")
MODULE_PATH = re.compile(r"supportdesk(\.[A-Za-z_]\w*)+")
# the wheel's tests on one worker (`--dist loadgroup`): each worker would build it again
WHEEL = pytest.mark.xdist_group("wheel")


@pytest.fixture(scope="session")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    # from a clean copy: setuptools reuses a build/ folder left in the tree, and a stale one
    # would put modules into the wheel that the configuration no longer finds
    tree = tmp_path_factory.mktemp("tree") / "supportdesk"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(*LEFT_BEHIND))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"pip wheel failed:\n{done.stdout}\n{done.stderr}"
    (wheel,) = out.glob("supportdesk-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def _packages() -> list[Path]:
    """Every package folder under supportdesk/ (one with an __init__.py), the top included."""
    return sorted(p.parent for p in SOURCE.rglob("__init__.py") if "__pycache__" not in p.parts)


@WHEEL
def test_every_package_and_module_is_in_the_wheel(wheel_names: set[str]) -> None:
    packages = _packages()
    assert SOURCE in packages and SOURCE / "migrations" / "versions" in packages
    missing = []
    for package in packages:
        for module in package.glob("*.py"):
            name = module.relative_to(ROOT).as_posix()
            if name not in wheel_names:
                missing.append(name)
    assert not missing, f"left out of the wheel: {missing}"


@WHEEL
def test_data_files_are_in_the_wheel(wheel_names: set[str]) -> None:
    """data/ ships as the package supportdesk_data; the stylesheet and the migration
    template ship beside the code."""
    data = [p for p in DATA.rglob("*") if p.is_file() and p.suffix in {".toml", ".txt", ".json"}]
    assert any(p.name == "demo.toml" for p in data) and any(p.parent.name == "demo" for p in data)
    wanted = [("supportdesk_data" / p.relative_to(DATA)).as_posix() for p in data]
    wanted.append("supportdesk_data/__init__.py")
    wanted += [p.relative_to(ROOT).as_posix() for p in SOURCE.rglob("*.tcss")]
    wanted.append("supportdesk/migrations/script.py.mako")
    missing = [name for name in wanted if name not in wheel_names]
    assert not missing, f"left out of the wheel: {missing}"


@WHEEL
def test_nothing_else_is_in_the_wheel(wheel_names: set[str]) -> None:
    """No tests, benchmarks or build debris: only the two top-level packages and metadata."""
    tops = {name.split("/", 1)[0] for name in wheel_names}
    assert tops == {"supportdesk", "supportdesk_data", "supportdesk-0.1.0.dist-info"}, tops
    assert not [n for n in wheel_names if "__pycache__" in n or n.endswith(".pyc")]


@WHEEL
def test_entry_points_name_real_functions(wheel_names: set[str]) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"supportdesk": "supportdesk.cli:main"}
    for target in scripts.values():
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr)), target
        path = module.replace(".", "/")  # a module, or a package (supportdesk/cli/)
        assert {f"{path}.py", f"{path}/__init__.py"} & wheel_names, target


# -- module paths that hide in strings -----------------------------------------------------
def _strings_in_source() -> Iterator[tuple[str, ast.AST]]:
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            yield path.relative_to(ROOT).as_posix(), node


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _references() -> list[tuple[str, str, str]]:
    """(file, kind, target) for every module path a string in supportdesk/ names: Python
    code run with `-c` (its imports), `python -m X`, and string constants that are
    exactly a dotted supportdesk module path (logger names among them)."""
    found: list[tuple[str, str, str]] = []
    for where, node in _strings_in_source():
        if isinstance(node, ast.List | ast.Tuple):
            items = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            for flag, value in itertools.pairwise(items):
                if flag == "-m" and isinstance(value, str):
                    found.append((where, "-m", value))
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        text = node.value
        if MODULE_PATH.fullmatch(text):
            found.append((where, "module", text))
        elif "import" in text and "supportdesk" in text:
            try:
                code = ast.parse(text)
            except SyntaxError:
                continue  # prose that mentions importing, not code
            for stmt in ast.walk(code):
                if isinstance(stmt, ast.ImportFrom) and stmt.module:
                    for alias in stmt.names:
                        found.append((where, "code", f"{stmt.module}:{alias.name}"))
                elif isinstance(stmt, ast.Import):
                    found += [(where, "code", alias.name) for alias in stmt.names]
    return found


def test_the_scan_sees_the_known_references() -> None:
    """The scan itself finds what we know is there, so an empty scan cannot pass."""
    kinds = {(kind, target) for _where, kind, target in _references()}
    assert ("-m", "supportdesk") in kinds  # `supportdesk serve` runs `-m supportdesk wall`
    assert ("code", "supportdesk.demo.workers:worker_main") in kinds  # demo workers


def test_module_paths_in_strings_exist() -> None:
    broken = []
    for where, kind, target in _references():
        if kind == "-m":
            ok = _module_exists(target) and (
                not hasattr(importlib.import_module(target), "__path__")
                or _module_exists(f"{target}.__main__")
            )
        elif kind == "code":
            module, _, attr = target.partition(":")
            ok = _module_exists(module) and (
                not attr or hasattr(importlib.import_module(module), attr)
            )
        else:  # a dotted name: a module, or a logger named after one
            ok = _module_exists(target)
        if not ok:
            broken.append(f"{where}: {kind} {target}")
    assert not broken, f"strings that name modules which do not exist: {broken}"


def test_wall_command_run_by_serve_exists() -> None:
    """`supportdesk serve` starts `python -m supportdesk wall` per browser."""
    import click

    from supportdesk.cli import cli

    assert cli.get_command(click.Context(cli), "wall") is not None


def test_lazily_loaded_model_modules_exist() -> None:
    """`supportdesk.models` imports its modules by name on first use (PEP 562): every name
    it exports loads from the module it names."""
    import supportdesk.models as models

    assert len(models.__all__) > 20  # every model class (the enums live in supportdesk.enums)
    for name in models.__all__:
        assert getattr(models, name) is not None, name
