"""Mail commands: `outbox list|deliver`, `email preview`, `email template ...`, `smtp ...`.

Plugged into `frontdesk` by `register(subparsers)`; every handler is `handler(args, ctx) -> int`
and reports problems as a one-line CliError.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from rich.table import Table

from frontdesk.cli_support import CliContext, CliError, cell
from frontdesk.mail.outbox import MailNotConfigured, list_outbox
from frontdesk.mail.secrets import (
    SecretError,
    get_smtp_password,
    set_smtp_password,
    set_smtp_password_file,
)
from frontdesk.mail.sender import SendError, check_connection
from frontdesk.mail.templates import TemplateError, TemplateService
from store.db import StoreError

PREVIEW_KINDS = ("invitation", "resend", "restore", "registered", "message")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `outbox`, `email` and `smtp` commands."""
    outbox = subparsers.add_parser("outbox", help="emails waiting, sent, retrying or failed")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = outbox_sub.add_parser("list", help="the newest outbox emails")
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    listing.add_argument("--limit", type=int, default=200, help="how many (default 200)")
    listing.set_defaults(handler=outbox_list)
    deliver = outbox_sub.add_parser("deliver", help="send every email that is due now")
    deliver.add_argument("--limit", type=int, default=10_000, help="at most this many")
    deliver.set_defaults(handler=outbox_deliver)

    email = subparsers.add_parser("email", help="preview emails and edit the practice template")
    email_sub = email.add_subparsers(dest="email_command", required=True)
    preview = email_sub.add_parser("preview", help="an email as a client would get it")
    preview.add_argument("--kind", choices=PREVIEW_KINDS, default="invitation")
    part = preview.add_mutually_exclusive_group()
    part.add_argument(
        "--text", dest="part", action="store_const", const="text", help="only the plain-text part"
    )
    part.add_argument(
        "--html", dest="part", action="store_const", const="html", help="only the HTML part"
    )
    preview.set_defaults(handler=email_preview, part=None)

    template = email_sub.add_parser("template", help="the practice's own invitation template")
    template_sub = template.add_subparsers(dest="template_command", required=True)
    show = template_sub.add_parser("show", help="the template and whether it is enabled")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=template_show)
    change = template_sub.add_parser(
        "set",
        help="change template fields ('' clears one)",
        description="Placeholders: {client_preferred_name} {client_first_name} {practice_name} "
        "{practice_phone} {link} {expires_on}. The body must contain {link}; From Name, Header "
        "Name and Subject may use {practice_name} only.",
    )
    change.add_argument("--from-name")
    change.add_argument("--header-name")
    change.add_argument("--subject")
    change.add_argument("--body-file", type=Path, help="a UTF-8 text file ('-' for stdin)")
    change.set_defaults(handler=template_set)
    template_sub.add_parser("enable", help="use the template for invitations").set_defaults(
        handler=template_enable
    )
    template_sub.add_parser("disable", help="go back to the built-in email").set_defaults(
        handler=template_disable
    )

    smtp = subparsers.add_parser("smtp", help="the mail server login")
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


# --------------------------------------------------------------------------------------------
# outbox
# --------------------------------------------------------------------------------------------


def outbox_list(args: argparse.Namespace, ctx: CliContext) -> int:
    services = ctx.services()
    try:
        items = list_outbox(services.db, limit=max(1, args.limit))
    except StoreError as exc:
        raise CliError(str(exc)) from None
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
    services = ctx.services()
    try:
        report = services.delivery().deliver_due(limit=max(1, args.limit))
    except (MailNotConfigured, StoreError) as exc:
        raise CliError(str(exc)) from None
    for note in report.notes:
        ctx.warn(note)
    ctx.say(report.summary() + ".")
    return 0


# --------------------------------------------------------------------------------------------
# email
# --------------------------------------------------------------------------------------------


def _templates(ctx: CliContext) -> TemplateService:
    return ctx.services().templates


