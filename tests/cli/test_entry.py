"""The entry point: real processes never show a traceback; the command table (every group
registers its commands, a broken one stops `frontdesk`), `--help` loads nothing heavy, the
terminal UI, interrupts."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from frontdesk.cli import COMMANDS, build_parser
from frontdesk.cli.context import CliContext, CliError

from .conftest import Cli, set_up_practice

FRONTDESK = Path(sys.executable).with_name("frontdesk")


def _run(
    argv: list[str], env: dict[str, str], *, module: bool = True
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "frontdesk.cli", *argv] if module else [str(FRONTDESK), *argv]
    return subprocess.run(
        command,
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_real_processes_fail_in_one_line(lite: Cli, sqlite_url: str) -> None:
    set_up_practice(lite)
    lite.ok("charts", "add", "--number", "C-1", "--first", "A", "--last", "B", "--dob",
            "1990-01-01", "--email", "a@example.com")  # fmt: skip
    lite.ok("invites", "send", "C-1", "--yes")
    sqlite = {"FRONTDESK_DATABASE_URL": sqlite_url}
    unknown = _run(["charts", "show", "C-404"], sqlite)
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "frontdesk: error: No chart with number 'C-404'.\n",
    )
    # stdin is not a terminal: without --yes the action is refused.
    refused = _run(["invites", "revoke", "C-1"], sqlite, module=False)
    assert (refused.returncode, refused.stderr) == (
        1,
        "frontdesk: error: refusing to act without confirmation: no terminal; pass --yes\n",
    )
    wrong = _run(["charts", "list"], {"FRONTDESK_DATABASE_URL": "nonsense://"}, module=False)
    assert (wrong.returncode, wrong.stderr.count("\n")) == (1, 1)
    assert wrong.stderr.startswith("frontdesk: error: Unsupported database 'nonsense'")
    helped = _run(["--help"], sqlite, module=False)
    assert helped.returncode == 0 and "invites" in helped.stdout and "audit" in helped.stdout
    assert "Traceback" not in unknown.stderr + refused.stderr + wrong.stderr + helped.stderr


EVERY_COMMAND = {
    "db", "practice", "charts", "contacts", "invites", "owner", "signin", "audit",
    "outbox", "email", "smtp", "serve", "doctor", "demo", "messages", "inbox",
}  # fmt: skip


def _commands_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


def test_every_group_in_the_table_registers_its_commands(sqlite_url: str) -> None:
    """The command table is plain data: each group module adds its own commands, and the
    command line is exactly their union (no placeholders), all of it listed by `--help`."""
    union: set[str] = set()
    for group in COMMANDS:
        alone = argparse.ArgumentParser(prog="frontdesk")
        group.register(alone.add_subparsers())
        added = set(_commands_of(alone))
        assert added, f"{group} registers no command"
        assert not added & union, f"{group} registers a command another group has"
        union |= added
    assert union == EVERY_COMMAND
    assert set(_commands_of(build_parser())) == EVERY_COMMAND
    helped = _run(["--help"], {"FRONTDESK_DATABASE_URL": sqlite_url}, module=False)
    assert helped.returncode == 0, helped.stderr
    listed = {line.split()[0] for line in helped.stdout.splitlines() if line.startswith("    ")}
    assert listed >= EVERY_COMMAND


BROKEN_MODULE = """
import importlib.abc, importlib.util, sys

class Broken(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        return importlib.util.spec_from_loader(name, self) if name == sys.argv[1] else None

    def exec_module(self, module):
        raise ImportError(f"cannot import name 'gone' from {module.__name__!r}")

sys.meta_path.insert(0, Broken())
from frontdesk.cli import main

raise SystemExit(main(["charts", "list", "--json"]))
"""


@pytest.mark.parametrize("module", ["frontdesk.cli.outbox", "frontdesk.cli.charts"])
def test_a_command_module_that_fails_to_import_stops_frontdesk(
    module: str, sqlite_url: str
) -> None:
    """A broken command module is an error at start (its ImportError), never a warning with
    the other commands carrying on."""
    done = subprocess.run(
        [sys.executable, "-c", BROKEN_MODULE, module],
        env={**os.environ, "FRONTDESK_DATABASE_URL": sqlite_url},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.rstrip().endswith(f"ImportError: cannot import name 'gone' from {module!r}")
    assert "warning" not in done.stderr


LAZY_PROBE = """
import contextlib, io, sys
from frontdesk.cli import build_parser, main

def paths(parser, path):
    yield path
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield from paths(sub, [*path, name])

with contextlib.redirect_stdout(io.StringIO()):
    for path in paths(build_parser(), []):
        assert main([*path, "--help"]) == 0, path
print(",".join(name for name in sys.argv[1:] if name in sys.modules))
"""


def test_help_loads_no_terminal_ui_database_layer_or_web_framework() -> None:
    """`frontdesk --help` and every command's help stay quick: Textual, SQLAlchemy and
    Starlette load in the commands that use them, when they run."""
    heavy = ["textual", "sqlalchemy", "sqlmodel", "alembic", "starlette", "uvicorn", "store.db"]
    done = subprocess.run(
        [sys.executable, "-c", LAZY_PROBE, *heavy],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""  # the names of the heavy modules that were loaded


def test_errors_in_command_handlers_are_one_line(
    lite: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        def refuse(args: argparse.Namespace, ctx: CliContext) -> int:
            raise CliError("no SMTP password is set")

        def crash(args: argparse.Namespace, ctx: CliContext) -> int:
            raise RuntimeError("boom\nsecond line")

        commands.add_parser("refuse").set_defaults(handler=refuse)
        commands.add_parser("crash").set_defaults(handler=crash)

    lite.groups = (*COMMANDS, types.SimpleNamespace(register=register))  # a test-only group
    assert lite.fails("refuse") == "frontdesk: error: no SMTP password is set"
    assert lite.fails("crash") == (
        "frontdesk: error: unexpected RuntimeError: boom second line "
        "(run with FRONTDESK_DEBUG=1 for details)"
    )
    monkeypatch.setenv("FRONTDESK_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        lite("crash")


def test_plain_frontdesk_opens_the_terminal_ui(lite: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "frontdesk.app", None)
    assert lite.fails() == "frontdesk: error: the terminal UI is not available in this build"

    opened: list[object] = []

    class FrontDeskApp:
        def __init__(self, *, services: object) -> None:
            self.services = services

        def run(self) -> None:
            # The app is given a factory: the store opens behind its first screen.
            assert callable(self.services)
            opened.append(self.services())

    app_module = types.ModuleType("frontdesk.app")
    app_module.FrontDeskApp = FrontDeskApp  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "frontdesk.app", app_module)
    assert lite.ok().out == ""
    assert len(opened) == 1 and hasattr(opened[0], "invitations")
    # A configuration mistake is one line before any screen opens.
    monkeypatch.setenv("FRONTDESK_SMTP_PORT", "99999")
    assert "FRONTDESK_SMTP_PORT must be 1-65535" in lite.fails()
    assert len(opened) == 1


def test_ctrl_c_at_a_prompt_exits_130(lite: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    set_up_practice(lite)
    lite.ok("charts", "add", "--number", "C-1", "--first", "A", "--last", "B", "--dob",
            "1990-01-01", "--email", "a@example.com")  # fmt: skip

    class Interrupted:
        def readline(self) -> str:
            raise KeyboardInterrupt

    monkeypatch.setattr(sys, "stdin", Interrupted())
    result = lite("invites", "send", "C-1", tty=True)
    assert result.code == 130
    assert result.err.endswith("frontdesk: error: interrupted\n")
    assert lite("invites", "list", "--json").json() == []
