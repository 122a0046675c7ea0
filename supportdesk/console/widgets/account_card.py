"""The account card of the call screen: what the agent must know before asking anything.

Status first (a suspended account in white on red, with why), then a reseller's customer in
white on purple (they are referred, not served), the plan and its SLA targets, the services
with their domains and servers, open tickets, the pinned notes and the contacts. Rendered
from a `CallCard` (plain data read by a worker), so the widget never touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from supportdesk.console.widgets.format import ago, one_line, stamp, truncate
from supportdesk.console.widgets.incident_banner import account_notice_lines
from supportdesk.core.views import ServiceView
from supportdesk.rules.verify_rules import ROLE_LABEL
from supportdesk.safe_text import clean

if TYPE_CHECKING:
    from supportdesk.services.callers.lookup import AccountHit, CallCard, PlanSummary

SUSPENDED_STYLE = "bold #ffffff on #c00000"
RESELLER_STYLE = "bold #ffffff on #7b2fbf"
ACTIVE_STYLE = "bold #5fd75f"
HELD_STATUS = "awaiting_authorization"
SHORT_ROLE = {"primary": "primary", "secondary": "secondary", "authorized": "authorized"}
SHORT_ROLE["subaccount"] = "sub-account"
SHORT_KIND = {
    "managed_server": "server",
    "shared_hosting": "hosting",
    "reseller": "reseller",
    "email": "mail",
    "domain": "domain",
}
COMPACT_TARGET = re.compile(r"\b([CHML]) (?=\d)")
WIDE = 60  # cells: below this the card drops the time zone and packs the targets


def plan_lines(plan: PlanSummary, *, wide: bool) -> list[Text]:
    """ "Plan gold · office hours (Africa/Johannesburg)" and its targets (narrow: without
    the zone, and "C8h" for "C 8h")."""
    hours = one_line(plan.hours if wide else plan.hours.split(" (")[0])
    head = Text.assemble(("Plan ", "bold"), (one_line(plan.name), "bold"), f" · {hours}")

    def targets(pairs: tuple[tuple[str, str], ...]) -> str:
        text = one_line(plan.targets(pairs))
        return text if wide else COMPACT_TARGET.sub(r"\1", text)

    respond = Text.assemble("  respond ", (targets(plan.respond), "bold"))
    resolve = Text.assemble("resolve ", (targets(plan.resolve), "bold"))
    if wide:
        return [head, Text.assemble(respond, " · ", resolve)]
    return [head, respond, Text.assemble("  ", resolve)]


def service_line(s: ServiceView, width: int, *, wide: bool) -> Text:
    """Wide: "  Label  domains  server"; narrow, one line: "  server web-14: domains"."""
    domains = one_line(" ".join(s.domains)) or "—"
    if wide:
        server = f"  {one_line(s.server)}" if s.server else ""
        label = one_line(s.label)
        return Text.assemble("  ", (label, "bold"), "  ", (domains, "#87afff"), (server, "dim"))
    kind = one_line(SHORT_KIND.get(s.kind, s.kind.replace("_", " ")))
    where = f" {one_line(s.server)}" if s.server else ""
    line = Text.assemble("  ", (f"{kind}{where}", "bold"), ": ", (domains, "#87afff"))
    line.truncate(width, overflow="ellipsis")
    return line


def card_text(card: CallCard, now: datetime, width: int) -> Text:
    """The whole card, one fact a line, fitted to `width` cells."""
    a = card.account
    width = max(20, width)
    lines: list[Text] = []
    title = Text.assemble((one_line(a.id), "bold"), " · ", (one_line(a.company), "bold"))
    lines.append(title)
    # an outage first: the agent reads its script before anything else (issue 6)
    lines.extend(
        account_notice_lines(
            card.incidents, card.windows, now, width, key_hint="i: this call is about it"
        )
    )
    if a.status == "suspended":
        why = a.suspended_reason or "no reason recorded"
        lines.append(Text(truncate(f" ⊘ SUSPENDED: {why} ", width), SUSPENDED_STYLE))
    else:
        lines.append(Text.assemble(("● ", ACTIVE_STYLE), (one_line(a.status), ACTIVE_STYLE)))
    if a.reseller:
        who = card.reseller_company or a.reseller
        lines.append(
            Text(
                truncate(f" ↪ RESELLER CUSTOMER: refer to {who} ({a.reseller}) ", width),
                RESELLER_STYLE,
            )
        )
        if a.referral is not None:  # whom the caller should ring instead
            lines.append(Text(truncate(f"   {a.referral.contact_line}", width), "bold #af87ff"))
    wide = width >= WIDE
    lines.extend(plan_lines(card.plan, wide=wide))
    lines.append(Text(f"Services {len(a.services)}", "bold"))
    for s in a.services:
        lines.append(service_line(s, width, wide=wide))
    if not a.services:
        lines.append(Text("  none on file", "dim"))
    held = sum(1 for t in card.open_tickets if t.status == HELD_STATUS)
    tickets = Text.assemble(("Open tickets ", "bold"), (str(a.open_tickets), "bold"))
    if held:
        word = "held (awaiting authorization)" if wide else "held"
        tickets.append(f" · {held} {word}", style="#d7af00")
    if card.open_tickets:
        newest = max(card.open_tickets, key=lambda t: t.id)
        if wide:
            tickets.append(f" · newest #{newest.id} {stamp(newest.created_at, now)}", "dim")
        else:
            tickets.append(f" · newest {ago(newest.created_at, now)}", style="dim")
    lines.append(tickets)
    if a.notes.strip():
        lines.append(Text("Notes", "bold #d7af00"))
        for line in a.notes.strip().splitlines():
            lines.append(Text(f"  {clean(line)}", "#d7af00"))
    contacts = Text(f"Contacts {len(a.contacts)}", "bold")
    if wide:
        for c in a.contacts:
            role = one_line(SHORT_ROLE.get(c.role, ROLE_LABEL.get(c.role, c.role)))
            contacts.append(f" · {one_line(c.name)} ({role}{', PIN' if c.has_pin else ''})")
    else:  # the list beside names them when the caller is asked who they are
        pins = sum(1 for c in a.contacts if c.has_pin)
        contacts.append(f" · {pins} with a PIN")
    lines.append(contacts)
    out = Text("\n").join(lines)
    out.no_wrap = False
    return out


def hit_text(hit: AccountHit, width: int) -> Text:
    """One search result: account, company and, dim, what matched (on a second line when
    one is too narrow for it)."""
    text = Text()
    if hit.status == "suspended":
        text.append("⊘ ", style="bold #ff5f5f")
    if hit.reseller:
        text.append("↪ ", style="bold #af87ff")
    text.append(one_line(hit.account), style="bold")
    text.append(f" {one_line(hit.company)}")
    if hit.matched in ("account", "company"):
        text.truncate(max(10, width), overflow="ellipsis")
        return text
    why = Text(one_line(f"{hit.matched} {hit.detail}"), style="dim")
    if text.cell_len + 3 + why.cell_len <= width:
        return Text.assemble(text, (" · ", "dim"), why)
    text.truncate(max(10, width), overflow="ellipsis")
    why = Text.assemble("  ", why)
    why.truncate(max(10, width), overflow="ellipsis")
    return Text.assemble(text, "\n", why)


class AccountCard(VerticalScroll):
    """The card beside the results; empty until an account is highlighted."""

    DEFAULT_CSS = """
    AccountCard {
        padding: 0 1;
        height: 1fr;
        width: 1fr;
        border-left: tall $primary 40%;
    }
    AccountCard > Static { width: 1fr; }
    AccountCard { scrollbar-size-vertical: 1; }
    """

    def __init__(self, now: Callable[[], datetime] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=False)
        self.card: CallCard | None = None
        self.now = now  # the desk's clock: an incident's countdown ticks from it
        self._shown = ""

    def compose(self) -> ComposeResult:
        yield Static(Text("No account yet: type who is calling", "dim"), markup=False)

    def on_mount(self) -> None:
        if self.now is not None:
            self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """Once a second, from memory: a card with an incident or a maintenance window
        redrawn, so its countdowns tick with the banner's (only when the text changed)."""
        card = self.card
        if self.now is None or card is None or not (card.incidents or card.windows):
            return
        if self.screen is not self.app.screen:
            return
        self._paint(card, self.now())

    def show(self, card: CallCard | None, now: datetime, note: str = "") -> None:
        self.card = card
        body = self.query_one(Static)
        if card is None:
            self._shown = ""
            body.update(Text(note or "No account yet: type who is calling", "dim"))
            return
        self._paint(card, now, force=True)

    def _paint(self, card: CallCard, now: datetime, *, force: bool = False) -> None:
        width = (self.size.width or self.app.size.width // 2) - 2
        text = card_text(card, now, width)
        key = f"{width}\n{text.plain}"
        if force or key != self._shown:
            self._shown = key
            self.query_one(Static).update(text)
