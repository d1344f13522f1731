"""How the command modules declare their commands: groups, commands, shared options, number types.

A command module exposes `register(commands)`; each command's handler is set with
`parser.set_defaults(handler=...)` (the `command()` helper does it).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from frontdesk.cli.context import CliContext

if TYPE_CHECKING:
    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

Handler: TypeAlias = Callable[[argparse.Namespace, CliContext], int]


# No id or count goes beyond the database's integer (a larger one failed as an OverflowError).
LARGEST = 2**63 - 1


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum` (and at most LARGEST)."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more")
        if number > LARGEST:
            raise argparse.ArgumentTypeError(f"too large: {value!r}")
        return number

    return parse


positive = whole_number(1)
not_negative = whole_number(0)
# Any whole number, for a value the command checks itself (a thread's --page: 0 is told which
# pages there are, like 99).
whole = whole_number(-LARGEST)


def group(commands: Commands, name: str, help_text: str) -> Commands:
    """A command group (`frontdesk NAME COMMAND`); returns where its commands go."""
    parser = commands.add_parser(name, help=help_text, description=help_text)
    inner = parser.add_subparsers(title="commands", metavar="COMMAND")
    inner.required = True
    return inner


def command(
    commands: Commands, name: str, handler: Handler, help_text: str, **kwargs: Any
) -> argparse.ArgumentParser:
    """A command run by `handler(args, ctx)`."""
    parser = commands.add_parser(name, help=help_text, description=help_text, **kwargs)
    parser.set_defaults(handler=handler)
    return parser


def add_yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--yes", "-y", action="store_true", help="do it without asking (needed without a terminal)"
    )


def add_json(parser: argparse.ArgumentParser, help: str = "JSON output for scripts") -> None:
    parser.add_argument("--json", action="store_true", help=help)
