"""`frontdesk demo [--keep] [--charts N]`: everything on an embedded default, for a first look.

This module is the command: its arguments, what it tells the person who ran it, and the
terminal UI on top of the demo's stack (`frontdesk.demo.stack`). The stack and the TUI are
imported only when the command runs, so `frontdesk --help` stays quick.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from frontdesk.cli.context import CliContext, CliError
from frontdesk.demo import DEMO_CHARTS

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands
    from frontdesk.demo.stack import DemoStack

MAX_CHARTS = 1_000_000


def _charts(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 1 <= number <= MAX_CHARTS:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_CHARTS:,}")
    return number


def register(commands: Commands) -> None:
    parser = commands.add_parser(
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
    parser.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace, ctx: CliContext) -> int:
    """Start the demo's stack, run the TUI on it, stop everything when the TUI quits."""
    from frontdesk.demo.stack import DEMO_DATABASE, DemoStack, demo_info, kept_directory

    charts: int = args.charts or DEMO_CHARTS
    if not ctx.stdin_is_tty():
        raise CliError("`frontdesk demo` opens the terminal UI: run it in a terminal")
    if args.keep:
        directory = kept_directory()
        continuing = (directory / DEMO_DATABASE).exists()
    else:
        directory = Path(tempfile.mkdtemp(prefix="frontdesk-demo-"))
        continuing = False
    say = ctx.stderr.print
    if continuing:
        if args.charts is not None:
            say(
                f"--charts is ignored: continuing with the kept demo database in {directory} "
                "(delete that folder to start afresh).",
                markup=False,
                highlight=False,
            )
        else:
            say(f"Continuing with the kept demo database in {directory}.", markup=False)
    else:
        wait = " (a large practice takes a little while)" if charts > 10_000 else ""
        say(f"Preparing the demo: a practice with {charts:,} charts{wait}…", markup=False)
    stack = DemoStack(
        directory / DEMO_DATABASE,
        charts=charts,
        reuse=args.keep,
        log_path=directory / "demo.log",
    )
    try:
        stack.start()
        _introduce(ctx, stack)
        from frontdesk.app import FrontDeskApp  # the TUI loads for this command only

        FrontDeskApp(services=stack.services, delivery=stack.deliver, demo=demo_info(stack)).run()
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    say("The demo has stopped: its web endpoint and mail server are closed.", markup=False)
    if args.keep:
        say(
            f"The demo database is kept at {directory / DEMO_DATABASE}; "
            "`frontdesk demo --keep` continues with it.",
            markup=False,
            highlight=False,
        )
    return 0


def _introduce(ctx: CliContext, stack: DemoStack) -> None:
    from frontdesk.demo.data import DEMO_PASSWORD

    lines = [
        f"Web endpoint (emailed links point here): {stack.web_url}",
        f"Mail server capturing every email: 127.0.0.1:{stack.smtp_port} "
        "(Ctrl+O in the terminal UI opens the Demo mailbox)",
        f"Clients registered in the demo data sign in with the password: {DEMO_PASSWORD}",
    ]
    for line in lines:
        ctx.stderr.print(line, markup=False, highlight=False, soft_wrap=True)
