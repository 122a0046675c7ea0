"""What the parts of the call screen share: where the call is (its stage), the account and
its card, who the caller says they are, the verdict, and the list beside the card.

The screen is three parts over this class, each in a module of its own:
`search.CallSearch` (the account as the agent types, its card, its contacts),
`proof.CallProof` (which contact the caller is, the PIN or a callback, the verdict) and
`ticket_form.CallFiling` (a new ticket, or the call added to an open one).
`screen.CallScreen` composes the widgets, holds the keys and moves between the stages; the
parts reach one another only through what is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.widgets import OptionList

from supportdesk.console.screens.base import DeskScreen
from supportdesk.console.screens.call.stages import CallStage

if TYPE_CHECKING:
    from datetime import datetime

    from textual.widgets.option_list import Option

    from supportdesk.core.views import ContactView
    from supportdesk.services.callers.lookup import CallCard
    from supportdesk.services.callers.verification import Verdict


@dataclass(frozen=True)
class Caller:
    """Who the caller says they are: a contact of the account, or None (not listed)."""

    contact: ContactView | None


class CallBase(DeskScreen):
    """The state of one call, and the list beside the card that every stage fills."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.stage = CallStage.SEARCH
        self.busy = False  # a check or a write is in flight: keys that would race it wait
        self.account: str | None = None  # the account picked (None while searching)
        self.card: CallCard | None = None
        self.caller: Caller | None = None
        self.verdict: Verdict | None = None
        self.key_pending = False  # a key the app holds type-ahead for is not handled yet

    # -- the screen's: CallScreen moves between the stages and paints the title and prompt
    def _enter(self, stage: CallStage) -> None:
        """Show what `stage` needs, say what to do in words, and put the focus there."""
        raise NotImplementedError

    def _paint(self) -> None:
        """The title bar and the prompt: where the call is, and what the keys do now."""
        raise NotImplementedError

    # -- type-ahead (console/key_gate.py) ----------------------------------------------
    def _resolving(self) -> bool:
        """Work an earlier key started is still under way: keys typed since wait."""
        raise NotImplementedError

    def _key_seen(self) -> None:
        """The key the gate is held for reached its handler (what it starts may still
        keep the gate held)."""
        self.key_pending = False

    def _settle_keys(self) -> None:
        """Let the keys typed ahead through once nothing is resolving any more (the focus
        is then where the next key belongs)."""
        if not self._resolving():
            self.desk_app.key_gate.release()

    # -- shared -------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.desk.now()

    def _contact(self) -> ContactView | None:
        """The contact the caller says they are (None: not listed, or not picked yet)."""
        return self.caller.contact if self.caller else None

    def _list_width(self) -> int:
        return max(20, self.query_one(OptionList).size.width - 2)

    def _set_options(self, options: list[Option], highlight: int | None = 0) -> None:
        listing = self.query_one(OptionList)
        listing.set_options(options)
        listing.highlighted = highlight if options else None
