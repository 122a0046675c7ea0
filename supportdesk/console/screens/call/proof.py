"""Verifying the caller: which contact they say they are, then the proof, then the verdict.

    1-9 / 0      the contact the caller says they are / not listed (a held report)
    PIN, Enter   or c: call back a number on file, pick it, y when they answer
    verdict      VERIFIED / NOT VERIFIED / LOCKED / HELD / REFERRED, in words and colour

The PIN is masked while typed, wiped from the box as soon as it is submitted, and never
logged (the worker that checks it has a fixed description).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from supportdesk.console.screens.call.base import CallBase, Caller
from supportdesk.console.screens.call.stages import CallStage
from supportdesk.console.widgets.format import one_line
from supportdesk.console.widgets.verdict import VerdictPanel
from supportdesk.enums import Channel
from supportdesk.rules.verify_rules import FAILED, HELD, LOCKED, ROLE_LABEL, VERIFIED
from supportdesk.services.callers import verification

if TYPE_CHECKING:
    from supportdesk.core.views import ContactView
    from supportdesk.services.callers.verification import Verdict


class CallerVerified(Message):
    def __init__(self, verdict: Verdict, how: str) -> None:
        super().__init__()
        self.verdict = verdict
        self.how = how


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


def verdict_keys(v: Verdict) -> str:
    """The keys a verdict leaves the agent."""
    if v.state in (VERIFIED, HELD):
        return "n new ticket · a add this call to an open ticket · Esc another caller"
    if v.state == FAILED:
        return "type the PIN again (or p) · c call back instead · Esc another caller"
    if v.state == LOCKED:
        return "Esc another caller (0 there: not listed, a held report)"
    return "Esc another search"


class PinInput(Input):
    """The PIN box: digits only, masked. Any other printable key is not typed but passed
    on to the screen (c: call back instead)."""

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable and not (event.character or "").isdigit():
            event.prevent_default()  # not into the box; it still bubbles to the screen

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Only digits are typed here, so the footer shows the screen's letter keys."""
        return character is not None and character.isdigit()


