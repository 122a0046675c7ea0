"""The stages of a call, in the order an agent meets them:

    SEARCH -> CONTACT -> PROOF (the PIN) ---------> VERDICT -> NEW (a ticket)
                      -> CALLBACK -> ANSWERED --->          -> ADD (an open one) -> NOTES

and where Esc goes back to from each (from SEARCH it closes the screen).
"""

from __future__ import annotations

from enum import StrEnum


class CallStage(StrEnum):
    SEARCH = "search"  # what the caller gives is typed; results, and the highlighted card
    CONTACT = "contact"  # the account picked: which contact the caller says they are
    PROOF = "proof"  # the support PIN, typed masked
    CALLBACK = "callback"  # which number on file to call back
    ANSWERED = "answered"  # that number called: did the contact answer?
    VERDICT = "verdict"  # verified, failed, locked, held or referred
    NEW = "new"  # the new-ticket form
    ADD = "add"  # which open ticket the call goes on
    NOTES = "notes"  # what was said, logged on that ticket


# the stages where the list beside the card is what the digits and arrows pick from
LIST_STAGES = frozenset(
    {CallStage.SEARCH, CallStage.CONTACT, CallStage.CALLBACK, CallStage.ANSWERED, CallStage.ADD}
)

# Esc: the stage before (but a referral's verdict goes back to SEARCH: no contact to pick)
BACK: dict[CallStage, CallStage] = {
    CallStage.CONTACT: CallStage.SEARCH,
    CallStage.PROOF: CallStage.CONTACT,
    CallStage.CALLBACK: CallStage.CONTACT,
    CallStage.ANSWERED: CallStage.CALLBACK,
    CallStage.VERDICT: CallStage.CONTACT,
    CallStage.NEW: CallStage.VERDICT,
    CallStage.ADD: CallStage.VERDICT,
    CallStage.NOTES: CallStage.ADD,
}
