"""Confirmed task work as desk requests (`screens.actions.DeskRequest`): the app's worker runs
them (blocking, off the event loop), hands any email they queued to the mail server, toasts
the outcome and tells open screens the chart changed. The service decides; these only call
it and write the sentence the desk reads."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from screens.actions import DeskResult
from screens.tasks.wording import due_text, forms_phrase

if TYPE_CHECKING:  # the database layer is imported when the services open, not at start
    from frontdesk.services import Services


@dataclass(frozen=True)
class AssignChoice:
    """What the Assign dialog chose: one form or one package (its label as listed), and an
    optional due date."""

    label: str
    form_key: str | None = None
    package_key: str | None = None
    due: date | None = None


@dataclass(frozen=True)
class AssignRequest:
    """Assign a form or a package to a chart; the owner of an Active account is emailed a
    content-free notice ("You have forms to complete…")."""

    chart_number: str
    choice: AssignChoice
    title: str = "Assign forms"

    def run(self, services: Services) -> DeskResult:
        choice = self.choice
        assignment = services.tasks.assign(
            self.chart_number,
            form_key=choice.form_key,
            package_key=choice.package_key,
            due=choice.due,
        )
        made = len(assignment.tasks)
        sentence = f"Assigned {choice.label} to chart {self.chart_number}: {forms_phrase(made)}"
        if choice.due is not None:
            sentence += f", due {due_text(choice.due)}"
        if assignment.skipped:
            names = ", ".join(key.upper() for key in assignment.skipped)
            sentence += f" ({names} already open: not repeated)"
        notice = assignment.notice_outbox_id
        if notice is not None:
            sentence += "; the client is emailed that forms are waiting"
        return DeskResult(
            sentence + ".",
            services.views.chart(self.chart_number),
            () if notice is None else (notice,),
            "forms notice",
        )


class TaskAction(enum.StrEnum):
    REVIEW = "review"
    RETURN = "return"
    CANCEL = "cancel"
    ACKNOWLEDGE = "acknowledge"


_TITLES = {
    TaskAction.REVIEW: "Mark reviewed",
    TaskAction.RETURN: "Return to client",
    TaskAction.CANCEL: "Cancel form",
    TaskAction.ACKNOWLEDGE: "Acknowledge urgent item",
}


def task_action_title(action: TaskAction) -> str:
    return _TITLES[action]


@dataclass(frozen=True)
class TaskRequest:
    """Review, return (with the staff's reason) or cancel one task, or acknowledge its urgent
    inbox item. `name` is how the desk calls the form ("PHQ-9")."""

    action: TaskAction
    chart_number: str
    task_id: int
    name: str
    reason: str = ""
    inbox_item_id: int | None = None

    @property
    def title(self) -> str:
        return task_action_title(self.action)

    def run(self, services: Services) -> DeskResult:
        tasks = services.tasks
        if self.action is TaskAction.REVIEW:
            tasks.review(self.task_id)
            sentence = f"{self.name} marked reviewed; its inbox item is closed."
        elif self.action is TaskAction.RETURN:
            tasks.return_task(self.task_id, self.reason)
            sentence = f"{self.name} returned to the client with your reason."
        elif self.action is TaskAction.CANCEL:
            tasks.cancel(self.task_id)
            sentence = f"{self.name} cancelled; the client no longer sees it."
        else:
            sentence = self._acknowledge(services)
        return DeskResult(sentence, services.views.chart(self.chart_number))

    def _acknowledge(self, services: Services) -> str:
        from frontdesk.core.errors import NotAllowed
        from frontdesk.desk.inbox import InboxOutcome

        if self.inbox_item_id is None:
            raise NotAllowed("This form has no open inbox item to acknowledge.")
        change = services.inbox.ack(self.inbox_item_id)
        if change.outcome is InboxOutcome.ALREADY_ACKNOWLEDGED:
            by = change.item.acknowledged_by or "someone"
            return f"Already acknowledged by {by}."
        return f"Urgent {self.name} acknowledged; it stays in the inbox until reviewed."


@dataclass(frozen=True)
class InvitationDelivery:
    """Hand a new chart's invitation (queued in the chart's creating transaction) to the mail
    server. Nothing is written here: `run` only reads the chart as it is now."""

    chart_number: str
    outbox_id: int
    forms_waiting: bool
    title: str = "New chart invitation"

    def run(self, services: Services) -> DeskResult:
        chart = services.views.chart(self.chart_number)
        to = chart.owner.email or "the Chart Owner"
        waiting = "; it says forms are waiting" if self.forms_waiting else ""
        return DeskResult(
            f"Invitation sent to {to}{waiting}.", chart, (self.outbox_id,), "invitation"
        )
