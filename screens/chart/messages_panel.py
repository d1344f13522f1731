"""The chart's portal message threads, on the Communications tab under the Client Portal
section: subject, audience, state, last activity and a ● for threads the practice has not read;
Enter opens a thread, n (anywhere on the chart screen) writes a new message to the client (a
dialog: audience, subject, body, with counts).

The panel reads for itself: every second a thread worker reads the chart's message stamp and
re-reads the list only when it changed, so a message sent on the web shows within seconds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Collapsible, DataTable
from textual.worker import Worker

from screens.chart.record_table import FLEXIBLE, RecordTable
from screens.display import PracticeView, short_time
from screens.errors import report_worker_failure, toast
from screens.inbox.wording import WITHDRAWN, audience_label, thread_state_label
from screens.safe_text import cell, template
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.portal.message_results import ThreadPage, ThreadSummary
    from frontdesk.services import Services
    from screens.inbox.message_dialogs import Draft

THREADS_SHOWN = 50  # the newest threads listed (the CLI lists every page)
Stamp = tuple[int, datetime | None]


class ThreadList(RecordTable["ThreadSummary"]):
    """The chart's threads, newest activity first. Enter opens, n writes a new message."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_message", "New message", id="messages.new"),
    ]
    COLUMNS = (("", 1), ("Subject", FLEXIBLE), ("For", 10), ("State", 14), ("Last activity", 16))

    @property
    def threads(self) -> tuple[ThreadSummary, ...]:
        return self.records

    def show_threads(
        self, threads: tuple[ThreadSummary, ...], practice: PracticeView, now: datetime
    ) -> None:
        rows: list[tuple[str, ...]] = [
            (
                "●" if thread.unread_by_practice else "",
                thread.subject or WITHDRAWN,
                audience_label(thread.audience),
                thread_state_label(thread),
                short_time(thread.last_activity_at, practice.zone, now),
            )
            for thread in threads
        ]
        self.show(threads, rows)

    def cells(
        self, record: ThreadSummary, row: tuple[str, ...], widths: Sequence[int]
    ) -> list[Text]:
        style = "bold" if record.unread_by_practice else ""
        return [cell(value, style, width=size) for value, size in zip(row, widths, strict=True)]

    def action_new_message(self) -> None:
        panel = next(
            (node for node in self.ancestors if isinstance(node, PortalMessagesPanel)), None
        )
        if panel is not None:
            panel.action_new_message()


