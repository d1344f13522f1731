"""What several command groups show alike: owners, status tags, deliveries, audit rows, and
long listings fetched page by page and streamed as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from frontdesk.cli.context import CliContext, cell, iso

if TYPE_CHECKING:
    from frontdesk.audit import AuditRow
    from frontdesk.desk.search import ChartSearch
    from frontdesk.desk.views import ChartSummary
    from frontdesk.mail.delivery import Delivery

BATCH = 200


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


def delivery_label(delivery: Delivery | None) -> str:
    if delivery is None or delivery.state == "cancelled":
        return ""
    return delivery.label


def owner_label(chart: ChartSummary) -> str:
    if chart.owner.is_client:
        return "Client"
    return f"{chart.owner.name} ({chart.owner.relationship})"


def status_text(status: str, detail: str) -> Text:
    return cell(f"{status} · {detail}" if detail else status)


def audit_json(row: AuditRow) -> dict[str, Any]:
    """An audit event as `audit --json` (and the history of `charts show --json`) gives it."""
    return {
        "at": iso(row.at),
        "actor": row.actor,
        "action": row.action,
        "chart_number": row.chart_number,
        "outcome": row.outcome,
        "detail": row.detail,
    }


def audit_table(
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


def iter_charts(
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


def write_json_stream(ctx: CliContext, items: Iterator[dict[str, Any]]) -> None:
    """Write a JSON array item by item, so long listings are never held whole in memory."""
    out = ctx.stdout.file
    out.write("[")
    first = True
    for item in items:
        out.write(("\n  " if first else ",\n  ") + json.dumps(item, default=str))
        first = False
    out.write("\n]\n" if not first else "]\n")
    out.flush()