def email_preview(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        email = _templates(ctx).preview(args.kind)
    except (TemplateError, StoreError) as exc:
        raise CliError(str(exc)) from None
    out = ctx.stdout.file
    if args.part == "html":
        out.write(email.html)
    elif args.part == "text":
        out.write(email.text)
    else:
        sender = ctx.settings().mail_from or "(FRONTDESK_MAIL_FROM not set)"
        out.write(f"From: {email.from_name} <{sender}>\nSubject: {email.subject}\n\n{email.text}")
    out.flush()
    return 0


def _show_template(ctx: CliContext, service: TemplateService, as_json: bool = False) -> None:
    view = service.show()
    fields = view.fields
    if as_json:
        ctx.print_json(
            {
                "enabled": view.enabled,
                "from_name": fields.from_name,
                "header_name": fields.header_name,
                "subject": fields.subject,
                "body": fields.body,
            }
        )
        return
    out = ctx.stdout.file
    out.write(f"Template: {'enabled' if view.enabled else 'disabled (built-in email in use)'}\n")
    for label, value in (
        ("From Name", fields.from_name),
        ("Header Name", fields.header_name),
        ("Subject", fields.subject),
    ):
        out.write(f"{label}: {value if value is not None else '(not set)'}\n")
    out.write("Body:\n" + (fields.body or "(not set)\n"))
    out.flush()


def template_show(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        _show_template(ctx, _templates(ctx), args.json)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    return 0


def _read_body(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        if str(path) == "-":
            return sys.stdin.read()
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None


def template_set(args: argparse.Namespace, ctx: CliContext) -> int:
    body = _read_body(args.body_file)
    if all(v is None for v in (args.from_name, args.header_name, args.subject, body)):
        raise CliError(
            "nothing to change: give --from-name, --header-name, --subject or --body-file"
        )
    service = _templates(ctx)
    try:
        service.save(
            from_name=args.from_name,
            header_name=args.header_name,
            subject=args.subject,
            body=body,
        )
    except (TemplateError, StoreError) as exc:
        raise CliError(str(exc)) from None
    _show_template(ctx, service)
    return 0


def _set_enabled(ctx: CliContext, enabled: bool) -> int:
    try:
        _templates(ctx).set_enabled(enabled)
    except (TemplateError, StoreError) as exc:
        raise CliError(str(exc)) from None
    ctx.say(
        "Template enabled: invitations now use it."
        if enabled
        else "Template disabled: invitations use the built-in email."
    )
    return 0


def template_enable(args: argparse.Namespace, ctx: CliContext) -> int:
    return _set_enabled(ctx, True)


def template_disable(args: argparse.Namespace, ctx: CliContext) -> int:
    return _set_enabled(ctx, False)


# --------------------------------------------------------------------------------------------
# smtp
# --------------------------------------------------------------------------------------------


def smtp_set_password(args: argparse.Namespace, ctx: CliContext) -> int:
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
    except (EOFError, KeyboardInterrupt):
        raise CliError("cancelled; nothing was stored") from None
    if first != second:
        raise CliError("the two passwords differ; nothing was stored")
    if args.insecure_file:
        try:
            path = set_smtp_password_file(username, first)
        except SecretError as exc:
            raise CliError(str(exc)) from None
        ctx.say(
            f"SMTP password for {username} stored in a plain file only this account can read: "
            f"{path} (mode 0600). Anyone with this account's files can read it; prefer the "
            "keyring or FRONTDESK_SMTP_PASSWORD, which come first when set."
        )
        return 0
    try:
        backend = set_smtp_password(username, first)
    except SecretError as exc:
        raise CliError(str(exc)) from None
    ctx.say(f"SMTP password for {username} stored in the keyring ({backend}).")
    return 0


def smtp_test(args: argparse.Namespace, ctx: CliContext) -> int:
    settings = ctx.settings()
    password = None
    if settings.smtp_username:
        try:
            lookup = get_smtp_password(settings)
        except SecretError as exc:
            raise CliError(str(exc)) from None
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
        raise CliError(str(exc)) from None
    ctx.say(summary + " No email was sent.")
    return 0
