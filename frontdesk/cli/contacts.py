"""`frontdesk contacts list|add|edit|remove`: a chart's related contacts (guardians, parents,
...), and the `contacts list --json` shape. `ID` is the contact's id (`contacts list`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.table import Table

from frontdesk.cli.args import add_json, add_yes, command, group, positive
from frontdesk.cli.context import CliContext, CliError, UsageError, cell, field_error
from frontdesk.cli.edits import (
    changes_words,
    effects_words,
    given_changes,
    result_line,
    warn_if_typo,
)
from frontdesk.core.emails import likely_typo
from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import single_line
from frontdesk.desk.wording import contact_added_sentence, contact_removed_sentence

if TYPE_CHECKING:
    from frontdesk.charts.records import ContactView
    from frontdesk.cli.args import Commands

OPTIONS = {
    "name": "--name",
    "relationship": "--relationship",
    "email": "--email",
    "phone": "--phone",
}
EDIT_DESTS = {name: name for name in OPTIONS}  # field → argparse dest


def register(commands: Commands) -> None:
    contacts = group(commands, "contacts", "a chart's related contacts (guardians, parents, ...)")
    p = command(contacts, "list", cmd_contacts_list, "a chart's related contacts, with their ids")
    p.add_argument("chart", metavar="CHART", help="the chart number")
    add_json(p)

    p = command(contacts, "add", cmd_contacts_add, "add a related contact to a chart")
    p.add_argument("chart", metavar="CHART", help="the chart number")
    p.add_argument("--name", required=True, metavar="N", help="their name")
    p.add_argument("--relationship", required=True, metavar="R", help="e.g. Mother, Guardian")
    p.add_argument("--email", metavar="E", help="their email address")
    p.add_argument("--phone", metavar="P", help="their phone number")

    p = command(
        contacts,
        "edit",
        cmd_contacts_edit,
        "correct a related contact; the Chart Owner's new email ends the live link",
        epilog='"" clears an optional field. When the contact is the Chart Owner, a new email '
        "ends a live invitation link and sends a new one to the new address (unless "
        "--no-invite), or, for an Active owner, changes the sign-in email, ends their portal "
        "sessions and notifies both addresses.",
    )
    p.add_argument("id", type=positive, metavar="ID", help="the contact's id (contacts list)")
    p.add_argument("--name", metavar="N", help="their name")
    p.add_argument("--relationship", metavar="R", help="e.g. Mother, Guardian")
    p.add_argument("--email", metavar="E", help='their email address ("" clears it)')
    p.add_argument("--phone", metavar="P", help='their phone number ("" clears it)')
    p.add_argument(
        "--no-invite", action="store_true", help="only end the live link; send no new invitation"
    )
    add_yes(p)

    p = command(
        contacts,
        "remove",
        cmd_contacts_remove,
        "remove a related contact from its chart (not the Chart Owner: change the owner first)",
    )
    p.add_argument("id", type=positive, metavar="ID", help="the contact's id (contacts list)")
    add_yes(p)


def contact_json(contact: ContactView) -> dict[str, Any]:
    """A related contact as `contacts list --json` (and `charts show --json`) gives it."""
    return {
        "id": contact.id,
        "name": contact.name,
        "relationship": contact.relationship,
        "email": contact.email,
        "phone": contact.phone,
        "is_owner": contact.is_owner,
    }


def contacts_table(contacts: list[ContactView], *, title: str | None = None) -> Table:
    """Related contacts with their phone, the Chart Owner marked."""
    table = Table(title=title, box=None, header_style="bold", pad_edge=False)
    for header in ("ID", "Name", "Relationship", "Email", "Phone", "Owner"):
        table.add_column(header)
    for contact in contacts:
        table.add_row(
            cell(contact.id),
            cell(contact.name),
            cell(contact.relationship),
            cell(contact.email or "—"),
            cell(contact.phone or "—"),
            cell("Chart Owner" if contact.is_owner else ""),
        )
    return table


def _label(contact: ContactView) -> str:
    """ "Mina Park (Mother, mina@example.com)"."""
    email = single_line(contact.email) if contact.email else "no email address"
    return f"{single_line(contact.name)} ({single_line(contact.relationship)}, {email})"


def cmd_contacts_list(args: argparse.Namespace, ctx: CliContext) -> int:
    services = ctx.services()
    contacts = services.chart_edits.contacts(args.chart)
    if args.json:
        ctx.print_json([contact_json(c) for c in contacts])
        return 0
    number = single_line(args.chart.strip())
    if not contacts:
        ctx.say(
            f"Chart {number} has no related contacts "
            f"(frontdesk contacts add {number} --name N --relationship R adds one)."
        )
        return 0
    ctx.stdout.print(contacts_table(contacts))
    return 0


def cmd_contacts_add(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.charts.records import ContactInput

    services = ctx.services()
    chart = services.views.chart(args.chart)
    try:
        added = services.chart_edits.add_contact(
            chart.chart_number, ContactInput(args.name, args.relationship, args.email, args.phone)
        )
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    sentence = contact_added_sentence(
        single_line(added.name),
        single_line(added.relationship),
        chart_number=single_line(chart.chart_number),
    )
    ctx.say(f"{sentence} Its contact id is {added.id}.")
    suggestion = likely_typo(added.email) if added.email else None
    if suggestion:
        ctx.warn(f"the email {added.email} may be a typo of {suggestion}")
    return 0


def cmd_contacts_edit(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.access.chart_edits import ContactChanges

    new = given_changes(args, EDIT_DESTS)
    if not new:
        raise UsageError(
            "nothing to change: give at least one of " + ", ".join(OPTIONS[n] for n in OPTIONS)
        )
    changes = ContactChanges(**new)
    services = ctx.services()
    number, contact = services.chart_edits.contact(args.id)
    chart = services.views.chart(number)
    try:
        plan = services.chart_edits.plan_contact_edit(contact.id, changes)
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    what = single_line(contact.name)
    if not plan.changed:
        ctx.say(f"{what}: nothing to change; the contact already has these values.")
        return 0
    old = {name: getattr(contact, name) for name in EDIT_DESTS}
    warn_if_typo(ctx, plan, new)
    effects = effects_words(ctx, plan, chart, invite=not args.no_invite)
    owner = ", the Chart Owner," if contact.is_owner else ""
    ctx.confirm(
        f"Save related contact {contact.id}, {what} ({single_line(contact.relationship)}){owner} "
        f"of chart {single_line(number)} ({single_line(chart.display_name)}): "
        f"{changes_words(plan.changed, old, new)}?" + (f" {effects}" if effects else ""),
        assume_yes=args.yes,
    )
    try:
        outcome = services.chart_edits.edit_contact(contact.id, changes, invite=not args.no_invite)
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    ctx.say(result_line(ctx, outcome, what=what, owner_email=plan.new_owner_email))
    return 0


def cmd_contacts_remove(args: argparse.Namespace, ctx: CliContext) -> int:
    services = ctx.services()
    number, contact = services.chart_edits.contact(args.id)
    shown = single_line(number)
    if contact.is_owner:
        raise CliError(
            f"{single_line(contact.name)} is the Chart Owner of chart {shown}; change the owner "
            f"first (frontdesk owner set {shown} --client, or --contact ID), then remove them"
        )
    chart = services.views.chart(number)
    ctx.confirm(
        f"Remove {_label(contact)} from chart {shown} ({single_line(chart.display_name)})? "
        "They no longer show on the chart; the audit trail keeps what they did.",
        assume_yes=args.yes,
    )
    services.chart_edits.remove_contact(contact.id)
    ctx.say(
        contact_removed_sentence(
            single_line(contact.name), single_line(contact.relationship), chart_number=shown
        )
    )
    return 0
