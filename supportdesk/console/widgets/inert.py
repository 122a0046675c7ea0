"""Safety nets for outside text in the console: a DataTable that never parses a cell as
markup, and toasts that never parse or obey what they say.

Every widget builds its Text from `safe_text` / `clean` already; these catch what slips
through. A DataTable parses a `str` cell as Rich markup (a subject `[/var/www/html]` raised
MarkupError and ended the console), and a toast's message is markup unless told otherwise;
neither stops a terminal control inside the text.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App
from textual.notifications import SeverityLevel
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from supportdesk.safe_text import clean, has_controls


def inert_cell(value: Any) -> Any:
    """A table cell that is never markup and never a terminal control: a `str` becomes a
    Text of its cleaned self; a Text holding a control is rebuilt from its cleaned plain
    text (keeping its base style and justification); anything else is left alone."""
    if isinstance(value, str):
        return Text(clean(value), end="")
    if isinstance(value, Text) and has_controls(value.plain):
        return Text(
            clean(value.plain, multiline=True),
            style=value.style,
            justify=value.justify,
            no_wrap=value.no_wrap,
            end="",
        )
    return value


class InertTable(DataTable[Any]):
    """A DataTable whose cells pass through `inert_cell` on the way in."""

    def add_row(
        self,
        *cells: Any,
        height: int | None = 1,
        key: str | None = None,
        label: Any = None,
    ) -> RowKey:
        return super().add_row(*(inert_cell(c) for c in cells), height=height, key=key, label=label)

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Any,
        *,
        update_width: bool = False,
    ) -> None:
        super().update_cell(row_key, column_key, inert_cell(value), update_width=update_width)


class InertNotify(App[None]):
    """An App whose toasts show their message and title literally: never markup (a `[/x]`
    in a subject would raise MarkupError), controls and bidi overrides as visible escapes."""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        del markup  # every toast's text is taken literally
        super().notify(
            clean(message, multiline=True),
            title=clean(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )
