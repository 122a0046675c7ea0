"""A screen's first line: what the screen shows on the left, the desk's time on the right.

Every screen's header says which zone its times are in ("14:38 SAST"), and under `--at` that
the time is frozen ("FROZEN Fri 20 Nov 09:00 SAST" on amber), so nobody takes a training
console's countdowns for the real ones (issue 16, items 5 and 8). The widget is a Static:
screens `update()` it with their own title as before and it adds the time; a live clock
repaints the time once a minute from memory (no database).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import cast

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.visual import VisualType
from textual.widgets import Static

from supportdesk.rules.local_time import clock_time, day_time

FROZEN_STYLE = "bold #000000 on #ffaf00"
REPAINT_S = 15.0  # a minute's change shows within this much
COMPACT_BELOW = 100  # columns: a narrower header says FROZEN without the date


def header_time(now: datetime, zone: tzinfo, *, frozen: bool, compact: bool = False) -> Text:
    """ "14:38 SAST", or "FROZEN Fri 20 Nov 09:00 SAST" on amber under `--at` ("FROZEN Fri
    09:00 SAST" when `compact`)."""
    if frozen:
        when = (
            f"{day_time(now, zone)[:3]} {clock_time(now, zone)}" if compact else day_time(now, zone)
        )
        return Text(f" FROZEN {when} ", style=FROZEN_STYLE, end="")
    return Text(f" {clock_time(now, zone)} ", style="bold", end="")


class DeskTime:
    """What a header needs to tell the time: the desk's now, its zone, whether it is frozen."""

    def __init__(self, now: Callable[[], datetime], zone: tzinfo, *, frozen: bool) -> None:
        self.now, self.zone, self.frozen = now, zone, frozen

    def text(self, width: int = COMPACT_BELOW) -> Text:
        """The time for a header `width` columns wide."""
        return header_time(self.now(), self.zone, frozen=self.frozen, compact=width < COMPACT_BELOW)


class HeaderBar(Static):
    """A one-line title (the lead board's may wrap) with the desk's time at its right end."""

    def __init__(self, time: DeskTime, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.time = time
        self._title: VisualType = ""

    def on_mount(self) -> None:
        if not self.time.frozen:
            self.set_interval(REPAINT_S, self.refresh)

    def room(self, width: int) -> int:
        """The cells left for the title on a line `width` wide."""
        return max(10, width - self.time.text(width).cell_len - 2)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        self._title = content
        self.refresh(layout=layout)

    @property
    def content(self) -> VisualType:
        """The title last given (the time is added when drawn)."""
        return self._title

    @content.setter
    def content(self, content: VisualType) -> None:
        self.update(content)

    def render(self) -> RenderableType:
        return self.line(self.content_region.width or self.app.size.width)

    def line(self, width: int) -> RenderableType:
        """The title and the time on a line `width` wide: a Text when the title is one (its
        first line cut to leave the time room), else a grid of the two."""
        title, time = self._title, self.time.text(width)
        if isinstance(title, str):
            title = Text(title)
        if isinstance(title, Text):
            first, *rest = title.split("\n", allow_blank=True) or [Text()]
            first = first.copy()
            first.truncate(max(1, width - time.cell_len - 1), overflow="ellipsis", pad=True)
            first.append(" ")  # a gap before the amber FROZEN
            first.append_text(time)
            return Text("\n", end="").join([first, *rest])
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        # a Rich table (the queue's bar), a gap, the time
        grid.add_row(cast(RenderableType, title), Text(" ").append_text(time))
        return grid

    @property
    def plain(self) -> str:
        """What the line says (tests and traces): the title, then the time."""
        line = self.line(self.content_region.width or self.app.size.width)
        if isinstance(line, Text):
            return line.plain
        return f"{self._title_plain()} {self.time.text(self.app.size.width).plain.strip()}"

    def _title_plain(self) -> str:
        from rich.console import Console

        console = Console(width=400, record=True, file=io.StringIO())
        console.print(cast(RenderableType, self._title))
        return " ".join(console.export_text().split())
