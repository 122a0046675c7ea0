"""supportdesk: a keyboard-first terminal console for a hosting company's support desk."""

__version__ = "0.1.0"
