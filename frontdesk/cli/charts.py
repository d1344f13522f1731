"""`frontdesk charts add|list|show|import`: client charts, and their `--json` shapes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from frontdesk.access.rules import STATUS_FILTERS, PortalStatus
from frontdesk.cli.args import add_json, command, group, not_negative, positive
from frontdesk.cli.context import CliContext, CliError, cell, field_error, iso
from frontdesk.cli.display import (
    audit_json,
    audit_table,
    delivery_label,
    delivery_value,
    iter_charts,
    owner_label,
    status_text,
    write_json_stream,
)
from frontdesk.core.emails import likely_typo
from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import single_line

if TYPE_CHECKING:
    from frontdesk.audit import AuditRow
    from frontdesk.cli.args import Commands
    from frontdesk.desk.views import ChartDetail, ChartSummary

HISTORY_ROWS = 20
MAX_ERRORS_SHOWN = 50
OPTIONS = {
    "chart_number": "--number",
    "first_name": "--first",
    "last_name": "--last",
    "date_of_birth": "--dob",
    "email": "--email",
    "preferred_name": "--preferred",
    "phone": "--phone",
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
        "import",
        cmd_charts_import,
        "import charts and related contacts from a CSV file",
        epilog=_CSV_HELP,
        formatter_class=_ImportHelpFormatter,
    )
    p.add_argument("file", type=Path, metavar="FILE.csv", help="the CSV file")
    p.add_argument(
        "--skip-invalid", action="store_true", help="import the valid rows, report the others"
    )


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


def detail_json(chart: ChartDetail, history: list[AuditRow]) -> dict[str, Any]:
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
    data["contacts"] = [
        {
            "id": c.id,
            "name": c.name,
            "relationship": c.relationship,
            "email": c.email,
            "is_owner": c.id == chart.owner.contact_id,
        }
        for c in chart.contacts
    ]
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
    history = services.audit.history(chart.chart_number, limit=HISTORY_ROWS)
    if args.json:
        ctx.print_json(detail_json(chart, history))
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
    if chart.contacts:
        contacts = Table(title="Related contacts", box=None, header_style="bold", pad_edge=False)
        for header in ("ID", "Name", "Relationship", "Email", "Owner"):
            contacts.add_column(header)
        for contact in chart.contacts:
            contacts.add_row(
                cell(contact.id),
                cell(contact.name),
                cell(contact.relationship),
                cell(contact.email or "—"),
                cell("owner" if contact.id == chart.owner.contact_id else ""),
            )
        ctx.stdout.print(contacts)
    if history:
        ctx.stdout.print(audit_table(ctx, history, title="Recent history", with_chart=False))
    return 0


# --------------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------------

_CSV_HELP = "(the CSV format: written when this help is shown)"


def csv_help() -> str:
    """The epilog of `charts import --help`: the importer's columns and limits."""
    from frontdesk.charts.importer import (
        CONTACT_COLUMNS,
        MAX_FILE_BYTES,
        MAX_ROWS,
        REQUIRED_COLUMNS,
    )

    return f"""\
The file is UTF-8 CSV (Excel's "CSV UTF-8" works) with a header line naming the columns, in any
order, case-insensitive:

  required  {", ".join(REQUIRED_COLUMNS)}
  optional  preferred_name, email, phone
  contact   {", ".join(CONTACT_COLUMNS)}

Dates are YYYY-MM-DD. A row with the contact columns filled adds that related contact (guardian,
parent, ...) to its chart; the three go together. For more contacts of one chart, add rows right
after it with the same chart_number, every chart column blank and only the contact columns
filled. Example:

  chart_number,first_name,last_name,date_of_birth,email,contact_name,contact_relationship,contact_email
  C-1001,Ana,O'Brien,1985-03-04,ana@example.com,,,
  C-1002,Leo,Park,2014-06-01,,Mina Park,Mother,mina@example.com
  C-1002,,,,,Jun Park,Father,jun@example.com

Every row is checked first; errors name the line and the column. Unless --skip-invalid is
given, nothing is imported when any row is invalid. Charts and contacts are written in one
transaction. Files up to {MAX_FILE_BYTES // 10**6} MB and
{MAX_ROWS:,} rows.
"""


class _ImportHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Writes the CSV format as the epilog only when the help is shown: the importer (and the
    database layer with it) loads for `charts import`, not for every `frontdesk --help`."""

    def add_text(self, text: str | None) -> None:
        super().add_text(csv_help() if text is _CSV_HELP else text)


def cmd_charts_import(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.charts.importer import import_charts

    report = import_charts(ctx.services().charts, args.file, skip_invalid=args.skip_invalid)
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        ctx.stderr.file.write(f"{single_line(str(error))}\n")
    if len(report.errors) > MAX_ERRORS_SHOWN:
        ctx.stderr.file.write(f"... and {len(report.errors) - MAX_ERRORS_SHOWN} more error(s)\n")
    ctx.stderr.file.flush()
    added = len(report.charts_added)
    if report.errors and not args.skip_invalid:
        raise CliError(
            f"{len(report.errors)} error(s) in {report.rows} row(s); nothing was imported "
            "(fix the file, or pass --skip-invalid to import the valid rows)"
        )
    ctx.say(
        f"Imported {added} chart(s) and {report.contacts_added} related contact(s) "
        f"from {report.rows} row(s)."
    )
    if report.errors:
        raise CliError(f"{len(report.errors)} row error(s) were not imported (listed above)")
    return 0
