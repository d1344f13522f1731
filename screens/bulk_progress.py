"""The bulk action at work: a progress bar with the count while every chart of the plan's
worklist is done, then while the queued emails are handed to the mail server.

The work runs in a thread worker that never touches a widget (STYLE.md 4): it calls the service
(`run_bulk(action, progress=, cancel=)`), then the app's delivery, and posts messages; the
screen owns the state. Progress is coalesced (at most one message waiting, carrying the newest
count), so 10,000 charts cost the screen a few redraws, not 10,000. Escape stops after the
current chart: what is done stays done, and its emails are still handed over (a second Escape
stops that too: the rest stay queued for the mail service). The screen returns a
`BulkOutcome` for the summary (`screens.bulk_summary`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static
from textual.worker import Worker

from frontdesk.access.outcomes import BulkPlan, BulkResult
from frontdesk.desk.wording import bulk_title
from screens.actions import Deliver, DeliveryUnavailable
from screens.errors import report_worker_failure
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.access.bulk import CancelCheck, Progress
    from frontdesk.access.outcomes import BulkAction


class RunBulk(Protocol):
    """`services.invitations.run_bulk` (blocking)."""

    def __call__(
        self, action: BulkAction, *, progress: Progress | None, cancel: CancelCheck | None
    ) -> BulkResult: ...


@dataclass(frozen=True)
class MailTally:
    """How handing a bulk action's emails to the mail server went."""

    sent: int = 0  # taken by the mail server
    retrying: int = 0  # the server could not be reached or answered "later"
    failed: int = 0  # refused for good (the charts show why)
    queued: bool = False  # no delivery here: the mail service (frontdesk serve) sends them
    held: str | None = None  # sending cannot start (no sender address, no password): why
    error: str | None = None  # delivery broke off (database, network): one line
    stopped: bool = False  # Escape: the rest stay queued

    def __add__(self, report: object) -> MailTally:
        return MailTally(
            self.sent + _count(report, "sent"),
            self.retrying + _count(report, "retrying"),
            self.failed + _count(report, "failed"),
        )


@dataclass(frozen=True)
class BulkOutcome:
    """What the bulk action did (None with `error` when it could not start) and its emails."""

    plan: BulkPlan
    result: BulkResult | None
    mail: MailTally | None = None  # None: no email was queued
    error: str | None = None


def _count(report: object, name: str) -> int:
    value = getattr(report, name, 0)
    return value if isinstance(value, int) else 0


_NOUNS = {True: "new invitation links", False: "invitations"}


