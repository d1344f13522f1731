"""`frontdesk charts add|list|show|edit|import`: client charts, and their `--json` shapes."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from frontdesk.access.rules import STATUS_FILTERS, PortalStatus
from frontdesk.cli.args import add_json, add_yes, command, group, not_negative, positive
from frontdesk.cli.chart_import import register_import
from frontdesk.cli.contacts import contact_json, contacts_table
from frontdesk.cli.context import CliContext, UsageError, cell, field_error, iso
from frontdesk.cli.display import (
    audit_json,
    audit_table,
    delivery_label,
    delivery_value,
    iter_charts,
    owner_label,
    queued_tail,
    status_text,
    write_json_stream,
)
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

if TYPE_CHECKING:
    from frontdesk.audit import AuditRow
    from frontdesk.charts.records import ChartInput, ContactView
    from frontdesk.cli.args import Commands
    from frontdesk.desk.views import ChartDetail, ChartSummary

HISTORY_ROWS = 20
OPTIONS = {
    "chart_number": "--number",
    "first_name": "--first",
    "last_name": "--last",
    "date_of_birth": "--dob",
    "email": "--email",
    "preferred_name": "--preferred",
    "phone": "--phone",
}
# `charts edit`: each field of the chart and the argparse dest of its option.
EDIT_DESTS = {
    "first_name": "first",
    "last_name": "last",
    "preferred_name": "preferred",
    "date_of_birth": "dob",
    "email": "email",
    "phone": "phone",
}


def register(commands: Commands) -> None:
    charts = group(commands, "charts", "client charts")
    p = command(charts, "add", cmd_charts_add, "add a chart (its client owns portal access)")
    p.add_argument("--number", required=True, metavar="CHART", help="the chart number")
    p.add_argument("--first", required=True, metavar="F", help="first name")
    p.add_argument("--last", required=True, metavar="L", help="last name")
    p.add_argument("--dob", required=True, metavar="YYYY-MM-DD", help="date of birth")
    p.add_argument("--email", required=True, metavar="E", help="the client's email address")
    p.add_argument("--preferred", metavar="P", help="preferred name")
    p.add_argument("--phone", metavar="P", help="phone number")
    p.add_argument(
        "--invite",
        action="store_true",
        help="also email the client an invitation to set up their portal account",
    )
    p.add_argument(
        "--package", metavar="KEY", help="also assign this package of forms (e.g. new-client)"
    )

    p = command(charts, "list", cmd_charts_list, "list charts by last name, page by page")
    p.add_argument("--search", default="", metavar="TEXT", help="name, chart number or email")
    p.add_argument("--status", choices=STATUS_FILTERS, help="only charts with this status")
    p.add_argument("--limit", type=positive, default=50, metavar="N", help="at most N (50)")
    p.add_argument("--offset", type=not_negative, default=0, metavar="N", help="skip N first")
    add_json(p)

    p = command(
        charts, "show", cmd_charts_show, "a chart: owner, status, invitation, contacts, history"
    )
    p.add_argument("chart", metavar="CHART", help="the chart number")
    add_json(p)

    p = command(
        charts,
        "edit",
        cmd_charts_edit,
        "correct a chart; a change that ends the live invitation link sends a new one",
        epilog='Correct a chart\'s fields ("" clears an optional one). Changing the '
        "portal owner's email, or the client's last name or date of birth, while an invitation "
        "is live ends that link at once and sends a new one to the (new) address, unless "
        "--no-invite. Changing an Active owner's email changes the sign-in email, ends their "
        "portal sessions and notifies both addresses.",
    )
    p.add_argument("chart", metavar="CHART", help="the chart number")
    p.add_argument("--first", metavar="F", help="first name")
    p.add_argument("--last", metavar="L", help="last name")
    p.add_argument("--preferred", metavar="P", help='preferred name ("" clears it)')
    p.add_argument("--dob", metavar="YYYY-MM-DD", help="date of birth")
    p.add_argument("--email", metavar="E", help='the client\'s email address ("" clears it)')
    p.add_argument("--phone", metavar="P", help='phone number ("" clears it)')
    p.add_argument(
        "--no-invite",
        action="store_true",
        help="only end the live link; send no new invitation",
    )
    add_yes(p)

    register_import(charts)


# --------------------------------------------------------------------------------------------
# --json shapes
# --------------------------------------------------------------------------------------------


def summary_json(chart: ChartSummary) -> dict[str, Any]:
    """A chart as `charts list --json` gives it."""
    return {
        "chart_number": chart.chart_number,
        "first_name": chart.first_name,
        "last_name": chart.last_name,
        "preferred_name": chart.preferred_name,
        "date_of_birth": chart.date_of_birth.isoformat(),
        "email": chart.email,
        "phone": chart.phone,
        "owner": {
            "name": chart.owner.name,
            "relationship": chart.owner.relationship,
            "email": chart.owner.email,
            "contact_id": chart.owner.contact_id,
        },
        "status": chart.status.status.value,
        "status_detail": chart.status.detail,
        "sent_at": iso(chart.sent_at),
        "expires_at": iso(chart.expires_at),
        "delivery": delivery_value(chart.delivery),
    }


def detail_json(
    chart: ChartDetail, contacts: list[ContactView], history: list[AuditRow]
) -> dict[str, Any]:
    """A chart as `charts show --json` gives it."""
    data = summary_json(chart)
    del data["sent_at"], data["expires_at"], data["delivery"]
    data["status_label"] = chart.status.label
    data["invitation"] = (
        {
            "sent_at": iso(chart.sent_at),
            "sent_by": chart.sent_by,
            "expires_at": iso(chart.expires_at),
            "failed_attempts": chart.failed_attempts,
        }
        if chart.invitation_id is not None
        else None
    )
    data["delivery"] = (
        {
            "state": delivery_value(chart.delivery),
            "sent_at": iso(chart.delivery.sent_at),
            "error": chart.delivery.error,
        }
        if chart.delivery is not None
        else None
    )
    data["account_email"] = chart.account_email
    data["contacts"] = [contact_json(c) for c in contacts]
    data["history"] = [audit_json(row) for row in history]
    return data


# --------------------------------------------------------------------------------------------
# add, list, show
# --------------------------------------------------------------------------------------------


def cmd_charts_add(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.charts.records import ChartInput

    data = ChartInput(
        chart_number=args.number,
        first_name=args.first,
        last_name=args.last,
        date_of_birth=args.dob,
        email=args.email,
        preferred_name=args.preferred,
        phone=args.phone,
    )
    services = ctx.services()
    if args.invite or args.package:
        return add_with_portal(args, ctx, data)
    try:
        number = services.charts.add_chart(data)
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    chart = services.views.chart(number)
    ctx.say(f"Chart {chart.chart_number} added: {chart.display_name}.")
    suggestion = likely_typo(chart.email) if chart.email else None
    if suggestion:
        ctx.warn(f"the email {chart.email} may be a typo of {suggestion}")
    return 0


def add_with_portal(args: argparse.Namespace, ctx: CliContext, data: ChartInput) -> int:
    """`charts add --invite / --package`: the chart, its invitation and its package's forms
    in one transaction (frontdesk.portal.new_chart); one email says forms are waiting."""
    from frontdesk.portal.new_chart import EmailWarningKind, NewChart

    services = ctx.services()
    new = NewChart(chart=data, invite=args.invite, package_key=args.package)
    try:
        result = services.new_chart.create(new)
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS | {"package": "--package"}) from None
    chart = services.views.chart(result.chart_number)
    line = f"Chart {chart.chart_number} added: {chart.display_name}."
    if result.assignment is not None:
        forms = ", ".join(t.form_title for t in result.assignment.tasks)
        line += f" Forms assigned ({args.package}): {forms}."
    if result.invitation_outbox_id is not None:
        email = single_line(result.owner.email or "")
        line += f" Invitation to {email} queued" + queued_tail(ctx, 1) + "."
    ctx.say(line)
    for warning in result.warnings:
        if warning.kind is EmailWarningKind.PROBABLE_TYPO:
            ctx.warn(f"the email {warning.email} may be a typo of {warning.suggestion}")
        else:
            ctx.warn(
                f"the email {warning.email} is also on chart(s) "
                f"{', '.join(warning.chart_numbers)}; if a parent or guardian reads it, make "
                "them the Chart Owner (frontdesk owner set)"
            )
    return 0


def cmd_charts_list(args: argparse.Namespace, ctx: CliContext) -> int:
    services = ctx.services()
    charts = iter_charts(
        services.search, args.search, args.status, limit=args.limit, offset=args.offset
    )
    if args.json:
        write_json_stream(ctx, (summary_json(c) for c in charts))
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("Chart", "Name", "Owner", "Owner email", "Status", "Delivery"):
        table.add_column(header)
    shown = 0
    for chart in charts:
        shown += 1
        name = chart.display_name
        if chart.preferred_name:
            name += f" ({chart.preferred_name})"
        table.add_row(
            cell(chart.chart_number),
            cell(name),
            cell(owner_label(chart)),
            cell(chart.owner.email or "—"),
            status_text(chart.status.label, chart.status.detail),
            cell(delivery_label(chart.delivery)),
        )
    total = services.search.count_charts(args.search, status=args.status)
    if shown:
        ctx.stdout.print(table)
        first = args.offset + 1
        ctx.say(f"Showing {first}–{args.offset + shown} of {total:,} chart(s).")
    else:
        ctx.say(f"No charts match ({total:,} in all for this filter).")
    return 0


def cmd_charts_show(args: argparse.Namespace, ctx: CliContext) -> int:
    services = ctx.services()
    chart = services.views.chart(args.chart)
    contacts = services.chart_edits.contacts(chart.chart_number)
    history = services.history.history(chart.chart_number, limit=HISTORY_ROWS)
    if args.json:
        ctx.print_json(detail_json(chart, contacts, history))
        return 0
    name = chart.display_name + (f" ({chart.preferred_name})" if chart.preferred_name else "")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows: list[tuple[str, str | Text]] = [
        ("Chart", chart.chart_number),
        ("Name", name),
        ("Date of birth", chart.date_of_birth.isoformat()),
        ("Email", chart.email or "—"),
        ("Phone", chart.phone or "—"),
        ("Portal owner", f"{owner_label(chart)} · {chart.owner.email or 'no email'}"),
        ("Status", status_text(chart.status.label, chart.status.detail)),
    ]
    if chart.invitation_id is not None:
        rows.append(
            (
                "Invitation",
                f"sent {ctx.when(chart.sent_at)} by {chart.sent_by}; "
                f"{'expired' if chart.status.status is PortalStatus.EXPIRED else 'expires'} "
                f"{ctx.when(chart.expires_at)}; failed identity checks: {chart.failed_attempts}",
            )
        )
    if delivery_label(chart.delivery):
        rows.append(("Email", delivery_label(chart.delivery)))
    if chart.account_email:
        rows.append(("Portal account", chart.account_email))
    for label, value in rows:
        grid.add_row(cell(label), value if isinstance(value, Text) else cell(value))
    ctx.stdout.print(grid)
    if contacts:
        ctx.stdout.print(contacts_table(contacts, title="Related contacts"))
    if history:
        ctx.stdout.print(audit_table(ctx, history, title="Recent history", with_chart=False))
    return 0


# --------------------------------------------------------------------------------------------
# edit
# --------------------------------------------------------------------------------------------


def cmd_charts_edit(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.access.chart_edits import ChartChanges

    new = given_changes(args, EDIT_DESTS)
    if not new:
        raise UsageError(
            "nothing to change: give at least one of "
            + ", ".join(OPTIONS[name] for name in EDIT_DESTS)
        )
    changes = ChartChanges(**new)
    services = ctx.services()
    chart = services.views.chart(args.chart)
    number = single_line(chart.chart_number)
    try:
        plan = services.chart_edits.plan_chart_edit(chart.chart_number, changes)
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    if not plan.changed:
        ctx.say(f"Chart {number}: nothing to change; it already has these values.")
        return 0
    old = {name: getattr(chart, name) for name in EDIT_DESTS}
    old["date_of_birth"] = chart.date_of_birth.isoformat()
    warn_if_typo(ctx, plan, new)
    effects = effects_words(ctx, plan, chart, invite=not args.no_invite)
    ctx.confirm(
        f"Save chart {number} ({single_line(chart.display_name)}): "
        f"{changes_words(plan.changed, old, new)}?" + (f" {effects}" if effects else ""),
        assume_yes=args.yes,
    )
    try:
        outcome = services.chart_edits.edit_chart(
            chart.chart_number, changes, invite=not args.no_invite
        )
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    ctx.say(result_line(ctx, outcome, what=f"Chart {number}", owner_email=plan.new_owner_email))
    return 0
