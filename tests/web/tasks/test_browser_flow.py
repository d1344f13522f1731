"""The whole forms journey in a real browser (Debian's chromium through Playwright) against a
real uvicorn server and a real SMTP server (aiosmtpd): the desk creates a chart with the
new-client package (through the service, as the TUI's New chart does) → the one invitation
email says forms are waiting → the client registers and signs in → fills the intake, saves a
draft midway (a reload shows it), sends it → sends the PHQ-9 → staff see its score and band
(the service, and `frontdesk tasks show ID --json` in its own process) → review it, and the
client sees it reviewed. On a 375 px phone and a desktop window, a screenshot of each page
(tests/web/artifacts/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from frontdesk.charts.records import ChartInput
from frontdesk.core.clock import FrozenClock
from frontdesk.portal.new_chart import NewChart
from frontdesk.portal.scoring import Severity
from store.states import TaskState
from tests.factories import REGISTER_LINK, delivery_for, smtp_settings
from tests.portal.tasks.test_notices import body_text
from tests.tui.smtp import SmtpServer
from tests.web.conftest import PASSWORD, LiveServer, live_server
from tests.web.test_browser import DESKTOP, PHONE, Shots

pytestmark = pytest.mark.browser

# PHQ-9 answers (items 1..9): 2+1+2+1+1+2+1+2+0 = 12, "Moderate" (10-14); item 9 "Not at all".
PHQ9 = (2, 1, 2, 1, 1, 2, 1, 2, 0)


@pytest.fixture
def live(sqlite_url: str, clock: FrozenClock) -> Iterator[LiveServer]:
    with live_server(sqlite_url, clock) as server:
        server.services.practice.update_practice(
            name="Cedar Counseling", phone="(555) 010-0100", portal_active=True
        )
        yield server


def tasks_show(database_url: str, task_id: int) -> dict[str, Any]:
    """`frontdesk tasks show ID --json`, run as staff would run it (its own process)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FRONTDESK_")}
    env |= {
        "FRONTDESK_DATABASE_URL": database_url,
        "FRONTDESK_PUBLIC_URL": "http://127.0.0.1:8080",
        "FRONTDESK_MAIL_FROM": "portal@cedar.example",
    }
    run = subprocess.run(
        [sys.executable, "-m", "frontdesk.cli", "tasks", "show", str(task_id), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    shown: dict[str, Any] = json.loads(run.stdout)
    return shown


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_new_chart_to_reviewed_phq9_in_a_real_browser(
    browser: Any, live: LiveServer, sqlite_url: str, size: str, viewport: dict[str, int]
) -> None:
    services = live.services
    email = f"leo.{size}@example.com"
    chart = ChartInput(f"N-{size}", "Leo", "Park", "1991-06-01", email)
    created = services.new_chart.create(NewChart(chart, invite=True, package_key="new-client"))
    assert created.assignment is not None
    ids = {t.form_key: t.id for t in created.assignment.tasks}
    with SmtpServer() as smtp:
        delivery_for(services, smtp_settings(sqlite_url, smtp.port)).deliver_due()
        (invitation,) = smtp.mailbox.messages
    text = body_text(invitation)
    assert "forms to complete" in text and "PHQ" not in text
    (token,) = set(REGISTER_LINK.findall(text))

    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    shots = Shots(page, f"{size}-forms", viewport["width"])
    try:
        page.goto(f"{live.url}/register/{token}")
        page.get_by_label("Last name").fill("Park")
        page.get_by_label("Date of birth").fill("1991-06-01")
        page.get_by_label("Create a password").fill(PASSWORD)
        page.get_by_label("Type the password again").fill(PASSWORD)
        page.get_by_role("button", name="Create my account").click()
        page.get_by_role("link", name="Sign in").click()
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Welcome, Leo").wait_for()
        shots.take("1-portal")

        tile = page.locator(".tile-link", has_text="Forms and tasks")
        assert tile.locator(".tile-count").inner_text() == "4 to complete"
        tile.click()
        page.get_by_role("heading", name="Your forms").wait_for()
        shots.take("2-list")
        page.get_by_role("link", name="Intake questionnaire").click()
        page.get_by_role("heading", name="Intake questionnaire").wait_for()
        shots.take("3-intake-blank")

        page.get_by_label("Emergency contact (name and phone)").fill("Mia Park 555-0199")
        page.get_by_label("Text message").check()
        page.get_by_role("button", name="Save draft").click()
        page.get_by_role("status").filter(has_text="Draft saved").wait_for()
        shots.take("4-intake-draft-saved")
        page.reload()
        assert page.get_by_label("Emergency contact (name and phone)").input_value() == (
            "Mia Park 555-0199"
        )
        assert page.get_by_label("Text message").is_checked()
        assert services.tasks.task(ids["intake"]).state is TaskState.IN_PROGRESS

        page.get_by_role("button", name="Send to the practice").click()  # the reason is missing
        alert = page.get_by_role("alert")
        assert "What brings you to counseling now?" in alert.inner_text()
        reason = page.get_by_label("What brings you to counseling now?")
        assert reason.get_attribute("aria-invalid") == "true"
        assert page.get_by_label("Emergency contact (name and phone)").input_value() != ""
        shots.take("5-intake-errors")
        alert.get_by_role("link", name="What brings you to counseling now?").click()
        reason.fill("Trouble sleeping since the move.\nAnd worry at work.")
        page.get_by_role(
            "group", name="Have you seen a counselor or therapist before?"
        ).get_by_label("No").check()
        page.get_by_label("Date of your last physical exam").fill("2026-05-01")
        page.get_by_role("button", name="Send to the practice").click()
        page.get_by_text("Your form was sent to the practice.").wait_for()
        assert "Trouble sleeping since the move." in page.content()
        assert page.locator("main form").count() == 0  # a read-only copy
        shots.take("6-intake-sent")

        page.goto(f"{live.url}/portal/tasks/{ids['phq-9']}")
        for n, value in enumerate(PHQ9, start=1):
            page.locator(f"#f-phq9_{n}-{value + 1}").check()
        page.get_by_label("Somewhat difficult").check()
        shots.take("7-phq9-filled")
        page.get_by_role("button", name="Send to the practice").click()
        page.get_by_text("Your form was sent to the practice.").wait_for()
        assert page.locator(".crisis").count() == 0
        shots.take("8-phq9-sent")
    finally:
        context.close()

    phq9 = services.tasks.task(ids["phq-9"])
    assert (phq9.state, phq9.score, phq9.severity) == (TaskState.SUBMITTED, 12, Severity.MODERATE)
    shown = tasks_show(sqlite_url, ids["phq-9"])
    assert (shown["state"], shown["score"], shown["severity"]) == ("submitted", 12, "moderate")
    services.tasks.review(ids["phq-9"])

    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        page.goto(f"{live.url}/login")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live.url}/portal/tasks")
        done = page.locator(".task-done").filter(has_text="(PHQ-9)")
        assert "Reviewed by the practice" in done.inner_text()
        Shots(page, f"{size}-forms", viewport["width"]).take("9-list-reviewed")
    finally:
        context.close()
