"""The handover panel of the ticket screen: what the next person needs to work a ticket
that was escalated, released or handed over (from `escalation.brief`).

The reported problem first, the latest handover notes (end of shift) and release reasons,
then what was tried (every escalation: from and to which tier,
by whom and when, why, what was tried, who claimed it), the complaint flag, the account's
services with their domains and servers, who may authorize changes, the account's notes,
other open tickets on the same server, and who watches the ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from supportdesk.console.widgets.format import one_line, priority_text, stamp, truncate
from supportdesk.console.widgets.quiet import show
from supportdesk.safe_text import clean

if TYPE_CHECKING:
    from supportdesk.services.escalation import Brief, EscalationView

HEAD_STYLE = "bold #5fd7ff"
FLAG_STYLE = "bold #ff5f5f"
HANDOVERS_SHOWN = 5  # the latest handover notes; `ticket brief --json` has them all


def _head(title: str) -> Text:
    return Text(title, style=HEAD_STYLE)


def _escalation_lines(e: EscalationView, now: datetime) -> list[Text]:
    if e.kind == "supervisor":
        first = Text("  ⚑ complaint to a supervisor", style=FLAG_STYLE)
    else:
        arrow = "↑" if e.to_tier > e.from_tier else "↓"
        first = Text(f"  {arrow} tier {e.from_tier} → {e.to_tier}", style="bold")
    first.append(f" · by {one_line(e.by or 'system')} · {stamp(e.at, now)}", style="")
    lines = [first, Text.assemble(("    why: ", "dim"), clean(e.reason, multiline=True))]
    if e.tried:
        lines.append(Text.assemble(("    tried: ", "dim"), clean(e.tried, multiline=True)))
    state = Text("    ", style="dim")
    if e.claimed_by:
        verb = "acknowledged by" if e.kind == "supervisor" else "claimed by"
        state.append(f"{verb} {one_line(e.claimed_by)} {stamp(e.claimed_at, now)}")
    elif e.kind == "tier" and e.ended_at is None:
        state.append("not claimed yet")
    if e.ended_at is not None:
        if state.plain.strip():
            state.append(" · ")
        state.append(f"ended: {one_line(e.ended_how or 'closed')} {stamp(e.ended_at, now)}")
    if state.plain.strip():
        lines.append(state)
    return lines


def handover_renderable(b: Brief, now: datetime, width: int) -> RenderableType:
    """The brief as lines; long texts wrap, lists are cut to one line per entry."""
    parts: list[RenderableType] = []
    title = Text("HANDOVER", style="bold")
    title.append(f" · #{b.ticket_id} · {one_line(b.account)} ({one_line(b.company)})", style="dim")
    parts.append(title)
    if b.flagged_at is not None:
        what = "A reply was not delivered:" if b.flag == "mail failed" else "Complaint"
        parts.append(
            Text(f"⚑ {what} flagged for the leads {stamp(b.flagged_at, now)}", style=FLAG_STYLE)
        )
    parts.append(Text.assemble(_head("Reported "), (stamp(b.reported_at, now), "dim")))
    parts.append(Text("  " + clean(b.reported.strip() or "(no description)", multiline=True)))
    if b.handovers:
        parts.append(_head("Handed over"))
        for h in b.handovers[-HANDOVERS_SHOWN:]:
            what = "handover" if h.kind == "handover" else "released"
            parts.append(
                Text.assemble(
                    (f"  {what} by {one_line(h.by or 'system')} · {stamp(h.at, now)}: ", "dim"),
                    clean(h.note, multiline=True),
                )
            )
    parts.append(_head("Escalations"))
    if not b.escalations:
        parts.append(Text("  none: this ticket was never escalated", style="dim"))
    for e in b.escalations:
        parts.extend(_escalation_lines(e, now))
    parts.append(_head("Services"))
    if not b.services:
        parts.append(Text("  none on the account", style="dim"))
    for i, sv in enumerate(b.services):
        line = Text("  ")
        line.append(one_line(sv.label), style="bold" if i == 0 else "")
        line.append(f" ({one_line(sv.kind.replace('_', ' '))})", style="dim")
        if sv.domains:
            line.append(" · " + one_line(", ".join(sv.domains)))
        if sv.server:
            line.append(f" · server {one_line(sv.server)}", style="bold")
        parts.append(line)
    parts.append(_head("May authorize changes"))
    if not b.authorizers:
        parts.append(Text("  nobody listed", style="dim"))
    for a in b.authorizers:
        parts.append(
            Text.assemble(
                "  ",
                (one_line(a.name), "bold"),
                f" ({one_line(a.role)}) · ",
                (one_line(a.scope), "dim"),
            )
        )
    if b.account_notes.strip():
        parts.append(_head("Account notes"))
        for note in b.account_notes.strip().splitlines():
            parts.append(Text("  " + clean(note)))
    parts.append(_head("Open on the same server"))
    if not b.same_server:
        parts.append(Text("  nothing else open there", style="dim"))
    for n in b.same_server:
        line = Text(f"  #{n.ticket_id} ", no_wrap=True, overflow="ellipsis")
        line.append_text(priority_text(n.priority, word=False))
        line.append(f" {one_line(n.server)} · {one_line(n.account)} · ")
        line.append(truncate(n.subject, max(12, width - 40)))
        line.append(f" · {one_line(n.status.replace('_', ' '))}", style="dim")
        line.append(f" · {one_line(n.holder)}" if n.holder else " · unclaimed", style="dim")
        parts.append(line)
    watchers = one_line(", ".join(b.watchers)) if b.watchers else "nobody"
    parts.append(Text.assemble(_head("Watching "), watchers))
    return Group(*parts)


class HandoverPanel(VerticalScroll):
    """The brief in a scrollable column (beside the thread when wide, instead of it when
    narrow)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=True)
        self.brief: Brief | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="handover-text", markup=False)

    def show(self, brief: Brief | None, now: datetime) -> None:
        self.brief = brief
        text = self.query_one("#handover-text", Static)
        if brief is None:
            show(text, Text("Handover: loading…", style="dim"))
            return
        width = max(30, (self.size.width or self.app.size.width) - 2)
        show(text, handover_renderable(brief, now, width))  # the same lines: no layout
