"""A submitted task lands in the desk's Portal inbox (urgent when PHQ-9 item 9 is above
"Not at all", on top until acknowledged); review, return and the inbox's done close it, so it
is never left stale. SQLite and PostgreSQL."""

from __future__ import annotations

from frontdesk.desk.inbox import InboxOutcome
from frontdesk.services import Services
from store.models import InboxCloseReason, InboxKind, InboxState
from store.states import TaskState
from tests.portal.conftest import ACTIVE_CHART, OTHER_CHART, Client

GAD7_ONES = {f"gad7_{n}": "1" for n in range(1, 8)}


def phq9_with_item9(item9: int) -> dict[str, object]:
    return {f"phq9_{n}": "0" for n in range(1, 9)} | {"phq9_9": str(item9)}


def test_submit_opens_an_item_and_review_closes_it(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="gad-7").tasks[0]
    assert desk.inbox.items().total == 0  # assigned work is not the desk's yet
    desk.tasks.save_draft(ana, task.id, {"gad7_1": "1"})
    assert desk.inbox.items().total == 0
    assert desk.tasks.submit(ana, task.id, GAD7_ONES).ok
    (item,) = desk.inbox.items().items
    assert (item.kind, item.source_id, item.urgent) == (InboxKind.TASK, task.id, False)
    assert (
        item.chart_number == ACTIVE_CHART and item.subject == "Generalized Anxiety Disorder (GAD-7)"
    )
    desk.tasks.review(task.id)
    assert desk.inbox.items().total == 0
    closed = desk.inbox.item(item.id)
    assert closed.state is InboxState.DONE and closed.close_reason is InboxCloseReason.REVIEWED


def test_return_closes_and_a_resubmission_opens_a_new_item(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="gad-7").tasks[0]
    desk.tasks.submit(ana, task.id, GAD7_ONES)
    first = desk.inbox.items().items[0]
    desk.tasks.return_task(task.id, "Please check item 7.")
    assert desk.inbox.item(first.id).close_reason is InboxCloseReason.RETURNED
    assert desk.inbox.items().total == 0
    desk.tasks.submit(ana, task.id, GAD7_ONES)
    (again,) = desk.inbox.items().items
    assert again.id != first.id and again.source_id == task.id


def test_item9_is_urgent_and_on_top(desk: Services, ana: Client, ben: Client) -> None:
    calm = desk.tasks.assign(OTHER_CHART, form_key="gad-7").tasks[0]
    desk.tasks.submit(ben, calm.id, GAD7_ONES)
    flagged = desk.tasks.assign(ACTIVE_CHART, form_key="phq-9").tasks[0]
    result = desk.tasks.submit(ana, flagged.id, phq9_with_item9(2))
    assert result.crisis
    items = desk.inbox.items().items
    assert [(i.source_id, i.urgent) for i in items] == [(flagged.id, True), (calm.id, False)]
    assert desk.inbox.counts().urgent == 1
    change = desk.inbox.ack(items[0].id)
    assert change.outcome is InboxOutcome.ACKNOWLEDGED
    assert change.item.acknowledged_by == desk.actor
    # On top only until acknowledged: then it takes its place by waiting time (ben's first).
    after = desk.inbox.items().items
    assert [(i.source_id, i.urgent) for i in after] == [(calm.id, False), (flagged.id, False)]
    assert after[1].acknowledged_at is not None and desk.inbox.counts().urgent == 0
    actions = [row.action for row in desk.audit.history(ACTIVE_CHART)]
    assert "inbox item acknowledged" in actions


def test_item9_not_at_all_is_not_urgent(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="phq-9").tasks[0]
    assert not desk.tasks.submit(ana, task.id, phq9_with_item9(0)).crisis
    assert not desk.inbox.items().items[0].urgent


def test_done_in_the_inbox_reviews_the_task(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="gad-7").tasks[0]
    desk.tasks.submit(ana, task.id, GAD7_ONES)
    item = desk.inbox.items().items[0]
    assert desk.inbox.done(item.id).outcome is InboxOutcome.DONE
    reviewed = desk.tasks.task(task.id)
    assert reviewed.state is TaskState.REVIEWED and reviewed.reviewed_by == desk.actor


def test_opening_a_task_marks_its_item_seen_and_reading_does_not(
    desk: Services, ana: Client
) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="gad-7").tasks[0]
    desk.tasks.submit(ana, task.id, GAD7_ONES)
    assert desk.tasks.task(task.id).state is TaskState.SUBMITTED  # a plain read
    assert desk.inbox.items().items[0].unread
    assert desk.tasks.open(task.id).id == task.id
    (item,) = desk.inbox.items().items
    assert not item.unread and item.state is InboxState.OPEN  # seen, still the desk's work
