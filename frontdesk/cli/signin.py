"""`frontdesk signin unlock EMAIL [--yes]` and `frontdesk signin reset CHART [--yes]`: Client
Portal sign-in, and getting a client who forgot the password back in."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from frontdesk.access.rules import PortalAction, refusal
from frontdesk.cli.args import add_yes, command, group
from frontdesk.cli.context import CliContext, CliError
from frontdesk.cli.display import queued_tail
from frontdesk.core.text import single_line
from frontdesk.desk.wording import reset_sentence

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands


def register(commands: Commands) -> None:
    signin = group(commands, "signin", "Client Portal sign-in")
    p = command(
        signin,
        "unlock",
        cmd_signin_unlock,
        "let a client who is waiting out failed sign-ins sign in now (audited)",
    )
    p.add_argument("email", metavar="EMAIL", help="the portal account's email address")
    add_yes(p)

    p = command(
        signin,
        "reset",
        cmd_signin_reset,
        "email an Active chart's owner a password reset link (works once, for 24 hours)",
    )
    p.add_argument("chart", metavar="CHART", help="the chart number")
    add_yes(p)


def cmd_signin_unlock(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.email.strip() or "@" not in args.email:
        raise CliError(f"not an email address: {single_line(args.email)!r}")
    who = single_line(args.email.strip())
    ctx.confirm(
        f"Let {who} sign in to the Client Portal now? The failed sign-ins counted for this "
        "address are forgotten (recorded in the audit trail).",
        assume_yes=args.yes,
    )
    services = ctx.services()
    cleared = services.signin.unlock(args.email, actor=services.actor)
    if cleared:
        ctx.say(f"Sign-in unlocked for {who}: they can sign in now.")
    else:
        ctx.say(f"Nothing to unlock for {who}: no failed sign-ins are held against it.")
    return 0


def cmd_signin_reset(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.access.reset import LIFETIME
    from store.models import ResetOrigin

    services = ctx.services()
    chart = services.views.chart(args.chart)
    number = single_line(chart.chart_number)
    why_not = refusal(PortalAction.SEND_RESET, chart.status.status)
    if why_not or chart.account_email is None:  # the service refuses too; say so before asking
        raise CliError(f"chart {number} ({chart.status.label}): {why_not or 'no portal account'}")
    hours = int(LIFETIME[ResetOrigin.STAFF].total_seconds() // 3600)
    ctx.confirm(
        f"Email a password reset link to {single_line(chart.account_email)} "
        f"({single_line(chart.owner.name)}, chart {number})? The link works once, for "
        f"{hours} hours; any earlier reset link stops working. The current password works "
        "until it is changed.",
        assume_yes=args.yes,
    )
    sent = services.resets.send_from_desk(chart.chart_number)
    ctx.say(
        f"{reset_sentence(sent, expires=ctx.when(sent.expires_at))} The email is queued"
        f"{queued_tail(ctx, 1)}."
    )
    return 0
