"""`frontdesk doctor [--json]`: check the setup, one line per check.

The checks live in `frontdesk.doctor` (loaded when the command runs); this module reads the
settings and prints the report: a rich table for people (the fix beneath a failure or a
warning), a JSON list for scripts. Exit code 1 when any check fails (warnings and skips do not).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from frontdesk.cli.context import CliContext
from frontdesk.core.clock import SystemClock
from frontdesk.core.config import ConfigError, Settings, config_path, load_settings
from frontdesk.core.text import single_line

if TYPE_CHECKING:
    from frontdesk import doctor
    from frontdesk.cli.args import Commands

STATUS_STYLE = {  # by doctor.Status value
    "pass": ("PASS", "bold green"),
    "warn": ("WARN", "bold yellow"),
    "fail": ("FAIL", "bold red"),
    "skip": ("SKIP", "dim"),
}


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "doctor",
        help="check the setup: database, mail server, keyring, public URL, outbox",
        description="Check this installation, one line per check with the fix for each "
        "problem. Sends no email and changes nothing. Exit code 1 when a check fails.",
    )
    p.add_argument("--json", action="store_true", help="a JSON list of the checks, for scripts")
    p.set_defaults(handler=cmd_doctor)


def _settings(ctx: CliContext) -> tuple[Settings | None, str | None]:
    """The settings; invalid values are left for their checks to report. (None, why) when
    they cannot be read at all."""
    try:
        return ctx.settings(), None
    except ConfigError:
        pass
    try:
        return load_settings(ctx.config_path, validate=False), None
    except ConfigError as exc:
        return None, str(exc)


def _source(ctx: CliContext) -> str:
    path = ctx.config_path or config_path(os.environ)
    if path.is_file():
        return f"config file {path} + FRONTDESK_* environment"
    return f"no config file at {path}: defaults + FRONTDESK_* environment"


def cmd_doctor(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk import doctor  # the checks load the database layer and the mail sender

    settings, problem = _settings(ctx)
    report = doctor.run_doctor(
        settings,
        ctx.clock or SystemClock(),
        settings_error=problem,
        settings_source=_source(ctx),
        network_timeout=doctor.NETWORK_TIMEOUT,
        keyring_timeout=doctor.KEYRING_TIMEOUT,
    )
    if args.json:
        ctx.print_json([check.to_json() for check in report.checks])
    else:
        _print_table(ctx, report)
    failed = report.failed
    if failed:
        names = ", ".join(check.name for check in failed)
        ctx.error(f"{len(failed)} check(s) failed: {names}")
        return 1
    return 0


def _print_table(ctx: CliContext, report: doctor.DoctorReport) -> None:
    from frontdesk.doctor import Status

    table = Table(box=None, header_style="bold", pad_edge=False, show_edge=False)
    table.add_column("Result", no_wrap=True)
    table.add_column("Check", no_wrap=True)
    table.add_column("Detail", overflow="fold", ratio=1)
    for check in report.checks:
        label, style = STATUS_STYLE[check.status]
        detail = Text(single_line(check.detail))
        if check.fix and check.status in (Status.FAIL, Status.WARN):
            detail.append("\nFix: ", style="bold")
            detail.append(single_line(check.fix))
        table.add_row(Text(label, style=style), Text(check.name), detail)
    ctx.stdout.print(table)
    counts = {status: report.count(status) for status in Status}
    ctx.say(
        f"{counts[Status.PASS]} passed, {counts[Status.WARN]} warning(s), "
        f"{counts[Status.FAIL]} failed, {counts[Status.SKIP]} skipped."
    )
