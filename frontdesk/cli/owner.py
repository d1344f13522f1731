"""`frontdesk owner set CHART (--client | --contact-id ID | --name N --relationship R --email E)
[--invite] [--yes]`: who owns a chart's portal access."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from frontdesk.cli.args import add_yes, command, group
from frontdesk.cli.context import CliContext, CliError, UsageError, field_error
from frontdesk.core.emails import InvalidEmail, mask_email, normalize_email
from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import single_line
from frontdesk.desk.wording import action_sentence

if TYPE_CHECKING:
    from frontdesk.charts.records import ContactInput
    from frontdesk.cli.args import Commands

OPTIONS = {"name": "--name", "relationship": "--relationship", "email": "--email"}


def register(commands: Commands) -> None:
    owner = group(commands, "owner", "who owns a chart's portal access")
    p = command(
        owner,
        "set",
        cmd_owner_set,
        "give portal ownership to the client or a related contact",
    )
    p.add_argument("chart", metavar="CHART", help="the chart number")
    choice = p.add_mutually_exclusive_group(required=True)
    choice.add_argument("--client", action="store_true", help="the client owns it")
    choice.add_argument(
        "--contact-id", type=int, metavar="ID", help="an existing related contact (charts show)"
    )
    choice.add_argument("--name", metavar="N", help="a new related contact's name")
    p.add_argument("--relationship", metavar="R", help="with --name: e.g. Mother, Guardian")
    p.add_argument("--email", metavar="E", help="with --name: their email address")
    p.add_argument("--invite", action="store_true", help="also invite the new owner")
    add_yes(p)


def _new_contact(args: argparse.Namespace) -> ContactInput | None:
    """The new related contact of `--name --relationship --email` (None without --name)."""
    from frontdesk.charts.records import ContactInput

    if args.name is None:
        if args.relationship is not None or args.email is not None:
            raise UsageError("--relationship and --email go with --name")
        return None
    if not (args.relationship and args.email):
        raise UsageError("--name needs --relationship and --email")
    try:
        normalize_email(args.email)
    except InvalidEmail as exc:
        raise CliError(f"--email: {exc}") from None
    return ContactInput(args.name, args.relationship, args.email)


def cmd_owner_set(args: argparse.Namespace, ctx: CliContext) -> int:
    new_contact = _new_contact(args)
    services = ctx.services()
    chart = services.views.chart(args.chart)
    if args.client:
        target = f"the client, {single_line(chart.first_name)} {single_line(chart.last_name)}"
        target += f" ({mask_email(chart.email)})" if chart.email else " (no email address)"
    elif new_contact is not None:
        target = (
            f"{single_line(new_contact.name)} ({single_line(new_contact.relationship)}, "
            f"{mask_email((new_contact.email or '').strip())})"
        )
    else:
        contact = next((c for c in chart.contacts if c.id == args.contact_id), None)
        if contact is None:
            raise CliError(
                f"chart {single_line(chart.chart_number)} has no related contact with id "
                f"{args.contact_id} (frontdesk charts show {single_line(chart.chart_number)} "
                "lists them)"
            )
        email = mask_email(contact.email) if contact.email else "no email address"
        target = f"{single_line(contact.name)} ({single_line(contact.relationship)}, {email})"
    invite = " An invitation is sent to the new owner." if args.invite else ""
    ctx.confirm(
        f"Make {target} the portal owner of {single_line(chart.display_name)} "
        f"(chart {single_line(chart.chart_number)})? The current owner's invitation is revoked "
        f"and their portal sessions end.{invite}",
        assume_yes=args.yes,
    )
    try:
        result = services.invitations.change_owner(
            chart.chart_number,
            to_client=args.client,
            contact_id=args.contact_id,
            new_contact=new_contact,
            invite=args.invite,
            seen_owner_version=chart.owner_version,
        )
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    ctx.say(action_sentence(result))
    return 0
