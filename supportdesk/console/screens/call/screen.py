"""The call screen: find the caller's account, verify the caller, open or add to a ticket.

One key from anywhere (ctrl+k, even while typing) opens it with the cursor in the search
box. Then:

    Enter        the highlighted account (the first, while typing)
    1-9 / 0      the contact the caller says they are / not listed (a held report), Enter
    PIN, Enter   or c: call back a number on file, pick it, y when they answer
    verdict      VERIFIED / NOT VERIFIED / LOCKED / HELD / REFERRED, in words and colour
    n            a new ticket: subject, Enter (priority, category, request: a letter each)
    a            add the call to an open ticket (and confirm it when it is held and the
                 caller may)

So a verified caller's new ticket is six keys besides what is typed. The parts are the
modules beside this one: `search` (the account, its card, its contacts), `proof` (the PIN,
the callback, the verdict) and `ticket_form` (a new ticket, or the call on an open one).
This screen composes their widgets, holds the keys and moves between the `stages`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, OptionList, Static

from supportdesk.console.screens.base import HELP_BINDING
from supportdesk.console.screens.call.proof import CallProof, PinInput
from supportdesk.console.screens.call.search import CallSearch
from supportdesk.console.screens.call.stages import BACK, LIST_STAGES, CallStage
from supportdesk.console.screens.call.ticket_form import CallFiling, TicketForm
from supportdesk.console.widgets.account_card import AccountCard
from supportdesk.console.widgets.format import one_line
from supportdesk.console.widgets.header_bar import HeaderBar
from supportdesk.console.widgets.key_footer import KeyFooter
from supportdesk.console.widgets.verdict import VerdictPanel
from supportdesk.rules.verify_rules import REFERRED


class CallScreen(CallSearch, CallProof, CallFiling):
    """Find the account, verify the caller, then open a ticket or add the call to one."""

    TITLE = "Call"
    HELP = (
        "Type what the caller gives you: account id, company, a domain, an e-mail address, "
        "a phone number (local numbers too: 082 770 3025), a contact's name or a ticket "
        "number (#123); keys typed ahead of the screen are kept, in order. The card beside "
        "the results shows the highlighted account before you ask anything: ⊘ suspended "
        "(and why), ↪ a "
        "reseller's customer (refer them to the reseller), the plan and its SLA targets "
        "(C H M L: critical high medium low), services, open tickets and pinned notes.\n"
        "Enter picks the account; 1-9 the contact the caller says they are, 0 not listed "
        "(a report is then held until an owner confirms it), then Enter (a contact found "
        "by their e-mail, phone or name is already highlighted). Ask for the support PIN and "
        "type it (it is masked) then Enter; or c to call back a number on file (1-9, Enter), "
        "and y when they answer, n when not. After NOT VERIFIED the digits typed are the "
        "PIN again. Never tell a caller which part was wrong.\n"
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
        *(
            Binding(
                str(n),
                f"pick({n})",
                "Choose from the list",
                show=False,
                tooltip="a contact or a number: Enter then picks it; a ticket at once; "
                "after NOT VERIFIED: the PIN again",
            )
            for n in range(1, 10)
        ),
        Binding("0", "not_listed", "Not listed", key_display="0", tooltip="then Enter"),
        Binding("c", "callback", "Call back", tooltip="verify by calling a number on file"),
        Binding("p", "pin", "PIN", tooltip="verify by the support PIN"),
        Binding("y", "answered", "They answered", tooltip="verify: you called a number on file"),
        Binding("n", "no_answer", "No answer"),
        Binding("n", "new_ticket", "New ticket"),
        Binding("a", "add_call", "Add to a ticket", tooltip="log this call on an open ticket"),
        Binding("i", "incident_call", "Incident", tooltip="the call is about an outage: no ticket"),
        Binding("enter", "submit", "Pick / open the ticket", show=False),
        Binding("f1", "help", "Help (even while typing)", show=False, priority=True),
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

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield self.header_bar("call-title")
        yield Input(
            placeholder="Who is calling? account, company, domain, e-mail, phone or #ticket",
            id="call-search",
            compact=True,
        )
        with Horizontal(id="call-body"):
            yield OptionList(id="call-list")
            yield AccountCard(self.desk.now, id="call-card")
        with Vertical(id="call-step"):
            yield VerdictPanel(id="call-verdict")
            with Horizontal(classes="call-row", id="row-pin"):
                yield Label("PIN", classes="call-label")
                yield PinInput(
                    password=True,
                    restrict=r"[0-9]*",
                    max_length=12,
                    id="call-pin",
                    compact=True,
                    select_on_focus=False,  # a digit typed ahead is kept, not replaced
                )
            yield TicketForm(id="call-form")
            with Horizontal(classes="call-row", id="row-notes"):
                yield Label("Notes", classes="call-label")
                yield Input(placeholder="what was said (optional)", id="call-notes", compact=True)
            yield Static(id="call-prompt", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        for box in self.query(Input):
            box.cursor_blink = False
        self._enter(CallStage.SEARCH)

    # -- stages -------------------------------------------------------------------------
    # Focus moves with `set_focus`, at once: `Widget.focus()` waits for the message queue,
    # so keys typed fast after a stage change would still reach the old widget.
    def _enter(self, stage: CallStage) -> None:
        """Show what `stage` needs, say what to do in words, and put the focus there."""
        self.stage = stage
        self.busy = False
        self.query_one("#call-search", Input).disabled = stage != CallStage.SEARCH
        self.query_one("#row-pin").display = stage == CallStage.PROOF
        self.query_one(TicketForm).display = stage == CallStage.NEW
        self.query_one("#row-notes").display = stage == CallStage.NOTES
        verdict = self.query_one(VerdictPanel)
        verdict.display = (
            stage in (CallStage.VERDICT, CallStage.ADD, CallStage.NOTES)
            and self.verdict is not None
        )
        if stage in (CallStage.SEARCH, CallStage.CONTACT):
            self.verdict = None
            verdict.show(None, self.now())
        listing = self.query_one(OptionList)
        if stage == CallStage.SEARCH:
            self.account = None
            self.caller = None
            self._fill_hits()
            self.set_focus(self.query_one("#call-search", Input))
        elif stage == CallStage.CONTACT:
            self.caller = None
            self._fill_contacts()
            self.set_focus(listing)
        elif stage == CallStage.PROOF:
            self._ask_pin()
        elif stage == CallStage.CALLBACK:
            self._fill_phones()
            self.set_focus(listing)
        elif stage == CallStage.ANSWERED:
            self.set_focus(listing)
        elif stage == CallStage.VERDICT:
            self.set_focus(verdict)
        elif stage == CallStage.NEW:
            self._open_form()
        elif stage == CallStage.ADD:
            self._fill_tickets()
            self.set_focus(listing)
        elif stage == CallStage.NOTES:
            self._ask_notes()
        self._paint()
        self.refresh_bindings()
        self._settle_keys()

    # -- type-ahead ---------------------------------------------------------------------
    def holds_after(self, event: events.Key) -> bool:
        self.key_pending = self._starts_work(event)
        return self.key_pending

    def _starts_work(self, event: events.Key) -> bool:
        """Whether keys typed after `event` wait while what it starts resolves: the account picked
        (its results, then its contacts), the caller checked, the ticket filed
        (console/key_gate.py). Only keys this screen will act on: each releases."""
        key, stage = event.key, self.stage
        focused = self.focused.id if self.focused is not None else None
        listing = self.query_one(OptionList)
        if stage == CallStage.SEARCH:
            return key == "enter" and focused == "call-search"
        if stage in (CallStage.CONTACT, CallStage.CALLBACK, CallStage.ADD):
            if key.isdigit():  # a ticket picked (contacts and numbers: a highlight only)
                return stage == CallStage.ADD and 0 < int(key) <= listing.option_count
            return key == "enter" and focused == "call-list" and listing.highlighted is not None
        if stage == CallStage.PROOF:
            return key == "enter" and focused == "call-pin"
        if stage == CallStage.ANSWERED:
            return key in ("y", "n")
        if stage in (CallStage.NEW, CallStage.NOTES):
            return key == "enter"
        return False

    def _resolving(self) -> bool:
        if self.key_pending or self.busy or self.pick_pending:
            return True
        card = self.card
        # the contacts come with the account's card: a digit typed ahead picks from them
        return self.stage == CallStage.CONTACT and (card is None or card.account.id != self.account)

    def on_unmount(self) -> None:
        if not self.filed:  # else the ticket's screen, once mounted
            self.desk_app.key_gate.release()

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
        bar = self.query_one("#call-title", HeaderBar)
        title.truncate(bar.room(width - 2), overflow="ellipsis")
        bar.update(title)
        self.query_one("#call-prompt", Static).update(self._prompt(width - 2))

    def _prompt(self, width: int) -> Text:
        """What to do now, in words: each part says it for its own stages."""
        text = Text()
        if self.busy:
            text.append("Checking…", style="bold")
        else:
            self._search_prompt(text)
            self._proof_prompt(text)
            self._filing_prompt(text)
        text.truncate(max(10, width * 2), overflow="ellipsis")
        return text

    def action_back(self) -> None:
        """Esc: a step back (`stages.BACK`); from the search, the screen closes."""
        if self.busy:
            return
        if self.stage == CallStage.SEARCH:
            self.dismiss()
        elif self.stage == CallStage.VERDICT and self.verdict and self.verdict.state == REFERRED:
            self._enter(CallStage.SEARCH)
        else:
            self._enter(BACK[self.stage])

    def new_call(self) -> None:
        """ctrl+k again: start over with an empty search."""
        if self.busy:
            return
        search = self.query_one("#call-search", Input)
        self.hits = []
        self.card = None
        self.verdict = None
        self.query_one(AccountCard).show(None, self.now())
        self._enter(CallStage.SEARCH)
        search.value = ""

    # -- the list beside the card -------------------------------------------------------
    @on(OptionList.OptionSelected, "#call-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option_index)

    def action_pick(self, n: int) -> None:
        """A digit: on the contacts and the numbers to call back it only moves the
        highlight (Enter picks: a callback never starts by accident); on the open tickets it
        picks; after NOT VERIFIED it starts the PIN again."""
        if self.stage in (CallStage.CONTACT, CallStage.CALLBACK):
            self._point_at(n - 1)
        else:
            self._choose(n - 1)

    def on_key(self, event: events.Key) -> None:
        """After NOT VERIFIED a digit is the PIN tried again (not dropped, and no binding:
        the footer keeps showing what the letters do)."""
        if self._failed() and event.character is not None and event.character.isdigit():
            event.stop()
            event.prevent_default()
            self._retry_pin(event.character)

    def _point_at(self, index: int) -> None:
        self._key_seen()
        listing = self.query_one(OptionList)
        if 0 <= index < listing.option_count:
            listing.highlighted = index
            self._paint()
        self._settle_keys()

    def action_help(self) -> None:
        """Every key of the call, whatever the stage (console/screens/modals.py)."""
        from supportdesk.console.screens.modals import HelpModal, every_key_row

        self.app.push_screen(HelpModal(self, self.HELP, every_key_row(self)))

    def _choose(self, index: int) -> None:
        """The `index`th line of the list, in whatever the stage lists."""
        self._key_seen()
        if self.busy:
            self._settle_keys()
            return
        stage = self.stage
        listing = self.query_one(OptionList)
        if not 0 <= index < listing.option_count:
            self._settle_keys()
            return
        option_id = listing.get_option_at_index(index).id or ""
        listing.highlighted = index  # a digit key picks what the list then shows picked
        if stage == CallStage.SEARCH:
            self._pick_account(option_id)
        elif stage == CallStage.CONTACT:
            self._pick_contact(option_id)
        elif stage in (CallStage.CALLBACK, CallStage.ANSWERED):
            self._pick_number(option_id)
        elif stage == CallStage.ADD:
            self._pick_ticket(option_id)
        self._settle_keys()

    def action_move(self, step: int) -> None:
        listing = self.query_one(OptionList)
        if not listing.option_count:
            return
        if step > 0:
            listing.action_cursor_down()
        else:
            listing.action_cursor_up()

    def on_resize(self) -> None:
        self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        """Lay the list, the card and the prompt out again for a new terminal size."""
        listing = self.query_one(OptionList)
        highlighted = listing.highlighted
        fill = {
            CallStage.SEARCH: self._fill_hits,
            CallStage.CONTACT: self._fill_contacts,
            CallStage.ADD: self._fill_tickets,
        }
        if self.stage in fill:
            fill[self.stage]()
            if highlighted is not None and highlighted < listing.option_count:
                listing.highlighted = highlighted
        if self.card is not None:
            self.query_one(AccountCard).show(self.card, self.now())
        self._paint()

    # -- keys -----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick":
            return self.stage in LIST_STAGES
        if action == "move":
            return self.stage in LIST_STAGES
        if action == "incident_call":
            return (
                self.stage in (CallStage.CONTACT, CallStage.CALLBACK, CallStage.VERDICT)
                and self.card is not None
                and bool(self.card.incidents)
            )
        for part_key in (self._proof_key, self._filing_key):
            allowed = part_key(action)
            if allowed is not None:
                return allowed
        return True

    def action_field(self, step: int) -> None:
        if self.stage != CallStage.NEW:
            if step > 0:
                self.focus_next()
            else:
                self.focus_previous()
            return
        fields = self.query_one(TicketForm).fields()
        if not fields:
            return
        focused = self.focused
        i = fields.index(focused) if focused in fields else -1
        self.set_focus(fields[(i + step) % len(fields)])

    def action_incident_call(self) -> None:
        """i: the caller is calling about an outage on their server: the call is recorded
        against the incident (who, verified or not), no ticket is opened, and the screen is
        ready for the next caller."""
        from supportdesk.console.screens.incident_link import link_call

        card = self.card
        if card is None or self.busy:
            return
        contact = self._contact()
        v = self.verdict
        link_call(
            self,
            card.account.id,
            card.incidents,
            contact_id=contact.id if contact is not None else None,
            verification_id=v.verification_id if v is not None else None,
            done=self.new_call,
        )

    def on_failure(self, worker_name: str, error: BaseException) -> None:
        if worker_name in ("call-verify", "call-file"):
            self.busy = False
            self._paint()
        if worker_name == "call-search":
            self.pick_pending = False
        self._settle_keys()
