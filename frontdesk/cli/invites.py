"""`frontdesk invites list|send|resend|revoke|activate`: portal invitations and access, and the
`invites list --json` shape (a documented contract)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.table import Table

from frontdesk.access.outcomes import BulkAction
from frontdesk.access.rules import STATUS_FILTERS, PortalStatus
from frontdesk.cli.args import add_json, add_yes, command, group
from frontdesk.cli.bulk import run_bulk
from frontdesk.cli.context import CliContext, UsageError, cell, iso
from frontdesk.cli.display import (
    delivery_detail,
    delivery_label,
    delivery_value,
    iter_charts,
    new_link_expiry,
    owner_label,
    queued_sentence,
    status_text,
    write_json_stream,
)
from frontdesk.core.text import single_line
from frontdesk.desk.wording import action_sentence

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands
    from frontdesk.desk.search import ChartSearch
    from frontdesk.desk.views import ChartSummary

_INVITE_STATUSES = (
    PortalStatus.INVITED.value,
    PortalStatus.EXPIRED.value,
    PortalStatus.LOCKED.value,
    PortalStatus.ACTIVE.value,
)


def register(commands: Commands) -> None:
    invites = group(commands, "invites", "portal invitations")
    p = command(
        invites, "list", cmd_invites_list, "charts that have (or had) an invitation, by status"
    )
    p.add_argument("--status", choices=STATUS_FILTERS, help="only charts with this status")
    add_json(p)

    p = command(invites, "send", cmd_invites_send, "invite a chart's portal owner")
    p.add_argument("chart", nargs="?", metavar="CHART", help="the chart number")
    p.add_argument(
        "--all-without-access",
        action="store_true",
        help="go-live: invite every chart with a valid email and no portal access",
    )
    add_yes(p)
    add_json(p, "with --all-without-access: the result as JSON (sent, skipped, failed)")

    p = command(
        invites, "resend", cmd_invites_resend, "send a new link; earlier links stop working"
    )
    p.add_argument("chart", nargs="?", metavar="CHART", help="the chart number")
    p.add_argument("--all-expired", action="store_true", help="resend every expired invitation")
    p.add_argument(
        "--include-locked", action="store_true", help="with --all-expired: locked ones too"
    )
    add_yes(p)
    add_json(p, "with --all-expired: the result as JSON (sent, skipped, failed)")

    p = command(
        invites,
        "revoke",
        cmd_invites_revoke,
        "revoke portal access: the link dies, the account is disabled, sessions end",
    )
    p.add_argument("chart", metavar="CHART", help="the chart number")
    add_yes(p)

    p = command(
        invites,
        "activate",
        cmd_invites_activate,
        "activate portal access again: restore the owner's account, or invite",
    )
    p.add_argument("chart", metavar="CHART", help="the chart number")
    add_yes(p)


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
        "delivery_detail": delivery_detail(chart.delivery),
    }


def _who(chart: ChartSummary) -> str:
    """The owner and the chart, for prompts: "ana@example.com (O'Brien, Ana, chart C-1)".
    Staff see the whole address: a typo must be caught before the link goes out."""
    name = single_line(chart.display_name)
    number = single_line(chart.chart_number)
    if not chart.owner.email:
        return f"{name} (chart {number}; the portal owner has no email address)"
    owner = "" if chart.owner.is_client else f"{single_line(chart.owner.name)}, "
    return f"{single_line(chart.owner.email)} ({owner}{name}, chart {number})"


def _invited_charts(search: ChartSearch, status: str | None) -> Iterator[ChartSummary]:
    """Charts with the given status, or every chart that has or had an invitation."""
    seen: set[str] = set()
    for name in (status,) if status else _INVITE_STATUSES:
        for chart in iter_charts(search, "", name, limit=sys.maxsize):
            if chart.chart_number not in seen:
                seen.add(chart.chart_number)
                yield chart


def cmd_invites_list(args: argparse.Namespace, ctx: CliContext) -> int:
    charts = _invited_charts(ctx.services().search, args.status)
    if args.json:
        write_json_stream(ctx, (invite_json(c) for c in charts))
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
            cell(owner_label(chart)),
            cell(chart.owner.email or "—"),
            status_text(chart.status.label, chart.status.detail),
            cell(ctx.when(chart.sent_at)),
            cell(ctx.when(chart.expires_at)),
            cell(delivery_label(chart.delivery)),
        )
    if count:
        ctx.stdout.print(table)
        ctx.say(f"{count:,} chart(s).")
    else:
        ctx.say("No invitations match.")
    return 0


def _chart_arg(args: argparse.Namespace, flag_set: bool, flag: str) -> str | None:
    if flag_set and args.chart:
        raise UsageError(f"give either CHART or {flag}, not both")
    if not flag_set and not args.chart:
        raise UsageError(f"give a CHART (or {flag})")
    if not flag_set and args.json:
        raise UsageError(f"--json goes with {flag}")
    return None if flag_set else str(args.chart)


def _nothing_to_do(ctx: CliContext, args: argparse.Namespace, sentence: str) -> int:
    """A bulk action that finds no chart: the sentence, or (--json) the empty result."""
    if args.json:
        ctx.print_json({"sent": [], "skipped": [], "failed": []})
    else:
        ctx.say(sentence)
    return 0


def cmd_invites_send(args: argparse.Namespace, ctx: CliContext) -> int:
    number = _chart_arg(args, args.all_without_access, "--all-without-access")
    services = ctx.services()
    if number is None:
        count = services.search.count_charts(status=PortalStatus.NO_PORTAL_ACCESS.value)
        if not count:
            return _nothing_to_do(
                ctx,
                args,
                "Every chart already has an invitation or portal access; nothing to send.",
            )
        ctx.confirm(
            f"Send portal invitations to the {count:,} chart(s) without portal access? Each "
            f"owner with a valid email gets a link that expires {new_link_expiry(ctx)}.",
            assume_yes=args.yes,
        )
        return run_bulk(ctx, BulkAction.INVITE_WITHOUT_ACCESS, as_json=args.json, noun="invitation")
    chart = services.views.chart(number)
    ctx.confirm(
        f"Send a portal invitation to {_who(chart)}? The link expires {new_link_expiry(ctx)}.",
        assume_yes=args.yes,
    )
    result = services.invitations.send_invitation(chart.chart_number)
    ctx.say(queued_sentence(ctx, result))
    return 0


def cmd_invites_resend(args: argparse.Namespace, ctx: CliContext) -> int:
    number = _chart_arg(args, args.all_expired, "--all-expired")
    services = ctx.services()
    if number is None:
        statuses = [PortalStatus.EXPIRED.value]
        if args.include_locked:
            statuses.append(PortalStatus.LOCKED.value)
        count = sum(services.search.count_charts(status=s) for s in statuses)
        which = "expired or locked" if args.include_locked else "expired"
        if not count:
            return _nothing_to_do(
                ctx, args, f"No chart has an {which} invitation; nothing to resend."
            )
        ctx.confirm(
            f"Resend the invitations of the {count:,} chart(s) with an {which} invitation? "
            f"Their earlier links stop working; the new links expire {new_link_expiry(ctx)}.",
            assume_yes=args.yes,
        )
        action = (
            BulkAction.RESEND_EXPIRED_AND_LOCKED
            if args.include_locked
            else BulkAction.RESEND_EXPIRED
        )
        return run_bulk(ctx, action, as_json=args.json, noun="new invitation")
    if args.include_locked:
        raise UsageError("--include-locked goes with --all-expired")
    chart = services.views.chart(number)
    old_link = f" The link sent on {ctx.day(chart.sent_at)} stops working." if chart.sent_at else ""
    ctx.confirm(
        f"Resend the invitation to {_who(chart)}?{old_link} "
        f"The new link expires {new_link_expiry(ctx)}.",
        assume_yes=args.yes,
    )
    result = services.invitations.resend_invitation(
        chart.chart_number, seen_invitation_id=chart.invitation_id
    )
    ctx.say(queued_sentence(ctx, result))
    return 0


def cmd_invites_revoke(args: argparse.Namespace, ctx: CliContext) -> int:
    services = ctx.services()
    chart = services.views.chart(args.chart)
    name = f"{single_line(chart.display_name)} (chart {single_line(chart.chart_number)})"
    effects = []
    if chart.sent_at is not None:
        effects.append(f"the invitation link sent on {ctx.day(chart.sent_at)} stops working")
    if chart.account_email:
        effects.append(
            f"the portal account {single_line(chart.account_email)} is disabled and its "
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
    services = ctx.services()
    chart = services.views.chart(args.chart)
    ctx.confirm(
        f"Activate portal access for {_who(chart)}? A disabled account of this owner is "
        "restored, otherwise a new invitation is sent.",
        assume_yes=args.yes,
    )
    result = services.invitations.activate_access(chart.chart_number)
    ctx.say(queued_sentence(ctx, result))
    return 0
