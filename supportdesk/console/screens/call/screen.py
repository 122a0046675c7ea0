"""The call screen: find the caller's account, verify the caller, open or add to a ticket.

One key from anywhere (ctrl+k, even while typing) opens it with the cursor in the search
box. Results come as you type (a worker, 80 ms after the last key; a stale search is
dropped); beside them the highlighted account's card shows what matters before any
question: suspended and why, a reseller's customer to refer, the plan's SLA targets, the
services, open tickets and pinned notes. Then:

    Enter        the highlighted account (the first, while typing)
    1-9 / 0      the contact the caller says they are / not listed (a held report)
    PIN, Enter   or c: call back a number on file, pick it, y when they answer
    verdict      VERIFIED / NOT VERIFIED / LOCKED / HELD / REFERRED, in words and colour
    n            a new ticket: subject, Enter (priority, category, request: a letter each)
    a            add the call to an open ticket (and confirm it when it is held and the
                 caller may)

So a verified caller's new ticket is six keys besides what is typed. The PIN is masked
while typed, wiped from the box as soon as it is submitted, and never logged (the worker
that checks it has a fixed description).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from supportdesk.console.screens.base import HELP_BINDING, DeskScreen
from supportdesk.console.widgets.account_card import SHORT_ROLE, AccountCard, hit_text
from supportdesk.console.widgets.choice_row import ChoiceRow
from supportdesk.console.widgets.format import one_line, truncate
from supportdesk.console.widgets.key_footer import KeyFooter
from supportdesk.console.widgets.verdict import VerdictPanel
from supportdesk.core.views import ContactView
from supportdesk.errors import DeskError
from supportdesk.rules.verify_rules import REQUESTS, ROLE_LABEL
from supportdesk.services import tickets
from supportdesk.services.callers import lookup, verification
from supportdesk.services.callers.lookup import AccountHit, CallCard, OpenTicket
from supportdesk.services.callers.verification import (
    FAILED,
    HELD,
    LOCKED,
    REFERRED,
    VERIFIED,
    Verdict,
)

SEARCH_DELAY = 0.08  # after the last key
CARD_DELAY = 0.1  # after the highlight stops moving
SEARCH, CONTACT, PROOF, CALLBACK, ANSWERED, VERDICT, NEW, ADD, NOTES = (
    "search",
    "contact",
    "proof",
    "callback",
    "answered",
    "verdict",
    "new",
    "add",
    "notes",
)
LIST_STAGES = (SEARCH, CONTACT, CALLBACK, ANSWERED, ADD)
PRIORITIES = (
    ("c", "critical", "critical"),
    ("h", "high", "high"),
    ("m", "medium", "medium"),
    ("l", "low", "low"),
)
CATEGORIES = (
    ("t", "technical", "technical"),
    ("b", "billing", "billing"),
    ("i", "infrastructure", "infrastructure"),
    ("s", "security", "security"),
)
REQUEST_KEYS = {
    "technical": "t",
    "billing": "b",
    "password_reset": "p",
    "contact_change": "c",
    "cancellation": "x",
}
REQUEST_WORDS = {
    "technical": "technical",
    "billing": "billing",
    "password_reset": "password",
    "contact_change": "contacts",
    "cancellation": "cancellation",
}
HELD_STATUS = "awaiting_authorization"


# -- messages (plain data from the workers) -----------------------------------------------
class HitsFound(Message):
    def __init__(self, generation: int, text: str, hits: list[AccountHit]) -> None:
        super().__init__()
        self.generation = generation
        self.text = text
        self.hits = hits


class CardLoaded(Message):
    def __init__(self, card: CallCard) -> None:
        super().__init__()
        self.card = card


class CallerVerified(Message):
    def __init__(self, verdict: Verdict, how: str) -> None:
        super().__init__()
        self.verdict = verdict
        self.how = how


class CallFiled(Message):
    """A ticket opened, or a call added to one: `what` says so, `warning` if part failed."""

    def __init__(self, ticket_id: int, what: str, warning: bool = False) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.what = what
        self.warning = warning


@dataclass(frozen=True)
class Caller:
    """Who the caller says they are: a contact of the account, or None (not listed)."""

    contact: ContactView | None


def contact_ref(contact: ContactView, contacts: tuple[ContactView, ...]) -> str:
    """A reference `verification.find_contact` resolves to exactly this contact: its id
    while short, else an e-mail address or phone number no other contact of the account
    shares (role boxes such as info@ are often shared), else the name."""
    if len(str(contact.id)) < 6:
        return str(contact.id)
    others = [c for c in contacts if c.id != contact.id]
    for email in contact.emails:
        if not any(email in c.emails for c in others):
            return email
    for phone in contact.phones:
        if not any(phone in c.phones for c in others):
            return phone
    return contact.name


def role_word(role: str) -> str:
    return ROLE_LABEL.get(role, role)


class PinInput(Input):
    """The PIN box: digits only, masked. Any other printable key is not typed but passed
    on to the screen (c: call back instead)."""

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable and not (event.character or "").isdigit():
            event.prevent_default()  # not into the box; it still bubbles to the screen

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Only digits are typed here, so the footer shows the screen's letter keys."""
        return character is not None and character.isdigit()


