"""Forms assigned to a chart and completed on the Client Portal: the task state machine.

    assigned → in_progress (the client's draft, saved as they go) → submitted (read-only for
    the client) → reviewed (staff) | returned with a reason (back to the client, editable
    again: → in_progress → submitted ...); staff cancel a task before it is submitted.

Each entry method owns its transaction; every state change writes its audit row (never an
answer or a score). Client methods take the chart from the signed-in session (`ClientRef`):
another chart's task, or a cancelled one, is NotFound. A submission is checked on the server
as a whole (required fields, the consent's agreement, name and relationship, every measure
item, strict dates, choices among the options); with any error nothing is stored. A measure
is scored from the stored answers. Assigning forms to a chart whose owner has an Active
account queues one content-free notice per assignment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.charts.lookup import chart_by_number, greeting_name, owner_of, owner_row
from frontdesk.core import links
from frontdesk.core.clock import Clock
from frontdesk.core.config import Settings
from frontdesk.core.errors import InvalidInput, NotAllowed, NotFound
from frontdesk.core.identity import parse_date_strict
from frontdesk.core.text import has_controls, single_line
from frontdesk.mail import compose
from frontdesk.mail.queue import queue_email
from frontdesk.portal import inbox_items
from frontdesk.portal.answers import check_submission, clean_draft
from frontdesk.portal.forms import FormLibrary, current_version, package_row
from frontdesk.portal.scoring import is_scored, score
from frontdesk.portal.task_views import (
    CLIENT_DONE,
    CLIENT_TO_DO,
    EDITABLE,
    OPEN,
    Assignment,
    ClientRef,
    ClientTasks,
    SubmitResult,
    TaskDetail,
    TaskSummary,
    detail_of,
    summary_of,
)
from frontdesk.practice import practice_row, practice_zone
from store.db import Database
from store.models import Chart, FormVersion, PortalAccount, Task
from store.states import InboxCloseReason, InboxKind, TaskState

FORMS_NOTICE_KIND = "forms_waiting"
CLOSE_REASONS = {
    TaskState.REVIEWED: InboxCloseReason.REVIEWED,
    TaskState.RETURNED: InboxCloseReason.RETURNED,
    TaskState.CANCELLED: InboxCloseReason.DONE,
}
MAX_REASON = 500
MAX_ID = 2**31 - 1  # INTEGER's largest value on PostgreSQL


class TaskService:
    """Tasks of the charts in one database: staff act as `actor`; clients as their session."""

    def __init__(
        self, db: Database, clock: Clock, settings: Settings, actor: str, library: FormLibrary
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.actor = actor
        self.library = library

    # ---------------------------------------------------------------- staff: entry methods

    def assign(
        self,
        chart_number: str,
        *,
        form_key: str | None = None,
        package_key: str | None = None,
        due: date | str | None = None,
    ) -> Assignment:
        """Assign one form or a package's forms to a chart (forms it already has open are
        skipped); notify an Active account's owner with one content-free email."""
        if (form_key is None) == (package_key is None):
            raise InvalidInput("Choose a form or a package to assign.", "form")
        self.library.ensure_builtins()

        def work(session: Session) -> Assignment:
            chart = chart_by_number(session, chart_number, lock=True)
            due_date = self.due_date(session, due)
            keys = self.package_forms(session, package_key) if package_key else [form_key or ""]
            return self.assign_in(session, chart, keys, package_key=package_key, due=due_date)

        return self.db.transact(work)

    def chart_tasks(self, chart_number: str) -> list[TaskSummary]:
        """Every task of a chart, newest assignment first (a package's forms in order)."""
        with self.db.read() as session:
            chart = chart_by_number(session, chart_number)
            rows = session.exec(
                select(Task, FormVersion)
                .join(FormVersion, col(FormVersion.id) == col(Task.form_version_id))
                .where(Task.chart_id == chart.id)
                .order_by(col(Task.assigned_at).desc(), col(Task.position), col(Task.id))
            ).all()
            return [summary_of(task, version, chart.chart_number) for task, version in rows]

    def task(self, task_id: int) -> TaskDetail:
        """One task with its form and answers, for staff."""
        with self.db.read() as session:
            task, version, chart = self._staff_task(session, task_id)
            return detail_of(task, version, chart.chart_number)

    def open(self, task_id: int) -> TaskDetail:
        """Staff open a task (the task view, `tasks show`): its detail, and its open inbox item
        is no longer unread (as opening a message thread marks it read)."""

        def work(session: Session) -> TaskDetail:
            task, version, chart = self._staff_task(session, task_id)
            inbox_items.mark_seen(
                session, kind=InboxKind.TASK, source_id=task_id, now=self.clock.now()
            )
            return detail_of(task, version, chart.chart_number)

        return self.db.transact(work)

    def review(self, task_id: int) -> TaskSummary:
        """Staff have reviewed a submitted task (it leaves the desk's pending work)."""
        return self._staff_change(task_id, (TaskState.SUBMITTED,), TaskState.REVIEWED)

    def return_task(self, task_id: int, reason: str) -> TaskSummary:
        """Send a submitted task back to the client with a reason; they can change it again."""
        text = " ".join((reason or "").split())
        if not text:
            raise InvalidInput("Say why the form goes back to the client.", "reason")
        if has_controls(reason, allow_newlines=True) or len(text) > MAX_REASON:
            raise InvalidInput(
                f"The reason must be plain text of at most {MAX_REASON} characters.", "reason"
            )
        return self._staff_change(task_id, (TaskState.SUBMITTED,), TaskState.RETURNED, text)

    def cancel(self, task_id: int) -> TaskSummary:
        """Cancel a task the client has not submitted."""
        return self._staff_change(task_id, EDITABLE, TaskState.CANCELLED)

    # ---------------------------------------------------------------- client: entry methods

    def client_tasks(self, client: ClientRef) -> ClientTasks:
        """The signed-in client's forms to do and done."""
        with self.db.read() as session:
            chart = self._client_chart(session, client)
            rows = session.exec(
                select(Task, FormVersion)
                .join(FormVersion, col(FormVersion.id) == col(Task.form_version_id))
                .where(Task.chart_id == chart.id, col(Task.state).in_(CLIENT_TO_DO + CLIENT_DONE))
                .order_by(col(Task.assigned_at), col(Task.position), col(Task.id))
            ).all()
            tasks = [summary_of(task, version, chart.chart_number) for task, version in rows]
        to_do = [t for t in tasks if t.state in CLIENT_TO_DO]
        done = sorted(
            (t for t in tasks if t.state in CLIENT_DONE),
            key=lambda t: (t.submitted_at or t.assigned_at, t.id),
            reverse=True,
        )
        return ClientTasks(to_do, done)

    def client_task(self, client: ClientRef, task_id: int) -> TaskDetail:
        """One of the signed-in client's tasks (another chart's, or a cancelled one: NotFound)."""
        with self.db.read() as session:
            chart = self._client_chart(session, client)
            task, version = self._client_task(session, chart, task_id)
            return detail_of(task, version, chart.chart_number)

    def save_draft(
        self, client: ClientRef, task_id: int, answers: Mapping[str, object]
    ) -> TaskDetail:
        """Keep the client's answers so far (never refused for what they typed)."""

        def work(session: Session) -> TaskDetail:
            chart = self._client_chart(session, client)
            task, version = self._client_task(session, chart, task_id, lock=True)
            self._refuse_unless_editable(task)
            form = detail_of(task, version, chart.chart_number).form
            now = self.clock.now()
            task.answers = clean_draft(form, answers)
            was = task.state
            task.state = TaskState.IN_PROGRESS
            task.started_at = task.started_at or now
            task.draft_saved_at = task.updated_at = now
            session.add(task)
            session.flush()
            if was != TaskState.IN_PROGRESS:
                self._audit_client(session, client, chart, "task started", task)
            return detail_of(task, version, chart.chart_number)

        return self.db.transact(work)

    def submit(
        self, client: ClientRef, task_id: int, answers: Mapping[str, object]
    ) -> SubmitResult:
        """Check the whole form and submit it, scored where it is a measure; with any error,
        nothing is stored and the errors come back by field."""

        def work(session: Session) -> SubmitResult:
            chart = self._client_chart(session, client)
            task, version = self._client_task(session, chart, task_id, lock=True)
            self._refuse_unless_editable(task)
            detail = detail_of(task, version, chart.chart_number)
            today = self.clock.now().astimezone(practice_zone(practice_row(session))).date()
            checked = check_submission(detail.form, answers, today=today)
            if not checked.ok:
                return SubmitResult(False, detail, checked.errors)
            now = self.clock.now()
            task.answers = checked.answers
            if is_scored(task.form_key):
                result = score(task.form_key, checked.answers)
                task.score, task.severity = result.total, result.severity.value
                task.item9_flag = result.item9_flag
            task.state = TaskState.SUBMITTED
            task.started_at = task.started_at or now
            task.submitted_at = task.updated_at = now
            session.add(task)
            session.flush()
            self._audit_client(session, client, chart, "task submitted", task)
            self.on_submitted(session, task, version.title)
            done = detail_of(task, version, chart.chart_number)
            return SubmitResult(True, done, {}, crisis=task.item9_flag)

        return self.db.transact(work)

    # ---------------------------------------------------------------- steps (take a Session)

    def assign_in(
        self,
        session: Session,
        chart: Chart,
        form_keys: Sequence[str],
        *,
        package_key: str | None = None,
        due: date | None = None,
        notify: bool = True,
    ) -> Assignment:
        """Step: assign the current version of each form to `chart` (those it has open are
        skipped) and, with `notify`, queue the notice to an Active account's owner."""
        assert chart.id is not None
        now = self.clock.now()
        versions = [current_version(session, key) for key in form_keys]
        open_keys = set(
            session.exec(
                select(Task.form_key).where(Task.chart_id == chart.id, col(Task.state).in_(OPEN))
            ).all()
        )
        made: list[TaskSummary] = []
        skipped: list[str] = []
        for position, version in enumerate(versions):
            if version.key in open_keys:
                skipped.append(version.key)
                continue
            assert version.id is not None
            task = Task(
                chart_id=chart.id,
                form_key=version.key,
                form_version_id=version.id,
                package_key=package_key,
                position=position,
                state=TaskState.ASSIGNED,
                due_date=due,
                assigned_by=self.actor,
                assigned_at=now,
                updated_at=now,
            )
            session.add(task)
            session.flush()
            open_keys.add(version.key)
            detail = f" from package {package_key}" if package_key else ""
            self._audit_staff(session, chart, "task assigned", task, extra=detail)
            made.append(summary_of(task, version, chart.chart_number))
        if not made:
            raise NotAllowed(
                f"Chart {chart.chart_number} already has "
                + ("that form" if len(skipped) == 1 else "every form of that package")
                + " to complete; nothing was assigned."
            )
        outbox_id = self.notify_forms_waiting(session, chart) if notify else None
        return Assignment(chart.chart_number, made, skipped, outbox_id)

    def notify_forms_waiting(self, session: Session, chart: Chart) -> int | None:
        """Step: queue "You have forms to complete" to the chart's Active account, if any."""
        account = session.exec(
            select(PortalAccount).where(
                PortalAccount.chart_id == chart.id, col(PortalAccount.disabled_at).is_(None)
            )
        ).first()
        practice = practice_row(session)
        if account is None or not practice.portal_active:
            return None
        owner = owner_of(
            session, chart, owner_row(session, chart, now=self.clock.now(), actor=self.actor)
        )
        message = compose.forms_waiting_email(
            practice,
            greeting_name=greeting_name(chart, owner),
            link=links.login_link(self.settings.public_base),
        )
        return queue_email(
            session,
            self.settings,
            message,
            kind=FORMS_NOTICE_KIND,
            now=self.clock.now(),
            to_address=account.email,
            to_name=account.owner_name,
            chart_id=chart.id,
        )

    def package_forms(self, session: Session, package_key: str | None) -> list[str]:
        """Step: a package's form keys, in order (NotFound for an unknown package)."""
        return list(package_row(session, package_key or "").form_keys)

    def due_date(self, session: Session, due: date | str | None) -> date | None:
        """Step: a due date (YYYY-MM-DD), not before the practice's today."""
        if due is None or due == "":
            return None
        parsed = due if isinstance(due, date) else parse_date_strict(due)
        if parsed is None:
            raise InvalidInput(
                f"Due date must be a real date written YYYY-MM-DD (got {due!r}).", "due"
            )
        today = self.clock.now().astimezone(practice_zone(practice_row(session))).date()
        if parsed < today:
            raise InvalidInput("The due date has already passed.", "due")
        return parsed

    def on_submitted(self, session: Session, task: Task, title: str) -> None:
        """Step: a submitted task opens its Portal inbox item, urgent when PHQ-9 item 9 was
        answered above "Not at all" (it stays on top until someone acknowledges it)."""
        assert task.id is not None
        inbox_items.open_item(
            session,
            kind=InboxKind.TASK,
            source_id=task.id,
            chart_id=task.chart_id,
            subject=title,
            now=self.clock.now(),
            urgent=task.item9_flag,
        )

    def on_closed(self, session: Session, task: Task) -> None:
        """Step: a task left the desk's pending work (reviewed, returned): its inbox item
        closes in the same transaction, never left stale."""
        assert task.id is not None
        reason = CLOSE_REASONS.get(TaskState(task.state), InboxCloseReason.DONE)
        inbox_items.close_items(
            session,
            kind=InboxKind.TASK,
            source_id=task.id,
            reason=reason,
            by=self.actor,
            now=self.clock.now(),
        )

    # ---------------------------------------------------------------- internals

    def _staff_change(
        self,
        task_id: int,
        allowed: Sequence[TaskState],
        new_state: TaskState,
        reason: str | None = None,
    ) -> TaskSummary:
        def work(session: Session) -> TaskSummary:
            task, version, chart = self._staff_task(session, task_id, lock=True)
            if task.state not in allowed:
                raise NotAllowed(_refusal(task, new_state))
            move(session, task, new_state, actor=self.actor, now=self.clock.now(), reason=reason)
            self._audit_staff(session, chart, f"task {new_state.value}", task)
            self.on_closed(session, task)
            if new_state is TaskState.RETURNED:
                self.notify_forms_waiting(session, chart)
            return summary_of(task, version, chart.chart_number)

        return self.db.transact(work)

    def _staff_task(
        self, session: Session, task_id: int, *, lock: bool = False
    ) -> tuple[Task, FormVersion, Chart]:
        task = self._task_row(session, task_id, lock=lock)
        if task is None:
            raise NotFound(f"No task {task_id}.")
        version = session.get(FormVersion, task.form_version_id)
        chart = session.get(Chart, task.chart_id)
        assert version is not None and chart is not None
        return task, version, chart

    @staticmethod
    def _task_row(session: Session, task_id: int, *, lock: bool) -> Task | None:
        if not 0 < task_id <= MAX_ID:  # an id no row can have is not found, never a DB error
            return None
        query = select(Task).where(Task.id == task_id)
        if lock and session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        return session.exec(query).first()

    def _client_chart(self, session: Session, client: ClientRef) -> Chart:
        """The chart of the signed-in account (still enabled, still for that chart)."""
        account = session.get(PortalAccount, client.account_id)
        if (
            account is None
            or account.disabled_at is not None
            or account.chart_id != client.chart_id
        ):
            raise NotFound("No such form.")
        chart = session.get(Chart, account.chart_id)
        if chart is None:
            raise NotFound("No such form.")
        return chart

    def _client_task(
        self, session: Session, chart: Chart, task_id: int, *, lock: bool = False
    ) -> tuple[Task, FormVersion]:
        task = self._task_row(session, task_id, lock=lock)
        if task is None or task.chart_id != chart.id or task.state == TaskState.CANCELLED:
            raise NotFound("No such form.")
        version = session.get(FormVersion, task.form_version_id)
        assert version is not None
        return task, version

    @staticmethod
    def _refuse_unless_editable(task: Task) -> None:
        if task.state not in EDITABLE:
            raise NotAllowed("This form was already sent; it can no longer be changed.")

    def _audit_staff(
        self, session: Session, chart: Chart, action: str, task: Task, *, extra: str = ""
    ) -> None:
        audit.record(
            session,
            at=self.clock.now(),
            actor=self.actor,
            action=action,
            chart=chart,
            detail=f"task {task.id} ({task.form_key}){extra}",
            source=f"os:{self.actor}",
        )

    def _audit_client(
        self, session: Session, client: ClientRef, chart: Chart, action: str, task: Task
    ) -> None:
        audit.record(
            session,
            at=self.clock.now(),
            actor=f"client:{client.account_id}",
            action=action,
            chart=chart,
            detail=f"task {task.id} ({task.form_key})",
            source="web",
        )


