"""The support command line: `frontdesk COMMAND ...` (see DESIGN.md, "Command line").

Rich tables for people, `--json` for scripts. Exit codes: 0 done, 1 error (one line on stderr),
2 usage, 130 interrupted. Every action asks first unless `--yes`, and refuses without a terminal.
Plain `frontdesk` opens the terminal UI (imported only then).

One module per command group, each with `register(commands)`, its handlers and its `--json`
shapes; `COMMANDS` lists them in the order `frontdesk --help` shows them. `report_failure` is
the one place a failure becomes its line on stderr and its exit code. Nothing imported here
loads Textual, the database layer or Starlette: each command loads what it needs when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from frontdesk.cli import (
    audit,
    charts,
    contacts,
    db,
    demo,
    doctor,
    email,
    inbox,
    invites,
    messages,
    outbox,
    owner,
    practice,
    serve,
    signin,
    smtp,
)
from frontdesk.cli.context import CliContext, CliError, UsageError
from frontdesk.core.errors import FrontDeskError

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands, Handler

__all__ = [
    "COMMANDS",
    "CliContext",
    "CliError",
    "CommandGroup",
    "build_parser",
    "main",
    "report_failure",
]


class CommandGroup(Protocol):
    """A command module (or any object) that adds its commands to `frontdesk`."""

    def register(self, commands: Commands) -> None: ...


COMMANDS: tuple[CommandGroup, ...] = (
    db,
    practice,
    charts,
    contacts,
    invites,
    owner,
    signin,
    messages,
    inbox,
    audit,
    outbox,
    email,
    smtp,
    serve,
    doctor,
    demo,
)


def build_parser(groups: Sequence[CommandGroup] = COMMANDS) -> argparse.ArgumentParser:
    """The whole command line: every group of `groups` adds its commands."""
    parser = argparse.ArgumentParser(
        prog="frontdesk",
        description="FrontDesk: get every client of the practice onto its Client Portal. "
        "Without a command, opens the terminal UI.",
    )
    parser.add_argument(
        "--config", type=Path, metavar="PATH", help="settings file (default: FRONTDESK_CONFIG)"
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for group in groups:
        group.register(commands)
    return parser


def open_tui(args: argparse.Namespace, ctx: CliContext) -> int:
    """Plain `frontdesk`: the terminal UI (imported only now, so the CLI never needs it)."""
    try:
        from frontdesk.app import FrontDeskApp
    except ImportError:
        raise CliError("the terminal UI is not available in this build") from None
    ctx.settings()  # a configuration mistake is one line here, before the screen opens
    # The database layer loads and the store opens behind the first screen (a factory).
    FrontDeskApp(services=ctx.services).run()
    return 0


def main(
    argv: Sequence[str] | None = None,
    ctx: CliContext | None = None,
    *,
    groups: Sequence[CommandGroup] = COMMANDS,
) -> int:
    """Run one command; return the exit code. Every failure is one line on stderr."""
    parser = build_parser(groups)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    ctx = ctx or CliContext()
    handler: Handler = getattr(args, "handler", None) or open_tui
    try:
        if args.config is not None:
            if not args.config.is_file():
                raise CliError(f"--config: no such file: {args.config}")
            ctx.config_path = args.config
        return handler(args, ctx)
    except KeyboardInterrupt:
        ctx.error("interrupted")
        return 130
    except Exception as exc:
        code = report_failure(ctx, exc)
        if code is None:
            raise
        return code
    finally:
        ctx.close()


def report_failure(ctx: CliContext, exc: Exception) -> int | None:
    """The one mapping of a failure to its line on stderr and its exit code: 2 for usage, 1
    otherwise. None when it is unexpected and FRONTDESK_DEBUG asks for the traceback."""
    if isinstance(exc, UsageError):
        ctx.error(str(exc))
        return 2
    if isinstance(exc, FrontDeskError) or _is_a(exc, "store.db", "StoreError"):
        ctx.error(str(exc))
        return 1
    if isinstance(exc, BrokenPipeError):  # the reader of our output went away (`| head`)
        _silence_stdout()
        return 1
    if isinstance(exc, OSError):
        ctx.error(_os_message(exc))
        return 1
    if _is_a(exc, "sqlalchemy.exc", "SQLAlchemyError"):
        from store.db import describe_error

        ctx.error(f"Database error: {describe_error(exc)}")
        return 1
    if os.environ.get("FRONTDESK_DEBUG"):
        return None
    # last resort: one line, never a traceback for staff
    ctx.error(f"unexpected {type(exc).__name__}: {exc} (run with FRONTDESK_DEBUG=1 for details)")
    return 1


def _is_a(exc: Exception, module: str, name: str) -> bool:
    """Whether `exc` is a `module.name`. Looked up only if that module is loaded: a module that
    never loaded raised nothing (and `frontdesk --help` never loads the database layer)."""
    kind = getattr(sys.modules.get(module), name, None)
    return isinstance(kind, type) and isinstance(exc, kind)


def _os_message(exc: OSError) -> str:
    if exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename}"
    return str(exc.strerror or exc)


def _silence_stdout() -> None:
    """After the reader of our output went away, drop whatever is still buffered."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return
