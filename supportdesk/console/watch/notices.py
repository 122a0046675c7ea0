"""Notices written for this console's user, told in toasts: a lead reassigned or took over
their ticket, a ticket was handed back, a complaint, a watched ticket changed.

Read after start (the ones not seen yet) and after every change of the store, one read at a
time; a notice told is marked seen, so the next console does not tell it again. The words
(`notice_title`, `notice_severity`, `notices_summary`) are pure, so the tests can check them
without a running console.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.notifications import SeverityLevel

from supportdesk.console.watch import MAX_TOASTS
from supportdesk.safe_text import clean

if TYPE_CHECKING:
    from supportdesk.console.base import DeskApp
    from supportdesk.core.notices import NoticeView

NOTICE_TITLE = {
    "reassigned": "Ticket taken from you",
    "assigned": "Ticket assigned to you",
    "handed back": "Ticket handed back to you",
    "escalated": "Ticket escalated",
    "complaint": "Complaint for a supervisor",
    "watch": "Watched ticket",
    "call": "A call on your ticket",
}
WARNING_KINDS = frozenset({"reassigned", "escalated", "complaint"})


def notice_title(n: NoticeView) -> str:
    title = NOTICE_TITLE.get(n.kind, clean(n.kind.replace("_", " ").capitalize()))
    return f"{title} · #{n.ticket_id}" if n.ticket_id is not None else title


def notice_severity(n: NoticeView) -> SeverityLevel:
    return "warning" if n.kind in WARNING_KINDS else "information"


def notices_summary(notices: Sequence[NoticeView]) -> str:
    numbers = sorted({n.ticket_id for n in notices if n.ticket_id is not None})
    shown = ", ".join(f"#{i}" for i in numbers[:12]) + (", …" if len(numbers) > 12 else "")
    latest = clean(notices[-1].body, multiline=True)
    return f"{len(notices)} notices about {shown or 'your work'}; the latest:\n{latest}"


class NoticesWatcher:
    """The notices for this console's user; `cursor` is the newest notice id already told
    (None until the first read), `told` every notice told, oldest first."""

    def __init__(self, app: DeskApp) -> None:
        self.app = app
        self.cursor: int | None = None
        self.told: list[NoticeView] = []
        self._busy = False
        self._again = False

    def start(self) -> None:
        self.request()

    def store_changed(self) -> None:
        self.request()

    def request(self) -> None:
        """Read the notices written since the last read (at start: the unseen ones), one
        read at a time; a change during a read asks for one more."""
        if self._busy:
            self._again = True
            return
        self._busy = True
        cursor = self.cursor
        # not exclusive: one read runs at a time already, and the next one may start while
        # this one's thread is still returning (exclusive would cancel it)
        self.app.run_worker(
            lambda: self._read(cursor),
            thread=True,
            group="notices",
            name="notices",
            exit_on_error=False,
        )

    def _read(self, cursor: int | None) -> None:
        from supportdesk.core import notices

        desk = self.app.desk
        try:
            last = notices.last_notice_id(desk) if cursor is None else cursor
            found = notices.notices(desk, after=cursor)
            if found:
                notices.mark_seen(desk, [n.id for n in found])
        except BaseException:
            with contextlib.suppress(RuntimeError):  # the app is closing
                self.app.call_from_thread(self._failed)
            raise  # the app's failure handler says what went wrong
        with contextlib.suppress(RuntimeError):
            self.app.call_from_thread(self.landed, found, cursor, last)

    def _failed(self) -> None:
        self._busy = False

    def landed(self, found: Sequence[NoticeView], cursor: int | None, last: int) -> None:
        """Notices read after `cursor` landed; `last` is the newest notice id there was when
        they were read."""
        self._busy = False
        told = self.cursor
        fresh = [n for n in found if told is None or n.id > told]
        newest = max([last, *(n.id for n in found)])
        self.cursor = newest if told is None else max(told, newest)
        self._tell(fresh)
        if self._again:
            self._again = False
            self.request()

    def _tell(self, fresh: Sequence[NoticeView]) -> None:
        """Toasts (they never take the focus): one per notice, or one for many."""
        if not fresh:
            return
        self.told.extend(fresh)
        if len(fresh) <= MAX_TOASTS:
            for n in fresh:
                by = f"\n— {n.by}" if n.by and n.by not in n.body else ""
                self.app.notify(
                    n.body + by,
                    title=notice_title(n),
                    severity=notice_severity(n),
                    markup=False,
                    timeout=20,
                )
            return
        self.app.notify(
            notices_summary(fresh),
            title="Notices",
            severity="warning",
            markup=False,
            timeout=20,
        )
