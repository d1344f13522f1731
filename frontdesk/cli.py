"""The support command line: `frontdesk COMMAND ...` (see DESIGN.md, "Command line").

Rich tables for people, `--json` for scripts. Exit codes: 0 done, 1 error (one line on stderr),
2 usage, 130 interrupted. Every action asks first unless `--yes`, and refuses without a terminal.
Plain `frontdesk` opens the terminal UI. Other parts add commands through plug-in modules
(`frontdesk.cli_mail`, `frontdesk.cli_web`, `frontdesk.cli_ops`) exposing `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from frontdesk.access.outcomes import BulkResult
from frontdesk.access.status import STATUS_FILTERS, PortalStatus
from frontdesk.audit import AuditRow
from frontdesk.charts.importer import (
    CONTACT_COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    REQUIRED_COLUMNS,
    ImportFileError,
    import_charts,
)
from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.cli_support import CliContext, CliError, cell, iso
from frontdesk.core.emails import InvalidEmail, likely_typo, mask_email, normalize_email
from frontdesk.core.errors import FrontDeskError, InvalidInput
from frontdesk.core.text import single_line
from frontdesk.desk.search import ChartSearch
from frontdesk.desk.views import ChartDetail, ChartSummary
from frontdesk.desk.wording import action_sentence
from frontdesk.mail.delivery import Delivery
from frontdesk.services import Services
from store.db import StoreError, describe_error, open_database

Handler = Callable[[argparse.Namespace, CliContext], int]

PLUGIN_MODULES = (
    "frontdesk.cli_mail",
    "frontdesk.cli_web",
    "frontdesk.cli_ops",
    "frontdesk.cli_demo",
)
BATCH = 200
HISTORY_ROWS = 20
MAX_ERRORS_SHOWN = 50


class UsageError(Exception):
    """Arguments that parse but do not fit together (exit code 2)."""


# ============================================================================================
# Small helpers
# ============================================================================================


def _services(ctx: CliContext) -> Services:
    return ctx.services()


def _field_error(error: InvalidInput, options: dict[str, str]) -> CliError:
    """An InvalidInput as one line naming the command-line option it came from."""
    option = options.get(error.field or "")
    return CliError(f"{option}: {error}" if option else str(error))


def _who(chart: ChartSummary) -> str:
    """The owner and the chart, for prompts: "a…@example.com (O'Brien, Ana, chart C-1)"."""
    name = single_line(chart.display_name)
    number = single_line(chart.chart_number)
    if not chart.owner.email:
        return f"{name} (chart {number}; the portal owner has no email address)"
    owner = "" if chart.owner.is_client else f"{single_line(chart.owner.name)}, "
    return f"{mask_email(chart.owner.email)} ({owner}{name}, chart {number})"


def _new_link_expiry(ctx: CliContext) -> str:
    days = _services(ctx).practice.practice().invitation_days
    return ctx.day(ctx.now() + timedelta(days=days))


def _status_text(status: str, detail: str) -> Text:
    return cell(f"{status} · {detail}" if detail else status)


def delivery_value(delivery: Delivery | None) -> str | None:
    """The `--json` delivery of an invitation: queued, sent, retrying, failed or null."""
    if delivery is None:
        return None
    return {
        "queued": "queued",
        "sending": "queued",
        "sent": "sent",
        "retrying": "retrying",
        "failed": "failed",
    }.get(delivery.state)


def _delivery_label(delivery: Delivery | None) -> str:
    if delivery is None or delivery.state == "cancelled":
        return ""
    return delivery.label


def _owner_label(chart: ChartSummary) -> str:
    if chart.owner.is_client:
        return "Client"
    return f"{chart.owner.name} ({chart.owner.relationship})"


def _iter_charts(
    search: ChartSearch, text: str, status: str | None, *, limit: int, offset: int = 0
) -> Iterator[ChartSummary]:
    """Charts in name order, fetched page by page (never all at once), at most `limit`."""
    given = 0
    while given < limit:
        size = min(BATCH, limit - given)
        page = search.search_charts(text, status=status, limit=size, offset=offset + given)
        yield from page
        given += len(page)
        if len(page) < size:
            return


def _write_json_stream(ctx: CliContext, items: Iterator[dict[str, Any]]) -> None:
    """Write a JSON array item by item, so long listings are never held whole in memory."""
    out = ctx.stdout.file
    out.write("[")
    first = True
    for item in items:
        out.write(("\n  " if first else ",\n  ") + json.dumps(item, default=str))
        first = False
    out.write("\n]\n" if not first else "]\n")
    out.flush()


# ============================================================================================
# db
# ============================================================================================


def cmd_db_upgrade(args: argparse.Namespace, ctx: CliContext) -> int:
    from alembic.util import CommandError

    from store.migrate import upgrade

    db = open_database(ctx.settings().database_url, migrate=False)
    try:
        before, after = upgrade(db)
    except CommandError as exc:
        raise CliError(f"cannot migrate the database: {exc}") from None
    finally:
        db.dispose()
    if before == after:
        ctx.say(f"The database {db.url} is up to date (revision {after}).")
    else:
        ctx.say(f"The database {db.url} was migrated: {before or 'empty'} → {after}.")
    return 0


# ============================================================================================
# practice
# ============================================================================================


def cmd_practice_show(args: argparse.Namespace, ctx: CliContext) -> int:
    practice = _services(ctx).practice.practice()
    data = {
        "name": practice.name,
        "phone": practice.phone,
        "timezone": practice.timezone,
        "portal_active": practice.portal_active,
        "invitation_days": practice.invitation_days,
        "reply_to": practice.reply_to,
    }
    if args.json:
        ctx.print_json(data)
        return 0
    if not practice.name:
        ctx.say(
            "The practice is not set up yet: frontdesk practice set --name NAME --phone PHONE "
            "--portal on"
        )
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in (
        ("Name", practice.name),
        ("Phone", practice.phone),
        ("Time zone", practice.timezone),
        ("Client Portal", "active" if practice.portal_active else "not active"),
        ("Invitations last", f"{practice.invitation_days} days"),
        ("Reply-To", practice.reply_to or ""),
    ):
        grid.add_row(cell(label), cell(value))
    ctx.stdout.print(grid)
    return 0


_PRACTICE_OPTIONS = {
    "name": "--name",
    "phone": "--phone",
    "portal_active": "--portal",
    "invitation_days": "--invitation-days",
    "timezone": "--timezone",
    "reply_to": "--reply-to",
}


def cmd_practice_set(args: argparse.Namespace, ctx: CliContext) -> int:
    changes = {
        "name": args.name,
        "phone": args.phone,
        "portal_active": None if args.portal is None else args.portal == "on",
        "invitation_days": args.invitation_days,
        "timezone": args.timezone,
        "reply_to": args.reply_to,
    }
    if all(value is None for value in changes.values()):
        raise UsageError("nothing to change: give at least one option (see --help)")
    try:
        practice = _services(ctx).practice.update_practice(**changes)
    except InvalidInput as exc:
        raise _field_error(exc, _PRACTICE_OPTIONS) from None
    portal = "active" if practice.portal_active else "not active"
    ctx.say(
        f"Practice saved: {practice.name or '(no name)'}; Client Portal {portal}; invitations "
        f"last {practice.invitation_days} days; time zone {practice.timezone}."
    )
    return 0


# ============================================================================================
# charts
# ============================================================================================

_CHART_OPTIONS = {
    "chart_number": "--number",
    "first_name": "--first",
    "last_name": "--last",
    "date_of_birth": "--dob",
    "email": "--email",
    "preferred_name": "--preferred",
    "phone": "--phone",
}


def cmd_charts_add(args: argparse.Namespace, ctx: CliContext) -> int:
    data = ChartInput(
        chart_number=args.number,
        first_name=args.first,
        last_name=args.last,
        date_of_birth=args.dob,
        email=args.email,
        preferred_name=args.preferred,
        phone=args.phone,
    )
    try:
        number = _services(ctx).charts.add_chart(data)
    except InvalidInput as exc:
        raise _field_error(exc, _CHART_OPTIONS) from None
    chart = _services(ctx).views.chart(number)
    ctx.say(f"Chart {chart.chart_number} added: {chart.display_name}.")
    suggestion = likely_typo(chart.email) if chart.email else None
    if suggestion:
        ctx.warn(f"the email {chart.email} may be a typo of {suggestion}")
    return 0


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


def cmd_charts_list(args: argparse.Namespace, ctx: CliContext) -> int:
    services = _services(ctx)
    charts = _iter_charts(
        services.search, args.search, args.status, limit=args.limit, offset=args.offset
    )
    if args.json:
        _write_json_stream(ctx, (summary_json(c) for c in charts))
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
            cell(_owner_label(chart)),
            cell(chart.owner.email or "—"),
            _status_text(chart.status.label, chart.status.detail),
            cell(_delivery_label(chart.delivery)),
        )
    total = services.search.count_charts(args.search, status=args.status)
    if shown:
        ctx.stdout.print(table)
        first = args.offset + 1
        ctx.say(f"Showing {first}–{args.offset + shown} of {total:,} chart(s).")
    else:
        ctx.say(f"No charts match ({total:,} in all for this filter).")
    return 0


def _audit_json(row: AuditRow) -> dict[str, Any]:
    return {
        "at": iso(row.at),
        "actor": row.actor,
        "action": row.action,
        "chart_number": row.chart_number,
        "outcome": row.outcome,
        "detail": row.detail,
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
    data["history"] = [_audit_json(row) for row in history]
    return data


def cmd_charts_show(args: argparse.Namespace, ctx: CliContext) -> int:
    services = _services(ctx)
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
        ("Portal owner", f"{_owner_label(chart)} · {chart.owner.email or 'no email'}"),
        ("Status", _status_text(chart.status.label, chart.status.detail)),
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
    if _delivery_label(chart.delivery):
        rows.append(("Email", _delivery_label(chart.delivery)))
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
        ctx.stdout.print(_audit_table(ctx, history, title="Recent history", with_chart=False))
    return 0


CSV_HELP = f"""\
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


