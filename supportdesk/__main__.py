"""`python -m supportdesk` runs the CLI."""

from supportdesk.cli import main

main()