class PortalMessagesPanel(Collapsible):
    """The collapsible Portal messages section of the chart's Communications tab."""

    class Loaded(Message):
        def __init__(
            self, page: ThreadPage, stamp: Stamp, practice: PracticeView, now: datetime
        ) -> None:
            super().__init__()
            self.page = page
            self.stamp = stamp
            self.practice = practice
            self.now = now

    class LoadFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class Started(Message):
        """The service took the new thread (`errors` empty), or refused it: the reasons by
        field, and the draft to show again."""

        def __init__(self, draft: Draft, errors: dict[str, str] | None = None) -> None:
            super().__init__()
            self.draft = draft
            self.errors = errors or {}

    def __init__(
        self,
        services: Services,
        chart_number: str,
        *,
        refresh_interval: float = 1.0,
        id: str | None = None,
    ) -> None:
        super().__init__(
            DataStatic("Reading messages…", id="messages-hint"),
            ThreadList(id="threads"),
            title="Portal messages",
            collapsed=False,
            id=id,
        )
        self.services = services
        self.chart_number = chart_number
        self.refresh_interval = refresh_interval
        self._stamp: Stamp | None = None
        self._last_error: str | None = None
        self.sending = False

    def on_mount(self) -> None:
        self._read(None)
        self.set_interval(self.refresh_interval, self._tick, name="messages refresh")

    def _tick(self) -> None:
        reading = any(
            worker.node is self and worker.group == "messages-load" and not worker.is_finished
            for worker in self.app.workers
        )
        if not reading and self.screen.is_current:
            self._read(self._stamp)

    def reload(self) -> None:
        self._read(None)

    @work(thread=True, exclusive=True, group="messages-load", exit_on_error=False)
    def _read(self, known: Stamp | None) -> None:
        from frontdesk.core.errors import FrontDeskError, NotFound
        from store.db import StoreError

        services = self.services
        try:
            stamp = services.messages.chart_stamp(self.chart_number)
            if stamp == known:
                return
            page = services.messages.chart_threads(self.chart_number, per_page=THREADS_SHOWN)
            practice = PracticeView.of(services.practice.practice())
            now = services.clock.now()
        except NotFound:
            return  # the chart is gone: the chart screen says so and closes
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        self.post_message(self.Loaded(page, stamp, practice, now))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._last_error = None
        self._stamp = event.stamp
        page = event.page
        self.query_one(ThreadList).show_threads(page.threads, event.practice, event.now)
        self.set_class(not page.threads, "-no-threads")
        hint = self.query_one("#messages-hint", DataStatic)
        if not page.threads:
            hint.show("No portal messages with this client yet. n writes one.")
            return
        unread = f", {page.unread:,} unread" if page.unread else ""
        shown = (
            f"the newest {len(page.threads):,} of {page.total:,}"
            if page.total > len(page.threads)
            else f"{page.total:,}"
        )
        hint.show(f"Threads: {shown}{unread}. Enter on one opens it; n writes a new message.")

    @on(LoadFailed)
    def _load_failed(self, event: LoadFailed) -> None:
        if event.error != self._last_error:
            toast(self, event.error, title="Could not read the messages", severity="error")
        self._last_error = event.error

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if report_worker_failure(self, event) and event.worker.group == "messages-send":
            self.sending = False

    # ------------------------------------------------------------------ actions

    @on(DataTable.RowSelected, "#threads")
    def _thread_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_thread()

    def open_thread(self) -> None:
        from screens.inbox.thread_screen import ThreadScreen

        thread = self.query_one(ThreadList).highlighted
        if thread is None:
            self.app.bell()
            return
        self.app.push_screen(
            ThreadScreen(self.services, thread.id, refresh_interval=self.refresh_interval)
        )

    def action_new_message(
        self, draft: Draft | None = None, errors: dict[str, str] | None = None
    ) -> None:
        """Write a new thread to the chart's client (the dialog; the service sends)."""
        from screens.inbox.message_dialogs import ComposeDialog

        if self.sending:
            self.app.bell()
            return
        intro = template(
            "To the Client Portal account of chart [b]$number[/b]. The client is emailed "
            "(without the text) if it is unread after 10 minutes.",
            number=self.chart_number,
        )
        self.app.push_screen(ComposeDialog(intro, draft=draft, errors=errors), self._typed)

    def _typed(self, draft: Draft | None) -> None:
        if draft is None:
            return
        self.sending = True
        self._start(draft)

    @work(thread=True, group="messages-send", exit_on_error=False)
    def _start(self, draft: Draft) -> None:
        from frontdesk.core.errors import FrontDeskError
        from frontdesk.portal.message_results import MessageInvalid, problem_line
        from store.db import StoreError

        try:
            self.services.messages.staff_start(
                self.chart_number,
                subject=draft.subject,
                body=draft.body,
                audience=draft.audience,
            )
        except MessageInvalid as exc:
            errors = {field: problem_line(field, p) for field, p in exc.problems.items()}
            self.post_message(self.Started(draft, errors))
            return
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.Started(draft, {"form": str(exc)}))
            return
        self.post_message(self.Started(draft))

    @on(Started)
    def _started(self, event: Started) -> None:
        self.sending = False
        if event.errors:
            self.action_new_message(event.draft, event.errors)
            return
        toast(self, "Message sent to the client's Client Portal.")
        self.reload()
