"""`frontdesk practice show [--json]` and `frontdesk practice set ...`: the practice's settings."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.table import Table

from frontdesk.cli.args import add_json, command, group
from frontdesk.cli.context import CliContext, UsageError, cell, field_error
from frontdesk.core.errors import InvalidInput

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands
    from store.models import Practice

OPTIONS = {
    "name": "--name",
    "phone": "--phone",
    "portal_active": "--portal",
    "invitation_days": "--invitation-days",
    "timezone": "--timezone",
    "reply_to": "--reply-to",
}


def register(commands: Commands) -> None:
    practice = group(commands, "practice", "the practice's settings")
    add_json(command(practice, "show", cmd_practice_show, "show the practice's settings"))
    p = command(practice, "set", cmd_practice_set, "create or change the practice's settings")
    p.add_argument("--name", help="the practice's name (shown to clients)")
    p.add_argument("--phone", help="the practice's phone number (shown to clients)")
    p.add_argument(
        "--portal", choices=("on", "off"), help="activate or deactivate the Client Portal"
    )
    p.add_argument(
        "--invitation-days", type=int, metavar="D", help="how long invitations last (1-30 days)"
    )
    p.add_argument("--timezone", metavar="TZ", help="IANA time zone, e.g. America/Chicago")
    p.add_argument("--reply-to", metavar="EMAIL", help="Reply-To of emails ('' to clear)")


def practice_json(practice: Practice) -> dict[str, Any]:
    """The practice as `practice show --json` gives it."""
    return {
        "name": practice.name,
        "phone": practice.phone,
        "timezone": practice.timezone,
        "portal_active": practice.portal_active,
        "invitation_days": practice.invitation_days,
        "reply_to": practice.reply_to,
    }


def cmd_practice_show(args: argparse.Namespace, ctx: CliContext) -> int:
    practice = ctx.services().practice.practice()
    if args.json:
        ctx.print_json(practice_json(practice))
        return 0
    if not practice.name:
        ctx.say(
            "The practice is not set up yet: frontdesk practice set --name NAME --phone PHONE "
            "--portal on"
        )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in (
        ("Name", practice.name),
        ("Phone", practice.phone),
        ("Time zone", practice.timezone),
        ("Client Portal", "active" if practice.portal_active else "not active"),
        ("Invitations last", f"{practice.invitation_days} days"),
        ("Reply-To", practice.reply_to or ""),
    ):
        grid.add_row(cell(label), cell(value))
    ctx.stdout.print(grid)
    return 0


def cmd_practice_set(args: argparse.Namespace, ctx: CliContext) -> int:
    changes = {
        "name": args.name,
        "phone": args.phone,
        "portal_active": None if args.portal is None else args.portal == "on",
        "invitation_days": args.invitation_days,
        "timezone": args.timezone,
        "reply_to": args.reply_to,
    }
    if all(value is None for value in changes.values()):
        raise UsageError("nothing to change: give at least one option (see --help)")
    try:
        practice = ctx.services().practice.update_practice(**changes)
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    portal = "active" if practice.portal_active else "not active"
    ctx.say(
        f"Practice saved: {practice.name or '(no name)'}; Client Portal {portal}; invitations "
        f"last {practice.invitation_days} days; time zone {practice.timezone}."
    )
    return 0
