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
    "messaging": "--messaging",
    "message_promise": "--message-promise",
    "message_audiences": "--message-audiences",
    "message_notify_email": "--message-notify-email",
}
MESSAGING_MODES = ("off", "reply-only", "on")


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
    p.add_argument(
        "--messaging",
        choices=MESSAGING_MODES,
        help="portal messages: on (clients may start), reply-only, or off",
    )
    p.add_argument(
        "--message-promise",
        metavar="TEXT",
        help="when the practice answers, shown to clients, e.g. 'within one business day'",
    )
    p.add_argument(
        "--message-audiences",
        metavar="LIST",
        help="audiences offered to clients: front_desk,billing,clinical (in that order)",
    )
    p.add_argument(
        "--message-notify-email",
        metavar="EMAIL",
        help="tell this address (no content) when a client writes ('' for no one)",
    )


def practice_json(practice: Practice) -> dict[str, Any]:
    """The practice as `practice show --json` gives it."""
    return {
        "name": practice.name,
        "phone": practice.phone,
        "timezone": practice.timezone,
        "portal_active": practice.portal_active,
        "invitation_days": practice.invitation_days,
        "reply_to": practice.reply_to,
        **_messaging_json(practice),
    }


def _messaging_json(practice: Practice) -> dict[str, Any]:
    from frontdesk.practice import messaging_settings

    rules = messaging_settings(practice)
    return {
        "messaging": rules.mode.value,
        "message_promise": rules.promise,
        "message_audiences": [a.value for a in rules.audiences],
        "message_notify_email": rules.notify_email,
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
        *_messaging_rows(practice),
    ):
        grid.add_row(cell(label), cell(value))
    ctx.stdout.print(grid)
    return 0


def _messaging_rows(practice: Practice) -> list[tuple[str, str]]:
    shown = _messaging_json(practice)
    return [
        ("Portal messages", shown["messaging"]),
        ("Message promise", shown["message_promise"] or ""),
        ("Message audiences", ", ".join(shown["message_audiences"])),
        ("Message alerts to", shown["message_notify_email"] or ""),
    ]


def cmd_practice_set(args: argparse.Namespace, ctx: CliContext) -> int:
    changes = {
        "name": args.name,
        "phone": args.phone,
        "portal_active": None if args.portal is None else args.portal == "on",
        "invitation_days": args.invitation_days,
        "timezone": args.timezone,
        "reply_to": args.reply_to,
    }
    messaging = {
        "mode": args.messaging,
        "promise": args.message_promise,
        "audiences": args.message_audiences,
        "notify_email": args.message_notify_email,
    }
    if all(value is None for value in (*changes.values(), *messaging.values())):
        raise UsageError("nothing to change: give at least one option (see --help)")
    from frontdesk.practice import messaging_changes

    settings = ctx.services().practice
    try:
        messaging_changes(**messaging)  # checked before anything is saved
        if any(value is not None for value in changes.values()):
            settings.update_practice(**changes)
        if any(value is not None for value in messaging.values()):
            settings.update_messaging(**messaging)
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    practice = settings.practice()
    portal = "active" if practice.portal_active else "not active"
    ctx.say(
        f"Practice saved: {practice.name or '(no name)'}; Client Portal {portal}; invitations "
        f"last {practice.invitation_days} days; time zone {practice.timezone}"
        + (f"; portal messages {practice.messaging}." if args.messaging else ".")
    )
    return 0
