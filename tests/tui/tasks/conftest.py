"""Forms at the desk: clients of the seeded practice (tests/tui/conftest.py) who fill in and
send forms through the real tasks service, at chosen moments before the tests' frozen "now"."""

from __future__ import annotations

from datetime import timedelta

from frontdesk.portal.task_views import TaskSummary
from frontdesk.services import Services
from tests.factories import ACTIVE, T0, acting_at
from tests.tui.messages.conftest import client_of


def phq9(*items: int) -> dict[str, str | list[str]]:
    """PHQ-9 answers: items 1-9 as given (0-3), difficulty "Somewhat difficult"."""
    assert len(items) == 9
    answers: dict[str, str | list[str]] = {f"phq9_{n}": str(v) for n, v in enumerate(items, 1)}
    answers["difficulty"] = "Somewhat difficult"
    return answers


# 14 in all (moderate); item 9 "Several days".
PHQ9_MODERATE_FLAGGED = phq9(2, 2, 2, 2, 2, 1, 1, 1, 1)
PHQ9_MILD = phq9(1, 1, 1, 1, 1, 1, 0, 0, 0)


def assign_form(
    services: Services, form_key: str, *, chart_number: str = ACTIVE, minutes_ago: int = 60
) -> TaskSummary:
    """Staff assigned one form `minutes_ago` before T0."""
    at = acting_at(services, T0 - timedelta(minutes=minutes_ago))
    return at.tasks.assign(chart_number, form_key=form_key).tasks[0]


def client_submits(
    services: Services,
    form_key: str,
    answers: dict[str, str | list[str]],
    *,
    chart_number: str = ACTIVE,
    minutes_ago: int = 20,
) -> TaskSummary:
    """The form is assigned an hour before, then sent by the client `minutes_ago` before T0."""
    task = assign_form(services, form_key, chart_number=chart_number, minutes_ago=60 * 24)
    client = client_of(services, chart_number)
    at = acting_at(services, T0 - timedelta(minutes=minutes_ago))
    result = at.tasks.submit(client, task.id, answers)
    assert result.ok, result.errors
    return result.task
