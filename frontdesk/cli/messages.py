"""`frontdesk messages list|show|reply|send`: a chart's secure portal messages, for support.

`THREAD` is a thread's id (`messages list CHART`, `inbox`). `messages show` counts as read
by the practice (the client can no longer withdraw what it showed) and is audited, as
opening the thread in the TUI is. Message text is printed literally, line breaks kept,
control characters removed."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from frontdesk.cli.args import add_json, command, group, positive, whole
from frontdesk.cli.context import CliContext, UsageError, cell, field_error, iso
from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import single_line, strip_controls
from frontdesk.desk.wording import thread_state_sentence, thread_state_words
from frontdesk.portal.message_results import NoSuchPage
from store.states import MessageAudience

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands
    from frontdesk.portal.message_results import MessageView, ThreadSummary, ThreadView

OPTIONS = {"body": "--body", "subject": "--subject", "audience": "--audience"}
AUDIENCES = tuple(a.value for a in MessageAudience)
AUDIENCE_LABELS = {
    MessageAudience.FRONT_DESK: "Front desk",
    MessageAudience.BILLING: "Billing",
    MessageAudience.CLINICAL: "Clinical",
}


def register(commands: Commands) -> None:
    messages = group(commands, "messages", "secure messages with a chart's portal account")
    p = command(messages, "list", cmd_messages_list, "a chart's message threads, newest first")
    p.add_argument("chart", metavar="CHART", help="the chart number")
    p.add_argument("--limit", type=positive, default=200, metavar="N", help="at most N (200)")
    add_json(p)

    p = command(
        messages,
        "show",
        cmd_messages_show,
        "show a thread's messages (counts as read by the practice; audited)",
    )
    p.add_argument("thread", type=positive, metavar="THREAD", help="the thread's id")
    p.add_argument(
        "--page", type=whole, metavar="N", help="page N of 50 messages (default: the newest)"
    )
    add_json(p)

    p = command(messages, "reply", cmd_messages_reply, "reply in a thread as the practice")
    p.add_argument("thread", type=positive, metavar="THREAD", help="the thread's id")
    p.add_argument("--body", required=True, metavar="TEXT", help="the reply (plain text)")

    p = command(messages, "send", cmd_messages_send, "start a thread to a chart's portal account")
    p.add_argument("chart", metavar="CHART", help="the chart number")
    p.add_argument("--subject", required=True, metavar="S", help="up to 120 characters")
    p.add_argument("--body", required=True, metavar="TEXT", help="the message (plain text)")
    p.add_argument(
        "--audience", choices=AUDIENCES, default=None, help="who it is from (front_desk)"
    )


def thread_json(thread: ThreadSummary) -> dict[str, Any]:
    """A thread as `messages list --json` gives it."""
    return {
        "id": thread.id,
        "chart_number": thread.chart_number,
        "audience": thread.audience.value,
        "subject": thread.subject,
        "state": thread.state.value,
        "created_by": thread.created_by.value,
        "created_at": iso(thread.created_at),
        "unread_by_practice": thread.unread_by_practice,
        "unread_by_client": thread.unread_by_client,
        "last_activity_at": iso(thread.last_activity_at),
        "messages": thread.messages,
    }


def message_json(message: MessageView) -> dict[str, Any]:
    return {
        "id": message.id,
        "author": message.author.value,
        "author_name": message.author_name,
        "created_at": iso(message.created_at),
        "withdrawn": message.withdrawn,
        "withdrawn_at": iso(message.withdrawn_at),
        "body": message.body,
    }


def view_json(view: ThreadView) -> dict[str, Any]:
    """A thread as `messages show --json` gives it: the thread and one page of messages."""
    return {
        **thread_json(view.thread),
        "page": view.page,
        "pages": view.pages,
        "total": view.total,
        "client_read_at": iso(view.client_read_at),
        "messages": [message_json(m) for m in view.messages],
    }


def cmd_messages_list(args: argparse.Namespace, ctx: CliContext) -> int:
    page = ctx.services().messages.chart_threads(args.chart, per_page=args.limit)
    if args.json:
        ctx.print_json([thread_json(t) for t in page.threads])
        return 0
    number = single_line(args.chart.strip())
    if not page.threads:
        ctx.say(f"No message threads for chart {number}.")
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("ID", "Audience", "Subject", "State", "Messages", "Last activity", ""):
        table.add_column(header)
    for thread in page.threads:
        table.add_row(
            cell(thread.id),
            cell(AUDIENCE_LABELS[thread.audience]),
            cell(thread.subject),
            cell(thread_state_words(thread)),
            cell(thread.messages),
            cell(ctx.when(thread.last_activity_at)),
            cell("unread" if thread.unread_by_practice else ""),
        )
    ctx.stdout.print(table)
    if page.total > len(page.threads):
        ctx.say(f"Showing the newest {len(page.threads)} of {page.total} threads (--limit N).")
    return 0


def cmd_messages_show(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        view = ctx.services().messages.staff_thread(args.thread, page=args.page)
    except NoSuchPage as exc:
        raise UsageError(pages_line(exc.pages)) from None
    if args.json:
        ctx.print_json(view_json(view))
        return 0
    thread = view.thread
    ctx.say(
        Text.assemble(
            (single_line(thread.subject), "bold"),
            f"  · thread {thread.id} · chart {single_line(thread.chart_number)} · "
            f"{AUDIENCE_LABELS[thread.audience]} · {thread_state_sentence(thread)}",
        )
    )
    if view.pages > 1:
        ctx.say(f"Page {view.page} of {view.pages} ({view.total} messages; --page N for others).")
    for message in view.messages:
        who = "Client" if message.author == "client" else "Practice"
        ctx.stdout.print(
            Text.assemble(
                "\n",
                (f"{who}: {single_line(message.author_name)}", "bold"),
                f" — {ctx.when(message.created_at)}",
            ),
            soft_wrap=True,
        )
        if message.withdrawn:
            ctx.say(f"(withdrawn by the client, {ctx.when(message.withdrawn_at)})")
        else:
            ctx.stdout.print(Text(strip_controls(message.body)), soft_wrap=True)
    if not view.can_reply:
        ctx.say("\nNo reply is possible now (messaging is off, or the client's access ended).")
    return 0


def pages_line(pages: int) -> str:
    """What `messages show --page N` says of a page the thread does not have."""
    if pages == 1:
        return "This thread has 1 page: use --page 1."
    return f"This thread has {pages:,} pages: use --page 1 to {pages:,}."


def cmd_messages_reply(args: argparse.Namespace, ctx: CliContext) -> int:
    messages = ctx.services().messages
    try:
        sent = messages.staff_reply(args.thread, body=args.body)
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    thread = messages.thread_summary(sent.thread_id)
    ctx.say(
        f"Reply sent in thread {sent.thread_id} (chart {single_line(thread.chart_number)}); "
        "its inbox item is closed. The client is emailed to sign in if they have not read it "
        "in 10 minutes."
    )
    return 0


def cmd_messages_send(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        sent = ctx.services().messages.staff_start(
            args.chart, subject=args.subject, body=args.body, audience=args.audience
        )
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    ctx.say(
        f"Message sent to chart {single_line(args.chart.strip())}'s portal account "
        f"(thread {sent.thread_id}). The client is emailed to sign in if they have not read "
        "it in 10 minutes."
    )
    return 0
