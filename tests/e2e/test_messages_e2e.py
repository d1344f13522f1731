"""Issue 13 end to end: the client signs in on a real browser (chromium, Playwright's async
API) against a real uvicorn server and writes a message → the desk opens the Portal inbox in
the FrontDesk TUI (Pilot, keys only, on the same store), opens the item and replies → ten
minutes later the outbox delivers one content-free email to a real SMTP server (aiosmtpd) →
the client signs in again and reads the reply."""

from __future__ import annotations

import re
from typing import Any

import pytest

from frontdesk.charts.records import ChartInput
from frontdesk.core.clock import FrozenClock
from screens.inbox.inbox_screen import InboxScreen
from screens.inbox.message_dialogs import ReplyDialog
from screens.inbox.thread_screen import ThreadScreen
from store.models import InboxCloseReason, InboxState, ThreadState
from tests.e2e.conftest import SIZE
from tests.factories import DEMO_PASSWORD, register_chart
from tests.tui.conftest import settle
from tests.tui.messages.test_inbox_flows import inbox_subjects, open_inbox
from tests.tui.screen_text import screen_text
from tests.tui.smtp import SmtpServer
from tests.web.conftest import LiveServer
from tests.web.messages.test_browser_flow import text_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EMAIL = "ana.e2e@example.com"
SECRET_SUBJECT = "Medication side effects"
SECRET_BODY = "Since Monday I feel dizzy.\nShould I keep taking it?"
REPLY_LINES = ("Please keep taking it and call us today.", "Dr. Lee")
REPLY = "\n".join(REPLY_LINES)


@pytest.fixture
def client_chart(live: LiveServer, smtp: SmtpServer) -> LiveServer:
    """Chart M-1 (Ana O'Brien), registered; the invitation already delivered and forgotten."""
    services = live.services
    services.practice.update_messaging(promise="We answer within one business day.")
    services.charts.add_chart(ChartInput("M-1", "Ana", "O'Brien", "1985-03-04", EMAIL))
    services.invitations.send_invitation("M-1")
    assert register_chart(services, "M-1").state == "registered"
    assert services.delivery().deliver_due().sent == 1
    smtp.mailbox.messages.clear()
    smtp.mailbox.received.clear()
    return live


async def sign_in(page: Any, live: LiveServer) -> None:
    await page.goto(f"{live.url}/login")
    await page.get_by_label("Email address").fill(EMAIL)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Welcome, Ana").wait_for()


async def test_write_in_the_browser_reply_in_the_tui_notice_by_email_read_in_the_browser(
    chromium: Any,
    client_chart: LiveServer,
    desk: Any,
    smtp: SmtpServer,
    clock: FrozenClock,
) -> None:
    live = client_chart
    services = live.services
    context = await chromium.new_context()
    page = await context.new_page()
    try:
        # The client writes.
        await sign_in(page, live)
        await page.locator(".tile-link", has_text="Messages").click()
        await page.get_by_role("heading", name="Messages", exact=True).wait_for()
        await page.get_by_role("link", name="Write a new message").click()
        await page.get_by_role("heading", name="New message").wait_for()
        await page.get_by_label("Who it's for").select_option("clinical")
        await page.get_by_label("Subject").fill(SECRET_SUBJECT)
        await page.get_by_label("Message").fill(SECRET_BODY)
        await page.get_by_role("button", name="Send message").click()
        await page.get_by_role("heading", name=SECRET_SUBJECT).wait_for()
        assert await page.get_by_text("Your message was sent.").count() == 1
        thread_id = int(page.url.split("?")[0].rsplit("/", 1)[1])
        await page.goto(f"{live.url}/portal")
        await page.get_by_role("button", name="Sign out").click()
        await page.get_by_text("You have signed out.").wait_for()

        # Two minutes later the desk opens the Portal inbox, the item, and replies: keys only.
        clock.advance(120)
        app = desk()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await open_inbox(pilot)
            assert isinstance(app.screen, InboxScreen)
            assert inbox_subjects(app) == [SECRET_SUBJECT]
            assert "Ana O'Brien" in screen_text(app)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ThreadScreen)
            shown = screen_text(app)
            assert "Since Monday I feel dizzy." in shown and "Should I keep taking it?" in shown
            await pilot.press("r")
            await settle(pilot)
            assert isinstance(app.screen, ReplyDialog)
            await pilot.press(*REPLY_LINES[0], "enter", *REPLY_LINES[1], "ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, ThreadScreen)
            assert "Reply sent" in screen_text(app)
            assert REPLY_LINES[0] in screen_text(app)
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, InboxScreen) and inbox_subjects(app) == []
        (closed,) = services.inbox.items(state=InboxState.DONE).items
        assert closed.close_reason is InboxCloseReason.ANSWERED
        assert services.messages.thread_summary(thread_id).state is ThreadState.ANSWERED

        # Not before ten minutes unread; then one content-free email through the real server.
        clock.advance(9 * 60)
        assert services.queue_due_notices() == 0
        clock.advance(60 + 1)
        assert services.queue_due_notices() == 1
        report = services.delivery().deliver_due()
        assert report.sent == 1, report
        assert smtp.mailbox.received.wait(10)
        (notice,) = smtp.mailbox.messages
        assert EMAIL in notice["To"]
        words = f"{notice['Subject']}\n{notice['From']}\n{text_of(notice)}"
        assert "Cedar Counseling" in words and "Sign in" in words
        for secret in (
            SECRET_SUBJECT,
            "dizzy",
            "keep taking",
            "Dr. Lee",
            "alice",
            "clinical",
            "Clinical",
        ):
            assert secret not in words, secret
        links = set(re.findall(r"https?://[^\s\"'<>]+", words))
        assert links == {f"{live.url}/login"}, links

        # The client signs in again and reads the reply.
        await sign_in(page, live)
        tile = page.locator(".tile-link", has_text="Messages")
        assert await tile.locator(".tile-count").inner_text() == "1 unread"
        await tile.click()
        item = page.locator(".thread-item", has_text=SECRET_SUBJECT)
        assert "New reply" in (await item.text_content() or "")
        await item.get_by_role("link").click()
        await page.get_by_role("heading", name=SECRET_SUBJECT).wait_for()
        assert await page.locator(".message-body").all_inner_texts() == [SECRET_BODY, REPLY]
        live.server.config.app.state.message_views.flush()  # type: ignore[attr-defined]
        await page.get_by_role("link", name="Back to your messages").click()
        await page.get_by_role("heading", name="Messages", exact=True).wait_for()
        assert "New reply" not in (await page.locator(".threads").text_content() or "")
    finally:
        await context.close()
