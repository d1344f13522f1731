"""`frontdesk tasks assign|list|show|review|return|cancel`: forms assigned to a chart, and
their `--json` shapes (`severity` is one of minimal, mild, moderate, moderately_severe,
severe)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from frontdesk.cli.args import add_json, command, group, positive
from frontdesk.cli.context import CliContext, UsageError, cell, field_error, iso
from frontdesk.cli.display import queued_tail

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands
    from frontdesk.portal.task_views import TaskDetail, TaskSummary

OPTIONS = {"form": "--form", "due": "--due", "reason": "--reason"}


def register(commands: Commands) -> None:
    tasks = group(commands, "tasks", "forms assigned to a chart for its client to complete")
    p = command(
        tasks,
        "assign",
        cmd_tasks_assign,
        "assign a form or a package of forms to a chart",
        epilog="Forms the chart already has open are skipped. When the chart's owner has an "
        "Active portal account, one email tells them forms are waiting (it names none).",
    )
    p.add_argument("chart", metavar="CHART", help="the chart number")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--form", metavar="KEY", help="one form (frontdesk forms list)")
    which.add_argument("--package", metavar="KEY", help="a package (frontdesk forms packages list)")
    p.add_argument("--due", metavar="YYYY-MM-DD", help="when the forms are due")
    p = command(tasks, "list", cmd_tasks_list, "a chart's tasks, newest first")
    p.add_argument("chart", metavar="CHART", help="the chart number")
    add_json(p)
    p = command(tasks, "show", cmd_tasks_show, "a task: state, score and band, answers")
    p.add_argument("id", type=positive, metavar="ID", help="the task id (tasks list)")
    add_json(p)
    p = command(tasks, "review", cmd_tasks_review, "mark a submitted task reviewed")
    p.add_argument("id", type=positive, metavar="ID", help="the task id")
    p = command(tasks, "return", cmd_tasks_return, "send a submitted task back to the client")
    p.add_argument("id", type=positive, metavar="ID", help="the task id")
    p.add_argument("--reason", required=True, metavar="R", help="what the client should change")
    p = command(tasks, "cancel", cmd_tasks_cancel, "cancel a task the client has not submitted")
    p.add_argument("id", type=positive, metavar="ID", help="the task id")


# --------------------------------------------------------------------------------------------
# --json shapes
# --------------------------------------------------------------------------------------------


def task_json(task: TaskSummary) -> dict[str, Any]:
    """A task as `tasks list --json` gives it."""
    return {
        "id": task.id,
        "chart_number": task.chart_number,
        "form": task.form_key,
        "title": task.form_title,
        "version": task.form_version,
        "kind": task.form_kind.value,
        "package": task.package_key,
        "state": task.state.value,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "score": task.score,
        "score_max": task.score_max,
        "severity": task.severity.value if task.severity else None,
        "item9_flag": task.item9_flag,
        "assigned_at": iso(task.assigned_at),
        "assigned_by": task.assigned_by,
        "submitted_at": iso(task.submitted_at),
        "reviewed_at": iso(task.reviewed_at),
        "reviewed_by": task.reviewed_by,
        "returned_at": iso(task.returned_at),
        "returned_reason": task.returned_reason,
        "cancelled_at": iso(task.cancelled_at),
    }


def detail_json(task: TaskDetail) -> dict[str, Any]:
    """A task as `tasks show --json` gives it: with its answers by field id."""
    data = task_json(task)
    data["started_at"] = iso(task.started_at)
    data["draft_saved_at"] = iso(task.draft_saved_at)
    data["answers"] = dict(task.answers)
    return data


def score_words(task: TaskSummary) -> str:
    """ "14/27 · Moderate" (with "· item 9" when PHQ-9 item 9 is flagged); "" unscored."""
    if task.score is None or task.severity is None:
        return ""
    words = f"{task.score}/{task.score_max} · {task.severity.label}"
    return words + (" · item 9" if task.item9_flag else "")


def state_words(task: TaskSummary) -> str:
    return task.state.value.replace("_", " ")


# --------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------


def cmd_tasks_assign(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.core.errors import InvalidInput

    services = ctx.services()
    try:
        done = services.tasks.assign(
            args.chart, form_key=args.form, package_key=args.package, due=args.due
        )
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    titles = ", ".join(f"{t.form_title} (task {t.id})" for t in done.tasks)
    line = f"Assigned to chart {done.chart_number}: {titles}."
    if done.skipped:
        line += f" Already open, not assigned again: {', '.join(done.skipped)}."
    if done.notice_outbox_id is not None:
        line += " A notice to the client's portal account is queued" + queued_tail(ctx, 1) + "."
    ctx.say(line)
    return 0


def cmd_tasks_list(args: argparse.Namespace, ctx: CliContext) -> int:
    tasks = ctx.services().tasks.chart_tasks(args.chart)
    if args.json:
        ctx.print_json([task_json(t) for t in tasks])
        return 0
    if not tasks:
        ctx.say(f"Chart {args.chart.strip()} has no tasks.")
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("ID", "Form", "State", "Due", "Assigned", "Submitted", "Score"):
        table.add_column(header)
    for task in tasks:
        table.add_row(
            cell(task.id),
            cell(f"{task.form_title} (v{task.form_version})"),
            cell(state_words(task)),
            cell(task.due_date.isoformat() if task.due_date else ""),
            cell(f"{ctx.when(task.assigned_at)} by {task.assigned_by}"),
            cell(ctx.when(task.submitted_at)),
            cell(score_words(task)),
        )
    ctx.stdout.print(table)
    return 0


def cmd_tasks_show(args: argparse.Namespace, ctx: CliContext) -> int:
    task = ctx.services().tasks.open(args.id)  # seen: its inbox item is no longer unread
    if args.json:
        ctx.print_json(detail_json(task))
        return 0
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows = [
        ("Task", f"{task.id} · chart {task.chart_number}"),
        ("Form", f"{task.form_title} ({task.form_key}, version {task.form_version})"),
        ("State", state_words(task)),
        ("Assigned", f"{ctx.when(task.assigned_at)} by {task.assigned_by}"),
    ]
    if task.due_date:
        rows.append(("Due", task.due_date.isoformat()))
    if task.submitted_at:
        rows.append(("Submitted", ctx.when(task.submitted_at)))
    if task.reviewed_at:
        rows.append(("Reviewed", f"{ctx.when(task.reviewed_at)} by {task.reviewed_by}"))
    if task.returned_reason:
        rows.append(("Returned", f"{ctx.when(task.returned_at)}: {task.returned_reason}"))
    if task.score is not None:
        rows.append(("Score", score_words(task)))
    for label, value in rows:
        grid.add_row(cell(label), cell(value))
    ctx.stdout.print(grid)
    if task.item9_flag:
        ctx.say(Text("PHQ-9 item 9 was answered above “Not at all”: follow up with the client."))
    if task.answers:
        answers = Table(box=None, header_style="bold", pad_edge=False)
        answers.add_column("Question")
        answers.add_column("Answer")
        for line in task.lines:
            answers.add_row(cell(line.label), Text(line.answer or "—"))
        ctx.stdout.print(answers)
    return 0


def cmd_tasks_review(args: argparse.Namespace, ctx: CliContext) -> int:
    task = ctx.services().tasks.review(args.id)
    ctx.say(f"Task {task.id} ({task.form_title}, chart {task.chart_number}) reviewed.")
    return 0


def cmd_tasks_return(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.core.errors import InvalidInput

    if not args.reason.strip():
        raise UsageError("--reason: say what the client should change")
    try:
        task = ctx.services().tasks.return_task(args.id, args.reason)
    except InvalidInput as exc:
        raise field_error(exc, OPTIONS) from None
    ctx.say(
        f"Task {task.id} ({task.form_title}, chart {task.chart_number}) returned to the client."
    )
    return 0


def cmd_tasks_cancel(args: argparse.Namespace, ctx: CliContext) -> int:
    task = ctx.services().tasks.cancel(args.id)
    ctx.say(f"Task {task.id} ({task.form_title}, chart {task.chart_number}) cancelled.")
    return 0