def move(
    session: Session,
    task: Task,
    new_state: TaskState,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    """Step: put `task` in `new_state` (reviewed, returned, cancelled) as `actor`, stamped."""
    task.state = new_state
    task.updated_at = now
    if new_state is TaskState.REVIEWED:
        task.reviewed_at, task.reviewed_by = now, actor
    elif new_state is TaskState.RETURNED:
        task.returned_at, task.returned_by = now, actor
        task.returned_reason = reason
    elif new_state is TaskState.CANCELLED:
        task.cancelled_at, task.cancelled_by = now, actor
    session.add(task)
    session.flush()


def review_from_inbox(session: Session, task_id: int, *, actor: str, now: datetime) -> bool:
    """Step: the desk marked a task's inbox item done — a submitted task is reviewed
    (audited). False when it was not submitted (nothing changes)."""
    task = session.get(Task, task_id)
    if task is None or task.state != TaskState.SUBMITTED:
        return False
    move(session, task, TaskState.REVIEWED, actor=actor, now=now)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="task reviewed",
        chart=session.get(Chart, task.chart_id),
        detail=f"task {task.id} ({task.form_key}) from the inbox",
        source=f"os:{actor}",
    )
    return True


def _refusal(task: Task, new_state: TaskState) -> str:
    """Why `task` cannot move to `new_state` now, in one line."""
    state = single_line(task.state).replace("_", " ")
    if new_state is TaskState.CANCELLED:
        return f"Task {task.id} is {state}; only a task not yet submitted can be cancelled."
    verb = "reviewed" if new_state is TaskState.REVIEWED else "returned"
    return f"Task {task.id} is {state}; only a submitted task can be {verb}."
