"""Fixtures for the client's forms pages: chart C-1001 (Ana O'Brien, registered, signed in)
with the `new-client` package assigned, and chart B-2002 (Ben, registered) with tasks of its
own, on a copy of the web suite's prepared SQLite store (or on SQLite and PostgreSQL through
`portal_on`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from frontdesk.charts.records import ChartInput
from frontdesk.services import Services
from tests.factories import register_chart
from tests.web.conftest import CHART, PASSWORD, csrf_of, make_client, sign_in

OTHER_CHART = "B-2002"
OTHER_EMAIL = "ben@example.com"
TASK_LINK = re.compile(r'href="[^"]*/portal/tasks/(\d+)"')
PHQ9_ZEROS = {f"phq9_{n}": "0" for n in range(1, 10)}
INTAKE_OK = {
    "emergency_contact": "Sam O'Brien 555-0101",
    "reason": "Trouble sleeping since the move.",
    "prior_therapy": "no",
}
CONSENT_OK = {"agree": "yes", "full_name": "Ana O'Brien", "relationship": "Self"}


@dataclass
class Browser:
    """A signed-in TestClient, and the ids of its chart's tasks by form key."""

    web: TestClient
    services: Services
    tasks: dict[str, int]

    def path(self, key: str) -> str:
        return f"/portal/tasks/{self.tasks[key]}"

    def csrf(self) -> str:
        return csrf_of(self.web.get("/portal").text)

    def post(self, path: str, fields: dict[str, Any], **kwargs: Any) -> Any:
        data = {"csrf_token": self.csrf(), **fields}
        return self.web.post(path, data=data, follow_redirects=False, **kwargs)

    def save(self, key: str, answers: dict[str, Any]) -> Any:
        return self.post(self.path(key), {"action": "save", **answers})

    def submit(self, key: str, answers: dict[str, Any]) -> Any:
        return self.post(self.path(key), {"action": "submit", **answers})


def assign_new_client(services: Services, chart: str) -> dict[str, int]:
    done = services.tasks.assign(chart, package_key="new-client", due="2026-12-10")
    return {t.form_key: t.id for t in done.tasks}


def other_chart(services: Services) -> dict[str, int]:
    """B-2002 (Ben), registered, with the new-client package; its task ids by form key."""
    services.charts.add_chart(ChartInput(OTHER_CHART, "Ben", "Okafor", "1990-01-02", OTHER_EMAIL))
    services.invitations.send_invitation(OTHER_CHART)
    assert register_chart(services, OTHER_CHART, password=PASSWORD).state == "registered"
    return assign_new_client(services, OTHER_CHART)


def signed_in(services: Services) -> Iterator[Browser]:
    tasks = assign_new_client(services, CHART)
    with make_client(services) as web:
        response = sign_in(web)
        assert response.status_code == 303, response.text[:500]
        yield Browser(web, services, tasks)


@pytest.fixture
def ana(registered: Services) -> Iterator[Browser]:
    """Ana, signed in, with consent, intake, PHQ-9 and GAD-7 to do (due 2026-12-10)."""
    yield from signed_in(registered)


@pytest.fixture
def ben_tasks(registered: Services, ana: Browser) -> dict[str, int]:
    return other_chart(registered)


# A practice's own form with every kind a practice may use, help texts and section text.
HISTORY_FORM: dict[str, Any] = {
    "key": "history",
    "title": "Family history",
    "kind": "questionnaire",
    "instructions": "A few questions about your family.\n\nTake your time.",
    "sections": [
        {
            "title": "Household",
            "text": "Who lives with you?\nInclude children.",
            "fields": [
                {"id": "household", "label": "Names and ages", "kind": "long_text",
                 "required": True, "help": "One person per line."},
                {"id": "moved", "label": "When did you last move?", "kind": "date",
                 "help": "Roughly is fine."},
                {"id": "pets", "label": "Pets at home", "kind": "multi_choice", "required": True,
                 "choices": ["Dog", "Cat", "Other", "None"], "help": "Pets can help."},
            ],
        },
        {
            "title": "",
            "fields": [
                {"id": "siblings", "label": "Do you have siblings?", "kind": "yes_no"},
                {"id": "order", "label": "Birth order", "kind": "choice",
                 "choices": ["Oldest", "Middle", "Youngest", "Only child"], "help": "If known."},
                {"id": "nickname", "label": "What does your family call you?",
                 "kind": "short_text", "help": "Optional."},
            ],
        },
    ],
}  # fmt: skip
