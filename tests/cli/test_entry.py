"""The entry point: real processes never show a traceback; plug-in commands, placeholders, the
terminal UI, interrupts."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from frontdesk.cli import PLUGIN_MODULES
from frontdesk.cli_support import CliContext, CliError

from .conftest import Cli, set_up_practice

PLUGINS = PLUGIN_MODULES  # every optional command module (cli_demo included)
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


@pytest.fixture
def no_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """A build without the optional command modules."""
    for name in PLUGINS:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo"], "`frontdesk demo` is not available yet in this build"),
        (["doctor", "--json"], "`frontdesk doctor` is not available yet in this build"),
        (["serve", "--port", "8080"], "`frontdesk serve` is not available yet in this build"),
        (["outbox", "list"], "`frontdesk outbox list` is not available in this build"),
        (["outbox", "deliver"], "`frontdesk outbox deliver` is not available in this build"),
    ],
)
def test_placeholders_when_the_parts_are_missing(
    lite: Cli, no_plugins: None, argv: list[str], message: str
) -> None:
    assert lite.fails(*argv) == f"frontdesk: error: {message}"


def _plugin(monkeypatch: pytest.MonkeyPatch, name: str, register: object) -> None:
    module = types.ModuleType(name)
    module.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, name, module)


def test_plugins_add_commands_and_replace_placeholders(
    lite: Cli, no_plugins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        doctor = commands.add_parser("doctor")
        doctor.add_argument("--json", action="store_true")

        def handler(args: argparse.Namespace, ctx: CliContext) -> int:
            ctx.say(f"all good ({'json' if args.json else 'table'}) at {ctx.when(ctx.now())}")
            return 0

        doctor.set_defaults(handler=handler)

    _plugin(monkeypatch, "frontdesk.cli_ops", register)
    set_up_practice(lite)
    assert lite.ok("doctor", "--json").out == "all good (json) at Thu Nov 26, 10:00 AM\n"
    assert "not available yet" in lite.fails("demo")


def test_a_broken_plugin_warns_and_the_rest_works(
    lite: Cli, no_plugins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def register(commands: object) -> None:
        raise RuntimeError("half-installed")

    _plugin(monkeypatch, "frontdesk.cli_mail", register)
    result = lite("charts", "list", "--json")
    assert result.code == 0 and result.out.strip() == "[]"
    assert result.err == (
        "frontdesk: warning: the commands of frontdesk.cli_mail are unavailable: "
        "RuntimeError: half-installed\n"
    )


def test_errors_in_plugin_handlers_are_one_line(
    lite: Cli, no_plugins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        def refuse(args: argparse.Namespace, ctx: CliContext) -> int:
            raise CliError("no SMTP password is set")

        def crash(args: argparse.Namespace, ctx: CliContext) -> int:
            raise RuntimeError("boom\nsecond line")

        commands.add_parser("refuse").set_defaults(handler=refuse)
        commands.add_parser("crash").set_defaults(handler=crash)

    _plugin(monkeypatch, "frontdesk.cli_web", register)
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
