"""The shape of the domain half (issue 13): one way a ticket is born, short modules, and no
module reaching into another's private names. import-linter checks the arrows between
packages; these check what it cannot see."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

from textual.message import Message

import supportdesk.console

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


# -- the console (issue 14) ----------------------------------------------------------------------
CONSOLE = ROOT / "console"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def test_widgets_name_services_in_annotations_only() -> None:
    """A widget gets data and never reads a service: it may name a service's dataclass in its
    annotations (an import under `if TYPE_CHECKING:`, which import-linter's "widgets import
    no service" lists), never import one that runs."""
    found = []
    for path in sorted((CONSOLE / "widgets").rglob("*.py")):
        tree = ast.parse(path.read_text())
        typing_only = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and _is_type_checking(block.test)
            for statement in block.body
            for node in ast.walk(statement)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} {m}"
                for m in modules
                if m == "supportdesk.services" or m.startswith("supportdesk.services.")
            ]
    assert found == []


def test_the_console_reaches_its_app_through_types() -> None:
    """Screens, widgets and watchers ask the app (`DeskScreen.desk_app`, typed as the one base
    app) or get what they need handed to them: no `getattr(self.app, ...)` or
    `getattr(self.screen, ...)` guessing at what the app or the screen might have."""
    found = []
    for path in sorted(CONSOLE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and node.args
                and isinstance(node.args[0], ast.Attribute)
                and node.args[0].attr in ("app", "screen")
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_the_console_app_stays_thin() -> None:
    """The app module wires screens, keys and watchers; the work is elsewhere."""
    assert len((CONSOLE / "app.py").read_text().splitlines()) <= 250


# Handlers Textual calls twice on purpose (a subclass adds to its base's, never replaces it):
# the reply composer closes before the screen's own "done" reloads; the preview's thread
# keeps its end in sight besides what the thread view does on a resize.
BOTH_RUN = {("TicketScreen", "on_action_done"), ("PreviewThread", "on_resize")}


def test_no_console_handler_is_defined_twice_along_a_class_chain() -> None:
    """Textual calls a message's handler of every class along the MRO (the subclass's, then
    its base's): a handler a console class defines again, or whose base it calls with
    super(), runs twice. The console's on_mount did: two change feeds a console, the first
    never stopped. A subclass hooks in through a plain method (DeskApp.started)."""
    for info in pkgutil.walk_packages(supportdesk.console.__path__, "supportdesk.console."):
        importlib.import_module(info.name)
    handlers, todo = set(), [Message]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls is not Message:
            handlers |= {cls.handler_name, "_" + cls.handler_name}
    # MessagePump's own dispatch methods, which an override extends with super() (Event's
    # handler name is on_event too)
    handlers -= {"on_event", "_on_event", "on_message", "_on_message"}
    twice = []
    for module in [m for n, m in sorted(sys.modules.items()) if n.startswith("supportdesk.")]:
        for cls in [c for _, c in inspect.getmembers(module, inspect.isclass)]:
            if cls.__module__ != module.__name__:
                continue
            for name in set(cls.__dict__) & handlers:
                bases = [b for b in cls.__mro__[1:] if b.__module__.startswith("supportdesk.")]
                if any(name in b.__dict__ for b in bases) and (cls.__name__, name) not in BOTH_RUN:
                    twice.append(f"{cls.__qualname__}.{name}")
    calls = []
    for path in sorted(CONSOLE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in handlers
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "super"
            ):
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno} super().{node.attr}")
    assert twice == []
    assert calls == []