def cmd_charts_import(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        report = import_charts(_services(ctx).charts, args.file, skip_invalid=args.skip_invalid)
    except ImportFileError as exc:
        raise CliError(str(exc)) from None
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


# ============================================================================================
# invites
# ============================================================================================

_INVITE_STATUSES = (
    PortalStatus.INVITED.value,
    PortalStatus.EXPIRED.value,
    PortalStatus.LOCKED.value,
    PortalStatus.ACTIVE.value,
)


def invite_json(chart: ChartSummary) -> dict[str, Any]:
    """A chart as `invites list --json` gives it (the keys are a documented contract)."""
    return {
        "chart_number": chart.chart_number,
        "owner_name": chart.owner.name,
        "owner_email": chart.owner.email,
        "status": chart.status.status.value,
        "sent_at": iso(chart.sent_at),
        "expires_at": iso(chart.expires_at),
        "delivery": delivery_value(chart.delivery),
    }


def _invited_charts(search: ChartSearch, status: str | None) -> Iterator[ChartSummary]:
    """Charts with the given status, or every chart that has or had an invitation."""
    seen: set[str] = set()
    for name in (status,) if status else _INVITE_STATUSES:
        for chart in _iter_charts(search, "", name, limit=sys.maxsize):
            if chart.chart_number not in seen:
                seen.add(chart.chart_number)
                yield chart


def cmd_invites_list(args: argparse.Namespace, ctx: CliContext) -> int:
    charts = _invited_charts(_services(ctx).search, args.status)
    if args.json:
        _write_json_stream(ctx, (invite_json(c) for c in charts))
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("Chart", "Client", "Owner", "Owner email", "Status", "Sent", "Expires"):
        table.add_column(header)
    table.add_column("Delivery")
    count = 0
    for chart in charts:
        count += 1
        table.add_row(
            cell(chart.chart_number),
            cell(chart.display_name),
            cell(_owner_label(chart)),
            cell(chart.owner.email or "—"),
            _status_text(chart.status.label, chart.status.detail),
            cell(ctx.when(chart.sent_at)),
            cell(ctx.when(chart.expires_at)),
            cell(_delivery_label(chart.delivery)),
        )
    if count:
        ctx.stdout.print(table)
        ctx.say(f"{count:,} chart(s).")
    else:
        ctx.say("No invitations match.")
    return 0


def _bulk_summary(ctx: CliContext, result: BulkResult, verb: str) -> int:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("Chart", "Result", "Reason"):
        table.add_column(header)
    for number in result.done:
        table.add_row(cell(number), cell(verb), cell(""))
    for number, reason in result.skipped:
        table.add_row(cell(number), cell("skipped"), cell(reason))
    if result.done or result.skipped:
        ctx.stdout.print(table)
    ctx.say(f"{len(result.done)} {verb}, {len(result.skipped)} skipped.")
    return 0


def _chart_arg(args: argparse.Namespace, flag_set: bool, flag: str) -> str | None:
    if flag_set and args.chart:
        raise UsageError(f"give either CHART or {flag}, not both")
    if not flag_set and not args.chart:
        raise UsageError(f"give a CHART (or {flag})")
    return None if flag_set else str(args.chart)


def cmd_invites_send(args: argparse.Namespace, ctx: CliContext) -> int:
    number = _chart_arg(args, args.all_without_access, "--all-without-access")
    services = _services(ctx)
    if number is None:
        count = services.search.count_charts(status=PortalStatus.NO_PORTAL_ACCESS.value)
        if not count:
            ctx.say("Every chart already has an invitation or portal access; nothing to send.")
            return 0
        ctx.confirm(
            f"Send portal invitations to the {count:,} chart(s) without portal access? Each "
            f"owner with a valid email gets a link that expires {_new_link_expiry(ctx)}.",
            assume_yes=args.yes,
        )
        return _bulk_summary(ctx, services.invitations.send_all_without_access(), "sent")
    chart = services.views.chart(number)
    ctx.confirm(
        f"Send a portal invitation to {_who(chart)}? The link expires {_new_link_expiry(ctx)}.",
        assume_yes=args.yes,
    )
    result = services.invitations.send_invitation(chart.chart_number)
    ctx.say(f"{action_sentence(result)} The email is queued for delivery.")
    return 0


def cmd_invites_resend(args: argparse.Namespace, ctx: CliContext) -> int:
    number = _chart_arg(args, args.all_expired, "--all-expired")
    services = _services(ctx)
    if number is None:
        statuses = [PortalStatus.EXPIRED.value]
        if args.include_locked:
            statuses.append(PortalStatus.LOCKED.value)
        count = sum(services.search.count_charts(status=s) for s in statuses)
        which = "expired or locked" if args.include_locked else "expired"
        if not count:
            ctx.say(f"No chart has an {which} invitation; nothing to resend.")
            return 0
        ctx.confirm(
            f"Resend the invitations of the {count:,} chart(s) with an {which} invitation? "
            f"Their earlier links stop working; the new links expire {_new_link_expiry(ctx)}.",
            assume_yes=args.yes,
        )
        return _bulk_summary(
            ctx,
            services.invitations.resend_all_expired(include_locked=args.include_locked),
            "resent",
        )
    if args.include_locked:
        raise UsageError("--include-locked goes with --all-expired")
    chart = services.views.chart(number)
    old_link = f" The link sent on {ctx.day(chart.sent_at)} stops working." if chart.sent_at else ""
    ctx.confirm(
        f"Resend the invitation to {_who(chart)}?{old_link} "
        f"The new link expires {_new_link_expiry(ctx)}.",
        assume_yes=args.yes,
    )
    result = services.invitations.resend_invitation(
        chart.chart_number, seen_invitation_id=chart.invitation_id
    )
    ctx.say(f"{action_sentence(result)} The email is queued for delivery.")
    return 0


def cmd_invites_revoke(args: argparse.Namespace, ctx: CliContext) -> int:
    services = _services(ctx)
    chart = services.views.chart(args.chart)
    name = f"{single_line(chart.display_name)} (chart {single_line(chart.chart_number)})"
    effects = []
    if chart.sent_at is not None:
        effects.append(f"the invitation link sent on {ctx.day(chart.sent_at)} stops working")
    if chart.account_email:
        effects.append(
            f"the portal account {mask_email(chart.account_email)} is disabled and its "
            "sessions end now"
        )
    effect = "; ".join(effects) or "nothing is active"
    ctx.confirm(
        f"Revoke portal access for {name}? {effect[0].upper()}{effect[1:]}.", assume_yes=args.yes
    )
    result = services.invitations.revoke_access(chart.chart_number)
    ctx.say(action_sentence(result))
    return 0


def cmd_invites_activate(args: argparse.Namespace, ctx: CliContext) -> int:
    services = _services(ctx)
    chart = services.views.chart(args.chart)
    ctx.confirm(
        f"Activate portal access for {_who(chart)}? A disabled account of this owner is "
        "restored, otherwise a new invitation is sent.",
        assume_yes=args.yes,
    )
    result = services.invitations.activate_access(chart.chart_number)
    ctx.say(action_sentence(result))
    return 0


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


# ============================================================================================
# owner
# ============================================================================================

_OWNER_OPTIONS = {"name": "--name", "relationship": "--relationship", "email": "--email"}


def cmd_owner_set(args: argparse.Namespace, ctx: CliContext) -> int:
    new_contact: ContactInput | None = None
    if args.name is not None:
        if not (args.relationship and args.email):
            raise UsageError("--name needs --relationship and --email")
        try:
            normalize_email(args.email)
        except InvalidEmail as exc:
            raise CliError(f"--email: {exc}") from None
        new_contact = ContactInput(args.name, args.relationship, args.email)
    elif args.relationship is not None or args.email is not None:
        raise UsageError("--relationship and --email go with --name")
    services = _services(ctx)
    chart = services.views.chart(args.chart)
    if args.client:
        target = f"the client, {single_line(chart.first_name)} {single_line(chart.last_name)}"
        target += f" ({mask_email(chart.email)})" if chart.email else " (no email address)"
    elif new_contact is not None:
        target = (
            f"{single_line(new_contact.name)} ({single_line(new_contact.relationship)}, "
            f"{mask_email(new_contact.email.strip())})"
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
        raise _field_error(exc, _OWNER_OPTIONS) from None
    ctx.say(action_sentence(result))
    return 0


# ============================================================================================
# audit
# ============================================================================================


def _audit_table(
    ctx: CliContext, rows: list[AuditRow], *, title: str | None = None, with_chart: bool = True
) -> Table:
    table = Table(title=title, box=None, header_style="bold", pad_edge=False)
    headers = ["When", "Actor", "Action", *(["Chart"] if with_chart else []), "Outcome", "Detail"]
    for header in headers:
        table.add_column(header)
    for row in rows:
        cells = [cell(ctx.when(row.at)), cell(row.actor), cell(row.action)]
        if with_chart:
            cells.append(cell(row.chart_number or ""))
        cells += [cell(row.outcome), cell(row.detail)]
        table.add_row(*cells)
    return table


def cmd_audit(args: argparse.Namespace, ctx: CliContext) -> int:
    rows = _services(ctx).audit.audit(chart_number=args.chart, limit=args.limit)
    if args.json:
        ctx.print_json([_audit_json(row) for row in rows])
        return 0
    if not rows:
        ctx.say("No audit events.")
        return 0
    ctx.stdout.print(_audit_table(ctx, rows))
    return 0


# ============================================================================================
# Placeholders and the TUI
# ============================================================================================


def _not_available(what: str, *, later: bool) -> Handler:
    def handler(args: argparse.Namespace, ctx: CliContext) -> int:
        if later:
            raise CliError(f"`frontdesk {what}` is not available yet in this build")
        raise CliError(f"`frontdesk {what}` is not available in this build")

    return handler


def open_tui(args: argparse.Namespace, ctx: CliContext) -> int:
    """Plain `frontdesk`: the terminal UI (imported only now, so the CLI never needs it)."""
    try:
        from frontdesk.app import FrontDeskApp
    except ImportError:
        raise CliError("the terminal UI is not available in this build") from None
    ctx.settings()  # a configuration mistake is one line here, before the screen opens
    # The database layer loads and the store opens behind the first screen (a factory).
    FrontDeskApp(services=ctx.services).run()
    return 0


# ============================================================================================
# The parser
# ============================================================================================


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more")
        return number

    return parse


_positive = _whole_number(1)
_not_negative = _whole_number(0)


def _group(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    inner = parser.add_subparsers(title="commands", metavar="COMMAND")
    inner.required = True
    return inner


def _command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    help_text: str,
    **kwargs: Any,
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text, **kwargs)
    parser.set_defaults(handler=handler)
    return parser


def _add_yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--yes", "-y", action="store_true", help="do it without asking (needed without a terminal)"
    )


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="JSON output for scripts")


