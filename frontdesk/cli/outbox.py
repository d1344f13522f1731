"""`frontdesk outbox list [--json] [--limit N]` and `frontdesk outbox deliver [--limit N]`:
outgoing email."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rich.table import Table

from frontdesk.cli.args import positive
from frontdesk.cli.context import CliContext, cell
from frontdesk.cli.outbox_retry import register_retry, say_delivered

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands


def register(commands: Commands) -> None:
    outbox = commands.add_parser("outbox", help="emails waiting, sent, retrying or failed")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = outbox_sub.add_parser("list", help="the newest outbox emails")
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    listing.add_argument("--limit", type=positive, default=200, help="how many (default 200)")
    listing.set_defaults(handler=outbox_list)
    deliver = outbox_sub.add_parser("deliver", help="send every email that is due now")
    deliver.add_argument("--limit", type=positive, default=10_000, help="at most this many")
    deliver.set_defaults(handler=outbox_deliver)
    from frontdesk.cli.bounces import register_outbox as register_bounces

    register_bounces(outbox_sub)  # `outbox bounces`
    register_retry(outbox_sub)


def outbox_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.mail.outbox_list import list_outbox

    items = list_outbox(ctx.services().db, limit=max(1, args.limit))
    if args.json:
        ctx.print_json([item.to_json() for item in items])
        return 0
    if not items:
        ctx.say("The outbox is empty.")
        return 0
    table = Table(show_edge=False, header_style="bold")
    table.add_column("ID", no_wrap=True)
    table.add_column("Chart", no_wrap=True)
    table.add_column("Kind", no_wrap=True)
    table.add_column("To", overflow="fold")
    table.add_column("State", overflow="fold")
    table.add_column("Tries", no_wrap=True)
    table.add_column("When", overflow="fold")
    table.add_column("Detail", overflow="fold", ratio=1)
    for item in items:
        when = item.sent_at if item.state == "sent" else item.next_attempt_at
        table.add_row(
            cell(item.id),
            cell(item.chart_number),
            cell(item.kind.replace("_", " ")),
            cell(item.to_address),
            cell(item.label),
            cell(item.attempts),
            cell(ctx.when(when or item.created_at)),
            cell(item.last_error),
        )
    ctx.stdout.print(table)
    return 0


def outbox_deliver(args: argparse.Namespace, ctx: CliContext) -> int:
    ctx.services().queue_due_notices()  # "you have a new message" emails now due
    delivery = ctx.services().delivery()
    report = delivery.deliver_due(limit=max(1, args.limit), probe_now=True)
    return say_delivered(ctx, delivery, report)
