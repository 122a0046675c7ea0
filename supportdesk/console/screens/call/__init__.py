"""The call screen (ctrl+k): find the caller's account, verify the caller, open or add to a
ticket. `screen` composes the parts (`search`, `proof`, `ticket_form`) and moves between the
stages of `stages`."""

from supportdesk.console.screens.call.proof import PinInput
from supportdesk.console.screens.call.screen import CallScreen
from supportdesk.console.screens.call.stages import CallStage

__all__ = ["CallScreen", "CallStage", "PinInput"]
