"""`frontdesk signin unlock EMAIL [--yes]`: Client Portal sign-in."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from frontdesk.cli.args import add_yes, command, group
from frontdesk.cli.context import CliContext, CliError
from frontdesk.core.emails import mask_email
from frontdesk.core.text import single_line

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


def cmd_signin_unlock(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.email.strip() or "@" not in args.email:
        raise CliError(f"not an email address: {single_line(args.email)!r}")
    who = mask_email(args.email.strip())
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
