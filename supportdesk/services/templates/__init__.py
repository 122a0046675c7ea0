"""Templates (issue 20): canned replies and the desk's automatic messages, kept by leads,
rendered in a sandbox (rules/templating.py) from a ticket's plain facts."""

from __future__ import annotations

from supportdesk.services.templates.keeping import (
    TemplateView,
    add,
    edit,
    list_templates,
    remove,
    show,
)
from supportdesk.services.templates.replying import Filled, fill, reply_with

__all__ = [
    "Filled",
    "TemplateView",
    "add",
    "edit",
    "fill",
    "list_templates",
    "remove",
    "reply_with",
    "show",
]
