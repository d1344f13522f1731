"""Server-side checks of a submission, field by field, on a practice's own questionnaire of
every field kind (SQLite and PostgreSQL); drafts keep what was typed."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.portal.answers import FORM_ERROR
from frontdesk.services import Services
from store.states import TaskState
from tests.portal.conftest import ACTIVE_CHART, Client

EVERY_KIND: dict[str, Any] = {
    "key": "every-kind",
    "title": "Every kind",
    "kind": "questionnaire",
    "sections": [
        {
            "title": "All",
            "fields": [
                {"id": "name", "label": "Name", "kind": "short_text", "required": True},
                {"id": "story", "label": "Story", "kind": "long_text"},
                {"id": "when", "label": "When", "kind": "date", "required": True},
                {"id": "pick", "label": "Pick", "kind": "choice", "choices": ["A", "B"],
                 "required": True},
                {"id": "many", "label": "Many", "kind": "multi_choice",
                 "choices": ["X", "Y", "Z"]},
                {"id": "ok", "label": "OK?", "kind": "yes_no", "required": True},
            ],
        }
    ],
}  # fmt: skip
OPTIONAL: dict[str, Any] = {
    "key": "all-optional",
    "title": "All optional",
    "kind": "questionnaire",
    "sections": [{"title": "", "fields": [{"id": "note", "label": "Note", "kind": "long_text"}]}],
}
GOOD = {"name": "Ana", "when": "2024-02-29", "pick": "B", "many": ["Z", "X"], "ok": "no"}


@pytest.fixture
def task_id(desk: Services) -> int:
    desk.forms.import_form(EVERY_KIND)
    return desk.tasks.assign(ACTIVE_CHART, form_key="every-kind").tasks[0].id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 501}, "name"),
        ({"name": "Ana\x1b]52;c;x\x07"}, "name"),
        ({"when": "2023-02-29"}, "when"),
        ({"when": "02/28/2024"}, "when"),
        ({"when": "1850-01-01"}, "when"),
        ({"pick": "C"}, "pick"),
        ({"many": ["X", "W"]}, "many"),
        ({"ok": "maybe"}, "ok"),
        ({"ok": ""}, "ok"),
    ],
)
def test_each_refusal_is_at_its_field_and_stores_nothing(
    desk: Services, ana: Client, task_id: int, change: dict[str, Any], field: str
) -> None:
    result = desk.tasks.submit(ana, task_id, GOOD | change)
    assert not result.ok and set(result.errors) == {field}
    stored = desk.tasks.task(task_id)
    assert stored.state is TaskState.ASSIGNED and stored.answers == {}


def test_a_good_submission_is_stored_normalised(desk: Services, ana: Client, task_id: int) -> None:
    result = desk.tasks.submit(ana, task_id, GOOD | {"story": " line one\nline two ", "x": "1"})
    assert result.ok
    assert result.task.answers == {
        "name": "Ana", "story": "line one\nline two", "when": "2024-02-29",
        "pick": "B", "many": ["X", "Z"], "ok": "no",
    }  # fmt: skip
    words = {line.field_id: line.answer for line in result.task.lines}
    assert words["many"] == "X; Z" and words["ok"] == "No" and words["story"]


def test_a_browsers_line_breaks_are_one_newline(desk: Services, ana: Client, task_id: int) -> None:
    """Browsers post a textarea's line breaks as CR LF: they are line breaks, not controls."""
    draft = desk.tasks.save_draft(ana, task_id, {"story": "one\r\ntwo\rthree"})
    assert draft.answers == {"story": "one\ntwo\nthree"}
    result = desk.tasks.submit(ana, task_id, GOOD | {"story": "line one\r\nline two"})
    assert result.ok and result.task.answers["story"] == "line one\nline two"


def test_a_draft_keeps_what_was_typed(desk: Services, ana: Client, task_id: int) -> None:
    draft = desk.tasks.save_draft(
        ana, task_id, {"name": "An\x1ba", "when": "2024-02-3", "pick": "C", "many": ["Y", "W"]}
    )
    assert draft.answers == {"name": "Ana", "when": "2024-02-3", "many": ["Y"]}
    assert desk.tasks.save_draft(ana, task_id, {}).answers == {}  # the client cleared it


def test_an_all_optional_form_is_never_completed_blank(desk: Services, ana: Client) -> None:
    desk.forms.import_form(OPTIONAL)
    task = desk.tasks.assign(ACTIVE_CHART, form_key="all-optional").tasks[0]
    refused = desk.tasks.submit(ana, task.id, {"note": "   "})
    assert not refused.ok and set(refused.errors) == {FORM_ERROR}
    assert desk.tasks.submit(ana, task.id, {"note": "Thanks"}).ok
