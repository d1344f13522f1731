"""The bulk invitation actions' output (`invites send --all-without-access`, `invites resend
--all-expired [--include-locked]`): a progress bar on a terminal (rich, on stderr, gone when
done), plain progress lines otherwise; then every chart with what happened to it (queued,
skipped with its reason, failed with why), or with `--json`
`{"sent": [CHART, ...], "skipped": [{"chart", "reason"}], "failed": [{"chart", "error",
"detail"}]}` (reasons and errors are the `SkipReason` / `FailureKind` names).

Ctrl+C stops after the current chart: what was done stays done, and the summary says so."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.table import Table

from frontdesk.cli.context import CliContext, CliError, cell
from frontdesk.cli.display import plural, queued_note, queued_tail
from frontdesk.desk.wording import bulk_failure_words, bulk_title, skip_reason_words

if TYPE_CHECKING:
    from frontdesk.access.outcomes import BulkAction, BulkResult

PLAIN_PROGRESS_SECONDS = 5.0  # without a terminal: a progress line at most this often
Progress = Callable[[int, int], object]


def run_bulk(ctx: CliContext, action: BulkAction, *, as_json: bool, noun: str) -> int:
    """Run `action` with progress on stderr, then report every chart (see the module)."""
    services = ctx.services()
    cancel = threading.Event()
    with _progress(ctx, bulk_title(action)) as progress:
        result = _run_until_interrupted(
            lambda: services.invitations.run_bulk(action, progress=progress, cancel=cancel),
            cancel,
        )
    if as_json:
        ctx.print_json(bulk_json(result))
    else:
        _summary(ctx, result, noun)
    if result.cancelled:
        raise CliError(
            f"stopped (Ctrl+C) after {plural(result.total - result.not_tried, 'chart')}; what "
            f"was done stays done, {plural(result.not_tried, 'chart')} not tried"
        )
    if result.failed:
        raise CliError(
            f"{plural(len(result.failed), 'chart')} failed (listed above; nothing of them was "
            "kept): run the action again"
        )
    return 0


def bulk_json(result: BulkResult) -> dict[str, Any]:
    """The `--json` shape (a documented contract)."""
    return {
        "sent": list(result.sent),
        "skipped": [{"chart": chart, "reason": str(reason)} for chart, reason in result.skipped],
        "failed": [
            {"chart": f.chart, "error": str(f.error), "detail": f.detail} for f in result.failed
        ],
    }


def _run_until_interrupted(work: Callable[[], BulkResult], cancel: threading.Event) -> BulkResult:
    """`work()` in a thread; Ctrl+C sets `cancel` (the run stops after the current chart) and
    waits for it to end. The service's errors reach the caller as raised."""
    outcome: list[BulkResult] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the main thread, raised there
            failure.append(exc)

    thread = threading.Thread(target=target, name="bulk-action", daemon=True)
    thread.start()
    while thread.is_alive():
        try:
            thread.join(0.2)
        except KeyboardInterrupt:
            cancel.set()
    if failure:
        raise failure[0]
    return outcome[0]


def _summary(ctx: CliContext, result: BulkResult, noun: str) -> None:
    """Every chart and what happened to it, then one sentence."""
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("Chart", "Result", "Reason"):
        table.add_column(header)
    for number in result.sent:
        table.add_row(cell(number), cell("queued"), cell(""))
    for number, reason in result.skipped:
        table.add_row(cell(number), cell("skipped"), cell(skip_reason_words(reason)))
    for failure in result.failed:
        why = bulk_failure_words(failure.error)
        detail = f" ({failure.detail})" if failure.detail else ""
        table.add_row(cell(failure.chart), cell("failed"), cell(why + detail))
    if result.sent or result.skipped or result.failed:
        ctx.stdout.print(table)
    done, skipped, failed = len(result.sent), len(result.skipped), len(result.failed)
    others = f"{skipped:,} skipped" + (f", {failed:,} failed" if failed else "")
    if result.cancelled:
        others += f", {result.not_tried:,} not tried (stopped)"
    if not done:
        ctx.say(f"Nothing queued, {others}.")
    elif not skipped and not failed and not result.cancelled:
        ctx.say(f"{plural(done, noun)} queued{queued_tail(ctx, done)}.")
    else:
        ctx.say(f"{plural(done, noun)} queued, {others}. {queued_note(ctx, done)}")


@contextmanager
def _progress(ctx: CliContext, title: str) -> Iterator[Progress]:
    """A progress bar on a terminal (rich, on stderr, gone when done); without one, a plain
    line on stderr at most every PLAIN_PROGRESS_SECONDS (a short run prints none: the summary
    on stdout says it all)."""
    if ctx.stderr.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=ctx.stderr, transient=True) as bar:
            task = bar.add_task(f"{title}: charts", total=None)

            def show(done: int, total: int) -> None:
                bar.update(task, completed=done, total=max(total, 1))

            yield show
        return
    last = time.monotonic()

    def line(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done >= total or now - last < PLAIN_PROGRESS_SECONDS:
            return
        last = now
        ctx.stderr.file.write(f"frontdesk: {title.lower()}: {done:,} of {total:,} charts done\n")
        ctx.stderr.file.flush()

    yield line
