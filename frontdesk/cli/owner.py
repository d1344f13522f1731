"""`frontdesk owner set CHART (--client | --contact ID | --name N --relationship R --email E)
[--invite] [--yes]`: who owns a chart's portal access."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from frontdesk.cli.args import add_yes, command, group, positive
from frontdesk.cli.context import CliContext, CliError, UsageError, field_error
from frontdesk.cli.display import queued_sentence
from frontdesk.core.emails import InvalidEmail, normalize_email
from frontdesk.core.errors import InvalidInput, NotFound
from frontdesk.core.text import single_line

if TYPE_CHECKING:
    from frontdesk.charts.records import ContactInput
    from frontdesk.cli.args import Commands
    from frontdesk.desk.views import ChartDetail

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
        "--contact",
        dest="contact_id",
        type=positive,
        metavar="ID",
        help="an existing related contact of the chart (frontdesk contacts list CHART)",
    )
    # The earlier spelling, kept working for scripts that use it.
    choice.add_argument("--contact-id", dest="contact_id", type=positive, help=argparse.SUPPRESS)
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


def _existing_contact(ctx: CliContext, chart: ChartDetail, contact_id: int) -> str:
    """The prompt's words for related contact `contact_id`, which must be of `chart`."""
    number = single_line(chart.chart_number)
    try:
        of_chart, contact = ctx.services().chart_edits.contact(contact_id)
    except NotFound:
        raise CliError(
            f"chart {number} has no related contact with id {contact_id} "
            f"(frontdesk contacts list {number} lists them)"
        ) from None
    if of_chart != chart.chart_number:
        raise CliError(
            f"related contact {contact_id} ({single_line(contact.name)}) belongs to chart "
            f"{single_line(of_chart)}, not {number} (frontdesk contacts list {number} lists "
            "this chart's)"
        )
    email = single_line(contact.email) if contact.email else "no email address"
    return f"{single_line(contact.name)} ({single_line(contact.relationship)}, {email})"


def cmd_owner_set(args: argparse.Namespace, ctx: CliContext) -> int:
    new_contact = _new_contact(args)
    services = ctx.services()
    chart = services.views.chart(args.chart)
    if args.client:
        target = f"the client, {single_line(chart.first_name)} {single_line(chart.last_name)}"
        target += f" ({single_line(chart.email)})" if chart.email else " (no email address)"
    elif new_contact is not None:
        target = (
            f"{single_line(new_contact.name)} ({single_line(new_contact.relationship)}, "
            f"{single_line((new_contact.email or '').strip())})"
        )
    else:
        target = _existing_contact(ctx, chart, args.contact_id)
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
    ctx.say(queued_sentence(ctx, result))
    return 0
