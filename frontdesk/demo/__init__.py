"""`frontdesk demo`: the embedded stack (stack.py) and the data it seeds (data.py). The command
itself (its arguments, what it prints, the TUI on top) is `frontdesk.cli.demo`; nothing here
imports the command line."""

from __future__ import annotations

from frontdesk.core.errors import FrontDeskError

DEMO_CHARTS = 40  # charts a fresh demo database is seeded with


class DemoError(FrontDeskError):
    """The demo could not start (one line for the person who ran it)."""
