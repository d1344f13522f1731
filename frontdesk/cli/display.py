"""What several command groups show alike: owners, status tags, deliveries, audit rows, where
queued emails stand, and long listings fetched page by page and streamed as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from frontdesk.cli.context import CliContext, cell, iso
from frontdesk.core.text import single_line
from frontdesk.desk.wording import action_sentence

if TYPE_CHECKING:
    from frontdesk.access.outcomes import ActionOutcome
    from frontdesk.audit import AuditRow
    from frontdesk.desk.search import ChartSearch
    from frontdesk.desk.views import ChartSummary
    from frontdesk.mail.delivery import Delivery

BATCH = 200


def delivery_value(delivery: Delivery | None) -> str | None:
    """The `--json` delivery of an invitation: queued, sent, retrying, failed, bounced or
    null."""
    if delivery is None:
        return None
    return {
        "queued": "queued",
        "sending": "queued",
        "sent": "sent",
        "retrying": "retrying",
        "failed": "failed",
        "bounced": "bounced",
    }.get(delivery.state)


def delivery_detail(delivery: Delivery | None) -> str | None:
    """The `--json` reason beside a delivery that went wrong: the mail server's words
    ("550 5.1.1 user unknown"), or null."""
    if delivery is None or delivery.state not in ("failed", "retrying", "bounced"):
        return None
    return delivery.error


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


def plural(count: int, noun: str) -> str:
    """ "1 invitation", "8 invitations"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def new_link_expiry(ctx: CliContext) -> str:
    """When an invitation sent now would expire: "Dec 3"."""
    days = ctx.services().practice.practice().invitation_days
    return ctx.day(ctx.now() + timedelta(days=days))


def queued_tail(ctx: CliContext, count: int) -> str:
    """What follows "Invitation to … queued": why it is not sent yet and what sends it."""
    why = _not_sent_because(ctx)
    return (f", {why}" if why else "; ") + _senders(count)


def queued_note(ctx: CliContext, count: int) -> str:
    """The same as a sentence of its own, after "8 invitations queued, 2 skipped."."""
    text = _not_sent_because(ctx) + _senders(count) + "."
    return text[0].upper() + text[1:]


def _senders(count: int) -> str:
    them = "it" if count == 1 else "them"
    return f"`frontdesk serve` (or `frontdesk outbox deliver`) sends {them}"


# What an action that emails the owner did, for the command line, which only queues the email:
# "Invitation to ana@example.com queued" (never "sent": it is not, yet).
_QUEUED = {
    "invited": "Invitation to {email} queued",
    "resent": "New invitation to {email} queued (every earlier link no longer works)",
    "restored": "Portal access restored for {email}; the email saying so is queued",
    "owner_changed_invited": "Owner changed; invitation to {email} queued",
}


def queued_sentence(ctx: CliContext, outcome: ActionOutcome) -> str:
    """One line for a lifecycle action's outcome, saying where its email stands."""
    words = _QUEUED.get(outcome.done.value)
    if outcome.outbox_id is None or words is None:
        return action_sentence(outcome)
    return words.format(email=single_line(outcome.owner_email or "")) + queued_tail(ctx, 1) + "."


def _not_sent_because(ctx: CliContext) -> str:
    """Why queued email will not go out by itself ("" when nothing says so). The command line
    only queues email; `frontdesk serve` (or `frontdesk outbox deliver`) sends it. Nothing goes
    out while no sender address is set, and emails already overdue in the outbox mean that no
    delivery is running."""
    if not ctx.settings().mail_from:
        return "not sent: no sender address is set (FRONTDESK_MAIL_FROM); once it is set, "
    overdue = _overdue_since(ctx)
    if overdue:
        return (
            f"not sent yet: emails due {overdue} still wait in the outbox, so no delivery is "
            "running; "
        )
    return ""


def _overdue_since(ctx: CliContext) -> str | None:
    """Since when the oldest due email has waited ("Thu Nov 26, 10:00 AM"), when that is long
    enough to say no delivery is running (the doctor's outbox check); None otherwise."""
    from frontdesk.doctor.outbox import check_outbox
    from frontdesk.doctor.results import Status

    services = ctx.services()
    backlog = next(check_outbox(services.db, True, services.clock))
    oldest = backlog.data.get("oldest_due_at")
    if backlog.status is not Status.WARN or not isinstance(oldest, str):
        return None
    return f"since {ctx.when(datetime.fromisoformat(oldest))}"


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
