"""`frontdesk outbox retry [--all | ID] [--yes]`: send failed or retrying email again now, with
the same link and Message-ID; and what `outbox deliver` says about the email still waiting
(paused by a setup failure: why, since when, the fix; exit code 1)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from frontdesk.cli.args import add_yes, positive
from frontdesk.cli.context import CliContext

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands
    from frontdesk.mail.outbox import DeliveryReport, OutboxDelivery


def register_retry(outbox_commands: Commands) -> None:
    retry = outbox_commands.add_parser(
        "retry",
        help="send failed or retrying email again now (same link; audited)",
        description=(
            "Send a failed or retrying email again now, with the same link and Message-ID "
            "(no new invitation). Each retry is recorded in the audit trail."
        ),
    )
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=positive, metavar="ID", help="the outbox id")
    which.add_argument(
        "--all",
        action="store_true",
        help="every retrying email and every email that failed in the last 7 days",
    )
    add_yes(retry)
    retry.set_defaults(handler=outbox_retry)


def outbox_retry(args: argparse.Namespace, ctx: CliContext) -> int:
    what = (
        "every retrying email and every email that failed in the last 7 days"
        if args.all
        else (f"outbox email {args.id}")
    )
    ctx.confirm(
        f"Send {what} again now, with the same link? (recorded in the audit trail)",
        assume_yes=args.yes,
    )
    services = ctx.services()
    retries = services.retries()
    outcome = retries.retry_all() if args.all else retries.retry(args.id)
    for row_id, why in outcome.skipped:
        ctx.warn(f"outbox {row_id} not retried: {why}")
    if not outcome.retried:
        ctx.say("No email to retry.")
        return 0
    ids = ", ".join(str(row_id) for row_id in outcome.retried)
    count = len(outcome.retried)
    ctx.say(f"{count} email{'s' if count != 1 else ''} due now (outbox {ids}), same link.")
    delivery = services.delivery()
    report = delivery.deliver_due(limit=10_000, probe_now=True)
    code = say_delivered(ctx, delivery, report)
    if code == 0 and (report.failed or report.retrying):
        ctx.error(
            f"{report.failed + report.retrying} email(s) did not go out this time: "
            "see `frontdesk outbox list`"
        )
        return 1
    return code


def say_delivered(ctx: CliContext, delivery: OutboxDelivery, report: DeliveryReport) -> int:
    """What a delivery run did, and why email still waits: "1 waiting: the mail server
    refused the login; paused since 2:02 PM" and the fix (exit code 1 while paused)."""
    for note in report.notes:
        ctx.warn(note)
    ctx.say(report.summary() + ".")
    pauses = delivery.pauses
    paused = pauses.current()
    waiting = pauses.waiting()
    if paused is not None:
        ctx.say(f"{waiting} waiting: {paused.reason}; paused since {ctx.when(paused.since)}.")
        ctx.error(paused.line)
        return 1
    if waiting:
        upcoming = pauses.next_waiting()
        tail = ""
        if upcoming is not None:
            next_at, last_error = upcoming
            tail = f"; the next try is due {ctx.when(next_at)}"
            tail += f" (last try: {last_error})" if last_error else ""
        ctx.say(f"{waiting} waiting{tail}.")
    return 0
