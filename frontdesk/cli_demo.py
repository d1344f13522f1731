"""`frontdesk demo`: the command's arguments (the demo itself is `frontdesk.demo.stack`,
imported only when the command runs, so `frontdesk --help` stays quick)."""

from __future__ import annotations

import argparse
from typing import Any

from frontdesk.cli_support import CliContext

DEMO_CHARTS = 40
MAX_CHARTS = 1_000_000


def _charts(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 1 <= number <= MAX_CHARTS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_CHARTS:,}")
    return number


def register(subparsers: Any) -> None:
    """Add `demo` to the CLI."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="everything on an embedded default, for a first look",
        description=(
            "Start a demo practice: a fresh demo database (never your real one), a mail server "
            "on 127.0.0.1 that captures every email (Ctrl+O in the terminal UI shows them), the "
            "web endpoint on 127.0.0.1 where the emailed links work, and the terminal UI. "
            "Quitting stops it all."
        ),
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the demo database (under the user data dir) and continue with it next time",
    )
    parser.add_argument(
        "--charts",
        type=_charts,
        metavar="N",
        help=f"seed N charts (default {DEMO_CHARTS}; a large N tries the scale)",
    )
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.demo.stack import demo_command

    return demo_command(args, ctx)
