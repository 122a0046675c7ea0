"""How a ticket reads on screen: its facts as a grid and its thread as a column of entries.

Shared by the ticket screen and the queue's preview pane so both say the same thing the
same way; entries are styled by kind (customer, reply, call, internal note, change) in CSS.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from supportdesk.console.widgets.format import (
    CHANNEL_LABEL,
    ago,
    cell,
    one_line,
    priority_badge,
    priority_text,
    stamp,
    times_in,
    truncate,
)
from supportdesk.core.views import EventView, QueueRow, TicketView
from supportdesk.rules.request_words import describe
from supportdesk.safe_text import clean

OUTCOME_LABEL = {
    "spoke": "spoke to the customer",
    "voicemail": "left a voicemail",
    "no_answer": "no answer",
}
PANEL_EVENTS = frozenset({"sla"})  # shown by the ticket screen's SLA panel, not the thread
STATUS_STYLE = {
    "new": "bold #5fd7ff",
    "open": "bold #87d787",
    "awaiting_authorization": "bold #ffaf00",
    "pending_customer": "#d7af87",
    "scheduled": "#af87ff",
    "resolved": "#8a8a8a",
    "closed": "#8a8a8a",
}


def status_text(status: str) -> Text:
    return Text(clean(status.replace("_", " ")), style=STATUS_STYLE.get(status, ""))


def _pairs_grid(pairs: Sequence[tuple[str, Text]], columns: int) -> Table:
    """Label and value pairs in `columns` columns; every cell is a Text (a `str` cell in a
    Rich table is parsed as markup)."""
    grid = Table.grid(padding=(0, 1), expand=True)
    for _ in range(columns):
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
    rows = (len(pairs) + columns - 1) // columns
    for r in range(rows):
        cells: list[Text] = []
        for c in range(columns):
            i = c * rows + r
            if i < len(pairs):
                label, value = pairs[i]
                cells.extend((Text(label), value))
            else:
                cells.extend((Text(""), Text("")))
        grid.add_row(*cells)
    return grid


def ticket_facts(t: TicketView, now: datetime, width: int) -> RenderableType:
    """The ticket's facts in two or three columns, depending on `width`."""
    holder = cell(t.holder, style="bold") if t.holder else Text("nobody", style="dim")
    contact = t.contact or "unknown caller"
    if t.caller_phone:
        contact += f" · {t.caller_phone}"
    service = t.service_label or (f"service {t.service}" if t.service else "—")
    resolved = stamp(t.resolved_at, now)
    if t.resolution_code:
        resolved += f" · {t.resolution_code.replace('_', ' ')}"
    pairs: list[tuple[str, Text]] = [
        ("Account", Text.assemble((one_line(t.account), "bold"), f" · {one_line(t.company)}")),
        ("Contact", cell(contact)),
        ("Service", cell(service)),
        ("Channel", cell(CHANNEL_LABEL.get(t.channel, t.channel))),
        ("Status", status_text(t.status)),
        ("Priority", priority_text(t.priority, word=True)),
        ("Category", cell(t.category)),
        ("Tier", Text.assemble(f"T{t.tier} · holder ", holder)),
        ("Created", Text(stamp(t.created_at, now))),
        ("1st resp", Text(stamp(t.first_response_at, now))),
        ("Resolved", cell(resolved)),
        ("Request", cell(t.request_type.replace("_", " "))),
    ]
    grid = _pairs_grid(pairs, 3 if width >= 110 else 2)
    extra: list[RenderableType] = []
    if t.suggested_type is not None:
        words = describe(t.request_type, t.suggested_type, t.suggested_words)
        extra.append(Text.assemble(("Request: ", "dim"), clean(words)))
    if t.request_block:
        extra.append(Text(f"⚠ Blocked: {clean(t.request_block)}", style="bold #ffaf00"))
    if t.merged_into:
        extra.append(Text(f"Merged into #{t.merged_into}", style="bold #ffaf00"))
    if t.open_by:
        who = one_line(", ".join(t.open_by))
        extra.append(Text(f"● {who} also has this ticket open", style="bold #ff87d7"))
    return Group(grid, *extra) if extra else grid


def ticket_title(t: TicketView | QueueRow, width: int) -> Text:
    """ "#123  Subject" with the priority and status chips, cut at a word boundary."""
    badge = priority_badge(t.priority)
    color = STATUS_STYLE.get(t.status, "#8a8a8a").split()[-1]
    status = Text(f" {clean(t.status.replace('_', ' '))} ", style=f"bold #000000 on {color}")
    head = Text(f"#{t.id}  ", style="bold")
    room = width - len(head) - len(badge) - len(status) - 2
    head.append(truncate(t.subject, max(8, room)), style="bold")
    return Text.assemble(head, " ", badge, " ", status)


def row_facts(r: QueueRow, now: datetime) -> Text:
    """What the queue row itself knows, shown at once while the full ticket loads."""
    text = Text()
    text.append(one_line(r.account), style="bold")
    text.append(f" · {one_line(r.company)}")
    if r.contact:
        text.append(f" · {one_line(r.contact)}")
    channel = one_line(CHANNEL_LABEL.get(r.channel, r.channel))
    text.append(f"\n{channel} · {one_line(r.category)} · T{r.tier}")
    text.append(f" · opened {ago(r.created_at, now)}")
    text.append(f" · holder {one_line(r.holder)}" if r.holder else " · unclaimed")
    return text


