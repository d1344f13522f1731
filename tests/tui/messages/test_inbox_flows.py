"""The Portal inbox and message threads at the desk, driven by keys (Pilot), asserted through
the messages service and the store: inbox → open (read, audited) → reply → the client sees it;
mark done; filters; a new thread from the chart; errors in the dialogs; living data."""

from __future__ import annotations

from textual.widgets import Input, Select, TextArea

from frontdesk.app import FrontDeskApp
from screens.chart.messages_panel import PortalMessagesPanel, ThreadList
from screens.chart_screen import ChartScreen
from screens.inbox.inbox_screen import InboxScreen, InboxTable
from screens.inbox.message_dialogs import ComposeDialog, ReplyDialog
from screens.inbox.thread_screen import ThreadScreen
from screens.widgets import DataLine, DataStatic
from store.models import InboxCloseReason, InboxState, ThreadState
from tests.factories import ACTIVE, EXPIRING, NO_ACCESS
from tests.tui.conftest import AppFactory, open_chart, settle
from tests.tui.messages.conftest import (
    client_of,
    client_replies,
    client_writes,
    register_second_client,
)
from tests.tui.screen_text import screen_text
from tests.tui.test_flows import wait_until

SIZE = (80, 24)


def inbox_subjects(app: FrontDeskApp) -> list[str]:
    screen = app.screen
    assert isinstance(screen, InboxScreen)
    return [item.subject for item in screen.query_one(InboxTable).items]


def audit_actions(app: FrontDeskApp) -> list[tuple[str, str]]:
    from sqlmodel import col, select

    from store.models import AuditEvent

    with app.services.db.read() as session:
        rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
        return [(r.actor, r.action) for r in rows if "message" in r.action or "inbox" in r.action]


async def open_inbox(pilot: object) -> None:
    await settle(pilot)  # type: ignore[arg-type]
    await pilot.press("ctrl+t")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]


async def test_inbox_open_reply_and_the_client_reads_the_reply(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    sent = client_writes(
        app.services, "Invoice question", "Why was I\ncharged twice?", minutes_ago=90
    )
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_inbox(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert inbox_subjects(app) == ["Invoice question"]
        shown = screen_text(app)
        assert "Liam Smith [/]" in shown and "1h" in shown  # the client, the age, the wait
        assert app.screen.sub_title == "1 open · 1 unread"

        await pilot.press("enter")  # from the filter box: opens the highlighted item
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        shown = screen_text(app)
        assert "Why was I" in shown and "charged twice?" in shown  # line breaks kept
        # Opening is reading: audited, the item no longer unread, withdraw now refused.
        assert ("alice", "message thread viewed") in audit_actions(app)
        (item,) = app.services.inbox.items().items
        assert item.unread is False and item.state is InboxState.OPEN

        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReplyDialog)
        await pilot.press(*"Yes: a refund is on its way.", "enter", *"Alice")
        assert "34 / 5,000 characters (4,966 left)" in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert "Yes: a refund is on its way." in screen_text(app)
        assert "Reply sent" in screen_text(app)

        # The client sees it on the portal, from the practice.
        client = client_of(app.services)
        view = app.services.messages.client_thread(
            client.account_id, client.chart_id, sent.thread_id
        )
        assert [m.body for m in view.messages][-1] == "Yes: a refund is on its way.\nAlice"
        assert view.messages[-1].author == "staff"
        assert view.thread.state is ThreadState.ANSWERED
        # The inbox item closed itself: answered.
        (closed,) = app.services.inbox.items(state=InboxState.DONE).items
        assert closed.close_reason is InboxCloseReason.ANSWERED
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen) and inbox_subjects(app) == []
        empty = app.screen.query_one("#inbox-empty", DataStatic).visual.plain
        assert empty.startswith("Nothing is waiting for the desk.")


async def test_reply_dialog_shows_the_count_and_errors_in_the_dialog(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    client_writes(app.services, "Parking", minutes_ago=5)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_inbox(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+s")  # nothing typed
        await settle(pilot)
        assert isinstance(app.screen, ReplyDialog)
        assert "Message is required." in screen_text(app)

        body = app.screen.query_one("#reply-body", TextArea)
        body.text = "x" * 5_001
        await settle(pilot)
        assert "5,001 / 5,000 characters — 1 too many" in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReplyDialog)
        assert "Message is longer than 5,000 characters." in screen_text(app)

        # The service refuses (messaging turned off meanwhile): the dialog comes back with
        # the text and the reason; nothing is stored.
        body.text = "See you Tuesday."
        app.services.practice.update_messaging(mode="off")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReplyDialog)
        assert app.screen.query_one("#reply-body", TextArea).text == "See you Tuesday."
        assert "Portal messaging is turned off for this practice." in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        assert app.services.inbox.counts().open == 1  # not answered


