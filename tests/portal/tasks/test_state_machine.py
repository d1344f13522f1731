"""The task state machine on SQLite and PostgreSQL: assign, draft, submit, review, return,
cancel; illegal moves refused; another chart's task not found; every change audited."""

from __future__ import annotations

import pytest

from frontdesk.core.errors import InvalidInput, NotAllowed, NotFound
from frontdesk.portal.answers import FORM_ERROR
from frontdesk.portal.scoring import Severity
from frontdesk.services import Services
from store.states import TaskState
from tests.portal.conftest import ACTIVE_CHART, NEW_CHART, OTHER_CHART, Client

PHQ9_ZEROS = {f"phq9_{n}": "0" for n in range(1, 10)}


def phq9(*values: int, difficulty: str | None = None) -> dict[str, object]:
    answers: dict[str, object] = {f"phq9_{n}": str(v) for n, v in enumerate(values, start=1)}
    if difficulty:
        answers["difficulty"] = difficulty
    return answers


def test_assign_a_package_in_order(desk: Services) -> None:
    done = desk.tasks.assign(ACTIVE_CHART, package_key="new-client", due="2026-12-10")
    assert [t.form_key for t in done.tasks] == ["consent", "intake", "phq-9", "gad-7"]
    assert all(t.state is TaskState.ASSIGNED for t in done.tasks)
    assert {t.due_date.isoformat() for t in done.tasks if t.due_date} == {"2026-12-10"}
    assert done.notice_outbox_id is not None  # C-1 has an Active account
    listed = desk.tasks.chart_tasks(ACTIVE_CHART)
    assert [t.form_key for t in listed] == ["consent", "intake", "phq-9", "gad-7"]
    actions = [row.action for row in desk.audit.history(ACTIVE_CHART)]
    assert actions.count("task assigned") == 4


def test_assigning_an_open_form_again_is_refused_and_a_package_skips_it(desk: Services) -> None:
    desk.tasks.assign(ACTIVE_CHART, form_key="phq-9")
    with pytest.raises(NotAllowed):
        desk.tasks.assign(ACTIVE_CHART, form_key="phq-9")
    done = desk.tasks.assign(ACTIVE_CHART, package_key="new-client")
    assert done.skipped == ["phq-9"]
    assert [t.form_key for t in done.tasks] == ["consent", "intake", "gad-7"]


def test_assign_refuses_bad_requests(desk: Services) -> None:
    with pytest.raises(InvalidInput):
        desk.tasks.assign(ACTIVE_CHART)
    with pytest.raises(NotFound):
        desk.tasks.assign(ACTIVE_CHART, form_key="nope")
    with pytest.raises(NotFound):
        desk.tasks.assign(ACTIVE_CHART, package_key="nope")
    with pytest.raises(NotFound):
        desk.tasks.assign("C-404", form_key="phq-9")
    with pytest.raises(InvalidInput) as bad_due:
        desk.tasks.assign(ACTIVE_CHART, form_key="phq-9", due="2026-02-30")
    assert bad_due.value.field == "due"
    with pytest.raises(InvalidInput):
        desk.tasks.assign(ACTIVE_CHART, form_key="phq-9", due="2020-01-01")
    assert desk.tasks.chart_tasks(ACTIVE_CHART) == []


def test_draft_submit_review(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="phq-9").tasks[0]
    todo = desk.tasks.client_tasks(ana)
    assert [t.id for t in todo.to_do] == [task.id] and todo.done == []

    draft = desk.tasks.save_draft(ana, task.id, {"phq9_1": "2", "phq9_2": "9", "x": "y"})
    assert draft.state is TaskState.IN_PROGRESS
    assert draft.answers == {"phq9_1": "2"}  # off-scale and unknown answers are not kept
    assert desk.tasks.client_task(ana, task.id).answers == {"phq9_1": "2"}

    refused = desk.tasks.submit(ana, task.id, {"phq9_1": "2"})
    assert not refused.ok
    assert set(refused.errors) == {f"phq9_{n}" for n in range(2, 10)}
    assert desk.tasks.task(task.id).state is TaskState.IN_PROGRESS  # nothing stored

    sent = desk.tasks.submit(ana, task.id, phq9(2, 1, 1, 1, 1, 1, 1, 2, 0))
    assert sent.ok and not sent.crisis
    assert sent.task.state is TaskState.SUBMITTED
    assert (sent.task.score, sent.task.severity, sent.task.score_max) == (10, Severity.MODERATE, 27)
    assert not sent.task.editable
    with pytest.raises(NotAllowed):
        desk.tasks.save_draft(ana, task.id, PHQ9_ZEROS)
    with pytest.raises(NotAllowed):
        desk.tasks.submit(ana, task.id, PHQ9_ZEROS)
    assert desk.tasks.client_tasks(ana).done[0].id == task.id

    reviewed = desk.tasks.review(task.id)
    assert reviewed.state is TaskState.REVIEWED and reviewed.reviewed_by == desk.actor
    with pytest.raises(NotAllowed):
        desk.tasks.review(task.id)
    with pytest.raises(NotAllowed):
        desk.tasks.cancel(task.id)
    actions = [row.action for row in desk.audit.history(ACTIVE_CHART)]
    for action in ("task assigned", "task started", "task submitted", "task reviewed"):
        assert action in actions
    details = " ".join(row.detail for row in desk.audit.history(ACTIVE_CHART))
    assert "10" not in details.replace(f"task {task.id}", "")  # no score in the audit trail


