"""`frontdesk outbox bounces [--json]`: read the bounce mailbox and mark returned emails;
`frontdesk imap set-password` and `frontdesk imap test`: the bounce mailbox's login."""

from __future__ import annotations

import argparse
import getpass
from typing import TYPE_CHECKING, Any

from rich.table import Table

from frontdesk.cli.context import CliContext, CliError, cell

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands


def register_outbox(outbox_sub: Any) -> None:
    """`outbox bounces`, added to the `outbox` group by frontdesk.cli.outbox."""
    bounces = outbox_sub.add_parser(
        "bounces",
        help="read bounced-mail notifications from the bounce mailbox (IMAP)",
        description=(
            "Read delivery status notifications from the bounce mailbox (FRONTDESK_IMAP_*), "
            "match each to the email it returns and mark that email bounced. Notifications "
            "that match no email are left in the mailbox, unread; nothing is deleted."
        ),
    )
    bounces.add_argument("--json", action="store_true", help="JSON for scripts")
    bounces.set_defaults(handler=outbox_bounces)


def register(commands: Commands) -> None:
    imap = commands.add_parser("imap", help="the bounce mailbox's login (IMAP)")
    imap_sub = imap.add_subparsers(dest="imap_command", required=True)
    imap_sub.add_parser(
        "set-password", help="store the IMAP password in the OS keyring (asks, no echo)"
    ).set_defaults(handler=imap_set_password)
    imap_sub.add_parser(
        "test", help="connect and log in to the bounce mailbox (reads nothing)"
    ).set_defaults(handler=imap_test)


def outbox_bounces(args: argparse.Namespace, ctx: CliContext) -> int:
    report = ctx.services().bounces().read()
    if args.json:
        ctx.print_json(report.to_json())
        return 0
    if report.bounced:
        from frontdesk.mail.dsn import bounce_reason

        table = Table(show_edge=False, header_style="bold")
        table.add_column("Outbox", no_wrap=True)
        table.add_column("Chart", no_wrap=True)
        table.add_column("To", overflow="fold")
        table.add_column("Not delivered", overflow="fold")
        table.add_column("Server said", overflow="fold", ratio=1)
        for item in report.bounced:
            table.add_row(
                cell(item.outbox_id),
                cell(item.chart_number or ""),
                cell(item.to_address),
                cell(bounce_reason(item.status)),
                cell(item.detail),
            )
        ctx.stdout.print(table)
    ctx.say(report.summary() + ".")
    if report.unmatched:
        folder = ctx.settings().imap_folder or "INBOX"
        ctx.say(
            f"Unmatched notifications stay unread in the bounce mailbox ({folder}) "
            "for a person to read."
        )
    return 0


def imap_set_password(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.mail.imap import set_imap_password

    username = ctx.settings().imap_username
    if not username:
        raise CliError("set imap_username (or FRONTDESK_IMAP_USERNAME) first")
    if not ctx.stdin_is_tty():
        raise CliError(
            "imap set-password reads the password from a terminal without echo; run it in one "
            "(headless: set FRONTDESK_IMAP_PASSWORD instead)"
        )
    try:
        first = getpass.getpass(f"IMAP password for {username}: ")
        second = getpass.getpass("Again, to confirm: ")
    except (EOFError, KeyboardInterrupt):
        raise CliError("cancelled; nothing was stored") from None
    if first != second:
        raise CliError("the two passwords differ; nothing was stored")
    set_imap_password(username, first)
    ctx.say(f"IMAP password for {username} stored in the keyring.")
    return 0


def imap_test(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.mail.imap import BounceMailbox, get_imap_password

    settings = ctx.settings()
    if not settings.imap_host:
        raise CliError("set imap_host (or FRONTDESK_IMAP_HOST) first")
    password = None
    if settings.imap_username:
        lookup = get_imap_password(settings)
        if lookup.password is None:
            raise CliError(lookup.note or "IMAP password not set")
        password = lookup.password
    with BounceMailbox(settings, password) as box:
        count = len(box.report_uids())
    security = "implicit TLS" if settings.imap_security == "tls" else "STARTTLS"
    ctx.say(
        f"Connected to {box.where} with {security}; folder {box.folder} holds {count} "
        "delivery status notification(s). Nothing was changed."
    )
    return 0
