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

from supportdesk.console.widgets.delivery import automatic_header, delivery_key, delivery_line
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
from supportdesk.core.views import DeliveryView, EventView, FileView, QueueRow, TicketView
from supportdesk.rules.request_words import describe
from supportdesk.safe_text import clean

OUTCOME_LABEL = {
    "spoke": "spoke to the customer",
    "voicemail": "left a voicemail",
    "no_answer": "no answer",
}
PANEL_EVENTS = frozenset({"sla"})  # shown by the ticket screen's SLA panel, not the thread
MAIL_FLAG = "mail failed"  # a flag event's value for a reply that failed (outbox/failures.py)
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
    grid = _pairs_grid(pairs, facts_columns(width))
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


def facts_columns(width: int) -> int:
    return 3 if width >= 110 else 2


def facts_key(t: TicketView, now: datetime, width: int) -> tuple[object, ...]:
    """Everything `ticket_facts` reads: the ticket, the times it shows relative to `now`,
    and how many columns `width` gives (equal keys, the same facts on screen)."""
    stamps = (stamp(at, now) for at in (t.created_at, t.first_response_at, t.resolved_at))
    return (t, facts_columns(width), *stamps)


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
        if e.new_value == MAIL_FLAG:
            return "-escalation", "Reply not delivered · flagged for the holder and the leads", body
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