def test_return_with_reason_then_resubmit(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="gad-7").tasks[0]
    answers = {f"gad7_{n}": "1" for n in range(1, 8)}
    assert desk.tasks.submit(ana, task.id, answers).ok
    with pytest.raises(InvalidInput):
        desk.tasks.return_task(task.id, "  ")
    back = desk.tasks.return_task(task.id, "Please answer the last question again.")
    assert back.state is TaskState.RETURNED and back.editable
    mine = desk.tasks.client_task(ana, task.id)
    assert mine.returned_reason == "Please answer the last question again."
    assert mine.answers == answers  # what they sent is there to change
    answers["gad7_7"] = "3"
    again = desk.tasks.submit(ana, task.id, answers)
    assert again.ok and again.task.score == 9 and again.task.severity is Severity.MILD


def test_cancel_before_submit_only(desk: Services, ana: Client) -> None:
    first, second = desk.tasks.assign(ACTIVE_CHART, package_key="new-client").tasks[2:]
    cancelled = desk.tasks.cancel(first.id)
    assert cancelled.state is TaskState.CANCELLED
    with pytest.raises(NotFound):
        desk.tasks.client_task(ana, first.id)  # the client no longer sees it
    with pytest.raises(NotAllowed):
        desk.tasks.cancel(first.id)
    assert desk.tasks.submit(ana, second.id, {f"gad7_{n}": "0" for n in range(1, 8)}).ok
    with pytest.raises(NotAllowed):
        desk.tasks.cancel(second.id)


def test_another_charts_task_is_not_found(desk: Services, ana: Client, ben: Client) -> None:
    task = desk.tasks.assign(OTHER_CHART, form_key="phq-9").tasks[0]
    with pytest.raises(NotFound):
        desk.tasks.client_task(ana, task.id)
    with pytest.raises(NotFound):
        desk.tasks.save_draft(ana, task.id, PHQ9_ZEROS)
    with pytest.raises(NotFound):
        desk.tasks.submit(ana, task.id, PHQ9_ZEROS)
    with pytest.raises(NotFound):  # a session claiming another chart for this account
        desk.tasks.client_task(Client(ana.account_id, ben.chart_id), task.id)
    assert desk.tasks.client_tasks(ana).to_do == []
    assert desk.tasks.task(task.id).state is TaskState.ASSIGNED


def test_item9_flags_the_submission(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="phq-9").tasks[0]
    sent = desk.tasks.submit(ana, task.id, phq9(0, 0, 0, 0, 0, 0, 0, 0, 1))
    assert sent.ok and sent.crisis and sent.task.item9_flag
    assert (sent.task.score, sent.task.severity) == (1, Severity.MINIMAL)


def test_a_blank_form_is_never_completed(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="consent").tasks[0]
    refused = desk.tasks.submit(ana, task.id, {})
    assert not refused.ok
    assert set(refused.errors) == {"agree", "full_name", "relationship"}
    refused = desk.tasks.submit(ana, task.id, {"full_name": "Ana O'Brien", "relationship": "Self"})
    assert set(refused.errors) == {"agree"}
    refused = desk.tasks.submit(
        ana, task.id, {"agree": "yes", "full_name": "Ana", "relationship": "Cousin"}
    )
    assert set(refused.errors) == {"relationship"}
    sent = desk.tasks.submit(
        ana, task.id, {"agree": "yes", "full_name": " Ana  O'Brien ", "relationship": "Self"}
    )
    assert sent.ok
    assert sent.task.answers == {"agree": "yes", "full_name": "Ana O'Brien", "relationship": "Self"}
    assert FORM_ERROR not in sent.errors


def test_no_notice_for_a_chart_without_an_account(desk: Services) -> None:
    assert desk.tasks.assign(NEW_CHART, form_key="intake").notice_outbox_id is None


def test_a_revoked_account_sees_nothing(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="phq-9").tasks[0]
    desk.invitations.revoke_access(ACTIVE_CHART)
    with pytest.raises(NotFound):
        desk.tasks.client_tasks(ana)
    with pytest.raises(NotFound):
        desk.tasks.submit(ana, task.id, PHQ9_ZEROS)


@pytest.mark.parametrize("task_id", [0, -1, 2**31, 2**63])
def test_an_id_no_row_can_have_is_not_found(desk: Services, ana: Client, task_id: int) -> None:
    with pytest.raises(NotFound):
        desk.tasks.task(task_id)
    with pytest.raises(NotFound):
        desk.tasks.client_task(ana, task_id)
    with pytest.raises(NotFound):
        desk.tasks.review(task_id)
