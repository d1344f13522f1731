"""Assign forms from the Portal inbox (issue 14: "from the chart screen and the Portal
inbox"): f on a message thread or a task view opens the Assign dialog for that item's chart;
the confirmation and the app's worker are the chart's own (screens/tasks/assign_flow.py)."""

from __future__ import annotations

from textual.widgets import Select

from screens.confirm_dialog import ConfirmDialog
from screens.inbox.inbox_screen import InboxScreen
from screens.inbox.thread_screen import ThreadScreen
from screens.tasks.dialogs import AssignDialog
from screens.tasks.task_screen import TaskScreen
from screens.widgets import DataStatic
from tests.factories import ACTIVE, NO_ACCESS
from tests.tui.conftest import AppFactory, settle
from tests.tui.messages.conftest import client_writes, register_second_client
from tests.tui.messages.test_inbox_flows import open_inbox
from tests.tui.screen_text import screen_text
from tests.tui.tasks.conftest import PHQ9_MILD, client_submits
from tests.tui.tasks.test_task_flows import wait_finished
from tests.tui.test_flows import Told

SIZE = (80, 24)


async def test_f_on_a_thread_assigns_a_package_to_its_chart(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    register_second_client(app.services)
    client_writes(app.services, "New here", chart_number=NO_ACCESS, minutes_ago=30)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_inbox(pilot)
        assert isinstance(app.screen, InboxScreen)
        await pilot.press("enter")
        await settle(pilot)
        thread = app.screen
        assert isinstance(thread, ThreadScreen)
        await pilot.press("f")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AssignDialog)
        assert "Noah Park" in screen_text(app) and f"chart {NO_ACCESS}" in screen_text(app)
        assert dialog.query_one("#assign-what", Select).value == "package:new-client"
        await pilot.press("ctrl+s")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmDialog)
        body = str(confirm.query_one(".dialog-body", DataStatic).visual)
        assert f"Assign the package New client to Noah Park (chart {NO_ACCESS})" in body
        await pilot.press("y")
        done = await wait_finished(pilot, told)
        assert done.result is not None and done.error is None
        assert done.request.chart_number == NO_ACCESS
        assert app.screen is thread  # back where the desk was
    tasks = app.services.tasks.chart_tasks(NO_ACCESS)
    assert [t.form_key for t in tasks] == ["consent", "intake", "phq-9", "gad-7"]
    assert app.services.tasks.chart_tasks(ACTIVE) == []


async def test_f_on_a_task_view_assigns_one_more_form_and_escape_assigns_nothing(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    client_submits(app.services, "phq-9", PHQ9_MILD)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_inbox(pilot)
        await pilot.press("enter")
        await settle(pilot)
        task_view = app.screen
        assert isinstance(task_view, TaskScreen)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, AssignDialog)
        await pilot.press("escape")  # changed their mind: nothing assigned
        await settle(pilot)
        assert app.screen is task_view
        assert len(app.services.tasks.chart_tasks(ACTIVE)) == 1

        await pilot.press("f")
        await settle(pilot)
        app.screen.query_one("#assign-what", Select).value = "form:gad-7"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        done = await wait_finished(pilot, told)
        assert done.result is not None and done.error is None
        assert app.screen is task_view
    keys = [t.form_key for t in app.services.tasks.chart_tasks(ACTIVE)]
    assert sorted(keys) == ["gad-7", "phq-9"]
