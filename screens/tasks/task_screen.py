"""One form as the desk reads it: the client's answers (literal, never markup), the score and
band of a measure ("PHQ-9 14/27 · Moderate"), the PHQ-9 item 9 flag, and the actions:

    r  Mark reviewed   (a submitted form; closes its Portal inbox item)
    t  Return          (a submitted form goes back to the client with a reason: a dialog)
    x  Cancel form     (before the client submits it)
    a  Acknowledge     (the urgent inbox item of a PHQ-9 whose item 9 was answered above
                        "Not at all": recorded and audited; it stays on top, marked URGENT,
                        until someone acknowledges it)
    o  the client's chart;  Escape back.

Opened from the chart's Forms list or from the Portal inbox (`open_inbox_item`). Reads run in a
thread worker every second; actions are confirmed first (dialogs return typed values) and run
by the app's worker through the service, which decides again."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, get_current_worker

from screens.actions import ActionRequested, ChartChanged
from screens.confirm_dialog import ConfirmDialog
from screens.display import PracticeView
from screens.errors import report_worker_failure, toast
from screens.safe_text import content, lines, template
from screens.tasks.dialogs import ReturnDialog
from screens.tasks.requests import TaskAction, TaskRequest
from screens.tasks.wording import due_text, score_text, short_name, state_label, when
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.desk.inbox import InboxRow
    from frontdesk.portal.task_views import TaskDetail
    from frontdesk.services import Services

ITEM9 = "phq9_9"


def open_inbox_item(app: App[object], services: Services, item: InboxRow, **options: float) -> bool:
    """Open a Portal inbox item that belongs to forms (kind "task"): its task view. False for
    any other kind (the inbox opens those itself)."""
    if str(item.kind) != "task":
        return False
    app.push_screen(TaskScreen(services, item.source_id, inbox_item_id=item.id, **options))
    return True


class TaskScreen(Screen[None]):
    """A task: answers, score, flag; r review, t return, x cancel, a acknowledge, o chart."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="task.back"),
        Binding("r", "review", "Reviewed", id="task.review"),
        Binding("t", "return_task", "Return", id="task.return"),
        Binding("x", "cancel_task", "Cancel form", id="task.cancel"),
        Binding("a", "acknowledge", "Acknowledge", id="task.acknowledge"),
        Binding("o", "open_chart", "Chart", id="task.chart"),
        Binding("f", "assign_forms", "Assign forms", show=False, id="task.assign_forms"),
        Binding("f5", "refresh", "Refresh", show=False, id="task.refresh"),
    ]

    class Loaded(Message):
        def __init__(
            self,
            detail: TaskDetail,
            client: str,
            item: InboxRow | None,
            practice: PracticeView,
            now: datetime,
        ) -> None:
            super().__init__()
            self.detail = detail
            self.client = client
            self.item = item
            self.practice = practice
            self.now = now

    class LoadFailed(Message):
        def __init__(self, error: str, *, gone: bool = False) -> None:
            super().__init__()
            self.error = error
            self.gone = gone

    def __init__(
        self,
        services: Services,
        task_id: int,
        *,
        inbox_item_id: int | None = None,
        refresh_interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.services = services
        self.task_id = task_id
        self.inbox_item_id = inbox_item_id
        self.refresh_interval = refresh_interval
        self.detail: TaskDetail | None = None
        self.item: InboxRow | None = None
        self.client = ""
        self.busy = False
        self._shown_answers: object = None
        self._last_error: str | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield DataStatic("Reading the form…", id="task-title")
        yield DataStatic(id="task-meta")
        yield DataStatic(id="task-score")
        yield DataStatic(id="task-urgent")
        yield DataStatic(id="task-returned")
        yield VerticalScroll(id="task-answers")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "Form"
        self._load()
        self.set_interval(self.refresh_interval, self._tick, name="task refresh")

    # ------------------------------------------------------------------ living data

    def _tick(self) -> None:
        reading = any(
            worker.node is self and worker.group == "task-load" and not worker.is_finished
            for worker in self.app.workers
        )
        if not reading and self.is_current and not self.busy:
            self._load()

    @work(thread=True, exclusive=True, group="task-load", exit_on_error=False)
    def _load(self) -> None:
        from frontdesk.core.errors import FrontDeskError, NotFound
        from store.db import StoreError

        worker = get_current_worker()
        services = self.services
        try:
            # The first read opens it (its inbox item is seen); the refreshes only read.
            task = (services.tasks.task if self.detail else services.tasks.open)(self.task_id)
            chart = services.views.chart(task.chart_number)
            item = _open_item(services, task)
            practice = PracticeView.of(services.practice.practice())
            now = services.clock.now()
        except NotFound as exc:
            self.post_message(self.LoadFailed(str(exc), gone=True))
            return
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        if not worker.is_cancelled:
            client = f"{chart.first_name} {chart.last_name}"
            self.post_message(self.Loaded(task, client, item, practice, now))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._last_error = None
        first = self.detail is None
        changed = first or (self.detail, self.item) != (event.detail, event.item)
        self.detail, self.item, self.client = event.detail, event.item, event.client
        if event.item is not None:
            self.inbox_item_id = event.item.id
        self._show(event.detail, event.item, event.practice, event.now)
        if changed:
            self.refresh_bindings()

    @on(LoadFailed)
    def _load_failed(self, event: LoadFailed) -> None:
        if event.error != self._last_error:
            toast(self, event.error, title="Could not read the form", severity="error")
        self._last_error = event.error
        if event.gone and self.is_current:
            self.app.pop_screen()

    @on(ChartChanged)
    def _chart_changed(self, event: ChartChanged) -> None:
        if self.detail is not None and event.chart_number == self.detail.chart_number:
            self.busy = False
            self._load()
            self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    # ------------------------------------------------------------------ showing

    def _show(
        self, task: TaskDetail, item: InboxRow | None, practice: PracticeView, now: datetime
    ) -> None:
        self.sub_title = f"{task.form_title} · chart {task.chart_number}"
        self.query_one("#task-title", DataStatic).show(
            template(
                "[b]$form[/b] · $client · chart $number",
                form=short_name(task),
                client=self.client,
                number=task.chart_number,
            )
        )
        self.query_one("#task-meta", DataStatic).show(_meta(task, practice, now))
        self.query_one("#task-score", DataStatic).show(score_text(task))
        self._show_flag(task, item, practice, now)
        returned = self.query_one("#task-returned", DataStatic)
        if task.returned_reason and task.editable:
            returned.show(
                template(
                    "Returned $at by $by: “$reason”",
                    at=when(task.returned_at, practice, now),
                    by=task.returned_by or "staff",
                    reason=task.returned_reason,
                )
            )
        else:
            returned.show("")
        self._show_answers(task)

    def _show_flag(
        self, task: TaskDetail, item: InboxRow | None, practice: PracticeView, now: datetime
    ) -> None:
        urgent = self.query_one("#task-urgent", DataStatic)
        if not task.item9_flag:
            urgent.show("")
            return
        answer = next((line.answer for line in task.lines if line.field_id == ITEM9), "")
        waiting = item is not None and item.urgent and item.acknowledged_at is None
        urgent.set_class(not waiting, "-acknowledged")
        if waiting:
            urgent.show(
                template(
                    "URGENT · item 9 (self-harm) answered “$answer”. "
                    "The client was shown crisis resources. Press a to acknowledge.",
                    answer=answer,
                )
            )
        elif item is not None and item.acknowledged_at is not None:
            urgent.show(
                template(
                    "Item 9 (self-harm) answered “$answer” · acknowledged by $by, $at",
                    answer=answer,
                    by=item.acknowledged_by or "staff",
                    at=when(item.acknowledged_at, practice, now),
                )
            )
        else:
            urgent.show(template("Item 9 (self-harm) answered “$answer”", answer=answer))

    def _show_answers(self, task: TaskDetail) -> None:
        shown = (task.id, task.form_version, tuple(sorted(task.answers.items(), key=str)))
        if shown == self._shown_answers:
            return
        self._shown_answers = shown
        box = self.query_one("#task-answers", VerticalScroll)
        box.remove_children()
        widgets: list[DataStatic] = []
        section: str | None = None
        if not task.answers:
            widgets.append(DataStatic("The client has not answered yet.", classes="answer-label"))
        for number, line in enumerate(task.lines, start=1):
            if line.section != section:
                section = line.section
                if section:
                    widgets.append(DataStatic(content(section), classes="answer-section"))
            label = f"{number}. {line.label}" if task.scored else line.label
            widgets.append(DataStatic(content(label), classes="answer-label"))
            value = DataStatic(_answer(line.answer), classes="answer-value")
            value.set_class(not line.answer, "-unanswered")
            value.set_class(line.field_id == ITEM9 and task.item9_flag, "-flagged")
            widgets.append(value)
        box.mount_all(widgets)

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        task = self.detail
        if action in ("review", "return_task"):
            return None if task is None or self.busy or task.state != "submitted" else True
        if action == "cancel_task":
            return None if task is None or self.busy or not task.editable else True
        if action == "acknowledge":
            item = self.item
            if item is None or not (item.urgent or item.acknowledged_at is not None):
                return False  # not in the footer: nothing urgent here (ack lowers urgent)
            return None if self.busy or item.acknowledged_at is not None else True
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self._load()

    def action_assign_forms(self) -> None:  # more forms to this task's chart
        from screens.tasks.assign_flow import AssignFlow

        if self.detail is None:
            self.app.bell()
            return
        AssignFlow.read(self, self.services, self.detail.chart_number)

    def action_open_chart(self) -> None:
        from screens.actions import OpenChart

        task = self.detail
        if task is None:
            return
        self.post_message(OpenChart(task.chart_number, back_to_it=True))  # from it: back to it

    def _ready(self) -> TaskDetail | None:
        if self.detail is None or self.busy:
            self.app.bell()
            return None
        return self.detail

    def _request(self, action: TaskAction, reason: str = "") -> TaskRequest | None:
        task = self.detail
        if task is None:
            return None
        return TaskRequest(
            action, task.chart_number, task.id, short_name(task), reason, self.inbox_item_id
        )

    def _run(self, request: TaskRequest | None) -> None:
        if request is None:
            return
        self.busy = True
        self.refresh_bindings()
        self.app.post_message(ActionRequested(request))

    def action_review(self) -> None:
        task = self._ready()
        if task is None or task.state != "submitted":
            return
        body = template(
            "Mark [b]$form[/b] of [b]$client[/b] (chart $number) reviewed?\n\n"
            "Its Portal inbox item closes. The client's answers stay as they sent them.",
            form=short_name(task),
            client=self.client,
            number=task.chart_number,
        )
        dialog = ConfirmDialog("Mark reviewed", body, "Mark reviewed", id="review-dialog")
        self.app.push_screen(dialog, self._confirmed(TaskAction.REVIEW))

    def action_cancel_task(self) -> None:
        task = self._ready()
        if task is None or not task.editable:
            return
        body = template(
            "Cancel [b]$form[/b] for [b]$client[/b] (chart $number)?\n\n"
            "The client no longer sees it on the Client Portal; what they typed so far is "
            "not sent. You can assign it again later.",
            form=short_name(task),
            client=self.client,
            number=task.chart_number,
        )
        dialog = ConfirmDialog(
            "Cancel form", body, "Cancel form", danger=True, focus_confirm=False, id="cancel-dialog"
        )
        self.app.push_screen(dialog, self._confirmed(TaskAction.CANCEL))

    def action_acknowledge(self) -> None:
        task, item = self._ready(), self.item
        if task is None or item is None or not item.urgent or item.acknowledged_at is not None:
            return
        body = template(
            "Acknowledge the urgent [b]$form[/b] of [b]$client[/b] (chart $number)?\n\n"
            "This records that you saw it (your name and the time). It stays in the inbox "
            "until the form is reviewed; follow the practice's safety protocol.",
            form=short_name(task),
            client=self.client,
            number=task.chart_number,
        )
        dialog = ConfirmDialog("Acknowledge urgent item", body, "Acknowledge", id="ack-dialog")
        self.app.push_screen(dialog, self._confirmed(TaskAction.ACKNOWLEDGE))

    def _confirmed(self, action: TaskAction) -> _Confirmed:
        return _Confirmed(self, action)

    def action_return_task(self, typed: str = "") -> None:
        task = self._ready()
        if task is None or task.state != "submitted":
            return
        intro = template(
            "[b]$form[/b] goes back to [b]$client[/b] (chart $number) to change and send "
            "again. They read your reason above the form; their answers stay filled in.",
            form=short_name(task),
            client=self.client,
            number=task.chart_number,
        )

        def returned(reason: str | None) -> None:
            if reason:
                self._run(self._request(TaskAction.RETURN, reason))

        self.app.push_screen(ReturnDialog(intro, typed=typed), returned)


class _Confirmed:
    """The callback of a task confirmation: on True, the request goes to the app."""

    def __init__(self, screen: TaskScreen, action: TaskAction) -> None:
        self.screen = screen
        self.action = action

    def __call__(self, confirmed: bool | None) -> None:
        if confirmed:
            self.screen._run(self.screen._request(self.action))


def _open_item(services: Services, task: TaskDetail) -> InboxRow | None:
    """The task's open Portal inbox item (submitted forms have one), or None."""
    page = services.inbox.items(
        kind="task", state="open", search=task.chart_number, limit=50, offset=0
    )
    return next((row for row in page.items if row.source_id == task.id), None)


def _meta(task: TaskDetail, practice: PracticeView, now: datetime) -> str:
    """'Submitted Nov 26, 9:40 AM · assigned Nov 25, 10:00 AM by alice · due Dec 3, 2026'."""
    state = state_label(task.state)
    moments = {
        "submitted": (task.submitted_at, None),
        "reviewed": (task.reviewed_at, task.reviewed_by),
        "returned": (task.returned_at, task.returned_by),
        "cancelled": (task.cancelled_at, task.cancelled_by),
        "in_progress": (task.draft_saved_at or task.started_at, None),
    }
    at, by = moments.get(str(task.state), (None, None))
    if at is not None:
        state += f" {when(at, practice, now)}" + (f" by {by}" if by else "")
    parts = [state]
    if task.submitted_at is not None and str(task.state) != "submitted":
        parts.append(f"sent {when(task.submitted_at, practice, now)}")
    parts.append(f"assigned {when(task.assigned_at, practice, now)} by {task.assigned_by}")
    if task.due_date is not None:
        parts.append(f"due {due_text(task.due_date)}")
    return " · ".join(parts)


def _answer(text: str) -> Content:
    """An answer as the client wrote it: every line literal, "(no answer)" when blank."""
    if not text.strip():
        return Content("(no answer)")
    return lines(text.splitlines())
