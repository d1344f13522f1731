"""`frontdesk audit [--chart CHART] [--limit N] [--json]`: the audit trail, newest first."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from frontdesk.cli.args import add_json, command, positive
from frontdesk.cli.context import CliContext
from frontdesk.cli.display import audit_json, audit_table

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands


def register(commands: Commands) -> None:
    p = command(commands, "audit", cmd_audit, "the audit trail, newest first")
    p.add_argument("--chart", metavar="CHART", help="only this chart")
    p.add_argument("--limit", type=positive, default=200, metavar="N", help="at most N (200)")
    add_json(p)


def cmd_audit(args: argparse.Namespace, ctx: CliContext) -> int:
    rows = ctx.services().audit.audit(chart_number=args.chart, limit=args.limit)
    if args.json:
        ctx.print_json([audit_json(row) for row in rows])
        return 0
    if not rows:
        ctx.say("No audit events.")
        return 0
    ctx.stdout.print(audit_table(ctx, rows))
    return 0
