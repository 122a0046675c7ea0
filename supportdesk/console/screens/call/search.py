"""Finding the caller's account, and the contacts to say who is calling.

Results come as the agent types (a worker, 80 ms after the last key; a stale search is
dropped); beside them the highlighted account's card shows what matters before any question
(a worker too, once the highlight stops moving). Enter picks the highlighted account (the
first, while the results for what is typed are not in yet); the list then shows its contacts,
or the reseller to refer an end customer to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from supportdesk.console.screens.call.base import CallBase
from supportdesk.console.screens.call.stages import CallStage
from supportdesk.console.widgets.account_card import SHORT_ROLE, AccountCard, hit_text
from supportdesk.console.widgets.format import one_line, truncate
from supportdesk.services.callers import lookup

if TYPE_CHECKING:
    from textual.timer import Timer

    from supportdesk.services.callers.lookup import AccountHit, CallCard

SEARCH_DELAY = 0.08  # after the last key
CARD_DELAY = 0.1  # after the highlight stops moving


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


class CallSearch(CallBase):
    """The search box, its results in the list, the highlighted account's card; then the
    picked account's contacts in the list."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.generation = 0  # one more at every change of the search box
        self.shown_generation = -1  # the generation whose results are listed
        self.hits: list[AccountHit] = []
        self.pick_pending = False  # Enter came before the results for what is typed
        self.preselect: int | None = None  # the contact whose e-mail, phone or name matched
        self._search_timer: Timer | None = None
        self._card_timer: Timer | None = None

    # -- the list beside the card ---------------------------------------------------------
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
            prompt = Text(f"↪ refer the caller to {one_line(who)}")
            if a.referral is not None:  # the reseller's contact, to give the caller
                contact = truncate(a.referral.contact_line, max(8, self._list_width() - 4))
                prompt.append(f"\n    {contact}", style="bold")
            self._set_options([Option(prompt, id="refer")])
            return
        options = []
        width = self._list_width()
        highlight = 0
        for n, c in enumerate(a.contacts[:9], start=1):
            if c.id == self.preselect:
                highlight = n - 1  # found by their e-mail, phone or name: they are calling
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
        self._set_options(options, highlight)

    def _refill_contacts(self) -> None:
        """The contacts again from a card read again (a change in the store, or the read
        the highlight asked for arriving late): the contact the agent has moved to stays
        highlighted, by who it is, not by its line (Enter must pick the one on screen)."""
        listing = self.query_one(OptionList)
        option = listing.highlighted_option
        kept = option.id if option is not None else None
        self._fill_contacts()
        for index in range(listing.option_count if kept is not None else 0):
            if listing.get_option_at_index(index).id == kept:
                listing.highlighted = index
                break

    def _search_prompt(self, text: Text) -> None:
        """What to do while searching and while picking the contact."""
        if self.stage == CallStage.SEARCH:
            if self.hits:
                text.append("↑↓ choose · Enter picks the account · Esc closes")
            else:
                text.append("Type what the caller gives you · Esc closes")
        elif self.stage == CallStage.CONTACT:
            if self.card is None:
                text.append("Reading the account…")
            elif self.card.account.reseller:
                text.append("A reseller's customer: ", style="bold")
                text.append("Enter records the referral · Esc back")
            else:
                text.append("Who is the caller? ", style="bold")
                text.append("1-9 the contact they say they are, 0 not listed, then Enter")
                text.append(" · Esc back")

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
        if message.generation != self.generation or self.stage != CallStage.SEARCH:
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
            self._settle_keys()
        if self.hits:
            self._want_card(self.hits[0].account, now=True)
        else:
            self._clear_card("No account matches: try a domain, an e-mail address or a phone")

    @on(Input.Submitted, "#call-search")
    def _search_submitted(self, _event: Input.Submitted) -> None:
        self._key_seen()
        try:
            self._submit_search()
        finally:
            self._settle_keys()

    def _submit_search(self) -> None:
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
        if self.stage == CallStage.SEARCH and event.option.id:
            self._want_card(event.option.id)

    def _pick_account(self, account_id: str) -> None:
        self.account = account_id
        hit = next((h for h in self.hits if h.account == account_id), None)
        self.preselect = hit.contact if hit is not None else None
        if self.card is None or self.card.account.id != account_id:
            self.query_one(AccountCard).show(None, self.now(), "Reading the account…")
            self.load_card(account_id)
        self._enter(CallStage.CONTACT)

    # -- the card -----------------------------------------------------------------------
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
        if self.stage == CallStage.CONTACT:
            self._refill_contacts()
        self._paint()
        # keys that depend on the card ("i Incident" while its account is hit by one): a
        # card that lands after the stage changed left the footer without them
        self.refresh_bindings()
        self._settle_keys()

    def _highlighted_account(self) -> str | None:
        option = self.query_one(OptionList).highlighted_option
        return option.id if option is not None and self.stage == CallStage.SEARCH else None

    def reload(self) -> None:
        account = self.account or self._highlighted_account()
        if account is not None:
            self.load_card(account)
