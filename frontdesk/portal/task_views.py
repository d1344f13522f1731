"""Tasks as the surfaces see them: typed results of `frontdesk.portal.tasks` (data, never
sentences; the TUI, the CLI and the web write the words)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from frontdesk.core.clock import as_utc
from frontdesk.portal.answers import AnsweredField, Answers, answer_lines
from frontdesk.portal.form_definitions import FormDefinition, parse_definition
from frontdesk.portal.scoring import MEASURES, Severity
from store.models import FormVersion, Task
from store.states import FormKind, TaskState

# What the client still has to do, and what is done (cancelled tasks are not shown to them).
CLIENT_TO_DO = (TaskState.ASSIGNED, TaskState.IN_PROGRESS, TaskState.RETURNED)
CLIENT_DONE = (TaskState.SUBMITTED, TaskState.REVIEWED)
# States in which the client may change the answers, and staff may cancel.
EDITABLE = CLIENT_TO_DO
OPEN = CLIENT_TO_DO  # a form "open" on a chart: assigning it again would repeat it


class ClientRef(Protocol):
    """The signed-in client: the guard's `SignedIn` or the session's `ActiveSession`. The
    chart is always the session's, never one named by the request."""

    @property
    def account_id(self) -> int: ...

    @property
    def chart_id(self) -> int: ...


@dataclass(frozen=True)
class TaskSummary:
    """A task in a list (a chart's tasks, the client's to-do list)."""

    id: int
    chart_id: int
    chart_number: str
    form_key: str
    form_title: str
    form_kind: FormKind
    form_version: int
    package_key: str | None
    state: TaskState
    due_date: date | None
    assigned_at: datetime
    assigned_by: str
    started_at: datetime | None
    draft_saved_at: datetime | None
    submitted_at: datetime | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    returned_at: datetime | None
    returned_by: str | None
    returned_reason: str | None
    cancelled_at: datetime | None
    cancelled_by: str | None
    updated_at: datetime
    score: int | None  # measures, once submitted
    score_max: int | None
    severity: Severity | None
    item9_flag: bool  # PHQ-9 item 9 answered above "Not at all"

    @property
    def editable(self) -> bool:
        """The client may still change the answers (assigned, in progress or returned)."""
        return self.state in EDITABLE

    @property
    def scored(self) -> bool:
        return self.form_kind is FormKind.MEASURE


@dataclass(frozen=True)
class TaskDetail(TaskSummary):
    """One task with its form (the version it was assigned with) and its answers (the draft
    while editable, then what was submitted)."""

    form: FormDefinition = field(repr=False, kw_only=True)
    answers: Answers = field(default_factory=dict, kw_only=True)

    @property
    def lines(self) -> list[AnsweredField]:
        """Every question with its answer in words, for staff (and the client's copy)."""
        return answer_lines(self.form, self.answers)


@dataclass(frozen=True)
class ClientTasks:
    """The signed-in client's forms: to do (oldest first) and done (newest first)."""

    to_do: list[TaskSummary]
    done: list[TaskSummary]


@dataclass(frozen=True)
class Assignment:
    """What an assignment did: the tasks made (in package order), the forms skipped because
    the chart already has them open, and the notice queued (None: no Active account, or
    the invitation says it)."""

    chart_number: str
    tasks: list[TaskSummary]
    skipped: list[str]  # form keys
    notice_outbox_id: int | None


@dataclass(frozen=True)
class SubmitResult:
    """A submission: done (`ok`) or refused with errors by field id (`answers.FORM_ERROR` for
    the whole form), nothing stored then. `crisis`: PHQ-9 item 9 was answered above "Not at
    all"; show crisis resources at once (988, 911, the practice's phone)."""

    ok: bool
    task: TaskDetail
    errors: dict[str, str]
    crisis: bool = False


def summary_of(row: Task, version: FormVersion, chart_number: str) -> TaskSummary:
    assert row.id is not None
    measure = MEASURES.get(row.form_key) if version.kind == FormKind.MEASURE else None
    return TaskSummary(
        id=row.id,
        chart_id=row.chart_id,
        chart_number=chart_number,
        form_key=row.form_key,
        form_title=version.title,
        form_kind=FormKind(version.kind),
        form_version=version.version,
        package_key=row.package_key,
        state=TaskState(row.state),
        due_date=row.due_date,
        assigned_at=as_utc(row.assigned_at),
        assigned_by=row.assigned_by,
        started_at=_utc(row.started_at),
        draft_saved_at=_utc(row.draft_saved_at),
        submitted_at=_utc(row.submitted_at),
        reviewed_at=_utc(row.reviewed_at),
        reviewed_by=row.reviewed_by,
        returned_at=_utc(row.returned_at),
        returned_by=row.returned_by,
        returned_reason=row.returned_reason,
        cancelled_at=_utc(row.cancelled_at),
        cancelled_by=row.cancelled_by,
        updated_at=as_utc(row.updated_at),
        score=row.score,
        score_max=measure.maximum if measure is not None else None,
        severity=Severity(row.severity) if row.severity else None,
        item9_flag=row.item9_flag,
    )


def detail_of(row: Task, version: FormVersion, chart_number: str) -> TaskDetail:
    summary = summary_of(row, version, chart_number)
    answers: Answers = dict(row.answers or {})
    return TaskDetail(
        **{name: getattr(summary, name) for name in TaskSummary.__dataclass_fields__},
        form=parse_definition(version.definition, builtin=True),
        answers=answers,
    )


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None
