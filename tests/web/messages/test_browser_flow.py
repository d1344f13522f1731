"""Messages in a real browser (Debian's chromium through Playwright) against a real uvicorn
server and a real SMTP server (aiosmtpd): sign in → write a message → the practice replies
(through the service, as the TUI does) → the client gets the content-free email → signs in →
reads the reply. On a 375 px phone, with a screenshot of every page (tests/web/artifacts/)."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest

from frontdesk.charts.records import ChartInput
from frontdesk.core.clock import FrozenClock
from tests.factories import DEMO_PASSWORD, register_chart
from tests.tui.smtp import SmtpServer
from tests.web.conftest import LiveServer, live_server
from tests.web.test_browser import PHONE, Shots

pytestmark = pytest.mark.browser

EMAIL = "ana.messages@example.com"
SECRET_SUBJECT = "Medication side effects"
SECRET_BODY = "Since Monday I feel dizzy.\nShould I keep taking it?"
REPLY = "Please keep taking it and call us today: we'll fit you in.\nDr. Lee"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def live(sqlite_url: str, clock: FrozenClock, smtp: SmtpServer) -> Iterator[LiveServer]:
    with live_server(sqlite_url, clock, smtp_port=smtp.port, smtp_timeout=10.0) as server:
        services = server.services
        services.practice.update_practice(
            name="Cedar Counseling", phone="(555) 010-0100", portal_active=True
        )
        services.practice.update_messaging(promise="We answer within one business day.")
        services.charts.add_chart(ChartInput("M-1", "Ana", "O'Brien", "1985-03-04", EMAIL))
        services.invitations.send_invitation("M-1")
        assert register_chart(services, "M-1").state == "registered"
        services.delivery().deliver_due()  # the invitation goes out before the flow starts
        smtp.mailbox.messages.clear()
        yield server


def text_of(message: Message) -> str:
    parts = [message] if not message.is_multipart() else list(message.walk())
    found = []
    for part in parts:
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            found.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(found)


def sign_in(page: Any, live: LiveServer) -> None:
    page.goto(f"{live.url}/login")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Welcome, Ana").wait_for()


def test_write_get_the_content_free_email_and_read_the_reply(
    browser: Any, live: LiveServer, smtp: SmtpServer, clock: FrozenClock
) -> None:
    services = live.services
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    shots = Shots(page, "phone-messages", PHONE["width"])
    try:
        sign_in(page, live)
        assert "No unread messages" in page.content()
        shots.take("1-portal")
        page.locator(".tile-link", has_text="Messages").click()
        page.get_by_role("heading", name="Messages", exact=True).wait_for()
        page.get_by_role("link", name="Write a new message").click()
        page.get_by_role("heading", name="New message").wait_for()
        assert "We answer within one business day." in page.content()
        assert "Not for emergencies: call 911 or 988." in page.content()
        page.get_by_label("Who it's for").select_option("clinical")
        page.get_by_label("Subject").fill(SECRET_SUBJECT)
        page.get_by_label("Message").fill(SECRET_BODY)
        shots.take("2-compose")
        page.get_by_role("button", name="Send message").click()
        page.get_by_role("heading", name=SECRET_SUBJECT).wait_for()
        assert page.get_by_text("Your message was sent.").count() == 1
        body = page.locator(".message-body").first
        assert body.inner_text() == SECRET_BODY  # line break kept, shown literally
        assert page.get_by_role("button", name="Withdraw this message").count() == 1
        shots.take("3-sent")
        thread_url = page.url.split("?")[0]
        page.goto(f"{live.url}/portal")
        page.get_by_role("button", name="Sign out").click()
        page.get_by_text("You have signed out.").wait_for()

        # The desk opens the thread and replies (what the TUI's reply dialog calls).
        thread_id = int(thread_url.rsplit("/", 1)[1])
        clock.advance(120)
        opened = services.messages.staff_thread(thread_id)
        assert opened.messages[-1].body == SECRET_BODY
        services.messages.staff_reply(thread_id, body=REPLY)

        # Ten minutes unread: one content-free email through the real SMTP server.
        clock.advance(10 * 60 + 1)
        assert services.queue_due_notices() == 1
        report = services.delivery().deliver_due()
        assert report.sent == 1, report
        assert smtp.mailbox.received.wait(10)
        (notice,) = smtp.mailbox.messages
        assert EMAIL in notice["To"]
        words = f"{notice['Subject']}\n{text_of(notice)}"
        assert "Cedar Counseling" in words and "Sign in" in words
        for secret in (SECRET_SUBJECT, "dizzy", "keep taking", "Dr. Lee", "clinical", "Clinical"):
            assert secret not in words, secret
        assert f"{live.url}/login" in words and f"{live.url}/portal" not in words

        # The client signs in and reads the reply.
        sign_in(page, live)
        assert (
            page.locator(".tile-link", has_text="Messages").locator(".tile-count").inner_text()
            == "1 unread"
        )
        shots.take("4-portal-unread")
        page.locator(".tile-link", has_text="Messages").click()
        item = page.locator(".thread-item", has_text=SECRET_SUBJECT)
        assert "New reply" in (item.text_content() or "")
        shots.take("5-list-unread")
        item.get_by_role("link").click()
        page.get_by_role("heading", name=SECRET_SUBJECT).wait_for()
        texts = page.locator(".message-body").all_inner_texts()
        assert texts == [SECRET_BODY, REPLY]
        assert page.get_by_role("button", name="Withdraw this message").count() == 0
        shots.take("6-read")
        live.server.config.app.state.message_views.flush()  # type: ignore[attr-defined]
        page.get_by_role("link", name="Back to your messages").click()
        page.get_by_role("heading", name="Messages", exact=True).wait_for()
        assert "New reply" not in (page.locator(".threads").text_content() or "")
    finally:
        context.close()
    # Reading it cancelled nothing more: no second email.
    clock.advance(3600)
    services.queue_due_notices()
    services.delivery().deliver_due()
    assert len(smtp.mailbox.messages) == 1
