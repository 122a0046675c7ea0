"""A caller verification's verdict, unmistakable in words and in colour.

VERIFIED is green and says who the caller is, what they may ask for and, for what they may
not, who can; FAILED is red and says how many attempts are left (never which part was
wrong); LOCKED says until when, with the recent attempts; HELD is yellow (caller not listed:
a report is held until the owners confirm); REFERRED sends a reseller's customer to the
reseller. The first line is a reverse-video banner with the state's word, so the verdict
reads the same on a monochrome terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from supportdesk.console.widgets.format import local, one_line, span, stamp
from supportdesk.rules.request_types import label
from supportdesk.rules.verify_rules import (
    FAILED,
    HELD,
    LOCKED,
    REFERRED,
    ROLE_LABEL,
    VERIFIED,
)
from supportdesk.safe_text import clean

if TYPE_CHECKING:
    from supportdesk.services.callers.verification import Attempt, Verdict

BANNER = {
    VERIFIED: ("✔ VERIFIED", "bold #ffffff on #00873c"),
    FAILED: ("✖ FAILED", "bold #ffffff on #c00000"),
    LOCKED: ("⊘ LOCKED", "bold #ffffff on #8b0057"),
    HELD: ("⏸ HELD", "bold #000000 on #ffd700"),
    REFERRED: ("↪ REFERRED", "bold #ffffff on #7b2fbf"),
}
METHOD = {"pin": "PIN", "callback": "callback", "none": "—"}


def request_label(request: str) -> str:
    return one_line(label(request))


def attempt_lines(attempts: Sequence[Attempt]) -> list[Text]:
    """The attempts, one line per run of alike ones (same minute, agent, channel, method
    and result), counted: "20 Nov 09:00  ana  phone  PIN  failed ×4"."""
    runs: list[tuple[tuple[str, ...], int]] = []
    for a in attempts:
        key = (
            local(a.at).strftime("%d %b %H:%M"),
            one_line(a.agent or "—"),
            one_line(a.channel),
            one_line(METHOD.get(a.method, a.method)),
            one_line(a.result),
        )
        if runs and runs[-1][0] == key:
            runs[-1] = (key, runs[-1][1] + 1)
        else:
            runs.append((key, 1))
    out = []
    for (at, agent, channel, method, result), count in runs:
        times = f" ×{count}" if count > 1 else ""
        out.append(
            Text(
                f"  {at}  {agent:<10} {channel:<6} {method:<9} {result}{times}",
                style="#ff5f5f" if result in (FAILED, LOCKED) else "",
            )
        )
    return out


def verdict_text(v: Verdict, now: datetime, *, how: str = "") -> Text:
    """The verdict in words: banner, then the facts that decide what happens next."""
    word, style = BANNER.get(v.state, (one_line(v.state.upper()), "reverse"))
    head = Text()
    head.append(f" {word} ", style=style)
    who = one_line(v.contact or "caller not listed")
    how = one_line(how)
    lines: list[Text] = []
    if v.state == VERIFIED:
        role = one_line(ROLE_LABEL.get(v.role or "", v.role or ""))
        head.append(f" {who}, {role}", style="bold #5fd75f")
        if how:
            head.append(f" · by {how}", style="#5fd75f")
        lines.append(head)
        may = ", ".join(request_label(r) for r in v.may) or "nothing on this account"
        lines.append(Text.assemble(("May ask for: ", "bold"), may))
        if v.may_not:
            lines.append(
                Text.assemble(
                    ("May NOT ask for: ", "bold #ff875f"),
                    ", ".join(request_label(r) for r in v.may_not),
                )
            )
            who_can = one_line(", ".join(v.who_can))
            who_can = who_can or "nobody on the account: a lead must update it"
            lines.append(Text.assemble(("  who can: ", "bold"), who_can))
    elif v.state == FAILED:
        left = v.attempts_left if v.attempts_left is not None else 0
        head.append(f" {who}", style="bold #ff5f5f")
        lines.append(head)
        plural = "attempt" if left == 1 else "attempts"
        lines.append(
            Text.assemble(
                ("Not verified: ", "bold"),
                (f"{left} {plural} left", "bold #ff5f5f"),
                f" before {who} is locked. ",
                ("Do not say what was wrong.", "bold"),
            )
        )
    elif v.state == LOCKED:
        head.append(f" {who}", style="bold #ff5faf")
        lines.append(head)
        until = v.locked_until
        when = stamp(until, now).split(" (")[0] if until else "—"
        wait = f" (in {span(until - now)})" if until and until > now else ""
        lines.append(
            Text.assemble(
                ("Locked until ", "bold"),
                (when, "bold #ff5faf"),
                wait,
                ": no PIN or callback is checked until then; a lead can unlock it.",
            )
        )
        if v.recent:
            lines.append(Text("Recent attempts (newest first)", "bold"))
            lines.extend(attempt_lines(v.recent))
    elif v.state == HELD:
        head.append(" caller not listed", style="bold #ffd700")
        lines.append(head)
        owners = one_line(" or ".join(v.who_can))
        owners = owners or "an owner (none on file: a lead must update it)"
        lines.append(
            Text.assemble(
                "A report will be held until ",
                (owners, "bold"),
                " confirms it.",
            )
        )
    elif v.state == REFERRED:
        head.append(f" {one_line(v.account)}", style="bold #af87ff")
        lines.append(head)
        lines.append(Text(clean(v.message, multiline=True)))
    else:
        lines.append(head)
        lines.append(Text(clean(v.message, multiline=True)))
    return Text("\n").join(lines)


class VerdictPanel(Static, can_focus=True):
    """The verdict (focusable, so that the verdict's keys reach the screen)."""

    DEFAULT_CSS = """
    VerdictPanel {
        height: auto;
        padding: 0 1;
        border-left: thick $primary;
    }
    VerdictPanel:focus { background-tint: $foreground 4%; }
    VerdictPanel.-verified { border-left: thick #00873c; background: #00873c 12%; }
    VerdictPanel.-failed { border-left: thick #c00000; background: #c00000 12%; }
    VerdictPanel.-locked { border-left: thick #8b0057; background: #8b0057 14%; }
    VerdictPanel.-held { border-left: thick #ffd700; background: #ffd700 10%; }
    VerdictPanel.-referred { border-left: thick #7b2fbf; background: #7b2fbf 14%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.verdict: Verdict | None = None

    def show(self, verdict: Verdict | None, now: datetime, *, how: str = "") -> None:
        self.verdict = verdict
        for state in BANNER:
            self.set_class(verdict is not None and verdict.state == state, f"-{state}")
        self.update(verdict_text(verdict, now, how=how) if verdict else "")
