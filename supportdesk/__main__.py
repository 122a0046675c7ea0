"""`python -m supportdesk` runs the CLI."""

from .cli import main

main()
