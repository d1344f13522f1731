"""The bulk action's summary: how many were sent, whether it was stopped (what was done stays
done), how the emails fared at the mail server, and the lists of skipped charts (with why) and
failed ones. Enter or Escape closes it; it changes nothing."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from frontdesk.access.outcomes import BulkAction, BulkPlan, BulkPlanEntry, BulkResult
from frontdesk.desk.wording import bulk_failure_words, bulk_title, skip_reason_words
from screens.bulk_confirm import charts, who
from screens.bulk_list import PeopleList
from screens.bulk_progress import BulkOutcome, MailTally
from screens.safe_text import clean, template
from screens.widgets import DataStatic

# The worklist each action's charts stay on when they were not tried.
_WORKLIST = {
    BulkAction.RESEND_EXPIRED: "Expired",
    BulkAction.RESEND_LOCKED: "Locked",
    BulkAction.RESEND_EXPIRED_AND_LOCKED: "Expired and Locked",
    BulkAction.INVITE_WITHOUT_ACCESS: "No Portal Access",
}


def _names(plan: BulkPlan) -> dict[str, tuple[int, BulkPlanEntry]]:
    """Each chart of the plan by number, with its place in the browser's name order."""
    entries = (*plan.to_send, *plan.to_skip)
    return {entry.chart_number: (place, entry) for place, entry in enumerate(entries)}


def _rows(outcome: BulkOutcome, charts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(chart number and who, words) in name order; a chart the plan did not have (added
    since) by its number alone, last."""
    names = _names(outcome.plan)
    rows = []
    for number, words in charts:
        place, entry = names.get(number, (len(names), None))
        label = clean(number) + (f"  {who(entry)}" if entry is not None else "")
        rows.append((place, label, words))
    return [(label, words) for _, label, words in sorted(rows, key=lambda row: row[0])]


def skipped_rows(outcome: BulkOutcome) -> list[tuple[str, str]]:
    """The skipped charts with why, as the summary lists them."""
    if outcome.result is None:
        return []
    skipped = [(chart, skip_reason_words(reason)) for chart, reason in outcome.result.skipped]
    return _rows(outcome, skipped)


def failed_rows(outcome: BulkOutcome) -> list[tuple[str, str]]:
    """The failed charts with why, as the summary lists them."""
    if outcome.result is None:
        return []
    failed = [(f.chart, bulk_failure_words(f.error)) for f in outcome.result.failed]
    return _rows(outcome, failed)


def _done_sentence(result: BulkResult, action: BulkAction) -> Content:
    what = "New invitation links" if action.resends else "Invitations"
    sent, total = len(result.sent), result.total
    if not total:
        return Content("No chart was in the worklist any more: nothing was sent.")
    sentence = template(
        "$what sent to [b]$sent[/b] of $total.",
        what=what,
        sent=f"{sent:,}",
        total=charts(total),
    )
    if result.cancelled:
        done = total - result.not_tried
        sentence = Content.assemble(
            sentence,
            template(
                "\nStopped (Esc) after $done: what was done stays done. $left not tried; "
                "they stay on the $worklist worklist.",
                done=charts(done),
                left=charts(result.not_tried),
                worklist=_WORKLIST[action],
            ),
        )
    return sentence


def mail_sentence(mail: MailTally | None, sent: int) -> str:
    """How the emails fared at the mail server ("" when none was queued)."""
    if mail is None or not sent:
        return ""
    if mail.queued:
        return "The emails are queued; the mail service (frontdesk serve) sends them."
    if mail.held:
        return f"The emails are queued but not sent: {mail.held}"
    took = f"all {sent:,}" if mail.sent == sent else f"{mail.sent:,} of {sent:,}"
    parts = [f"the mail server took {took} emails"]
    if mail.failed:
        parts.append(f"{mail.failed:,} were refused (the chart shows why)")
    if mail.retrying:
        parts.append(f"{mail.retrying:,} will be retried (mail server unreachable)")
    rest = sent - mail.sent - mail.failed - mail.retrying
    if mail.stopped and rest > 0:
        parts.append(f"sending stopped (Esc): {rest:,} stay queued for the mail service")
    elif mail.error:
        parts.append(f"sending broke off ({mail.error}); the rest stay queued")
    elif rest > 0:
        parts.append(f"{rest:,} stay queued for the mail service")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def summary_text(outcome: BulkOutcome) -> Content:
    """Everything above the lists, as shown."""
    result = outcome.result
    if result is None:
        return template(
            "Nothing was sent: $error", error=outcome.error or "the action could not start."
        )
    lines = [_done_sentence(result, outcome.plan.action)]
    mail = mail_sentence(outcome.mail, len(result.sent))
    if mail:
        lines.append(template("$mail", mail=mail))
    if outcome.error:
        lines.append(template("Then: $error; details are in the log.", error=outcome.error))
    return Content("\n").join(lines)


class BulkSummary(ModalScreen[None]):
    """What a bulk action did; Enter or Escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="bulk_summary.close"),
    ]

    def __init__(self, outcome: BulkOutcome) -> None:
        super().__init__(id="bulk-summary-dialog")
        self.outcome = outcome

    def compose(self) -> ComposeResult:
        outcome = self.outcome
        result = outcome.result
        skipped, failed = skipped_rows(outcome), failed_rows(outcome)
        stopped = result is not None and result.cancelled
        with Vertical(classes="dialog") as dialog:
            ending = "stopped" if stopped else "done"
            dialog.border_title = f"{bulk_title(outcome.plan.action)}: {ending}"
            yield DataStatic(summary_text(outcome), classes="dialog-body", id="bulk-summary-text")
            yield Static(
                f"Skipped ({len(skipped):,}): nothing was sent to them, and why",
                classes="bulk-heading" + (" -empty" if not skipped else ""),
                markup=False,
            )
            yield PeopleList(skipped, id="bulk-skipped", classes="-empty" if not skipped else None)
            yield Static(
                f"Failed ({len(failed):,}): nothing of them was kept; run the action again",
                classes="bulk-heading" + (" -empty" if not failed else ""),
                markup=False,
            )
            yield PeopleList(failed, id="bulk-failed", classes="-empty" if not failed else None)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary", compact=True)
            yield Static("Enter or Esc closes", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#close")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)