def _register_core(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = _group(commands, "db", "the database")
    _command(db, "upgrade", cmd_db_upgrade, "create or migrate the database to this version")

    practice = _group(commands, "practice", "the practice's settings")
    _add_json(_command(practice, "show", cmd_practice_show, "show the practice's settings"))
    p = _command(practice, "set", cmd_practice_set, "create or change the practice's settings")
    p.add_argument("--name", help="the practice's name (shown to clients)")
    p.add_argument("--phone", help="the practice's phone number (shown to clients)")
    p.add_argument(
        "--portal", choices=("on", "off"), help="activate or deactivate the Client Portal"
    )
    p.add_argument(
        "--invitation-days", type=int, metavar="D", help="how long invitations last (1-30 days)"
    )
    p.add_argument("--timezone", metavar="TZ", help="IANA time zone, e.g. America/Chicago")
    p.add_argument("--reply-to", metavar="EMAIL", help="Reply-To of emails ('' to clear)")

    charts = _group(commands, "charts", "client charts")
    p = _command(charts, "add", cmd_charts_add, "add a chart (its client owns portal access)")
    p.add_argument("--number", required=True, metavar="CHART", help="the chart number")
    p.add_argument("--first", required=True, metavar="F", help="first name")
    p.add_argument("--last", required=True, metavar="L", help="last name")
    p.add_argument("--dob", required=True, metavar="YYYY-MM-DD", help="date of birth")
    p.add_argument("--email", required=True, metavar="E", help="the client's email address")
    p.add_argument("--preferred", metavar="P", help="preferred name")
    p.add_argument("--phone", metavar="P", help="phone number")

    p = _command(charts, "list", cmd_charts_list, "list charts by last name, page by page")
    p.add_argument("--search", default="", metavar="TEXT", help="name, chart number or email")
    p.add_argument("--status", choices=STATUS_FILTERS, help="only charts with this status")
    p.add_argument("--limit", type=_positive, default=50, metavar="N", help="at most N (50)")
    p.add_argument("--offset", type=_not_negative, default=0, metavar="N", help="skip N first")
    _add_json(p)

    p = _command(
        charts, "show", cmd_charts_show, "a chart: owner, status, invitation, contacts, history"
    )
    p.add_argument("chart", metavar="CHART", help="the chart number")
    _add_json(p)

    p = _command(
        charts,
        "import",
        cmd_charts_import,
        "import charts and related contacts from a CSV file",
        epilog=CSV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=Path, metavar="FILE.csv", help="the CSV file")
    p.add_argument(
        "--skip-invalid", action="store_true", help="import the valid rows, report the others"
    )

    invites = _group(commands, "invites", "portal invitations")
    p = _command(
        invites, "list", cmd_invites_list, "charts that have (or had) an invitation, by status"
    )
    p.add_argument("--status", choices=STATUS_FILTERS, help="only charts with this status")
    _add_json(p)

    p = _command(invites, "send", cmd_invites_send, "invite a chart's portal owner")
    p.add_argument("chart", nargs="?", metavar="CHART", help="the chart number")
    p.add_argument(
        "--all-without-access",
        action="store_true",
        help="go-live: invite every chart with a valid email and no portal access",
    )
    _add_yes(p)

    p = _command(
        invites, "resend", cmd_invites_resend, "send a new link; earlier links stop working"
    )
    p.add_argument("chart", nargs="?", metavar="CHART", help="the chart number")
    p.add_argument("--all-expired", action="store_true", help="resend every expired invitation")
    p.add_argument(
        "--include-locked", action="store_true", help="with --all-expired: locked ones too"
    )
    _add_yes(p)

    p = _command(
        invites,
        "revoke",
        cmd_invites_revoke,
        "revoke portal access: the link dies, the account is disabled, sessions end",
    )
    p.add_argument("chart", metavar="CHART", help="the chart number")
    _add_yes(p)

    p = _command(
        invites,
        "activate",
        cmd_invites_activate,
        "activate portal access again: restore the owner's account, or invite",
    )
    p.add_argument("chart", metavar="CHART", help="the chart number")
    _add_yes(p)

    owner = _group(commands, "owner", "who owns a chart's portal access")
    p = _command(
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
    _add_yes(p)

    signin = _group(commands, "signin", "Client Portal sign-in")
    p = _command(
        signin,
        "unlock",
        cmd_signin_unlock,
        "let a client who is waiting out failed sign-ins sign in now (audited)",
    )
    p.add_argument("email", metavar="EMAIL", help="the portal account's email address")
    _add_yes(p)

    p = _command(commands, "audit", cmd_audit, "the audit trail, newest first")
    p.add_argument("--chart", metavar="CHART", help="only this chart")
    p.add_argument("--limit", type=_positive, default=200, metavar="N", help="at most N (200)")
    _add_json(p)


def _load_plugins(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> list[str]:
    """Let the optional command modules add their commands; return warnings for broken ones."""
    warnings = []
    for name in PLUGIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # not part of this build
            warnings.append(f"the commands of {name} are unavailable: {exc}")
            continue
        except ImportError as exc:
            warnings.append(f"the commands of {name} are unavailable: {exc}")
            continue
        register = getattr(module, "register", None)
        if not callable(register):
            warnings.append(f"{name} has no register(subparsers)")
            continue
        try:
            register(commands)
        except Exception as exc:  # a broken plug-in must not take the core commands down
            warnings.append(f"the commands of {name} are unavailable: {type(exc).__name__}: {exc}")
    return warnings


def _register_placeholders(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Commands that other parts provide; say so clearly when they are missing."""
    names = commands.choices
    if "demo" not in names:
        _command(commands, "demo", _not_available("demo", later=True), "a first look (later)")
    if "serve" not in names:
        p = _command(
            commands, "serve", _not_available("serve", later=True), "the web endpoint (later)"
        )
        p.add_argument("--host")
        p.add_argument("--port")
    if "doctor" not in names:
        p = _command(
            commands, "doctor", _not_available("doctor", later=True), "check the setup (later)"
        )
        _add_json(p)
    if "outbox" not in names:
        outbox = _group(commands, "outbox", "outgoing email (not in this build)")
        _add_json(
            _command(outbox, "list", _not_available("outbox list", later=False), "queued emails")
        )
        _command(outbox, "deliver", _not_available("outbox deliver", later=False), "send them")


def build_parser() -> tuple[argparse.ArgumentParser, list[str]]:
    """The whole command line, plug-ins included; also returns plug-in warnings."""
    parser = argparse.ArgumentParser(
        prog="frontdesk",
        description="FrontDesk: get every client of the practice onto its Client Portal. "
        "Without a command, opens the terminal UI.",
    )
    parser.add_argument(
        "--config", type=Path, metavar="PATH", help="settings file (default: FRONTDESK_CONFIG)"
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _register_core(commands)
    warnings = _load_plugins(commands)
    _register_placeholders(commands)
    return parser, warnings


# ============================================================================================
# Entry point
# ============================================================================================


def _os_message(exc: OSError) -> str:
    if exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename}"
    return str(exc.strerror or exc)


def main(argv: Sequence[str] | None = None, ctx: CliContext | None = None) -> int:
    """Run one command; return the exit code. Every failure is one line on stderr."""
    parser, warnings = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    ctx = ctx or CliContext()
    for warning in warnings:
        ctx.warn(warning)
    handler: Handler = getattr(args, "handler", None) or open_tui
    try:
        if args.config is not None:
            if not args.config.is_file():
                raise CliError(f"--config: no such file: {args.config}")
            ctx.config_path = args.config
        return handler(args, ctx)
    except UsageError as exc:
        ctx.error(str(exc))
        return 2
    except (FrontDeskError, StoreError) as exc:
        ctx.error(str(exc))
        return 1
    except KeyboardInterrupt:
        ctx.error("interrupted")
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except OSError as exc:
        ctx.error(_os_message(exc))
        return 1
    except SQLAlchemyError as exc:
        ctx.error(f"Database error: {describe_error(exc)}")
        return 1
    except Exception as exc:  # last resort: one line, never a traceback for staff
        if os.environ.get("FRONTDESK_DEBUG"):
            raise
        ctx.error(
            f"unexpected {type(exc).__name__}: {exc} (run with FRONTDESK_DEBUG=1 for details)"
        )
        return 1
    finally:
        ctx.close()


def _silence_stdout() -> None:
    """After the reader of our output went away (`| head`), drop whatever is still buffered."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return


if __name__ == "__main__":
    raise SystemExit(main())
