"""The call screen (ctrl+k): find the caller's account, verify the caller, open or add to a
ticket. See `screen` for the flow."""

from supportdesk.console.screens.call.screen import CallScreen, PinInput

__all__ = ["CallScreen", "PinInput"]
