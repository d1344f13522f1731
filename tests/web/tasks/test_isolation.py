"""Another chart's task is the ordinary 404 page on every route (GET, save, submit), on
SQLite and PostgreSQL: the chart comes from the signed-in session, never from the request.
So are a cancelled task, a task id that does not exist and one too large for the database;
and every POST needs the session's CSRF token and a same-site request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from frontdesk.services import Services
from store.states import TaskState
from tests.web.conftest import CHART, latest_token, make_client, prepare, registration
from tests.web.tasks.conftest import (
    INTAKE_OK,
    PHQ9_ZEROS,
    Browser,
    assign_new_client,
    other_chart,
    signed_in,
)

NOT_FOUND = "Page not found"


@pytest.fixture
def both(services: Services) -> Iterator[tuple[Browser, dict[str, int]]]:
    """Ana signed in (SQLite and PostgreSQL) and Ben's task ids."""
    prepare(services)
    fields = registration()
    result = services.registration.register(
        latest_token(services),
        last_name=fields["last_name"],
        date_of_birth=fields["date_of_birth"],
        password=fields["password"],
        password_confirm=fields["password_confirm"],
    )
    assert result.state == "registered"
    ben = other_chart(services)
    for browser in signed_in(services):
        yield browser, ben


def test_another_charts_task_is_not_found_on_every_route(
    both: tuple[Browser, dict[str, int]],
) -> None:
    ana, ben = both
    services = ana.services
    for key, task_id in ben.items():
        path = f"/portal/tasks/{task_id}"
        page = ana.web.get(path)
        assert page.status_code == 404 and NOT_FOUND in page.text, key
        for action, answers in (("save", INTAKE_OK), ("submit", PHQ9_ZEROS)):
            posted = ana.post(path, {"action": action, **answers})
            assert posted.status_code == 404 and NOT_FOUND in posted.text, (key, action)
    for task_id in ben.values():
        task = services.tasks.task(task_id)
        assert task.state is TaskState.ASSIGNED and task.answers == {}
    listed = ana.web.get("/portal/tasks").text
    for task_id in ben.values():
        assert f'/portal/tasks/{task_id}"' not in listed
    assert all(f'/portal/tasks/{task_id}"' in listed for task_id in ana.tasks.values())


def test_missing_cancelled_and_oversized_ids_are_not_found(registered: Services) -> None:
    for ana in signed_in(registered):
        registered.tasks.cancel(ana.tasks["gad-7"])
        for path in (
            ana.path("gad-7"),
            "/portal/tasks/999999",
            "/portal/tasks/0",
            "/portal/tasks/" + "9" * 30,
        ):
            assert ana.web.get(path).status_code == 404, path
            posted = ana.post(path, {"action": "save", "gad7_1": "1"})
            assert posted.status_code == 404, path
        assert ana.web.get("/portal/tasks/abc").status_code == 404
        assert "Generalized Anxiety" not in ana.web.get("/portal/tasks").text


def test_signed_out_browsers_are_sent_to_sign_in(registered: Services) -> None:
    tasks = assign_new_client(registered, CHART)
    with make_client(registered) as web:
        for path in ("/portal/tasks", f"/portal/tasks/{tasks['phq-9']}"):
            response = web.get(path, follow_redirects=False)
            assert response.status_code == 303
            assert response.headers["location"].endswith("/login")
        posted = web.post(
            f"/portal/tasks/{tasks['phq-9']}",
            data={"action": "submit", **PHQ9_ZEROS},
            follow_redirects=False,
        )
        assert posted.status_code == 303
    assert registered.tasks.task(tasks["phq-9"]).state is TaskState.ASSIGNED


@pytest.mark.parametrize(
    ("token", "headers"),
    [
        (None, {}),
        ("not-the-token", {}),
        ("session", {"sec-fetch-site": "cross-site"}),
        ("session", {"origin": "https://evil.example"}),
    ],
    ids=["no token", "wrong token", "cross-site fetch", "foreign origin"],
)
def test_every_post_needs_the_sessions_csrf_token_and_the_same_site(
    ana: Browser, token: str | None, headers: dict[str, str]
) -> None:
    path = ana.path("phq-9")
    for action in ("save", "submit"):
        data = {"action": action, **PHQ9_ZEROS}
        if token is not None:
            data["csrf_token"] = ana.csrf() if token == "session" else token
        response = ana.web.post(path, data=data, headers=headers, follow_redirects=False)
        assert response.status_code == 403, action
        assert "This form has expired" in response.text
    task = ana.services.tasks.task(ana.tasks["phq-9"])
    assert task.state is TaskState.ASSIGNED and task.answers == {}
