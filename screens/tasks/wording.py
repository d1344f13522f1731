"""The words the desk reads on tasks: states, scores with their band ("PHQ-9 14/27 ·
Moderate"), due dates and what a confirmed task request did."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from screens.display import PracticeView, short_time

if TYPE_CHECKING:
    from frontdesk.portal.forms import PackageInfo
    from frontdesk.portal.task_views import TaskSummary

STATE_LABELS = {
    "assigned": "Assigned",
    "in_progress": "In progress",
    "submitted": "Submitted",
    "reviewed": "Reviewed",
    "returned": "Returned",
    "cancelled": "Cancelled",
}


def state_label(value: object) -> str:
    return STATE_LABELS.get(str(value), str(value).replace("_", " ").capitalize())


def short_name(task: TaskSummary) -> str:
    """A measure's short name ("PHQ-9"), else the form's title."""
    if task.scored:
        return task.form_key.upper()
    return task.form_title


def score_text(task: TaskSummary) -> str:
    """ "PHQ-9 14/27 · Moderate" for a scored measure, "" before it is scored."""
    if task.score is None:
        return ""
    out_of = f"/{task.score_max}" if task.score_max is not None else ""
    band = f" · {task.severity.label}" if task.severity is not None else ""
    return f"{short_name(task)} {task.score}{out_of}{band}"


def due_text(due: date | None) -> str:
    """'Dec 3, 2026' or '—'."""
    if due is None:
        return "—"
    return f"{due:%b} {due.day}, {due.year}"


def when(moment: datetime | None, practice: PracticeView, now: datetime) -> str:
    return short_time(moment, practice.zone, now) if moment is not None else "—"


def forms_phrase(count: int) -> str:
    return "1 form" if count == 1 else f"{count:,} forms"


def package_label(package: PackageInfo) -> str:
    """'New client (4 forms: Consent, Intake, PHQ-9, GAD-7)'."""
    names = ", ".join(_form_name(form.key, form.title) for form in package.forms)
    count = len(package.forms)
    return f"{package.title} ({count} form{'s' if count != 1 else ''}: {names})"


def _form_name(key: str, title: str) -> str:
    return key.upper() if key in ("phq-9", "gad-7") else title.split(" (")[0]
