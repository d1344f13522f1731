"""`frontdesk email preview [--kind K] [--text|--html]` and
`frontdesk email template show|set|enable|disable`: the emails clients get, and the practice's
own invitation template."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frontdesk.cli.context import CliContext, CliError

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands
    from frontdesk.mail.templates import TemplateService, TemplateView

PREVIEW_KINDS = (
    "invitation", "resend", "restore", "registered", "message", "forms", "invitation-with-forms",
)  # fmt: skip


def register(commands: Commands) -> None:
    email = commands.add_parser("email", help="preview emails and edit the practice template")
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


def _templates(ctx: CliContext) -> TemplateService:
    return ctx.services().templates


def email_preview(args: argparse.Namespace, ctx: CliContext) -> int:
    email = _templates(ctx).preview(args.kind)
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


def template_json(view: TemplateView) -> dict[str, Any]:
    """The template as `email template show --json` gives it."""
    fields = view.fields
    return {
        "enabled": view.enabled,
        "from_name": fields.from_name,
        "header_name": fields.header_name,
        "subject": fields.subject,
        "body": fields.body,
    }


def _show_template(ctx: CliContext, service: TemplateService, as_json: bool = False) -> None:
    view = service.show()
    if as_json:
        ctx.print_json(template_json(view))
        return
    fields = view.fields
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
    _show_template(ctx, _templates(ctx), args.json)
    return 0


def _read_body(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        if str(path) == "-":
            return sys.stdin.read()
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:  # say which file, and why
        raise CliError(f"cannot read {path}: {exc}") from None


def template_set(args: argparse.Namespace, ctx: CliContext) -> int:
    body = _read_body(args.body_file)
    if all(v is None for v in (args.from_name, args.header_name, args.subject, body)):
        raise CliError(
            "nothing to change: give --from-name, --header-name, --subject or --body-file"
        )
    service = _templates(ctx)
    service.save(
        from_name=args.from_name,
        header_name=args.header_name,
        subject=args.subject,
        body=body,
    )
    _show_template(ctx, service)
    return 0


def _set_enabled(ctx: CliContext, enabled: bool) -> int:
    _templates(ctx).set_enabled(enabled)
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