class BulkProgress(ModalScreen[BulkOutcome]):
    """Runs the confirmed plan's action with a progress bar; Escape stops after the current
    chart. Dismissed with the outcome when everything is done."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "Stop after the current chart", id="bulk_progress.stop"),
    ]

    class Progressed(Message):
        """The count moved on (read the newest from the screen's tracker)."""

    class RunDone(Message):
        def __init__(self, result: BulkResult) -> None:
            super().__init__()
            self.result = result

    class MailProgressed(Message):
        def __init__(self, handed: int, queued: int) -> None:
            super().__init__()
            self.handed = handed
            self.queued = queued

    class Finished(Message):
        def __init__(self, outcome: BulkOutcome) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(
        self,
        plan: BulkPlan,
        run: RunBulk,
        delivery: Callable[[], Deliver | None],
    ) -> None:
        """`run` is the service's `run_bulk`; `delivery` resolves the app's mail delivery
        (None: the mail service sends the emails). Both are blocking and run in the worker."""
        super().__init__(id="bulk-progress-dialog")
        self.plan = plan
        self._run = run
        self._delivery = delivery
        self.cancel = threading.Event()  # stops the run after the current chart
        self.stop_mail = threading.Event()  # stops handing emails to the mail server
        self._lock = threading.Lock()
        self._latest = (0, plan.total)
        self._pending = False
        self.result: BulkResult | None = None
        self.counts: list[tuple[int, int]] = []  # each count shown, for checks and tests

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = bulk_title(self.plan.action)
            yield DataStatic(self._run_line(0, self.plan.total), id="bulk-status")
            yield ProgressBar(total=max(self.plan.total, 1), show_eta=False, id="bulk-bar")
            yield DataStatic("", id="bulk-note")
            yield Static(
                "Esc stops after the current chart (what is done stays done)",
                classes="dialog-hint",
                markup=False,
                id="bulk-hint",
            )

    def on_mount(self) -> None:
        self._work()

    def on_unmount(self) -> None:
        # The app is closing (or the screen went away): stop after the current chart.
        self.cancel.set()
        self.stop_mail.set()

    # ------------------------------------------------------------------ the worker

    def _progress(self, done: int, total: int) -> None:
        """The service's progress callback (worker thread): keep the newest count and post
        at most one message at a time."""
        with self._lock:
            self._latest = (done, total)
            if self._pending:
                return
            self._pending = True
        self.post_message(self.Progressed())

    @work(thread=True, exit_on_error=False, group="bulk-action")
    def _work(self) -> None:
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        try:
            result = self._run(self.plan.action, progress=self._progress, cancel=self.cancel)
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.Finished(BulkOutcome(self.plan, None, error=str(exc))))
            return
        self.post_message(self.RunDone(result))
        mail = self._hand_over(len(result.sent)) if result.sent else None
        self.post_message(self.Finished(BulkOutcome(self.plan, result, mail)))

    def _hand_over(self, queued: int) -> MailTally:
        """Hand the queued emails to the mail server, a delivery run at a time, until none is
        due, the server is unreachable, or Escape (worker thread)."""
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        tally = MailTally()
        try:
            deliver = self._delivery()
            if deliver is None:
                return MailTally(queued=True)
            self.post_message(self.MailProgressed(0, queued))
            while tally.sent + tally.retrying + tally.failed < queued:
                if self.stop_mail.is_set():
                    return MailTally(tally.sent, tally.retrying, tally.failed, stopped=True)
                report = deliver()
                tally = tally + report
                self.post_message(self.MailProgressed(tally.sent + tally.failed, queued))
                handed = _count(report, "sent") + _count(report, "failed")
                if not handed:  # nothing was due any more, or the server is down
                    break
        except DeliveryUnavailable as held:
            return MailTally(tally.sent, tally.retrying, tally.failed, held=str(held))
        except (FrontDeskError, StoreError, OSError) as exc:
            return MailTally(tally.sent, tally.retrying, tally.failed, error=str(exc))
        return tally

    # ------------------------------------------------------------------ the screen's state

    def _run_line(self, done: int, total: int) -> str:
        noun = _NOUNS[self.plan.action.resends]
        return f"Sending {noun}: {done:,} of {total:,} charts"

    @on(Progressed)
    def _show_progress(self) -> None:
        with self._lock:
            done, total = self._latest
            self._pending = False
        self.counts.append((done, total))
        self.query_one("#bulk-status", DataStatic).show(self._run_line(done, total))
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)

    @on(RunDone)
    def _run_done(self, event: RunDone) -> None:
        self.result = result = event.result
        done = result.total - result.not_tried
        self.query_one(ProgressBar).update(total=max(result.total, 1), progress=done)
        self.query_one("#bulk-status", DataStatic).show(self._run_line(done, result.total))
        if result.cancelled:
            self.query_one("#bulk-note", DataStatic).show(
                f"Stopped after {done:,} of {result.total:,} charts; what was done stays done."
            )

    @on(MailProgressed)
    def _mail_progress(self, event: MailProgressed) -> None:
        self.query_one("#bulk-status", DataStatic).show(
            f"Handing the emails to the mail server: {event.handed:,} of {event.queued:,}"
        )
        self.query_one(ProgressBar).update(total=max(event.queued, 1), progress=event.handed)
        self.query_one("#bulk-hint", Static).update(
            "Esc stops sending (the rest stay queued for the mail service)"
        )

    @on(Finished)
    def _finished(self, event: Finished) -> None:
        self.dismiss(event.outcome)

    def action_stop(self) -> None:
        note = self.query_one("#bulk-note", DataStatic)
        if self.result is None:
            self.cancel.set()
            note.show("Stopping after the current chart…")
        else:
            self.stop_mail.set()
            note.show("Stopping: the emails not handed over yet stay queued…")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if report_worker_failure(self, event):
            error = f"Something went wrong ({type(event.worker.error).__name__})"
            self.dismiss(BulkOutcome(self.plan, self.result, error=error))
