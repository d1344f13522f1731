"""`frontdesk inbox [--kind K] [--audience A] [--state S] [--search TEXT] [--json]`, `frontdesk
inbox done ID` and `frontdesk inbox ack ID`: the desk's Portal inbox, for support.

Listed as the TUI lists it: urgent first, then unread, then the longest waiting. `done`
closes an item by hand (a message thread closes until the client writes again); `ack`
records that someone saw an urgent item. Both are audited."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table

from frontdesk.cli.args import add_json, command, positive
from frontdesk.cli.context import CliContext, cell, iso
from frontdesk.cli.messages import AUDIENCES
from frontdesk.core.clock import as_utc
from frontdesk.core.text import single_line
from store.states import InboxCloseReason, InboxKind, InboxState

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands
    from frontdesk.desk.inbox import InboxChange, InboxRow

KINDS = tuple(k.value for k in InboxKind)
STATES = (*(s.value for s in InboxState), "all")


def register(commands: Commands) -> None:
    p = command(
        commands,
        "inbox",
        cmd_inbox,
        "the Portal inbox: what waits for the desk (urgent, unread, oldest first)",
    )
    p.add_argument("--kind", choices=KINDS, help="only this kind of item")
    p.add_argument("--audience", choices=AUDIENCES, help="only messages for this audience")
    p.add_argument(
        "--state", choices=STATES, default=InboxState.OPEN.value, help="open (default), done, all"
    )
    p.add_argument("--search", default="", metavar="TEXT", help="client name, chart or subject")
    p.add_argument("--limit", type=positive, default=200, metavar="N", help="at most N (200)")
    add_json(p)
    actions = p.add_subparsers(title="commands", metavar="COMMAND")
    done = command(actions, "done", cmd_inbox_done, "mark an item done (audited)")
    done.add_argument("id", type=positive, metavar="ID", help="the item's id (frontdesk inbox)")
    ack = command(actions, "ack", cmd_inbox_ack, "record that you saw an urgent item (audited)")
    ack.add_argument("id", type=positive, metavar="ID", help="the item's id (frontdesk inbox)")


def item_json(row: InboxRow) -> dict[str, Any]:
    """An inbox item as `inbox --json` gives it."""
    return {
        "id": row.id,
        "kind": row.kind.value,
        "chart_number": row.chart_number,
        "client_name": row.client_name,
        "subject": row.subject,
        "audience": row.audience.value if row.audience else None,
        "state": row.state.value,
        "urgent": row.urgent,
        "unread": row.unread,
        "waiting_since": iso(row.waiting_since),
        "created_at": iso(row.created_at),
        "source_id": row.source_id,
        "closed_at": iso(row.closed_at),
        "close_reason": row.close_reason.value if row.close_reason else None,
    }


def waited(since: datetime, now: datetime) -> str:
    """How long since `since`: "45 min", "3 h 5 min", "2 days"."""
    minutes = max(0, int((as_utc(now) - as_utc(since)).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{hours // 24} days"


def cmd_inbox(args: argparse.Namespace, ctx: CliContext) -> int:
    state = None if args.state == "all" else args.state
    page = ctx.services().inbox.items(
        kind=args.kind, audience=args.audience, state=state, search=args.search, limit=args.limit
    )
    if args.json:
        ctx.print_json([item_json(row) for row in page.items])
        return 0
    if not page.items:
        ctx.say("Nothing in the Portal inbox" + (" matches." if page.total else "."))
        return 0
    now = ctx.now()
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("ID", "Kind", "Chart", "Client", "Subject", "Waiting", "State", ""):
        table.add_column(header)
    for row in page.items:
        flags = [word for word, on in (("URGENT", row.urgent), ("unread", row.unread)) if on]
        table.add_row(
            cell(row.id),
            cell(row.kind.value),
            cell(row.chart_number),
            cell(row.client_name),
            cell(row.subject),
            cell(waited(row.waiting_since, now) if row.state == InboxState.OPEN else ""),
            cell(
                f"done ({row.close_reason})"
                if row.close_reason and row.close_reason != InboxCloseReason.DONE
                else row.state.value
            ),
            cell(" ".join(flags)),
        )
    ctx.stdout.print(table)
    if page.total > len(page.items):
        ctx.say(f"Showing {len(page.items)} of {page.total} items (--limit N).")
    return 0


def _changed(ctx: CliContext, change: InboxChange, did: str, already: str) -> None:
    row = change.item
    what = f"Inbox item {row.id} ({row.kind.value}, chart {single_line(row.chart_number)})"
    ctx.say(
        f"{what} {did}." if change.outcome in ("done", "acknowledged") else f"{what} {already}."
    )


def cmd_inbox_done(args: argparse.Namespace, ctx: CliContext) -> int:
    change = ctx.services().inbox.done(args.id)
    did = "marked done"
    if change.item.kind == InboxKind.TASK:  # done on a submitted form reviews it
        did += f"; task {change.item.source_id} is reviewed"
    _changed(ctx, change, did, "was already done")
    return 0


def cmd_inbox_ack(args: argparse.Namespace, ctx: CliContext) -> int:
    change = ctx.services().inbox.ack(args.id)
    _changed(ctx, change, "acknowledged", "was already acknowledged")
    return 0
