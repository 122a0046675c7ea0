"""Moved to `supportdesk.errors` (a re-export while the house is reshaped)."""

from supportdesk.errors import *  # noqa: F403
