"""Forms at the desk, driven by keys (Pilot), asserted on the store through the tasks and inbox
services: assign a package from the chart (dialog → confirm → tasks made, notice emailed to the
Active account); review a submitted PHQ-9 (its inbox item closes); return one with a reason;
cancel one not yet sent; acknowledge the urgent item (audited), which stays marked until then."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select
from textual.pilot import Pilot
from textual.widgets import Select

from frontdesk.app import FrontDeskApp
from screens.actions import ActionFinished
from screens.chart.tasks_panel import TaskList
from screens.chart_screen import ChartScreen
from screens.confirm_dialog import ConfirmDialog
from screens.inbox.inbox_screen import InboxScreen, InboxTable
from screens.tasks.dialogs import AssignDialog, ReturnDialog
from screens.tasks.task_screen import TaskScreen
from screens.widgets import DataStatic
from store.models import AuditEvent, InboxCloseReason, InboxState
from store.states import TaskState
from tests.factories import ACTIVE, NO_ACCESS
from tests.tui.conftest import AppFactory, open_chart, settle
from tests.tui.screen_text import screen_text
from tests.tui.smtp import SmtpServer
from tests.tui.tasks.conftest import (
    PHQ9_MILD,
    PHQ9_MODERATE_FLAGGED,
    assign_form,
    client_submits,
)
from tests.tui.test_flows import Told, wait_until

SIZE = (80, 24)


def finished(told: Told) -> list[ActionFinished]:
    return [m for m in told.messages if isinstance(m, ActionFinished)]


async def wait_finished(pilot: Pilot[object], told: Told, count: int = 1) -> ActionFinished:
    assert await wait_until(pilot, lambda: len(finished(told)) >= count, 10)
    await settle(pilot)
    return finished(told)[count - 1]


def audit(app: FrontDeskApp, action: str) -> list[AuditEvent]:
    with app.services.db.read() as session:
        rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
        return [row for row in rows if row.action == action]


async def open_forms_list(pilot: Pilot[object], chart_number: str = ACTIVE) -> None:
    await open_chart(pilot, chart_number)
    await pilot.press("c", "p")  # Communications; the Client Portal section folded
    await settle(pilot)
    pilot.app.screen.query_one(TaskList).focus()
    await settle(pilot)


async def test_assign_a_package_with_a_due_date(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_chart(pilot, ACTIVE)
        await pilot.press("f")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AssignDialog)
        assert dialog.query_one("#assign-what", Select).value == "package:new-client"
        await pilot.press("tab", *"2026-11-01", "ctrl+s")  # a date already gone
        await settle(pilot)
        assert isinstance(app.screen, AssignDialog)
        assert "already passed" in str(app.screen.query_one("#due-error", DataStatic).visual)
        await pilot.press("ctrl+u", *"2026-12-03", "enter")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmDialog)
        body = str(confirm.query_one(".dialog-body", DataStatic).visual)
        assert "Assign the package New client to Liam Smith [/] (chart C-1005)" in body
        assert "due Dec 3, 2026" in body
        await pilot.press("y")
        done = await wait_finished(pilot, told)
        assert done.result is not None and done.error is None
        assert done.result.message == (
            "Assigned the package New client to chart C-1005: 4 forms, due Dec 3, 2026; "
            "the client is emailed that forms are waiting."
        )
        assert await wait_until(pilot, lambda: len(smtp.mailbox.messages) == 1, 10)
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
        forms = app.screen.query_one(TaskList)
        assert await wait_until(pilot, lambda: len(forms.tasks) == 4, 5)  # the list shows them
    tasks = app.services.tasks.chart_tasks(ACTIVE)
    assert [t.form_key for t in tasks] == ["consent", "intake", "phq-9", "gad-7"]
    assert {t.due_date for t in tasks} == {date(2026, 12, 3)}
    assert "You have forms to complete" in smtp.mailbox.messages[0]["Subject"]


async def test_cancelling_the_confirmation_goes_back_and_assigns_nothing(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, NO_ACCESS)
        await pilot.press("f")
        await settle(pilot)
        app.screen.query_one("#assign-what", Select).value = "form:gad-7"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("n")  # not now: back to the dialog, as it was
        await settle(pilot)
        assert isinstance(app.screen, AssignDialog)
        assert app.screen.query_one("#assign-what", Select).value == "form:gad-7"
        await pilot.press("escape")
        await settle(pilot)
    assert app.services.tasks.chart_tasks(NO_ACCESS) == []


async def test_review_a_submitted_phq9_from_the_chart(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    task = client_submits(app.services, "phq-9", PHQ9_MILD)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_forms_list(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TaskScreen)
        assert str(screen.query_one("#task-score", DataStatic).visual) == "PHQ-9 6/27 · Mild"
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        done = await wait_finished(pilot, told)
        assert done.result is not None
        assert done.result.message == "PHQ-9 marked reviewed; its inbox item is closed."
        assert await wait_until(
            pilot, lambda: screen.detail is not None and screen.detail.state == "reviewed", 5
        )
        assert screen.check_action("review", ()) is None  # dimmed once reviewed
    assert app.services.tasks.task(task.id).state is TaskState.REVIEWED
    assert app.services.inbox.items(kind="task").total == 0
    assert app.services.inbox.counts().open == 0


async def test_return_with_a_reason(make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    task = client_submits(app.services, "phq-9", PHQ9_MILD)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_forms_list(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, ReturnDialog)
        await pilot.press("ctrl+s")  # no reason: said in the dialog, nothing sent
        await settle(pilot)
        assert isinstance(app.screen, ReturnDialog)
        assert "Say why" in str(app.screen.query_one("#reason-error", DataStatic).visual)
        await pilot.press(*"Please answer [b]item 10[/b] too.", "ctrl+s")
        await settle(pilot)
        assert await wait_until(
            pilot, lambda: app.services.tasks.task(task.id).state is TaskState.RETURNED, 5
        )
    returned = app.services.tasks.task(task.id)
    assert returned.returned_reason == "Please answer [b]item 10[/b] too."
    (item,) = app.services.inbox.items(kind="task", state="done").items
    assert item.close_reason is InboxCloseReason.RETURNED


async def test_cancel_a_form_not_yet_sent(make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    task = assign_form(app.services, "intake")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_forms_list(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TaskScreen)
        assert screen.check_action("review", ()) is None  # nothing sent to review
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert app.screen.query_one("#cancel").has_focus  # the safe button first
        await pilot.press("y")
        assert await wait_until(
            pilot, lambda: app.services.tasks.task(task.id).state is TaskState.CANCELLED, 5
        )
        await settle(pilot)
        assert "Cancelled" in str(screen.query_one("#task-meta", DataStatic).visual)


async def test_urgent_item_on_top_marked_until_acknowledged(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    client_submits(app.services, "gad-7", {f"gad7_{n}": "1" for n in range(1, 8)}, minutes_ago=90)
    flagged = client_submits(app.services, "phq-9", PHQ9_MODERATE_FLAGGED, minutes_ago=5)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        inbox = app.screen
        assert isinstance(inbox, InboxScreen)
        top = inbox.query_one(InboxTable).items[0]
        assert (top.source_id, top.urgent) == (flagged.id, True)
        first_row = inbox.query_one(InboxTable).row_cells(0)
        assert str(first_row[2]).startswith("URGENT · ")
        await pilot.press("enter")
        await settle(pilot)
        view = app.screen
        assert isinstance(view, TaskScreen)
        banner = view.query_one("#task-urgent", DataStatic)
        assert str(banner.visual).startswith("URGENT · item 9 (self-harm) answered “1 · Several")
        assert str(view.query_one("#task-score", DataStatic).visual) == "PHQ-9 14/27 · Moderate"
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        assert await wait_until(pilot, lambda: banner.has_class("-acknowledged"), 5)
        assert "acknowledged by alice" in str(banner.visual)
        assert view.check_action("acknowledge", ()) is None
        await pilot.press("escape")
        await settle(pilot)
        row = inbox.query_one(InboxTable).row_cells(0)
        assert not str(row[2]).startswith("URGENT")  # acknowledged: no longer marked
    item = app.services.inbox.item(top.id)
    assert item.acknowledged_by == "alice" and item.state is InboxState.OPEN
    assert len(audit(app, "inbox item acknowledged")) == 1


async def test_hostile_answers_are_shown_literally(make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    hostile = "O'Brien [guardian] [@click=app.quit]x[/] Smith [/]"
    answers = {
        "agree": "yes",
        "full_name": hostile,
        "relationship": "Self",
    }
    task = client_submits(app.services, "consent", answers)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_forms_list(pilot)
        await pilot.press("enter")
        await settle(pilot)
        shown = [str(w.visual) for w in app.screen.query(".answer-value").results(DataStatic)]
    assert hostile in shown  # never parsed as markup (the web refuses control characters)
    assert app.services.tasks.task(task.id).state is TaskState.SUBMITTED


async def test_a_practice_title_in_the_package_list_is_shown_literally(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    app.services.forms.set_package("teens", title="Teens [b]new[/b] [/]", form_keys=["gad-7"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, ACTIVE)
        await pilot.press("f")
        await settle(pilot)
        app.screen.query_one("#assign-what", Select).value = "package:teens"
        await settle(pilot)
        assert "Package: Teens [b]new[/b] [/] (1 form: GAD-7)" in screen_text(app)
