"""Templates rendered in a sandbox (issue 20): Jinja2's `SandboxedEnvironment`, plain text
(no autoescape: the result is a mail body), with limits a lead's typo or a hostile template
cannot get past:

- the source: at most SOURCE_LIMIT characters per field;
- the language: a template may print placeholders (`{{ ticket.id }}`), test them
  (`{% if %}`), loop (`{% for %}`) and use a few filters; it may not set variables, define
  macros, include, import or extend (no statement can double a string again and again), and
  the operators `**` and `%` on text are refused, `*` only up to the output limit;
- calls: only `range` (at most RANGE_LIMIT numbers) and a few methods of text;
- loops: at most LOOP_LIMIT iterations in one rendering, counted by every `for`;
- the output: rendering stops past OUTPUT_LIMIT characters;
- placeholders: an unknown one (or a field a namespace lacks) is an error naming it.

The context holds plain strings only, in namespaces (`ticket`, `contact`, ...): what the
services build from their dataclasses, never an ORM row. A subject is one line: its line
breaks (and every other run of white space) become one space.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import missing

from supportdesk.errors import UsageError
from supportdesk.safe_text import clean

SOURCE_LIMIT = 20_000  # characters of one field's source
OUTPUT_LIMIT = 100_000  # characters of one rendering
RANGE_LIMIT = 1_000  # numbers one range() may give
LOOP_LIMIT = 10_000  # iterations of every loop of one rendering, together
SUBJECT_LIMIT = 300  # a rendered subject is cut there (tickets.subject's size)

# The namespaces and their fields: what a template may name. Each is filled by the services
# (core/template_context.py), "" when the ticket has none (no incident, no contact).
FIELDS: dict[str, tuple[str, ...]] = {
    "ticket": ("id", "subject", "status", "priority", "category"),
    "contact": ("name", "first_name"),
    "agent": ("name", "first_name", "login"),
    "plan": ("name", "respond_target", "resolve_target"),
    "due": ("respond", "resolve"),
    "incident": ("id", "title", "status", "servers", "opened", "latest_update", "update_text"),
    # the automatic messages' own (issue 20): a maintenance notice's window, a referral's
    # reseller; "" in every other message. A moved window's notice has `moved` (the
    # sentence saying so; "" when it did not move: `{% if window.moved %}`) and the times
    # before the move.
    "window": ("start", "end", "servers", "notice", "moved", "previous_start", "previous_end"),
    "reseller": ("company", "contact"),
}
# Plain strings at the top level: a confirmation request's one-time code (a confirmation
# template must print it; "" elsewhere).
TOP_LEVEL: tuple[str, ...] = ("code",)

FILTERS = (
    "capitalize",
    "count",
    "d",
    "default",
    "first",
    "join",
    "last",
    "length",
    "lower",
    "title",
    "trim",
    "truncate",
    "upper",
    "wordcount",
)
TEXT_METHODS = frozenset(
    {
        "capitalize",
        "endswith",
        "lower",
        "lstrip",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "title",
        "upper",
    }
)
# What a template may contain: every other node (set, macro, include, import, extends,
# block, call block, filter block, with, recursive loops, `**`) is refused when it is saved.
ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Slice,
    nodes.Const,
    nodes.Filter,
    nodes.Test,
    nodes.If,
    nodes.CondExpr,
    nodes.For,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Concat,
    nodes.Call,
    nodes.Keyword,
    nodes.Add,
    nodes.Sub,
    nodes.Mul,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Mod,
    nodes.List,
    nodes.Tuple,
    nodes.Dict,
    nodes.Pair,
)
_BUDGET = "loop_budget"  # the name every loop's iterable is wrapped in (not a placeholder)


class Fields(dict[str, str]):
    """One namespace of the context (`ticket`, ...): its fields by name, and its own name
    for the error that names a placeholder it lacks."""

    def __init__(self, namespace: str, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self._namespace = namespace


class _Strict(StrictUndefined):
    """StrictUndefined whose error names the placeholder as it was written."""

    @property
    def _undefined_message(self) -> str:
        obj = self._undefined_obj
        if self._undefined_hint:  # the sandbox's own word: an internal attribute
            return self._undefined_hint
        if isinstance(obj, Fields):
            known = ", ".join(sorted(obj))
            where = obj._namespace  # noqa: SLF001 - our own class, kept out of templates' reach
            return f"unknown placeholder {where}.{self._undefined_name} (known: {known})"
        if obj is missing:
            known = ", ".join(sorted((*FIELDS, *TOP_LEVEL)))
            return f"unknown placeholder {self._undefined_name} (known: {known})"
        return f"unknown placeholder {self._undefined_name}"


def _printable(value: Any) -> Any:
    """What `{{ ... }}` prints: a placeholder's text, never a namespace's insides (`{{ ticket
    }}` printed a Python dict into a customer's reply)."""
    if isinstance(value, Fields):
        where = value._namespace  # noqa: SLF001 - our own class, kept out of templates' reach
        raise SecurityError(
            f"{where} is a group of placeholders: print one of it ({where}.{min(value)})"
        )
    return value


class _Env(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "%", "**", "/", "//"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            raise SecurityError("the ** operator is not allowed")
        if operator_ == "%" and isinstance(left, str):
            raise SecurityError("formatting text with % is not allowed: use placeholders")
        if operator_ == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * max(times, 0) > OUTPUT_LIMIT
                ):
                    raise SecurityError(f"a repetition longer than {OUTPUT_LIMIT} characters")
            ints = isinstance(left, int) and isinstance(right, int)
            if ints and (abs(left) > 10**9 or abs(right) > 10**9):
                raise SecurityError("numbers past 10^9 are not multiplied")
        return super().call_binop(context, operator_, left, right)

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(__obj, Undefined):
            __obj._fail_with_undefined_error()  # noqa: SLF001 - "unknown placeholder X"
        ok = (
            __obj is _capped_range
            or isinstance(__obj, _Budget)
            or (
                isinstance(getattr(__obj, "__self__", None), str)
                and getattr(__obj, "__name__", "") in TEXT_METHODS
            )
        )
        if not ok:
            raise SecurityError(f"calling {getattr(__obj, '__name__', 'that')!r} is not allowed")
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and abs(value) > OUTPUT_LIMIT:
                raise SecurityError(f"an argument past {OUTPUT_LIMIT}")
        return super().call(__context, __obj, *args, **kwargs)


def _capped_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > RANGE_LIMIT:
        raise SecurityError(f"range() gives at most {RANGE_LIMIT} numbers, not {len(numbers)}")
    return numbers


def _environment() -> _Env:
    env = _Env(autoescape=False, undefined=_Strict, keep_trailing_newline=True, finalize=_printable)
    env.globals.clear()
    env.globals["range"] = _capped_range
    env.filters = {name: env.filters[name] for name in FILTERS}
    return env


_ENV = _environment()


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


class _Budget:
    """The loop iterations left to one rendering."""

    def __init__(self) -> None:
        self.left = LOOP_LIMIT

    def __call__(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.left -= 1
            if self.left < 0:
                raise SecurityError(f"the loops ran past {LOOP_LIMIT} iterations")
            yield item


def _compile(source: str, what: str) -> Any:
    if len(source) > SOURCE_LIMIT:
        raise UsageError(f"{what}: longer than {SOURCE_LIMIT} characters")
    if "\x00" in source:
        raise UsageError(f"{what}: contains a NUL character")
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as e:
        raise UsageError(f"{what}: line {e.lineno}: {e.message}") from None
    for node in list(tree.find_all(nodes.Node)):
        if not isinstance(node, ALLOWED_NODES):
            raise UsageError(
                f"{what}: line {node.lineno}: {type(node).__name__.lower()} is not allowed "
                "in a template (placeholders, if, for and filters only)"
            )
        if isinstance(node, nodes.Name) and node.name == _BUDGET:
            raise UsageError(f"{what}: line {node.lineno}: unknown placeholder {_BUDGET}")
        if isinstance(node, nodes.For):
            if node.recursive:
                raise UsageError(f"{what}: line {node.lineno}: recursive loops are not allowed")
            node.iter = nodes.Call(
                nodes.Name(_BUDGET, "load", lineno=node.lineno),
                [node.iter],
                [],
                None,
                None,
                lineno=node.lineno,
            )
    try:
        return _ENV.from_string(tree)
    except TemplateError as e:
        raise UsageError(f"{what}: {e.message or e}") from None


def _render(template: Any, context: Mapping[str, Any], what: str) -> str:
    budget = _Budget()
    out: list[str] = []
    size = 0
    try:
        for chunk in template.generate({**context, _BUDGET: budget}):
            size += len(chunk)
            if size > OUTPUT_LIMIT:
                raise UsageError(f"{what}: the output is longer than {OUTPUT_LIMIT} characters")
            out.append(chunk)
    except UndefinedError as e:
        raise UsageError(f"{what}: {e.message}") from None
    except SecurityError as e:
        raise UsageError(f"{what}: refused: {e.message or e}") from None
    except TemplateError as e:
        raise UsageError(f"{what}: {e.message or e}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as e:
        raise UsageError(f"{what}: {e}") from None
    return "".join(out)


def one_line(text: str) -> str:
    """Text for a header: every line break and run of white space one space."""
    return " ".join(text.split())


def make_context(values: Mapping[str, Mapping[str, str]], **top: str) -> dict[str, Fields | str]:
    """The namespaces of FIELDS filled from `values` (plain strings; a missing one is ""),
    and the TOP_LEVEL strings from `top`."""
    context: dict[str, Fields | str] = {}
    for namespace, names in FIELDS.items():
        given = values.get(namespace, {})
        context[namespace] = Fields(namespace, {n: str(given.get(n, "")) for n in names})
    for name in TOP_LEVEL:
        context[name] = str(top.get(name, ""))
    return context


def sample_context() -> dict[str, Fields | str]:
    """Every field filled with a word: what a template is checked against when saved."""
    return make_context(
        {ns: {n: f"{ns}.{n}" for n in names} for ns, names in FIELDS.items()},
        **{name: name for name in TOP_LEVEL},
    )


def uses(source: str, name: str) -> bool:
    """Whether the template `source` prints the top-level placeholder `name` somewhere."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError:
        return False
    return any(n.name == name for n in tree.find_all(nodes.Name))


def check(subject: str, body: str) -> None:
    """Refuse a template that cannot render (syntax, what it uses, an unknown placeholder,
    a limit), with one line; run when a lead saves one."""
    render(subject, body, sample_context())


def render(subject: str, body: str, context: Mapping[str, Fields | str]) -> Rendered:
    """The subject (on one line, at most SUBJECT_LIMIT characters) and the body, filled."""
    subject_text = _render(_compile(subject, "subject"), context, "subject")
    body_text = _render(_compile(body, "body"), context, "body")
    # what goes to the reply editor and the customer is text: a control character (from a
    # placeholder's value, or the template's own) as a visible escape, never a command to
    # the terminal that shows it
    return Rendered(clean(one_line(subject_text))[:SUBJECT_LIMIT], clean(body_text, multiline=True))


__all__ = [
    "FIELDS",
    "TOP_LEVEL",
    "Fields",
    "Rendered",
    "check",
    "make_context",
    "one_line",
    "render",
    "uses",
]
