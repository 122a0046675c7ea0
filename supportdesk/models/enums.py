"""Moved to `supportdesk.enums` (a re-export while the house is reshaped)."""

from supportdesk.enums import *  # noqa: F403
