"""Issue 14 end to end: the desk makes a new chart with the new-client package in the
FrontDesk TUI (Ctrl+N, keys only) → the one invitation email reaches a real SMTP server
(aiosmtpd) → the client registers with its link in a real browser (chromium, Playwright's
async API) against a real uvicorn server, saves an intake draft midway (a reload shows it),
sends it, sends a PHQ-9 → the desk sees the score and band in the chart's Forms section and
the task view, and marks it reviewed with `r` → the browser shows it reviewed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from textual.widgets import Checkbox, Select

from screens.actions import MailSettled
from screens.chart.tasks_panel import TaskList
from screens.chart_screen import ChartScreen
from screens.confirm_dialog import ConfirmDialog
from screens.new_chart import NewChartDialog
from screens.tasks.task_screen import TaskScreen
from screens.widgets import DataStatic
from store.states import TaskState
from tests.e2e.conftest import SIZE
from tests.portal.tasks.test_notices import body_text
from tests.tui.conftest import settle
from tests.tui.screen_text import screen_text
from tests.tui.smtp import SmtpServer
from tests.tui.tasks.test_new_chart_flows import open_form
from tests.tui.tasks.test_task_flows import open_forms_list, wait_finished
from tests.tui.test_flows import Told, wait_until
from tests.web.conftest import PASSWORD, LiveServer
from tests.web.tasks.test_browser_flow import PHQ9

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHART = "N-4001"
EMAIL = "leo.park@example.com"


async def sign_in(page: Any, live: LiveServer) -> None:
    await page.goto(f"{live.url}/login")
    await page.get_by_label("Email address").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Welcome, Leo").wait_for()


async def test_new_chart_in_the_tui_to_a_reviewed_phq9_in_the_browser(
    chromium: Any, live: LiveServer, desk: Any, smtp: SmtpServer
) -> None:
    services = live.services

    # The desk makes the chart, ticks the invitation and picks the package: keys only.
    app = desk()
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_form(pilot)
        await pilot.press(*CHART, "tab", *"Leo", "tab", *"Park", "tab", "tab")
        await pilot.press(*"1991-06-01", "tab", *EMAIL, "tab")
        await pilot.press("tab", "tab")  # past the phone and the Chart Owner (the client)
        assert app.screen.query_one("#invite", Checkbox).has_focus
        await pilot.press("space", "tab", "enter", "down", "enter")  # tick; the package
        await settle(pilot)
        assert app.screen.query_one("#invite", Checkbox).value
        assert app.screen.query_one("#package", Select).value == "new-client"
        await pilot.press("ctrl+s")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ChartScreen), 5)
        assert not isinstance(app.screen, NewChartDialog)
        assert await wait_until(
            pilot, lambda: any(isinstance(m, MailSettled) for m in told.messages), 10
        )
        await settle(pilot)
    ids = {task.form_key: task.id for task in services.tasks.chart_tasks(CHART)}
    assert list(ids) == ["consent", "intake", "phq-9", "gad-7"]

    # One email: the invitation, saying forms are waiting (never which), linking to the portal.
    assert smtp.mailbox.received.wait(10)
    (invitation,) = smtp.mailbox.messages
    assert EMAIL in invitation["To"]
    text = body_text(invitation)
    assert "forms to complete" in " ".join(text.split()) and "PHQ" not in text
    (link,) = set(re.findall(rf"{re.escape(live.url)}/register/[A-Za-z0-9_-]{{43}}", text))

    context = await chromium.new_context()
    page = await context.new_page()
    try:
        await page.goto(link)
        await page.get_by_label("Last name").fill("Park")
        await page.get_by_label("Date of birth").fill("1991-06-01")
        await page.get_by_label("Create a password").fill(PASSWORD)
        await page.get_by_label("Type the password again").fill(PASSWORD)
        await page.get_by_role("button", name="Create my account").click()
        await page.get_by_role("link", name="Sign in").click()
        await page.get_by_label("Email address").fill(EMAIL)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("heading", name="Welcome, Leo").wait_for()
        tile = page.locator(".tile-link", has_text="Forms and tasks")
        assert await tile.locator(".tile-count").inner_text() == "4 to complete"
        await tile.click()
        await page.get_by_role("heading", name="Your forms").wait_for()

        # The intake: a draft midway, kept over a reload, then sent.
        await page.get_by_role("link", name="Intake questionnaire").click()
        await page.get_by_role("heading", name="Intake questionnaire").wait_for()
        contact = page.get_by_label("Emergency contact (name and phone)")
        await contact.fill("Mia Park 555-0199")
        await page.get_by_label("Text message").check()
        await page.get_by_role("button", name="Save draft").click()
        await page.get_by_role("status").filter(has_text="Draft saved").wait_for()
        await page.reload()
        assert await contact.input_value() == "Mia Park 555-0199"
        assert await page.get_by_label("Text message").is_checked()
        assert services.tasks.task(ids["intake"]).state is TaskState.IN_PROGRESS
        await page.get_by_label("What brings you to counseling now?").fill(
            "Trouble sleeping since the move."
        )
        await (
            page.get_by_role("group", name="Have you seen a counselor or therapist before?")
            .get_by_label("No")
            .check()
        )
        await page.get_by_role("button", name="Send to the practice").click()
        await page.get_by_text("Your form was sent to the practice.").wait_for()
        assert services.tasks.task(ids["intake"]).state is TaskState.SUBMITTED

        # The PHQ-9: 12 in all, item 9 "Not at all".
        await page.goto(f"{live.url}/portal/tasks/{ids['phq-9']}")
        for n, value in enumerate(PHQ9, start=1):
            await page.locator(f"#f-phq9_{n}-{value + 1}").check()
        await page.get_by_label("Somewhat difficult").check()
        await page.get_by_role("button", name="Send to the practice").click()
        await page.get_by_text("Your form was sent to the practice.").wait_for()
        assert await page.locator(".crisis").count() == 0
    finally:
        await context.close()

    # The desk sees the score and band (the chart's Forms section, the task view) and
    # marks it reviewed with `r`.
    app = desk()
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_forms_list(pilot, CHART)
        forms = app.screen.query_one(TaskList)
        assert await wait_until(pilot, lambda: len(forms.tasks) == 4, 5)
        assert "12/27" in screen_text(app)
        await pilot.press("down", "down")  # consent, intake, PHQ-9
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TaskScreen)
        assert str(screen.query_one("#task-score", DataStatic).visual) == "PHQ-9 12/27 · Moderate"
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        done = await wait_finished(pilot, told)
        assert done.result is not None and done.error is None
        assert await wait_until(
            pilot, lambda: screen.detail is not None and screen.detail.state == "reviewed", 5
        )
    assert services.tasks.task(ids["phq-9"]).state is TaskState.REVIEWED

    # The client sees it reviewed.
    context = await chromium.new_context()
    page = await context.new_page()
    try:
        await sign_in(page, live)
        await page.goto(f"{live.url}/portal/tasks")
        done_item = page.locator(".task-done").filter(has_text="(PHQ-9)")
        assert "Reviewed by the practice" in await done_item.inner_text()
    finally:
        await context.close()