def entry_parts(e: EventView, t: TicketView) -> tuple[str, str, str | None]:
    """(css class, header, body) for one thread event."""
    who = e.author or "system"
    if e.kind == "created":
        return (
            "-customer",
            f"Opened via {CHANNEL_LABEL.get(t.channel, t.channel)} · "
            + (t.contact or "unknown caller"),
            t.description or None,
        )
    if e.kind == "reply":
        if e.from_customer:
            return "-customer", f"Customer · {t.contact or 'unknown'}", e.body
        return "-reply", f"Reply to customer · {who}", e.body
    if e.kind == "call":
        outcome = OUTCOME_LABEL.get(e.call_outcome or "", e.call_outcome or "call")
        return "-call", f"Call · {outcome} · {who}", e.body
    if e.kind == "note":
        return "-note", f"INTERNAL NOTE · {who}", e.body
    if e.kind in ("holder", "tier", "flag"):
        return _escalation_parts(e, who)
    if e.kind == "merge":
        return "-change", f"{e.body or 'merged'} · {who}", None
    if e.kind == "request_type":
        old, new = (e.old_value or "—").replace("_", " "), (e.new_value or "—").replace("_", " ")
        return "-change", f"Request type {old} → {new} · {who}", None
    old = times_in(e.old_value or "—").replace("_", " ")
    new = times_in(e.new_value or "—").replace("_", " ")
    return "-change", f"{e.kind} {old} → {new} · {who}", None


def _escalation_parts(e: EventView, who: str) -> tuple[str, str, str | None]:
    """Claims, releases, reassignments, handovers, escalations and complaints: who did what,
    with the reason (and what was tried) as the body, so the next person reads the story."""
    body = e.body or None
    if e.kind == "tier":
        low, high = int(e.old_value or 0), int(e.new_value or 0)
        if high > low:
            return "-escalation", f"Escalated tier {low} → {high} · by {who}", body
        return "-escalation", f"Handed back tier {low} → {high} · by {who}", body
    if e.kind == "flag":
        if e.new_value:
            return "-escalation", f"Complaint taken to a supervisor · by {who}", body
        return "-escalation", f"Complaint acknowledged · by {who}", body
    old, new = e.old_value, e.new_value
    if new and (body == "took over" or (old and new == who)):
        return "-escalation", f"{who} took over from {old or 'nobody'}", None
    if new and body and body.startswith("reassigned"):
        return "-escalation", f"Reassigned {old or 'unclaimed'} → {new} · by {who}", None
    if new and old:
        return "-escalation", f"Holder {old} → {new} · by {who}", None
    if new:
        change = f"{new} took the ticket"
        return "-change", change if new == who else f"{change} · by {who}", None
    if body and body.startswith("Handover: "):
        return "-escalation", f"Handed over at end of shift · {old or who}", body[10:]
    if body:
        return "-escalation", f"Released by {old or who}", body
    if old and old != who:
        return "-change", f"{old} no longer holds it · by {who}", None
    return "-change", f"ticket released · {who}", None


class ThreadEntry(Static):
    """One event of a ticket's thread, coloured by who said it and whether the customer
    saw it."""

    def __init__(self, event: EventView, ticket: TicketView, now: datetime) -> None:
        kind, header, body = entry_parts(event, ticket)
        self.event_key = (event.id, event.body, event.redacted)
        self.header = header
        self.body = body
        self.at = event.at
        super().__init__(self._render_entry(now), classes=f"entry {kind}", markup=False)

    def _render_entry(self, now: datetime) -> RenderableType:
        head = Table.grid(expand=True)
        head.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        head.add_column(justify="right", no_wrap=True, style="dim")
        head.add_row(Text(one_line(self.header), style="bold"), Text(stamp(self.at, now)))
        if not self.body:
            return head
        body = Text(clean(self.body.rstrip(), multiline=True))
        if self.body == "[redacted]":
            body.stylize("italic dim")
        return Group(head, body)

    def retime(self, now: datetime) -> None:
        self.update(self._render_entry(now))


class ThreadView(VerticalScroll):
    """A ticket's thread, oldest first, that appends new entries instead of redrawing."""

    def __init__(self, *, id: str | None = None, limit: int | None = None) -> None:
        super().__init__(id=id, can_focus=True)
        self.limit = limit
        self._keys: list[tuple[int, str | None, bool]] = []

    def show(self, ticket: TicketView, now: datetime) -> None:
        """Show `ticket`'s events (the last `limit` of them; SLA clock changes are the SLA
        panel's), keeping the reader's place: at the bottom it follows new entries, elsewhere
        it stays put."""
        events = [e for e in ticket.events if e.kind not in PANEL_EVENTS]
        if self.limit is not None:
            events = events[-self.limit :]
        keys = [(e.id, e.body, e.redacted) for e in events]
        follow = self.is_vertical_scroll_end or not self._keys
        if keys[: len(self._keys)] == self._keys and self._keys:
            new = events[len(self._keys) :]
        else:
            self.remove_children()
            new = events
        if new:
            self.mount_all(ThreadEntry(e, ticket, now) for e in new)
        self._keys = keys
        if follow:
            self.scroll_end(animate=False)

    def clear_thread(self) -> None:
        self.remove_children()
        self._keys = []
