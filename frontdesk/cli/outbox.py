"""`frontdesk outbox list [--json] [--limit N]` and `frontdesk outbox deliver [--limit N]`:
outgoing email.

The list reads in 80 columns: short kind and state words kept whole, the time broken after
the day only when the table would not fit, an address folded only where it is longer than its
column, and why an email in trouble is not delivered (with its tries) in a table below."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from frontdesk.cli.args import positive
from frontdesk.cli.context import CliContext, cell
from frontdesk.cli.outbox_retry import register_retry, say_delivered
from frontdesk.desk.wording import email_kind_words

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands
    from frontdesk.mail.outbox_list import OutboxItem


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


# The delivery state in the outbox's table: short words (the column says what they are).
STATE_WORDS = {
    "queued": "Queued",
    "sending": "Sending",
    "sent": "Sent",
    "retrying": "Retrying",
    "failed": "Not delivered",
    "bounced": "Not delivered",
    "cancelled": "Cancelled",
}
UNBOUNDED = 100_000  # columns: to measure how wide the table would be on one line per email


def outbox_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.mail.outbox_list import list_outbox

    items = list_outbox(ctx.services().db, limit=max(1, args.limit))
    if args.json:
        ctx.print_json([item.to_json() for item in items])
        return 0
    if not items:
        ctx.say("The outbox is empty.")
        return 0
    console = ctx.stdout
    table = outbox_table(ctx, items, two_line_times=False)
    unbounded = console.options.update_width(UNBOUNDED)
    if Measurement.get(console, unbounded, table).maximum > console.width:
        table = outbox_table(ctx, items, two_line_times=True)  # "Thu Nov 26," over "2:02 PM"
    console.print(table)
    troubled = [item for item in items if item.reason]
    if troubled:
        console.print()
        console.print(reasons_table(troubled))
    return 0


def outbox_table(ctx: CliContext, items: list[OutboxItem], *, two_line_times: bool) -> Table:
    """One line per email where the terminal is wide enough. In a narrow one (80 columns) only
    an address longer than its column is folded; every other cell keeps its words whole."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("ID", no_wrap=True, justify="right")
    table.add_column("Chart", no_wrap=True)
    table.add_column("Kind", no_wrap=True)
    table.add_column("To", overflow="fold")  # an address has no space to wrap at
    table.add_column("State", no_wrap=True)
    table.add_column("When", no_wrap=True)
    for item in items:
        moment = item.sent_at if item.state == "sent" else item.next_attempt_at
        when = ctx.when(moment or item.created_at)
        if two_line_times:
            when = when.replace(", ", ",\n", 1)
        table.add_row(
            cell(item.id),
            cell(item.chart_number),
            cell(email_kind_words(item.kind)),
            cell(item.to_address),
            cell(STATE_WORDS.get(item.state, item.state.capitalize())),
            Text(when),
        )
    return table


def reasons_table(items: list[OutboxItem]) -> Table:
    """Why the emails in trouble are not delivered (yet), below the list: the mail server's
    words need the room."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("ID", no_wrap=True, justify="right")
    table.add_column("Tries", no_wrap=True, justify="right")
    table.add_column("Why it is not delivered", overflow="fold")
    for item in items:
        why = item.reason or ""
        if item.state == "bounced" and item.last_error:  # what the notification said
            why = f"{why}: {item.last_error}"
        table.add_row(cell(item.id), cell(item.attempts), cell(why))
    return table


def outbox_deliver(args: argparse.Namespace, ctx: CliContext) -> int:
    ctx.services().queue_due_notices()  # "you have a new message" emails now due
    delivery = ctx.services().delivery()
    report = delivery.deliver_due(limit=max(1, args.limit), probe_now=True)
    return say_delivered(ctx, delivery, report)
