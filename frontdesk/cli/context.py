"""What every command module shares: the context of one invocation, its error types, cells.

Each handler is `handler(args, ctx) -> int`. Client data is shown literally: put it in tables
through `cell()` (a rich `Text`, never markup) and print sentences with `ctx.say()`. Times are
shown in the practice's time zone (`ctx.when`). Nothing here loads the database layer: the
services are built on first use.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.text import Text

from frontdesk.core.clock import Clock, as_utc, human_time
from frontdesk.core.config import Settings, load_settings
from frontdesk.core.errors import FrontDeskError, InvalidInput
from frontdesk.core.text import single_line

if TYPE_CHECKING:
    from frontdesk.services import Services


class CliError(FrontDeskError):
    """A failure to report as one line on stderr, exit code 1."""


class UsageError(Exception):
    """Arguments that parse but do not fit together (exit code 2)."""


def field_error(error: InvalidInput, options: dict[str, str]) -> CliError:
    """An InvalidInput as one line naming the command-line option it came from."""
    option = options.get(error.field or "")
    return CliError(f"{option}: {error}" if option else str(error))


@dataclass
class CliContext:
    """Lazily built collaborators for one command invocation."""

    config_path: Path | None = None
    clock: Clock | None = None
    stdout: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=False))
    stderr: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))
    _settings: Settings | None = None
    _services: Services | None = None
    stdin_is_tty: Callable[[], bool] = field(default=lambda: sys.stdin.isatty())
    _zone: ZoneInfo | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    def services(self) -> Services:
        if self._services is None:
            from frontdesk.services import build_services  # the database layer loads now

            self._services = build_services(self.settings(), clock=self.clock)
        return self._services

    def close(self) -> None:
        if self._services is not None:
            self._services.close()

    def print_json(self, value: Any) -> None:
        """Write `value` as JSON to stdout (datetimes as ISO 8601 with offset)."""
        self.stdout.file.write(json.dumps(value, default=_json_default, indent=2) + "\n")
        self.stdout.file.flush()

    def confirm(self, question: str, *, assume_yes: bool) -> None:
        """Ask before an action; refuse without a TTY unless --yes was given."""
        if assume_yes:
            return
        if not self.stdin_is_tty():
            raise CliError("refusing to act without confirmation: no terminal; pass --yes")
        self.stderr.print(Text(f"{single_line(question)} [y/N] "), end="", soft_wrap=True)
        self.stderr.file.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise CliError("cancelled; nothing was changed")

    def say(self, message: str | Text) -> None:
        """Print a sentence for a person (literally: data in it is never read as markup)."""
        text = message if isinstance(message, Text) else Text(single_line(message))
        self.stdout.print(text, soft_wrap=True)

    def error(self, message: str) -> None:
        """Write the one line that reports a failure."""
        self._line(f"frontdesk: error: {single_line(message)}")

    def warn(self, message: str) -> None:
        self._line(f"frontdesk: warning: {single_line(message)}")

    def _line(self, line: str) -> None:
        self.stderr.file.write(line + "\n")
        self.stderr.file.flush()

    def zone(self) -> ZoneInfo:
        """The practice's time zone (UTC when it is unknown)."""
        if self._zone is None:
            self._zone = self.services().practice.zone()
        return self._zone

    def now(self) -> datetime:
        return self.services().clock.now()

    def when(self, value: datetime | None) -> str:
        """A time for people, in the practice's zone: "Thu Dec 3, 4:00 PM" ("" for None)."""
        if value is None:
            return ""
        return human_time(value, self.zone(), self.now())

    def day(self, value: datetime) -> str:
        """A date for people, in the practice's zone: "Dec 3" (with the year when not this one)."""
        local = as_utc(value).astimezone(self.zone())
        text = f"{local:%b} {local.day}"
        if local.year != self.now().astimezone(self.zone()).year:
            text += f", {local.year}"
        return text


def cell(value: object) -> Text:
    """A table cell showing `value` literally, with control characters removed."""
    if value is None:
        return Text("")
    return Text(single_line(str(value)))


def iso(value: datetime | None) -> str | None:
    """A time for `--json`: ISO 8601 in UTC with its offset."""
    return as_utc(value).isoformat() if value is not None else None


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
