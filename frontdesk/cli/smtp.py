"""`frontdesk smtp set-password [--insecure-file]` and `frontdesk smtp test`: the mail server
login."""

from __future__ import annotations

import argparse
import getpass
from typing import TYPE_CHECKING

from frontdesk.cli.context import CliContext, CliError

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands


def register(commands: Commands) -> None:
    smtp = commands.add_parser("smtp", help="the mail server login")
    smtp_sub = smtp.add_subparsers(dest="smtp_command", required=True)
    setter = smtp_sub.add_parser(
        "set-password", help="store the SMTP password in the OS keyring (asks, no echo)"
    )
    setter.add_argument(
        "--insecure-file",
        action="store_true",
        help="where no keyring works: a plain file only this account can read (mode 0600)",
    )
    setter.set_defaults(handler=smtp_set_password)
    smtp_sub.add_parser(
        "test", help="connect and log in to the mail server (sends nothing)"
    ).set_defaults(handler=smtp_test)


def smtp_set_password(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.mail.secrets import set_smtp_password, set_smtp_password_file

    settings = ctx.settings()
    username = settings.smtp_username
    if not username:
        raise CliError("set smtp_username (or FRONTDESK_SMTP_USERNAME) first")
    if not ctx.stdin_is_tty():
        raise CliError(
            "smtp set-password reads the password from a terminal without echo; run it in one "
            "(headless: set FRONTDESK_SMTP_PASSWORD instead)"
        )
    try:
        first = getpass.getpass(f"SMTP password for {username}: ")
        second = getpass.getpass("Again, to confirm: ")
    except (EOFError, KeyboardInterrupt):  # leaving the prompt is a cancel, not an interrupt
        raise CliError("cancelled; nothing was stored") from None
    if first != second:
        raise CliError("the two passwords differ; nothing was stored")
    if args.insecure_file:
        path = set_smtp_password_file(username, first)
        ctx.say(
            f"SMTP password for {username} stored in a plain file only this account can read: "
            f"{path} (mode 0600). Anyone with this account's files can read it; prefer the "
            "keyring or FRONTDESK_SMTP_PASSWORD, which come first when set."
        )
        return 0
    backend = set_smtp_password(username, first)
    ctx.say(f"SMTP password for {username} stored in the keyring ({backend}).")
    return 0


def smtp_test(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.mail.secrets import get_smtp_password
    from frontdesk.mail.sender import SendError, check_connection

    settings = ctx.settings()
    password = None
    if settings.smtp_username:
        lookup = get_smtp_password(settings)
        if lookup.password is None:
            raise CliError(
                lookup.note or "SMTP password not set: run `frontdesk smtp set-password`"
            )
        if lookup.note:
            ctx.warn(lookup.note)
        password = lookup.password
    try:
        summary = check_connection(settings, password)
    except SendError as exc:
        if exc.setup is None:
            raise
        raise CliError(f"{exc.reason} — {exc.setup.fix}") from None
    ctx.say(summary + " No email was sent.")
    return 0
