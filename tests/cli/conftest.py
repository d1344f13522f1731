"""Run the command line in-process (`main(argv, ctx)`) against real databases, with a frozen
clock, and capture what a person (or a script) would see."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from frontdesk.cli import COMMANDS, CommandGroup, main
from frontdesk.cli.context import CliContext
from frontdesk.core.clock import FrozenClock
from tests.mail.conftest import start_smtp  # noqa: F401  (the real SMTP server fixture)

# The end of the line after an action that queued email: the command line only queues it.
SENDS_IT = "`frontdesk serve` (or `frontdesk outbox deliver`) sends it."
SENDS_THEM = "`frontdesk serve` (or `frontdesk outbox deliver`) sends them."
CSV_HEADER = (
    "chart_number,first_name,last_name,preferred_name,date_of_birth,email,phone,"
    "contact_name,contact_relationship,contact_email"
)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


class Cli:
    """`cli("charts", "list")` runs `frontdesk charts list` and returns code, stdout, stderr.
    `groups` is the command table it runs with (a test may add a group of its own)."""

    def __init__(
        self, capsys: pytest.CaptureFixture[str], clock: FrozenClock, mp: pytest.MonkeyPatch
    ) -> None:
        self.capsys = capsys
        self.clock = clock
        self.mp = mp
        self.groups: Sequence[CommandGroup] = COMMANDS

    def __call__(self, *argv: str, tty: bool = False, answer: str | None = None) -> Result:
        if answer is not None:
            self.mp.setattr(sys, "stdin", io.StringIO(answer + "\n"))
        ctx = CliContext(clock=self.clock, stdin_is_tty=lambda: tty)
        code = main(list(argv), ctx, groups=self.groups)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def ok(self, *argv: str, **kwargs: Any) -> Result:
        result = self(*argv, **kwargs)
        assert result.code == 0, result.err
        assert result.err == "", result.err
        return result

    def fails(self, *argv: str, **kwargs: Any) -> str:
        """Run a command that must fail with exit 1 and one line on stderr; return that line."""
        result = self(*argv, **kwargs)
        assert result.code == 1, (result.code, result.out, result.err)
        assert len(result.err_lines) == 1, result.err
        assert "Traceback" not in result.err
        line = result.err_lines[0]
        assert line.startswith("frontdesk: error: "), line
        return line


def _environment(mp: pytest.MonkeyPatch, url: str) -> None:
    mp.setenv("FRONTDESK_DATABASE_URL", url)
    mp.setenv("FRONTDESK_PUBLIC_URL", "http://127.0.0.1:8080")
    mp.setenv("FRONTDESK_MAIL_FROM", "portal@cedar.example")
    mp.setenv("SUDO_USER", "alice")  # the staff actor recorded in the audit trail
    mp.setenv("COLUMNS", "220")  # wide enough that no table cell wraps


@pytest.fixture
def cli(
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    """The command line against SQLite and (second run) PostgreSQL."""
    _environment(monkeypatch, db_url)
    return Cli(capsys, clock, monkeypatch)


@pytest.fixture
def lite(
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    """The command line against SQLite only (for the many quick bad-input checks)."""
    _environment(monkeypatch, sqlite_url)
    return Cli(capsys, clock, monkeypatch)


def set_up_practice(cli: Cli) -> None:
    cli.ok("practice", "set", "--name", "Cedar Counseling", "--phone", "555-0100", "--portal", "on")


def add_chart(cli: Cli, number: str = "C-1", last: str = "O'Brien", **extra: str) -> None:
    argv = ["charts", "add", "--number", number, "--first", extra.pop("first", "Ana")]
    argv += ["--last", last, "--dob", extra.pop("dob", "1985-03-04")]
    argv += ["--email", extra.pop("email", "ana@example.com")]
    for key, value in extra.items():
        argv += [f"--{key}", value]
    cli.ok(*argv)


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """write_csv(lines, name=...) writes lines as a CSV file (CRLF, as spreadsheets do)."""

    def write(lines: list[str], name: str = "charts.csv", *, bom: bool = True) -> Path:
        path = tmp_path / name
        text = "\r\n".join(lines) + "\r\n"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        return path

    return write
