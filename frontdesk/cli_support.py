"""What every CLI command module shares: the error type, the context, confirmations, JSON output.

Command modules (`frontdesk/cli.py`, `frontdesk/cli_mail.py`, `frontdesk/cli_web.py`) expose
`register(subparsers)`; each handler is `handler(args, ctx) -> int` and is set with
`parser.set_defaults(handler=...)`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from frontdesk.clock import Clock
from frontdesk.config import Settings, load_settings
from frontdesk.services import Services, build_services


class CliError(Exception):
    """A failure to report as one line on stderr, exit code 1."""


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

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    def services(self) -> Services:
        if self._services is None:
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
        self.stderr.print(f"{question} [y/N] ", end="", markup=False)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise CliError("cancelled; nothing was changed")


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
