"""The chart's forms (portal tasks), on the Communications tab under the Client Portal
section: each form's name, state, due date, score and band for measures ("14/27 Moderate"),
and when it was submitted; "!" marks a PHQ-9 whose item 9 was answered above "Not at all".
Enter opens the task view; f (here or anywhere on the chart) assigns a form or a package:
the dialog, then a confirmation, then the app's worker calls the service and says what it did.

The panel reads for itself in a thread worker every second and repaints only what changed."""

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
from screens.display import PracticeView
from screens.errors import report_worker_failure, toast
from screens.safe_text import cell
from screens.tasks.assign_flow import AssignFlow
from screens.tasks.wording import due_text, short_name, state_label, when
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.portal.task_views import TaskSummary
    from frontdesk.services import Services

SHORT_BANDS = {"moderately_severe": "Mod. severe"}


def table_score(task: TaskSummary) -> str:
    """'14/27 Moderate' (a narrow column; the task view says it in full)."""
    if task.score is None:
        return ""
    out_of = f"/{task.score_max}" if task.score_max is not None else ""
    band = ""
    if task.severity is not None:
        band = " " + SHORT_BANDS.get(task.severity.value, task.severity.label)
    return f"{task.score}{out_of}{band}"


class TaskList(RecordTable["TaskSummary"]):
    """The chart's forms, newest assignment first. Enter opens one, f assigns."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "assign", "Assign forms", id="tasks.assign"),
    ]
    COLUMNS = (
        ("", 1),
        ("Form", FLEXIBLE),
        ("State", 11),
        ("Due", 12),
        ("Score", 14),
        ("Submitted", 15),
    )

    @property
    def tasks(self) -> tuple[TaskSummary, ...]:
        return self.records

    def show_tasks(
        self, tasks: tuple[TaskSummary, ...], practice: PracticeView, now: datetime
    ) -> None:
        rows: list[tuple[str, ...]] = [
            (
                "!" if task.item9_flag else "",
                short_name(task),
                state_label(task.state),
                due_text(task.due_date) if task.due_date else "",
                table_score(task),
                when(task.submitted_at, practice, now) if task.submitted_at else "",
            )
            for task in tasks
        ]
        self.show(tasks, rows)

    def cells(self, record: TaskSummary, row: tuple[str, ...], widths: Sequence[int]) -> list[Text]:
        style = "bold" if record.state == "submitted" else ""
        if record.state == "cancelled":
            style = "dim"
        return [
            cell(row[0], "bold red" if row[0] else ""),
            *(
                cell(value, style, width=size)
                for value, size in zip(row[1:], widths[1:], strict=True)
            ),
        ]

    def action_assign(self) -> None:
        panel = next((node for node in self.ancestors if isinstance(node, ChartTasksPanel)), None)
        if panel is not None:
            panel.action_assign()


class ChartTasksPanel(Collapsible):
    """The collapsible Forms section of the chart's Communications tab."""

    class Loaded(Message):
        def __init__(
            self,
            tasks: tuple[TaskSummary, ...],
            client: str,
            practice: PracticeView,
            now: datetime,
        ) -> None:
            super().__init__()
            self.tasks = tasks
            self.client = client
            self.practice = practice
            self.now = now

    class LoadFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        services: Services,
        chart_number: str,
        *,
        refresh_interval: float = 1.0,
        id: str | None = None,
    ) -> None:
        super().__init__(
            DataStatic("Reading forms…", id="tasks-hint"),
            TaskList(id="tasks"),
            title="Forms",
            collapsed=False,
            id=id,
        )
        self.services = services
        self.chart_number = chart_number
        self.refresh_interval = refresh_interval
        self.client = ""
        self.practice = PracticeView()
        self.now: datetime | None = None
        self._last_error: str | None = None

    def on_mount(self) -> None:
        self.reload()
        self.set_interval(self.refresh_interval, self._tick, name="tasks refresh")

    def _tick(self) -> None:
        reading = any(
            worker.node is self and worker.group == "tasks-load" and not worker.is_finished
            for worker in self.app.workers
        )
        if not reading and self.screen.is_current:
            self.reload()

    def reload(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, group="tasks-load", exit_on_error=False)
    def _read(self) -> None:
        from frontdesk.core.errors import FrontDeskError, NotFound
        from store.db import StoreError

        services = self.services
        try:
            tasks = services.tasks.chart_tasks(self.chart_number)
            chart = services.views.chart(self.chart_number)
            practice = PracticeView.of(services.practice.practice())
            now = services.clock.now()
        except NotFound:
            return  # the chart is gone: the chart screen says so and closes
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        client = f"{chart.first_name} {chart.last_name}"
        self.post_message(self.Loaded(tuple(tasks), client, practice, now))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._last_error = None
        self.client = event.client
        self.practice = event.practice
        self.now = event.now
        tasks = event.tasks
        self.query_one(TaskList).show_tasks(tasks, event.practice, event.now)
        self.set_class(not tasks, "-no-tasks")
        hint = self.query_one("#tasks-hint", DataStatic)
        if not tasks:
            hint.show("No forms assigned. f assigns a form or a package.")
            return
        waiting = sum(1 for task in tasks if task.state == "submitted")
        review = f", {waiting:,} to review" if waiting else ""
        hint.show(f"Forms: {len(tasks):,}{review}. Enter opens one; f assigns more.")

    @on(LoadFailed)
    def _load_failed(self, event: LoadFailed) -> None:
        if event.error != self._last_error:
            toast(self, event.error, title="Could not read the forms", severity="error")
        self._last_error = event.error

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    # ------------------------------------------------------------------ actions

    @on(DataTable.RowSelected, "#tasks")
    def _task_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_task()

    def open_task(self) -> None:
        from screens.tasks.task_screen import TaskScreen

        task = self.query_one(TaskList).highlighted
        if task is None:
            self.app.bell()
            return
        self.app.push_screen(
            TaskScreen(self.services, task.id, refresh_interval=self.refresh_interval)
        )

    def action_assign(self, typed: tuple[str, str] | None = None) -> None:
        """Assign a form or a package: the dialog, the confirmation, then the app's worker."""
        if self.now is None:
            self.app.bell()  # not read yet
            return
        flow = AssignFlow(
            self, self.services, self.chart_number, self.client, self.practice, self.now
        )
        flow.start(typed)