async def test_mark_done_closes_the_item_and_the_thread_until_the_client_writes(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    sent = client_writes(app.services, "Thank you!", minutes_ago=30)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_inbox(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert "Marked done" in screen_text(app)
        (done,) = app.services.inbox.items(state=InboxState.DONE).items
        assert done.close_reason is InboxCloseReason.DONE and done.closed_by == "alice"
        assert app.services.messages.thread_summary(sent.thread_id).state is ThreadState.CLOSED
        assert ("alice", "inbox item done") in audit_actions(app)
        status = app.screen.query_one("#thread-status", DataLine).visual.plain
        assert status == "Closed until the client writes again"

        await pilot.press("escape")
        await settle(pilot)
        assert inbox_subjects(app) == []
        # The client writes again: the thread is back in the inbox (living data).
        client_replies(app.services, sent.thread_id, "One more thing.")
        assert await wait_until(pilot, lambda: inbox_subjects(app) == ["Thank you!"], 2.0)


async def test_filters_by_text_audience_kind_and_state(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    register_second_client(app.services)
    client_writes(app.services, "Bill for October", audience="billing", minutes_ago=50)
    client_writes(app.services, "Reschedule", minutes_ago=40)
    client_writes(
        app.services, "Refill", chart_number=NO_ACCESS, audience="clinical", minutes_ago=10
    )
    answered = client_writes(app.services, "Old question", minutes_ago=300)
    app.services.messages.staff_reply(answered.thread_id, body="Answered.")
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(pilot)
        # Unread first, then the longest waiting first.
        assert inbox_subjects(app) == ["Bill for October", "Reschedule", "Refill"]

        await pilot.press(*"noah")  # the client's name
        await settle(pilot)
        assert inbox_subjects(app) == ["Refill"]
        await pilot.press("ctrl+u", *"c-1005")  # the chart number
        await settle(pilot)
        assert inbox_subjects(app) == ["Bill for October", "Reschedule"]
        await pilot.press("ctrl+u", *"zzz")
        await settle(pilot)
        assert inbox_subjects(app) == []
        assert "No items match “zzz”." in screen_text(app)
        await pilot.press("ctrl+u")
        await settle(pilot)

        # The audience: Tab to its list, open it, pick Billing.
        await pilot.press("tab", "tab")
        assert app.focused is app.screen.query_one("#inbox-audience")
        await pilot.press("enter", "down", "down", "enter")
        await settle(pilot)
        assert app.screen.query_one("#inbox-audience", Select).value == "billing"
        assert inbox_subjects(app) == ["Bill for October"]

        app.screen.query_one("#inbox-audience", Select).value = ""
        app.screen.query_one("#inbox-state", Select).value = "done"
        await pilot.pause()  # the changes reach the screen before its workers are awaited
        await settle(pilot)
        assert inbox_subjects(app) == ["Old question"]
        assert "—" in screen_text(app)  # a closed item waits no longer
        app.screen.query_one("#inbox-state", Select).value = ""
        app.screen.query_one("#inbox-kind", Select).value = "message"
        await pilot.pause()
        await settle(pilot)
        assert sorted(inbox_subjects(app)) == sorted(
            ["Bill for October", "Reschedule", "Refill", "Old question"]
        )


async def test_a_message_from_the_web_shows_in_the_open_inbox_chart_and_thread(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(pilot)
        assert inbox_subjects(app) == []
        sent = client_writes(app.services, "Arrived just now")
        # The list and its counts are read apart (the counts after the page): both within 2 s.
        assert await wait_until(
            pilot,
            lambda: (
                inbox_subjects(app) == ["Arrived just now"]
                and app.screen.sub_title == "1 open · 1 unread"
            ),
            2.0,
        ), (inbox_subjects(app), app.screen.sub_title)

        await pilot.press("enter")
        await settle(pilot)
        client_replies(app.services, sent.thread_id, "And a second line of thought.")
        assert await wait_until(
            pilot, lambda: "And a second line of thought." in screen_text(app), 2.0
        )

        await pilot.press("o")  # the chart, its Communications tab
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen) and app.screen.chart_number == ACTIVE
        await pilot.press("c")
        await settle(pilot)
        threads = app.screen.query_one(ThreadList)
        assert [t.subject for t in threads.threads] == ["Arrived just now"]
        client_writes(app.services, "Another one")
        assert await wait_until(pilot, lambda: threads.threads[0].subject == "Another one", 2.0)
        assert threads.threads[0].unread_by_practice


async def test_staff_start_a_thread_from_the_chart_and_open_it(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=(100, 36), notifications=True) as pilot:
        await open_chart(pilot, ACTIVE)
        await pilot.press("c")
        await settle(pilot)
        panel = app.screen.query_one(PortalMessagesPanel)
        assert "No portal messages with this client yet. n writes one." in screen_text(app)
        app.screen.query_one(ThreadList).focus()
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ComposeDialog)
        await pilot.press("ctrl+s")  # nothing typed: both fields say so
        await settle(pilot)
        shown = screen_text(app)
        assert "Subject is required." in shown and "Message is required." in shown
        await pilot.press(*"Your forms", "tab", *"Please bring the intake forms.")
        assert "10 / 120 characters (110 left)" in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
        assert "Message sent" in screen_text(app)

        client = client_of(app.services)
        page = app.services.messages.client_threads(client.account_id, client.chart_id)
        (thread,) = page.threads
        assert (thread.subject, thread.unread_by_client, thread.audience) == (
            "Your forms",
            True,
            "front_desk",
        )
        await settle(pilot)
        threads = panel.query_one(ThreadList)
        assert [t.subject for t in threads.threads] == ["Your forms"]
        # Nobody asked: the practice's first message is not an "Answered" thread.
        shown = screen_text(app)
        assert "Sent by us" in shown and "Answered" not in shown
        threads.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        shown = screen_text(app)
        assert "Please bring the intake forms." in shown and "Answered" not in shown
        status = app.screen.query_one("#thread-status", DataLine).visual.plain
        assert status.startswith("Sent by us; the client has not read it yet"), status
        await pilot.press("o")  # opened from this chart: back to it
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen) and len(app.screen_stack) == 2


async def test_starting_a_thread_to_a_chart_without_an_account_says_why(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=(100, 36), notifications=True) as pilot:
        await open_chart(pilot, NO_ACCESS)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("n")  # from anywhere on the chart screen
        await settle(pilot)
        await pilot.press(*"Hello", "tab", *"Body")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ComposeDialog)
        assert "This chart has no active Client Portal account" in screen_text(app)
        assert app.screen.query_one("#compose-subject", Input).value == "Hello"