def size_words(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def file_line(f: FileView) -> Text:
    """An attachment under its entry: name (shown literally), type, size."""
    line = Text("  ▸ file ", style="dim")
    line.append(clean(f.name), style="bold")
    if f.redacted:
        line.append("  · redacted", style="italic dim")
    else:
        line.append(f"  · {clean(f.kind)} · {size_words(f.size)}", style="dim")
        if f.readable:
            line.append("  · v opens it", style="dim")
    line.no_wrap = True
    line.overflow = "ellipsis"
    return line


class ThreadEntry(Static):
    """One event of a ticket's thread, coloured by who said it and whether the customer
    saw it; a reply e-mailed to the customer carries what became of its mail underneath."""

    def __init__(
        self, event: EventView, ticket: TicketView, now: datetime, mail: DeliveryView | None = None
    ) -> None:
        kind, header, body = entry_parts(event, ticket)
        self.header = header
        self.body = body
        self.at = event.at
        self.mail = mail
        self.files = event.files
        super().__init__(self._render_entry(now), classes=f"entry {kind}", markup=False)

    def _render_entry(self, now: datetime) -> RenderableType:
        head = Table.grid(expand=True)
        head.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        head.add_column(justify="right", no_wrap=True, style="dim")
        head.add_row(Text(one_line(self.header), style="bold"), Text(stamp(self.at, now)))
        parts: list[RenderableType] = [head]
        if self.body:
            body = Text(clean(self.body.rstrip(), multiline=True))
            if self.body == "[redacted]":
                body.stylize("italic dim")
            parts.append(body)
        parts += [file_line(f) for f in getattr(self, "files", ())]
        if self.mail is not None:
            parts.append(delivery_line(self.mail, now))
        return Group(*parts) if len(parts) > 1 else head

    def reshow(
        self, event: EventView, ticket: TicketView, mail: DeliveryView | None, now: datetime
    ) -> None:
        """The same entry with a changed body (redacted) or a new delivery state."""
        _kind, self.header, self.body = entry_parts(event, ticket)
        self.mail = mail
        self.files = event.files
        self.update(self._render_entry(now))

    def retime(self, now: datetime) -> None:
        self.update(self._render_entry(now))


class MailEntry(ThreadEntry):
    """An automatic message the desk sent on the ticket (an acknowledgement, an incident
    update): a line of the thread with its subject and what became of it."""

    def __init__(self, mail: DeliveryView, now: datetime) -> None:
        self.header = automatic_header(mail)
        self.body = None
        self.at = mail.queued_at
        self.mail = mail
        Static.__init__(self, self._render_entry(now), classes="entry -auto", markup=False)

    def _render_entry(self, now: datetime) -> RenderableType:
        head = Table.grid(expand=True)
        head.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        head.add_column(justify="right", no_wrap=True, style="dim")
        head.add_row(Text(one_line(self.header), style="bold"), Text(stamp(self.at, now)))
        assert self.mail is not None
        subject = Text(one_line(self.mail.subject), style="dim")
        return Group(head, subject, delivery_line(self.mail, now))

    def reshow_mail(self, mail: DeliveryView, now: datetime) -> None:
        self.mail = mail
        self.update(self._render_entry(now))


ThreadItem = tuple[EventView | None, DeliveryView | None]


def thread_items(ticket: TicketView) -> list[ThreadItem]:
    """The thread's entries, oldest first: each event (SLA clock changes are the SLA
    panel's) with the mail that carried it, and the automatic messages not tied to an event
    shown, by the time they were queued."""
    events = [e for e in ticket.events if e.kind not in PANEL_EVENTS]
    shown = {e.id for e in events}
    by_event: dict[int, DeliveryView] = {}
    loose: list[DeliveryView] = []
    for d in ticket.deliveries:
        if d.event_id is not None and d.event_id in shown:
            by_event[d.event_id] = d  # the newest message of an event
        else:
            loose.append(d)
    items: list[tuple[tuple[datetime, int, int], ThreadItem]] = [
        ((e.at, 0, e.id), (e, by_event.get(e.id))) for e in events
    ]
    items += [((d.queued_at, 1, d.id), (None, d)) for d in loose]
    items.sort(key=lambda pair: pair[0])
    return [item for _key, item in items]


def _ident(item: ThreadItem) -> tuple[str, int]:
    event, mail = item
    return ("e", event.id) if event is not None else ("m", mail.id if mail else 0)


def _content(item: ThreadItem) -> tuple[object, ...]:
    event, mail = item
    head = (event.body, event.redacted, event.files) if event is not None else ()
    return (*head, delivery_key(mail) if mail is not None else None)


class ThreadView(VerticalScroll):
    """A ticket's thread, oldest first, that appends new entries instead of redrawing.

    A reader at the end follows it: `following` says so, and stays set until the reader
    scrolls away from the end. The layout may change after the entries were scrolled to
    (the new entries laid out late, the scrollbar appearing and narrowing them so they wrap
    onto more lines, the panels above growing): while following, every such change scrolls
    to the end again, so the thread ends at its last entry once laid out."""

    def __init__(self, *, id: str | None = None, limit: int | None = None) -> None:
        super().__init__(id=id, can_focus=True)
        self.limit = limit
        self._keys: list[tuple[str, int]] = []
        self._contents: list[tuple[object, ...]] = []
        self._entries: list[ThreadEntry] = []
        self.following = True

    def show(self, ticket: TicketView, now: datetime) -> None:
        """Show `ticket`'s entries (the last `limit` of them), keeping the reader's place: at
        the bottom it follows new entries, elsewhere it stays put. An entry whose body or
        mail state changed is redrawn in place."""
        items = thread_items(ticket)
        if self.limit is not None:
            items = items[-self.limit :]
        keys = [_ident(i) for i in items]
        contents = [_content(i) for i in items]
        follow = self.following or self.is_vertical_scroll_end or not self._keys
        if self._keys and keys[: len(self._keys)] == self._keys:
            for n, entry in enumerate(self._entries):
                if contents[n] != self._contents[n]:
                    event, mail = items[n]
                    if isinstance(entry, MailEntry) and mail is not None:
                        entry.reshow_mail(mail, now)
                    elif event is not None:
                        entry.reshow(event, ticket, mail, now)
            new = items[len(self._keys) :]
        else:
            self.remove_children()
            self._entries = []
            new = items
        if new:
            made = [self._entry(item, ticket, now) for item in new]
            self._entries += made
            self.mount_all(made)
        self._keys = keys
        self._contents = contents
        if follow:
            self.following = True
            self.scroll_end(animate=False)  # after the next refresh; again if the layout moves

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # back up the thread is the reader leaving the end; a layout that grows leaves
        # scroll_y alone (no call here) and scrolls to the end again (_keep_end)
        if new < old or self.is_vertical_scroll_end:
            self.following = self.is_vertical_scroll_end

    def watch_virtual_size(self) -> None:
        self._keep_end()

    def on_resize(self) -> None:
        self._keep_end()

    def _keep_end(self) -> None:
        if self.following and self._keys:
            self.scroll_end(animate=False)

    @staticmethod
    def _entry(item: ThreadItem, ticket: TicketView, now: datetime) -> ThreadEntry:
        event, mail = item
        if event is None:
            assert mail is not None
            return MailEntry(mail, now)
        return ThreadEntry(event, ticket, now, mail)

    def clear_thread(self) -> None:
        self.remove_children()
        self.following = True
        self._keys = []
        self._contents = []
        self._entries = []
