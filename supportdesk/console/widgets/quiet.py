"""Showing new content in a Static only when it changed, and laying out only when it can move.

`Static.update()` asks for a layout of the whole screen every time (`refresh(layout=True)`):
the same title, facts or notices set again by a live reload, and a one-line title whose size
the CSS fixes, each cost a layout of the screen (and a repaint of what it moved). `show`
leaves a widget alone when it would show the same thing, and asks for a layout only when the
widget sizes itself to its content (`width` or `height` auto); otherwise it repaints just
that widget. What the user sees is what `update` would have shown.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from rich.console import Group
from rich.text import Text
from textual.visual import VisualType
from textual.widgets import Static

# widget -> (the content it was given with a key, that key): a renderable that cannot be
# compared (a grid) is known by the key its caller describes it with
_keys: WeakKeyDictionary[Static, tuple[VisualType, object]] = WeakKeyDictionary()


def text_key(text: Text) -> tuple[object, ...]:
    """Everything about a Text that shows on screen (`Text.__eq__` compares only the
    characters and the spans, not the base style, justification or wrapping)."""
    return (
        text.plain,
        tuple(text.spans),
        text.style,
        text.justify,
        text.overflow,
        text.no_wrap,
        text.end,
        text.tab_size,
    )


def same_content(old: object, new: object) -> bool:
    """Whether `new` shows exactly what `old` does (strings, Texts and Groups of them are
    compared; anything else counts as different)."""
    if isinstance(old, str) and isinstance(new, str):
        return old == new
    if isinstance(old, Text) and isinstance(new, Text):
        return old is new or text_key(old) == text_key(new)
    if isinstance(old, Group) and isinstance(new, Group):
        a, b = old.renderables, new.renderables
        return (
            old.fit == new.fit
            and len(a) == len(b)
            and all(same_content(x, y) for x, y in zip(a, b, strict=True))
        )
    return False


def show(widget: Static, content: VisualType, *, key: object = None) -> bool:
    """`widget.update(content)` unless it already shows that; returns whether it updated.

    A string, Text or Group of Texts is compared with what the widget shows; another
    renderable (a grid) is the same when the caller's `key` (a description of everything
    that goes into it) is the one it was last shown with and nothing updated the widget since.
    """
    current = widget.content
    if key is None:
        if same_content(current, content):
            return False
    else:
        last = _keys.get(widget)
        if last is not None and last[0] is current and last[1] == key:
            return False
    widget.update(content, layout=widget.styles.auto_dimensions)
    if key is not None:
        _keys[widget] = (content, key)
    else:
        _keys.pop(widget, None)
    return True