async def test_the_palette_opens_the_inbox_from_a_chart(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    client_writes(app.services, "From the palette")
    async with app.run_test(size=SIZE) as pilot:
        await open_chart(pilot, EXPIRING)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Portal inbox")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert inbox_subjects(app) == ["From the palette"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)


async def test_a_new_message_matching_the_typed_filter_shows_within_two_seconds(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    client_writes(app.services, "Invoice question", minutes_ago=30)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(pilot)
        await pilot.press(*"park")  # typed words are matched over the open items in memory
        await settle(pilot)
        assert inbox_subjects(app) == []
        client_writes(app.services, "Parking behind the building?")
        assert await wait_until(
            pilot, lambda: inbox_subjects(app) == ["Parking behind the building?"], 2.0
        )


async def test_a_thread_the_client_withdrew_shows_as_withdrawn(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    sent = client_writes(app.services, "Sent by mistake", minutes_ago=3)
    client = client_of(app.services)
    app.services.messages.client_withdraw(client.account_id, client.chart_id, sent.thread_id)
    async with app.run_test(size=SIZE) as pilot:
        await open_inbox(pilot)
        assert inbox_subjects(app) == []  # nothing waits for the desk any more
        app.screen.query_one("#inbox-state", Select).value = "done"
        await pilot.pause()
        await settle(pilot)
        assert inbox_subjects(app) == [""]
        assert "(withdrawn)" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await open_chart(pilot, ACTIVE)
        await pilot.press("c")
        await settle(pilot)
        threads = app.screen.query_one(ThreadList)
        assert threads.get_row_at(0)[1].plain == "(withdrawn)"
