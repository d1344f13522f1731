"""One portal message thread at the desk: the subject, the client and chart, who it is for and
where it stands, then the messages oldest first (the newest page; `[` / `]` for older and newer
pages). Opening it counts as read by the practice (the service marks and audits it).

Keys: r Reply (a dialog with a character count), d Mark done (closes the inbox item; the
thread is closed until the client writes again), o Open the chart, Escape back. Living data:
the thread's summary is read every second and the thread re-read when it changed.

Every value from the store is shown literally (markup, escape sequences and bidi controls in
a client's text never act on the terminal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, get_current_worker

from screens.display import PracticeView, short_time
from screens.errors import report_worker_failure, toast
from screens.inbox.wording import WITHDRAWN, audience_label, thread_state_label
from screens.safe_text import content, template
from screens.widgets import DataLine, DataStatic

if TYPE_CHECKING:
    from frontdesk.portal.message_results import MessageView, ThreadSummary, ThreadView
    from frontdesk.services import Services


@dataclass(frozen=True)
class ThreadRead:
    """What one read of the thread brought back (on a worker's thread)."""

    view: ThreadView
    client_name: str
    item_id: int | None
    practice: PracticeView
    now: datetime


def thread_key(summary: ThreadSummary) -> tuple[object, ...]:
    """What changes when anything in the thread changes (a message, a read, a close)."""
    return (
        summary.last_activity_at,
        summary.messages,
        summary.state,
        summary.unread_by_practice,
        summary.unread_by_client,
    )


def message_block(message: MessageView, practice: PracticeView, now: datetime) -> Content:
    """A message: who and when on the first line, then its lines as written."""
    client = message.author == "client"
    who = message.author_name if client else (message.staff_login or message.author_name)
    head = template(
        "[b]$who[/b]  $role · $when",
        who=who,
        role="client" if client else "practice",
        when=short_time(message.created_at, practice.zone, now),
    )
    if message.withdrawn_at is not None:
        body = template(
            "[i]Withdrawn by the client $when[/i]",
            when=short_time(message.withdrawn_at, practice.zone, now),
        )
    else:
        body = Content("\n").join(content(line) for line in message.body.split("\n"))
    return Content("\n").join([head, body])


class ThreadScreen(Screen[None]):
    """A message thread: r reply, d mark done, o open the chart, Escape back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="thread.back"),
        Binding("r", "reply", "Reply", id="thread.reply"),
        Binding("d", "done", "Mark done", id="thread.done"),
        Binding("o", "open_chart", "Open chart", id="thread.chart"),
        Binding("f", "assign_forms", "Assign forms", show=False, id="thread.assign_forms"),
        Binding("left_square_bracket", "page(-1)", "Older", id="thread.older"),
        Binding("right_square_bracket", "page(1)", "Newer", id="thread.newer"),
        Binding("f5", "refresh", "Refresh", show=False, id="thread.refresh"),
    ]

    busy: reactive[bool] = reactive(False)

    class Loaded(Message):
        def __init__(self, read: ThreadRead) -> None:
            super().__init__()
            self.read = read

    class LoadFailed(Message):
        def __init__(self, error: str, *, gone: bool = False) -> None:
            super().__init__()
            self.error = error
            self.gone = gone

    class Replied(Message):
        """The service took the reply (`error` empty) or refused it (the text comes back)."""

        def __init__(self, text: str, error: str = "") -> None:
            super().__init__()
            self.text = text
            self.error = error

    class MarkedDone(Message):
        def __init__(self, line: str, *, done: bool) -> None:
            super().__init__()
            self.line = line
            self.done = done

    def __init__(
        self, services: Services, thread_id: int, *, refresh_interval: float = 1.0
    ) -> None:
        super().__init__()
        self.services = services
        self.thread_id = thread_id
        self.refresh_interval = refresh_interval
        self.shown: ThreadRead | None = None
        self.page: int | None = None  # None: the newest page
        self._last_error: str | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield DataStatic(template("Thread $id", id=self.thread_id), id="thread-title")
        yield DataStatic("Opening…", id="thread-meta")
        yield VerticalScroll(id="thread-messages")
        yield DataLine(id="thread-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "Portal message"
        self.sub_title = ""
        self.query_one("#thread-messages").focus()
        self._load()
        self.set_interval(self.refresh_interval, self._tick, name="thread refresh")

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="thread-load", exit_on_error=False)
    def _load(self) -> None:
        self._fetch(self.page)

    def _fetch(self, page: int | None) -> None:
        """Open the thread (marks it read by the practice) and post what was read."""
        from frontdesk.core.errors import FrontDeskError, NotFound
        from frontdesk.desk.inbox_reads import open_item_of_thread
        from store.db import StoreError

        worker = get_current_worker()
        services = self.services
        try:
            view = services.messages.staff_thread(self.thread_id, page=page)
            chart = services.views.chart(view.thread.chart_number)
            item_id = open_item_of_thread(services.inbox, self.thread_id)
            practice = PracticeView.of(services.practice.practice())
            now = services.clock.now()
        except NotFound as exc:
            self.post_message(self.LoadFailed(str(exc), gone=True))
            return
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        name = f"{chart.first_name} {chart.last_name}".strip()
        if not worker.is_cancelled:
            self.post_message(self.Loaded(ThreadRead(view, name, item_id, practice, now)))

    @work(thread=True, exclusive=True, group="thread-load", exit_on_error=False)
    def _poll(self, known: tuple[object, ...] | None, page: int | None) -> None:
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        try:
            summary = self.services.messages.thread_summary(self.thread_id)
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        if thread_key(summary) != known:
            self._fetch(page)

    def _tick(self) -> None:
        """Living data, while the thread is on screen (reading it marks it read)."""
        reading = any(
            worker.node is self and worker.group == "thread-load" and not worker.is_finished
            for worker in self.app.workers
        )
        if self.is_current and not reading and self.shown is not None:
            self._poll(thread_key(self.shown.view.thread), self.page)

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._last_error = None
        previous = self.shown
        read = self.shown = event.read
        view = read.view
        thread = view.thread
        self.query_one("#thread-title", DataStatic).show(
            template("[b]$subject[/b]", subject=thread.subject or WITHDRAWN)
        )
        self.query_one("#thread-meta", DataStatic).show(
            template(
                "$client · Chart $number · For $audience · $state",
                client=read.client_name,
                number=thread.chart_number,
                audience=audience_label(thread.audience),
                state=thread_state_label(thread),
            )
        )
        self.sub_title = f"{read.practice.name}"
        self._show_status(read)
        if previous is None or previous.view.messages != view.messages:
            self._show_messages(read, scroll_end=previous is None or self.page is None)
        self.refresh_bindings()

    def _show_messages(self, read: ThreadRead, *, scroll_end: bool) -> None:
        box = self.query_one("#thread-messages", VerticalScroll)
        box.remove_children()
        blocks = [
            DataStatic(
                message_block(message, read.practice, read.now),
                classes=f"thread-message -{message.author}",
            )
            for message in read.view.messages
        ]
        if not blocks:
            blocks = [DataStatic("No messages left in this thread.", classes="thread-message")]
        box.mount_all(blocks)
        if scroll_end:
            box.call_after_refresh(box.scroll_end, animate=False)

    def _show_status(self, read: ThreadRead) -> None:
        view = read.view
        thread = view.thread
        zone, now = read.practice.zone, read.now
        parts: list[str] = []
        if thread.state == "waiting":
            parts.append("The client is waiting for an answer (r replies, d marks done)")
        elif thread.state == "answered":
            said = thread_state_label(thread)  # "Answered", or "Sent by us"
            if thread.unread_by_client:
                parts.append(f"{said}; the client has not read it yet")
            elif view.client_read_at is not None:
                parts.append(
                    f"{said}; read by the client {short_time(view.client_read_at, zone, now)}"
                )
            else:
                parts.append(said)
        else:
            parts.append("Closed until the client writes again")
        if view.pages > 1:
            parts.append(f"page {view.page} of {view.pages} ([ older, ] newer)")
        self.query_one("#thread-status", DataLine).show(" · ".join(parts))

    @on(LoadFailed)
    def _load_failed(self, event: LoadFailed) -> None:
        if event.error != self._last_error:
            toast(self, event.error, title="Could not read the thread", severity="error")
        self._last_error = event.error
        if event.gone and self.is_current:
            self.app.pop_screen()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if report_worker_failure(self, event) and event.worker.group == "thread-send":
            self.busy = False

    def watch_busy(self) -> None:
        self.refresh_bindings()

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        shown = self.shown
        if action == "page":
            if shown is None or shown.view.pages <= 1:
                return False  # one page: no page keys in the footer
            step = int(str(parameters[0])) if parameters else 0
            target = shown.view.page + step
            return True if 1 <= target <= shown.view.pages else None
        if action in ("reply", "open_chart") and (shown is None or self.busy):
            return None
        if action == "done" and (shown is None or shown.item_id is None or self.busy):
            return None  # nothing open about this thread: nothing to mark done
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self._load()

    def action_page(self, step: int) -> None:
        shown = self.shown
        if shown is None:
            return
        target = shown.view.page + step
        if 1 <= target <= shown.view.pages:
            self.page = None if target == shown.view.pages else target
            self.shown = None  # redraw the messages of the new page
            self._load()

    def action_reply(self, text: str = "", error: str = "") -> None:
        from screens.inbox.message_dialogs import ReplyDialog

        shown = self.shown
        if shown is None or self.busy:
            return
        intro = template(
            "To [b]$client[/b] (chart $number) on the Client Portal.\nRe: $subject",
            client=shown.client_name,
            number=shown.view.thread.chart_number,
            subject=shown.view.thread.subject or WITHDRAWN,
        )
        self.app.push_screen(ReplyDialog(intro, text=text, error=error), self._reply_typed)

    def _reply_typed(self, text: str | None) -> None:
        if text is None:
            return
        self.busy = True
        self._send_reply(text)

    @work(thread=True, group="thread-send", exit_on_error=False)
    def _send_reply(self, text: str) -> None:
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        try:
            self.services.messages.staff_reply(self.thread_id, body=text)
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.Replied(text, str(exc)))
            return
        self.post_message(self.Replied(text))

    @on(Replied)
    def _replied(self, event: Replied) -> None:
        self.busy = False
        if event.error:
            self.action_reply(event.text, event.error)  # the dialog again, with the reason
            return
        toast(
            self,
            "Reply sent. The client is emailed (without its text) if it is still unread "
            "in 10 minutes.",
        )
        self.page = None
        self._load()

    def action_done(self) -> None:
        shown = self.shown
        if shown is None or shown.item_id is None or self.busy:
            return
        self.busy = True
        self._mark_done(shown.item_id)

    @work(thread=True, group="thread-send", exit_on_error=False)
    def _mark_done(self, item_id: int) -> None:
        from frontdesk.core.errors import FrontDeskError
        from frontdesk.desk.inbox import InboxOutcome
        from store.db import StoreError

        try:
            change = self.services.inbox.done(item_id)
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.MarkedDone(str(exc), done=False))
            return
        if change.outcome is InboxOutcome.DONE:
            line = "Marked done. The thread is closed until the client writes again."
        else:
            line = "Already closed (answered or marked done at another desk)."
        self.post_message(self.MarkedDone(line, done=True))

    @on(MarkedDone)
    def _marked_done(self, event: MarkedDone) -> None:
        self.busy = False
        toast(self, event.line, severity="information" if event.done else "error")
        self._load()

    def action_assign_forms(self) -> None:  # to this thread's chart (screens/tasks/)
        from screens.tasks.assign_flow import AssignFlow

        if self.shown is None:
            self.app.bell()
            return
        AssignFlow.read(self, self.services, self.shown.view.thread.chart_number)

    def action_open_chart(self) -> None:
        from screens.actions import OpenChart

        shown = self.shown
        if shown is None:
            return
        # Opened from that chart: back to it.
        self.post_message(OpenChart(shown.view.thread.chart_number, back_to_it=True))