class CallProof(CallBase):
    """The contact picked (or not listed), the PIN or the callback, and the verdict."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.number: str | None = None  # the number called back
        self.how = ""  # how the verdict was reached, in words ("PIN", "callback to ...")

    # -- who the caller is ----------------------------------------------------------------
    def _pick_contact(self, option_id: str) -> None:
        """A line of the contacts list: a contact, not listed, or the referral."""
        if option_id == "refer":
            self._verify(None, pin=None, number=None)
        elif option_id == "unlisted":
            if self.card is not None and not self.card.account.reseller:
                self.caller = Caller(None)
                self._verify(None, pin=None, number=None)
        elif self.card is not None:
            contact = next(c for c in self.card.account.contacts if f"c{c.id}" == option_id)
            self.caller = Caller(contact)
            self._enter(CallStage.PROOF if contact.has_pin else CallStage.CALLBACK)
            if not contact.has_pin:
                self.notify(
                    f"{contact.name} has no support PIN: call back a number on file",
                    timeout=4,
                )

    def action_not_listed(self) -> None:
        self._key_seen()
        try:
            self._not_listed()
        finally:
            self._settle_keys()

    def _not_listed(self) -> None:
        """0: "not listed" highlighted (Enter then holds the report for an owner)."""
        stage = self.stage
        if stage == CallStage.CONTACT and self.card is not None and not self.card.account.reseller:
            listing = self.query_one(OptionList)
            listing.highlighted = listing.option_count - 1  # "not listed" is the last line
            self._paint()

    def _failed(self) -> bool:
        v = self.verdict
        return self.stage == CallStage.VERDICT and v is not None and v.state == FAILED

    def _retry_pin(self, digit: str) -> None:
        """After NOT VERIFIED a digit is the PIN tried again: into the box, not dropped."""
        contact = self._contact()
        if contact is None or not contact.has_pin:
            self.notify("No PIN to try: c calls back a number on file", timeout=4)
            return
        self._enter(CallStage.PROOF)
        box = self.query_one(PinInput)
        box.insert_text_at_cursor(digit)

    # -- the PIN --------------------------------------------------------------------------
    def _ask_pin(self) -> None:
        pin = self.query_one(PinInput)
        pin.value = ""
        self.set_focus(pin)

    @on(Input.Submitted, "#call-pin")
    def _pin_submitted(self, event: Input.Submitted) -> None:
        self._key_seen()
        box = self.query_one(PinInput)
        pin = box.value
        box.value = ""  # wiped at once: the PIN is only in the worker's call from here
        if not pin:
            self.notify("Type the PIN the caller gives you", timeout=3)
        else:
            self._verify(self._ref(), pin=pin, number=None)
        self._settle_keys()

    def _ref(self) -> str | None:
        contact = self._contact()
        if contact is None or self.card is None:
            return None
        return contact_ref(contact, self.card.account.contacts)

    def action_pin(self) -> None:
        contact = self._contact()
        if contact is None:
            return
        if not contact.has_pin:
            self.notify(f"{contact.name} has no support PIN", timeout=3)
            return
        self._enter(CallStage.PROOF)

    # -- the callback ---------------------------------------------------------------------
    def action_callback(self) -> None:
        contact = self._contact()
        if contact is None:
            return
        if not contact.phones:
            self.notify(f"{contact.name} has no phone number on file", timeout=4)
            return
        self._enter(CallStage.CALLBACK)

    def _fill_phones(self) -> None:
        contact = self._contact()
        phones = contact.phones if contact else ()
        self._set_options(
            [
                Option(Text.assemble((f" {n} ", "bold reverse"), f" {one_line(p)}"), id=p)
                for n, p in enumerate(phones[:9], start=1)
            ]
        )

    def _pick_number(self, number: str) -> None:
        self.number = number
        self._enter(CallStage.ANSWERED)

    def action_answered(self) -> None:
        self._key_seen()
        if self.number is not None:
            self._verify(self._ref(), pin=None, number=self.number)
        self._settle_keys()

    def action_no_answer(self) -> None:
        self._key_seen()
        self.number = None
        contact = self._contact()
        has_pin = contact is not None and contact.has_pin
        self._enter(CallStage.PROOF if has_pin else CallStage.CALLBACK)

    # -- the verdict ----------------------------------------------------------------------
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
            self.desk, account, ref, Channel.PHONE, pin=pin, callback_number=number
        )
        self.post_message(CallerVerified(verdict, how))

    def on_caller_verified(self, message: CallerVerified) -> None:
        self.verdict = message.verdict
        self.how = message.how
        self.query_one(VerdictPanel).show(message.verdict, self.now(), how=message.how)
        self._enter(CallStage.VERDICT)

    # -- keys and words -------------------------------------------------------------------
    def _proof_key(self, action: str) -> bool | None:
        """Whether the proof key `action` works now (None: `action` is not one of them)."""
        stage = self.stage
        v = self.verdict
        failed = stage == CallStage.VERDICT and v is not None and v.state == FAILED
        if action == "not_listed":
            return (
                stage == CallStage.CONTACT
                and self.card is not None
                and not self.card.account.reseller
            )
        if action == "callback":
            return stage == CallStage.PROOF or failed
        if action == "pin":
            contact = self._contact()
            has_pin = contact is not None and contact.has_pin
            return has_pin and (stage in (CallStage.CALLBACK, CallStage.ANSWERED) or failed)
        if action in ("answered", "no_answer"):
            return stage == CallStage.ANSWERED
        return None

    def _proof_prompt(self, text: Text) -> None:
        """What to do while proving who the caller is, and at the verdict."""
        stage = self.stage
        contact = self._contact()
        name = one_line(contact.name) if contact is not None else ""
        if stage == CallStage.PROOF and contact is not None:
            text.append(f"{name}, {one_line(role_word(contact.role))}: ", style="bold")
            text.append("ask for the support PIN · Enter checks it · c call back instead")
        elif stage == CallStage.CALLBACK and contact is not None:
            text.append(f"Call {name} back on a number on file: ", style="bold")
            text.append(
                "1-9 choose · Enter calls it" + (" · p PIN instead" if contact.has_pin else "")
            )
            text.append(" · Esc back")
        elif stage == CallStage.ANSWERED and contact is not None:
            text.append(f"Call {one_line(self.number)} now. ", style="bold")
            text.append(f"y {name} answered · n no answer · Esc back")
        elif stage == CallStage.VERDICT and self.verdict is not None:
            text.append(verdict_keys(self.verdict))