class CallScreen(DeskScreen):
    """Find the account, verify the caller, then open a ticket or add the call to one."""

    TITLE = "Call"
    HELP = (
        "Type what the caller gives you: account id, company, a domain, an e-mail address, "
        "a phone number or a ticket number (#123). The card beside the results shows the "
        "highlighted account before you ask anything: ⊘ suspended (and why), ↪ a "
        "reseller's customer (refer them to the reseller), the plan and its SLA targets "
        "(C H M L: critical high medium low), services, open tickets and pinned notes.\n"
        "Enter picks the account; 1-9 the contact the caller says they are, 0 not listed "
        "(a report is then held until an owner confirms it). Ask for the support PIN and "
        "type it (it is masked) then Enter; or c to call back a number on file, and y when "
        "they answer. Never tell a caller which part was wrong.\n"
        "From the verdict: n opens a ticket (subject, Enter; the letters pick priority, "
        "category and request type after Tab), a adds this call to an open ticket and "
        "confirms it when it is held and the caller may. Esc goes back a step.\n"
        "An account on a server with an open incident shows it first, with the script to "
        "read: i records the call against the incident (no ticket) and starts the next call.\n"
    )
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("escape", "back", "Back"),
        Binding("down", "move(1)", "Next result", show=False),
        Binding("up", "move(-1)", "Previous result", show=False),
        *(Binding(str(n), f"pick({n})", f"Pick {n}", show=False) for n in range(1, 10)),
        Binding("0", "not_listed", "Not listed", key_display="0"),
        Binding("c", "callback", "Call back", tooltip="verify by calling a number on file"),
        Binding("p", "pin", "PIN", tooltip="verify by the support PIN"),
        Binding("y", "answered", "They answered", tooltip="verify: you called a number on file"),
        Binding("n", "no_answer", "No answer"),
        Binding("n", "new_ticket", "New ticket"),
        Binding("a", "add_call", "Add to a ticket", tooltip="log this call on an open ticket"),
        Binding("i", "incident_call", "Incident", tooltip="the call is about an outage: no ticket"),
        Binding("enter", "submit", "Open the ticket", show=False),
        # priority: the focus moves before the keys typed next are routed (a non-priority
        # binding runs only after they have been sent to the old field)
        Binding("tab", "field(1)", "Next field", show=False, priority=True),
        Binding("shift+tab", "field(-1)", "Previous field", show=False, priority=True),
        HELP_BINDING,
    ]

    DEFAULT_CSS = """
    CallScreen #call-title { height: 1; background: $primary; padding: 0 1; }
    CallScreen #call-search { height: 1; border: none; background: $boost; }
    CallScreen #call-search:focus { background: $panel; }
    CallScreen #call-body { height: 1fr; max-height: 20; }
    CallScreen #call-list { width: 42%; min-width: 36; max-width: 64; height: 1fr; }
    CallScreen #call-list { border: none; }
    CallScreen #call-step { height: auto; border-top: solid $primary 40%; }
    CallScreen #call-prompt { height: auto; padding: 0 1; color: $text-muted; }
    CallScreen .call-row { height: 1; padding: 0 1; }
    CallScreen .call-label { width: 10; text-style: bold; }
    CallScreen .call-row Input { height: 1; border: none; background: $boost; width: 1fr; }
    CallScreen .call-row Input:focus { background: $panel; }
    CallScreen #call-form { height: auto; padding: 0 1; }
    CallScreen #call-form-title { height: auto; text-style: bold; }
    CallScreen #call-form .call-row { padding: 0; }
    """

    def __init__(self) -> None:
        super().__init__(id="call-screen")
        self.stage = SEARCH
        self.generation = 0
        self.shown_generation = -1
        self.hits: list[AccountHit] = []
        self.pick_pending = False
        self.account: str | None = None  # the account picked (None while searching)
        self.card: CallCard | None = None
        self.caller: Caller | None = None
        self.number: str | None = None  # the number called back
        self.verdict: Verdict | None = None
        self.how = ""
        self.ticket: OpenTicket | None = None  # the ticket the call is added to
        self.busy = False
        self._search_timer: Timer | None = None
        self._card_timer: Timer | None = None

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="call-title", markup=False)
        yield Input(
            placeholder="Who is calling? account, company, domain, e-mail, phone or #ticket",
            id="call-search",
            compact=True,
        )
        with Horizontal(id="call-body"):
            yield OptionList(id="call-list")
            yield AccountCard(id="call-card")
        with Vertical(id="call-step"):
            yield VerdictPanel(id="call-verdict")
            with Horizontal(classes="call-row", id="row-pin"):
                yield Label("PIN", classes="call-label")
                yield PinInput(
                    password=True, restrict=r"[0-9]*", max_length=12, id="call-pin", compact=True
                )
            with Vertical(id="call-form"):
                yield Static(id="call-form-title", markup=False)
                with Horizontal(classes="call-row", id="row-subject"):
                    yield Label("Subject", classes="call-label")
                    yield Input(
                        placeholder="what is wrong, in a few words", id="call-subject", compact=True
                    )
                with Horizontal(classes="call-row", id="row-caller-name"):
                    yield Label("Caller", classes="call-label")
                    yield Input(placeholder="the caller's name", id="call-caller", compact=True)
                with Horizontal(classes="call-row", id="row-caller-phone"):
                    yield Label("Call-back", classes="call-label")
                    yield Input(
                        placeholder="a number to call them back on",
                        id="call-caller-phone",
                        compact=True,
                    )
                yield ChoiceRow("Priority", PRIORITIES, "medium", id="call-priority")
                yield ChoiceRow("Category", CATEGORIES, "technical", id="call-category")
                yield ChoiceRow(
                    "Request",
                    [(REQUEST_KEYS[r], r, REQUEST_WORDS[r]) for r in REQUESTS],
                    "technical",
                    id="call-request",
                )
            with Horizontal(classes="call-row", id="row-notes"):
                yield Label("Notes", classes="call-label")
                yield Input(placeholder="what was said (optional)", id="call-notes", compact=True)
            yield Static(id="call-prompt", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        for box in self.query(Input):
            box.cursor_blink = False
        self._enter(SEARCH)

    # -- stages -------------------------------------------------------------------------
    # Focus moves with `set_focus`, at once: `Widget.focus()` waits for the message queue,
    # so keys typed fast after a stage change would still reach the old widget.
    def _enter(self, stage: str) -> None:
        """Show what `stage` needs, say what to do in words, and put the focus there."""
        self.stage = stage
        self.busy = False
        self.query_one("#call-search", Input).disabled = stage != SEARCH
        self.query_one("#row-pin").display = stage == PROOF
        self.query_one("#call-form").display = stage == NEW
        self.query_one("#row-notes").display = stage == NOTES
        verdict = self.query_one(VerdictPanel)
        verdict.display = stage in (VERDICT, ADD, NOTES) and self.verdict is not None
        if stage in (SEARCH, CONTACT):
            self.verdict = None
            verdict.show(None, self.now())
        if stage == SEARCH:
            self.account = None
            self.caller = None
            self._fill_hits()
            self.set_focus(self.query_one("#call-search", Input))
        elif stage == CONTACT:
            self.caller = None
            self._fill_contacts()
            self.set_focus(self.query_one(OptionList))
        elif stage == PROOF:
            pin = self.query_one(PinInput)
            pin.value = ""
            self.set_focus(pin)
        elif stage == CALLBACK:
            self._fill_phones()
            self.set_focus(self.query_one(OptionList))
        elif stage == ANSWERED:
            self.set_focus(self.query_one(OptionList))
        elif stage == VERDICT:
            self.set_focus(verdict)
        elif stage == NEW:
            self._open_form()
        elif stage == ADD:
            self._fill_tickets()
            self.set_focus(self.query_one(OptionList))
        elif stage == NOTES:
            notes = self.query_one("#call-notes", Input)
            notes.value = ""
            self.set_focus(notes)
        self._paint()
        self.refresh_bindings()

    def _paint(self) -> None:
        """The title bar and the prompt: where the call is, and what the keys do now."""
        title = Text(" Call", style="bold")
        if self.account:
            title.append(f" · {one_line(self.account)}", style="bold")
            if self.card is not None and self.card.account.id == self.account:
                title.append(f" {one_line(self.card.account.company)}")
        if self.caller is not None:
            who = self.caller.contact.name if self.caller.contact else "caller not listed"
            title.append(f" · {one_line(who)}")
        if self.verdict is not None:
            title.append(f" · {self.verdict.state.upper()}", style="bold")
        width = self.app.size.width
        title.truncate(max(10, width - 2), overflow="ellipsis")
        self.query_one("#call-title", Static).update(title)
        self.query_one("#call-prompt", Static).update(self._prompt(width - 2))

    def _prompt(self, width: int) -> Text:
        stage = self.stage
        text = Text()
        contact = self.caller.contact if self.caller else None
        name = one_line(contact.name) if contact is not None else ""
        if self.busy:
            text.append("Checking…", style="bold")
        elif stage == SEARCH:
            if self.hits:
                text.append("↑↓ choose · Enter picks the account · Esc closes")
            else:
                text.append("Type what the caller gives you · Esc closes")
        elif stage == CONTACT:
            if self.card is None:
                text.append("Reading the account…")
            elif self.card.account.reseller:
                text.append("A reseller's customer: ", style="bold")
                text.append("Enter records the referral · Esc back")
            else:
                text.append("Who is the caller? ", style="bold")
                text.append("1-9 the contact they say they are · 0 not listed · Esc back")
        elif stage == PROOF and contact is not None:
            text.append(f"{name}, {one_line(role_word(contact.role))}: ", style="bold")
            text.append("ask for the support PIN · Enter checks it · c call back instead")
        elif stage == CALLBACK and contact is not None:
            text.append(f"Call {name} back on a number on file: ", style="bold")
            text.append("1-9 picks it" + (" · p PIN instead" if contact.has_pin else ""))
            text.append(" · Esc back")
        elif stage == ANSWERED and contact is not None:
            text.append(f"Call {one_line(self.number)} now. ", style="bold")
            text.append(f"y {name} answered · n no answer · Esc back")
        elif stage == VERDICT and self.verdict is not None:
            text.append(self._verdict_keys(self.verdict))
        elif stage == NEW:
            text.append("Enter opens it · Tab, then a letter: priority, category, request")
            text.append(" · Esc back")
        elif stage == ADD:
            text.append("Add this call to which ticket? ", style="bold")
            text.append("1-9 / Enter · Esc back")
        elif stage == NOTES and self.ticket is not None:
            text.append(f"Call on #{self.ticket.id}, spoke to the caller", style="bold")
            if self._will_confirm(self.ticket):
                text.append(f"; confirms #{self.ticket.id} (it opens)", style="bold")
            text.append(" · Enter logs it · Esc back")
        text.truncate(max(10, width * 2), overflow="ellipsis")
        return text

    def _verdict_keys(self, v: Verdict) -> str:
        if v.state in (VERIFIED, HELD):
            return "n new ticket · a add this call to an open ticket · Esc another caller"
        if v.state == FAILED:
            return "p try the PIN again · c call back instead · Esc another caller"
        if v.state == LOCKED:
            return "Esc another caller (0 there: not listed, a held report)"
        return "Esc another search"

    def now(self) -> datetime:
        return self.desk.now()

    # -- the list beside the card ---------------------------------------------------------
    def _list_width(self) -> int:
        return max(20, self.query_one(OptionList).size.width - 2)

    def _set_options(self, options: list[Option], highlight: int | None = 0) -> None:
        listing = self.query_one(OptionList)
        listing.set_options(options)
        listing.highlighted = highlight if options else None

    def _fill_hits(self) -> None:
        width = self._list_width()
        self._set_options([Option(hit_text(h, width), id=h.account) for h in self.hits])

    def _fill_contacts(self) -> None:
        card = self.card
        if card is None or card.account.id != self.account:
            self._set_options([])
            return
        a = card.account
        if a.reseller:
            who = card.reseller_company or a.reseller
            self._set_options([Option(Text(f"↪ refer the caller to {one_line(who)}"), id="refer")])
            return
        options = []
        width = self._list_width()
        for n, c in enumerate(a.contacts[:9], start=1):
            prompt = Text.assemble((f" {n} ", "bold reverse"), " ", (one_line(c.name), "bold"))
            if not c.has_pin:
                prompt.append(" · no PIN", style="#d7af00")
            prompt.append(f" · {one_line(SHORT_ROLE.get(c.role, c.role))}", style="dim")
            prompt.truncate(width, overflow="ellipsis")
            options.append(Option(prompt, id=f"c{c.id}"))
        options.append(
            Option(
                Text.assemble((" 0 ", "bold reverse"), " Not listed (a held report)"),
                id="unlisted",
            )
        )
        self._set_options(options)

    def _fill_phones(self) -> None:
        contact = self.caller.contact if self.caller else None
        phones = contact.phones if contact else ()
        self._set_options(
            [
                Option(Text.assemble((f" {n} ", "bold reverse"), f" {one_line(p)}"), id=p)
                for n, p in enumerate(phones[:9], start=1)
            ]
        )

    def _fill_tickets(self) -> None:
        card = self.card
        items = card.open_tickets if card else ()  # held ones first (an owner confirms)
        width = self._list_width()
        options = []
        for n, t in enumerate(items, start=1):
            key = (f" {n} ", "bold reverse") if n <= 9 else ("   ", "")
            prompt = Text.assemble(key, (f" #{t.id}", "bold"))
            if t.status == HELD_STATUS:
                prompt.append(" ⏸ held", style="bold #d7af00")
            prompt.append(f" {truncate(t.subject, max(8, width - 20))}")
            options.append(Option(prompt, id=str(t.id)))
        self._set_options(options)

    # -- searching ----------------------------------------------------------------------
    @on(Input.Changed, "#call-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        self.generation += 1
        text = event.value.strip()
        if not text:
            self.hits = []
            self.shown_generation = self.generation
            self._fill_hits()
            self._clear_card()
            self._paint()
            return
        self._search_timer = self.set_timer(SEARCH_DELAY, self._search_due)

    def _search_due(self) -> None:
        self._search_timer = None
        text = self.query_one("#call-search", Input).value.strip()
        if text:
            self.search(self.generation, text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="call-search", name="call-search")
    def search(self, generation: int, text: str) -> None:
        hits = lookup.find_accounts(self.desk, text)
        if not get_current_worker().is_cancelled:
            self.post_message(HitsFound(generation, text, hits))

    def on_hits_found(self, message: HitsFound) -> None:
        if message.generation != self.generation or self.stage != SEARCH:
            return  # typed on since, or the account was picked meanwhile
        self.shown_generation = message.generation
        self.hits = message.hits
        self._fill_hits()
        self._paint()
        if self.pick_pending:
            self.pick_pending = False
            if self.hits:
                self._pick_account(self.hits[0].account)
                return
            self.notify("No account matches what is typed", timeout=3)
        if self.hits:
            self._want_card(self.hits[0].account, now=True)
        else:
            self._clear_card("No account matches: try a domain, an e-mail address or a phone")

    @on(Input.Submitted, "#call-search")
    def _search_submitted(self, _event: Input.Submitted) -> None:
        if not self.query_one("#call-search", Input).value.strip():
            return
        if self.shown_generation == self.generation and self.hits:
            listing = self.query_one(OptionList)
            index = listing.highlighted or 0
            self._pick_account(self.hits[min(index, len(self.hits) - 1)].account)
            return
        self.pick_pending = True  # the results for what is typed are not in yet
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
            self._search_due()

    @on(OptionList.OptionHighlighted, "#call-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.stage == SEARCH and event.option.id:
            self._want_card(event.option.id)

    def _clear_card(self, note: str = "") -> None:
        if self._card_timer is not None:
            self._card_timer.stop()
            self._card_timer = None
        self.card = None
        self.query_one(AccountCard).show(None, self.now(), note)

    def _want_card(self, account_id: str, *, now: bool = False) -> None:
        if self._card_timer is not None:
            self._card_timer.stop()
            self._card_timer = None
        if self.card is not None and self.card.account.id == account_id:
            self.query_one(AccountCard).show(self.card, self.now())
            return
        if now:
            self.load_card(account_id)
        else:
            self._card_timer = self.set_timer(CARD_DELAY, lambda: self.load_card(account_id))

    @work(thread=True, exclusive=True, exit_on_error=False, group="call-card", name="call-card")
    def load_card(self, account_id: str) -> None:
        card = lookup.call_card(self.desk, account_id)
        if not get_current_worker().is_cancelled:
            self.post_message(CardLoaded(card))

    def on_card_loaded(self, message: CardLoaded) -> None:
        card = message.card
        wanted = self.account or self._highlighted_account()
        if card.account.id != wanted:
            return
        self.card = card
        self.query_one(AccountCard).show(card, self.now())
        if self.stage == CONTACT:
            self._fill_contacts()
        self._paint()

    def _highlighted_account(self) -> str | None:
        option = self.query_one(OptionList).highlighted_option
        return option.id if option is not None and self.stage == SEARCH else None

    def reload(self) -> None:
        account = self.account or self._highlighted_account()
        if account is not None:
            self.load_card(account)

    def on_resize(self) -> None:
        self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        """Lay the list, the card and the prompt out again for a new terminal size."""
        listing = self.query_one(OptionList)
        highlighted = listing.highlighted
        fill = {SEARCH: self._fill_hits, CONTACT: self._fill_contacts, ADD: self._fill_tickets}
        if self.stage in fill:
            fill[self.stage]()
            if highlighted is not None and highlighted < listing.option_count:
                listing.highlighted = highlighted
        if self.card is not None:
            self.query_one(AccountCard).show(self.card, self.now())
        self._paint()

    # -- picking --------------------------------------------------------------------------
    def _pick_account(self, account_id: str) -> None:
        self.account = account_id
        if self.card is None or self.card.account.id != account_id:
            self.query_one(AccountCard).show(None, self.now(), "Reading the account…")
            self.load_card(account_id)
        self._enter(CONTACT)

    @on(OptionList.OptionSelected, "#call-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option_index)

    def action_pick(self, n: int) -> None:
        self._choose(n - 1)

    def _choose(self, index: int) -> None:
        """The `index`th line of the list, in whatever the stage lists."""
        if self.busy:
            return
        stage = self.stage
        listing = self.query_one(OptionList)
        if not 0 <= index < listing.option_count:
            return
        option_id = listing.get_option_at_index(index).id or ""
        listing.highlighted = index  # a digit key picks what the list then shows picked
        if stage == SEARCH:
            self._pick_account(option_id)
        elif stage == CONTACT:
            if option_id == "refer":
                self._verify(None, pin=None, number=None)
            elif option_id == "unlisted":
                self.action_not_listed()
            elif self.card is not None:
                contact = next(c for c in self.card.account.contacts if f"c{c.id}" == option_id)
                self.caller = Caller(contact)
                self._enter(PROOF if contact.has_pin else CALLBACK)
                if not contact.has_pin:
                    self.notify(
                        f"{contact.name} has no support PIN: call back a number on file",
                        timeout=4,
                    )
        elif stage in (CALLBACK, ANSWERED):
            self.number = option_id
            self._enter(ANSWERED)
        elif stage == ADD and self.card is not None:
            self.ticket = next(t for t in self.card.open_tickets if str(t.id) == option_id)
            self._enter(NOTES)

    def action_move(self, step: int) -> None:
        listing = self.query_one(OptionList)
        if not listing.option_count:
            return
        if step > 0:
            listing.action_cursor_down()
        else:
            listing.action_cursor_up()

    def action_not_listed(self) -> None:
        if self.stage == CONTACT and self.card is not None and not self.card.account.reseller:
            listing = self.query_one(OptionList)
            listing.highlighted = listing.option_count - 1  # "not listed" is the last line
            self.caller = Caller(None)
            self._verify(None, pin=None, number=None)

    # -- proving ------------------------------------------------------------------------
    @on(Input.Submitted, "#call-pin")
    def _pin_submitted(self, event: Input.Submitted) -> None:
        box = self.query_one(PinInput)
        pin = box.value
        box.value = ""  # wiped at once: the PIN is only in the worker's call from here
        if not pin:
            self.notify("Type the PIN the caller gives you", timeout=3)
            return
        self._verify(self._ref(), pin=pin, number=None)

    def _ref(self) -> str | None:
        contact = self.caller.contact if self.caller else None
        if contact is None or self.card is None:
            return None
        return contact_ref(contact, self.card.account.contacts)

    def action_callback(self) -> None:
        if self.caller is not None and self.caller.contact is not None:
            if not self.caller.contact.phones:
                self.notify(f"{self.caller.contact.name} has no phone number on file", timeout=4)
                return
            self._enter(CALLBACK)

    def action_pin(self) -> None:
        if self.caller is not None and self.caller.contact is not None:
            if not self.caller.contact.has_pin:
                self.notify(f"{self.caller.contact.name} has no support PIN", timeout=3)
                return
            self._enter(PROOF)

    def action_answered(self) -> None:
        if self.number is not None:
            self._verify(self._ref(), pin=None, number=self.number)

    def action_no_answer(self) -> None:
        self.number = None
        self._enter(PROOF if self.caller and self.caller.contact and self.caller.contact.has_pin
                    else CALLBACK)  # fmt: skip

    def _verify(self, ref: str | None, *, pin: str | None, number: str | None) -> None:
        if self.account is None or self.busy:
            return
        self.busy = True
        self._paint()
        how = "PIN" if pin is not None else (f"callback to {number}" if number else "")
        self.verify_caller(self.account, ref, pin, number, how)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="call-verify",
        name="call-verify",
        description="verify the caller",  # never the arguments: one of them is the PIN
    )
    def verify_caller(
        self, account: str, ref: str | None, pin: str | None, number: str | None, how: str
    ) -> None:
        verdict = verification.verify(
            self.desk, account, ref, "phone", pin=pin, callback_number=number
        )
        self.post_message(CallerVerified(verdict, how))

    def on_caller_verified(self, message: CallerVerified) -> None:
        self.verdict = message.verdict
        self.how = message.how
        self.query_one(VerdictPanel).show(message.verdict, self.now(), how=message.how)
        self._enter(VERDICT)

    # -- filing: a new ticket, or the call on an open one ---------------------------------
    def _open_form(self) -> None:
        v = self.verdict
        assert v is not None
        held = v.state == HELD
        title = Text.assemble(("New ticket", "bold"), f" · {one_line(v.account)} · phone · ")
        if held:
            title.append("caller not listed: held for an owner", style="#d7af00")
        else:
            title.append(f"verified: {one_line(v.contact)}", style="#5fd75f")
        self.query_one("#call-form-title", Static).update(title)
        self.query_one("#row-caller-name").display = held
        self.query_one("#row-caller-phone").display = held
        for row in self.query(ChoiceRow):
            row.reset()
        subject = self.query_one("#call-subject", Input)
        self.set_focus(subject)

    def action_new_ticket(self) -> None:
        if self.verdict is not None and self.verdict.state in (VERIFIED, HELD):
            self._enter(NEW)

    def action_add_call(self) -> None:
        if self.verdict is None or self.verdict.state not in (VERIFIED, HELD):
            return
        if self.card is None or not self.card.open_tickets:
            self.notify(f"{self.account} has no open tickets: n opens one", timeout=4)
            return
        self._enter(ADD)

    @on(Input.Submitted, "#call-subject, #call-caller, #call-caller-phone")
    def _form_submitted(self, _event: Input.Submitted) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        if self.stage != NEW or self.busy or self.verdict is None:
            return
        subject = self.query_one("#call-subject", Input).value.strip()
        if not subject:
            self.notify("Give the ticket a subject", timeout=3)
            self.set_focus(self.query_one("#call-subject", Input))
            return
        v = self.verdict
        held = v.state == HELD
        caller = self.query_one("#call-caller", Input).value.strip() if held else ""
        phone = self.query_one("#call-caller-phone", Input).value.strip() if held else ""
        self.busy = True
        self._paint()
        self.open_ticket(
            v,
            subject,
            self.query_one("#call-priority", ChoiceRow).value,
            self.query_one("#call-category", ChoiceRow).value,
            self.query_one("#call-request", ChoiceRow).value,
            caller or None,
            phone or None,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="call-file", name="call-file")
    def open_ticket(
        self,
        v: Verdict,
        subject: str,
        priority: str,
        category: str,
        request: str,
        caller: str | None,
        phone: str | None,
    ) -> None:
        tid = tickets.create(
            self.desk,
            account=v.account,
            subject=subject,
            priority=priority,
            category=category,
            channel="phone",
            verification_id=v.verification_id,
            caller_name=caller,
            caller_phone=phone,
            request_type=request,
        )
        what = f"Ticket #{tid} opened for {v.account}"
        if lookup.ticket_status(self.desk, tid) == HELD_STATUS:
            what += ": held, awaiting authorization by an owner"
        self.post_message(CallFiled(tid, what))

    def _will_confirm(self, t: OpenTicket) -> bool:
        v = self.verdict
        return (
            v is not None
            and v.state == VERIFIED
            and t.status == HELD_STATUS
            and t.request_type in v.may
        )

    @on(Input.Submitted, "#call-notes")
    def _notes_submitted(self, event: Input.Submitted) -> None:
        if self.busy or self.ticket is None or self.verdict is None:
            return
        self.busy = True
        self._paint()
        self.add_call(
            self.ticket, self.verdict, event.value.strip(), self._will_confirm(self.ticket)
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="call-file", name="call-file")
    def add_call(self, t: OpenTicket, v: Verdict, notes: str, confirm: bool) -> None:
        tickets.log_call(self.desk, t.id, "spoke", notes)
        what, warning = f"Call logged on #{t.id}", False
        if confirm:
            assert v.verification_id is not None
            try:
                tickets.confirm(self.desk, t.id, v.verification_id)
                what += f"; confirmed by {v.contact}: #{t.id} is open"
            except DeskError as exc:
                what += f"; not confirmed: {exc}"
                warning = True
        self.post_message(CallFiled(t.id, what, warning))

    def on_call_filed(self, message: CallFiled) -> None:
        self.notify(
            message.what,
            severity="warning" if message.warning else "information",
            markup=False,
            timeout=6,
        )
        app = self.desk_app
        self.dismiss()
        app.open_ticket(message.ticket_id)

    def on_failure(self, worker_name: str, error: BaseException) -> None:
        if worker_name in ("call-verify", "call-file"):
            self.busy = False
            self._paint()

    # -- keys -----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        stage = self.stage
        v = self.verdict
        if action in ("pick", "move"):
            return stage in LIST_STAGES
        if action == "not_listed":
            return stage == CONTACT and self.card is not None and not self.card.account.reseller
        if action == "callback":
            return stage == PROOF or (stage == VERDICT and v is not None and v.state == FAILED)
        if action == "pin":
            contact = self.caller.contact if self.caller else None
            failed = stage == VERDICT and v is not None and v.state == FAILED
            has_pin = contact is not None and contact.has_pin
            return has_pin and (stage in (CALLBACK, ANSWERED) or failed)
        if action in ("answered", "no_answer"):
            return stage == ANSWERED
        if action in ("new_ticket", "add_call"):
            return stage == VERDICT and v is not None and v.state in (VERIFIED, HELD)
        if action == "submit":
            return stage == NEW
        if action == "incident_call":
            return (
                stage in (CONTACT, CALLBACK, VERDICT)
                and self.card is not None
                and bool(self.card.incidents)
            )
        return True

    def action_incident_call(self) -> None:
        """i: the caller is calling about an outage on their server: the call is recorded
        against the incident (who, verified or not), no ticket is opened, and the screen is
        ready for the next caller."""
        from supportdesk.console.screens.incident_link import link_call

        card = self.card
        if card is None or self.busy:
            return
        contact = self.caller.contact if self.caller is not None else None
        v = self.verdict
        link_call(
            self,
            card.account.id,
            card.incidents,
            contact_id=contact.id if contact is not None else None,
            verification_id=v.verification_id if v is not None else None,
            done=self.new_call,
        )

    def action_field(self, step: int) -> None:
        if self.stage != NEW:
            if step > 0:
                self.focus_next()
            else:
                self.focus_previous()
            return
        fields = [
            w
            for w in self.query_one("#call-form").query("Input, ChoiceRow")
            if w.display and (w.parent is None or w.parent.display)
        ]
        if not fields:
            return
        focused = self.focused
        i = fields.index(focused) if focused in fields else -1
        self.set_focus(fields[(i + step) % len(fields)])

    def action_back(self) -> None:
        stage = self.stage
        if self.busy:
            return
        if stage == SEARCH:
            self.dismiss()
        elif stage == CONTACT:
            self._enter(SEARCH)
        elif stage in (PROOF, CALLBACK):
            self._enter(CONTACT)
        elif stage == ANSWERED:
            self._enter(CALLBACK)
        elif stage == VERDICT:
            if self.verdict is not None and self.verdict.state == REFERRED:
                self._enter(SEARCH)
            else:
                self._enter(CONTACT)
        elif stage in (NEW, ADD):
            self._enter(VERDICT)
        elif stage == NOTES:
            self._enter(ADD)

    def new_call(self) -> None:
        """ctrl+k again: start over with an empty search."""
        if self.busy:
            return
        search = self.query_one("#call-search", Input)
        self.hits = []
        self.card = None
        self.verdict = None
        self.query_one(AccountCard).show(None, self.now())
        self._enter(SEARCH)
        search.value = ""
