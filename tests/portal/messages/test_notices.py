"""Content-free emails about portal messages (SECURITY.md E6), with a frozen clock, the real
outbox and a real SMTP server (aiosmtpd on 127.0.0.1): one email 10 minutes after an unread
practice message, at most one per thread per hour, none once read or turned off; the
practice's own address told when a client writes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message

import pytest

from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from store.models import OutboxEmail
from tests.factories import MAIL_FROM, PUBLIC_URL, delivery_for, outbox_rows, smtp_settings
from tests.tui.smtp import SmtpServer

from .conftest import Client, audit_actions

NOTICE = "message_notice"
PRACTICE_NOTICE = "practice_message_notice"
SECRET_SUBJECT = "Lab results Zq7"
SECRET_BODY = "Your A1c was 9.1 Xw3"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def _notices(services: Services, kind: str = NOTICE) -> list[OutboxEmail]:
    return [row for row in outbox_rows(services) if row.kind == kind]


def _received(smtp: SmtpServer, subject: str) -> list[Message]:
    return [m for m in smtp.mailbox.messages if m["Subject"] == subject]


def _staff_thread(services: Services) -> int:
    return services.messages.staff_start(
        "C-1001", subject=SECRET_SUBJECT, body=SECRET_BODY
    ).thread_id


def _content_free(text: str) -> None:
    for secret in ("Zq7", "Xw3", "alice", "C-1001", "/register/", "/reset/", "A1c"):
        assert secret not in text, secret


def test_one_email_ten_minutes_after_an_unread_message_delivered_for_real(
    services: Services, ana: Client, clock: FrozenClock, smtp: SmtpServer
) -> None:
    _staff_thread(services)
    clock.advance(minutes=9, seconds=59)
    assert services.queue_due_notices() == 0
    clock.advance(seconds=1)
    assert services.queue_due_notices() == 1
    assert services.queue_due_notices() == 0  # idempotent: never two for one message
    (row,) = _notices(services)
    assert (row.to_address, row.chart_id) == ("ana@example.com", ana.chart_id)

    mail = smtp_settings(services.settings.database_url, smtp.port)
    delivery_for(services, mail).deliver_due()  # (with the registration's own email)
    assert [r.state for r in _notices(services)] == ["sent"]
    (received,) = _received(smtp, "You have a new message in your Client Portal")
    assert received["To"] == "Ana O'Brien <ana@example.com>"
    assert received["From"].endswith(f"<{MAIL_FROM}>")
    text = received.get_payload()[0].get_payload(decode=True).decode()
    html = received.get_payload()[1].get_payload(decode=True).decode()
    assert (
        "You have a new message from Cedar Counseling in your Client Portal. Sign in to "
        "read it." in " ".join(text.split())
    )
    assert re.findall(r"https?://[^\s\"<]+", text) == [f"{PUBLIC_URL}/login"]
    assert set(re.findall(r'href="([^"]+)"', html)) == {f"{PUBLIC_URL}/login"}
    for part in (text, html, str(received["Subject"])):
        _content_free(part)
    assert [a for _, a, _ in audit_actions(services)][-1] == "message email queued"


def test_at_most_one_per_thread_per_hour(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    thread_id = _staff_thread(services)
    clock.advance(minutes=10)
    assert services.queue_due_notices() == 1
    clock.advance(minutes=10)
    services.messages.staff_reply(thread_id, body="And another thing")
    clock.advance(minutes=10)  # due again, but within the hour of the last one
    assert services.queue_due_notices() == 0
    clock.advance(minutes=39, seconds=59)
    assert services.queue_due_notices() == 0
    clock.advance(seconds=1)  # an hour after the first notice, still unread
    assert services.queue_due_notices() == 1
    assert len(_notices(services)) == 2
    # Another thread has its own hour.
    _staff_thread(services)
    clock.advance(minutes=10)
    assert services.queue_due_notices() == 1


def test_no_email_once_the_client_read_it_or_replied(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    first = _staff_thread(services)
    clock.advance(minutes=5)
    services.messages.client_thread(ana.account_id, ana.chart_id, first)
    second = _staff_thread(services)
    clock.advance(minutes=5)
    services.messages.client_reply(ana.account_id, ana.chart_id, second, body="Thanks")
    clock.advance(hours=2)
    assert services.queue_due_notices() == 0
    assert _notices(services) == []


def test_the_client_can_turn_them_off_and_on(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    _staff_thread(services)
    clock.advance(minutes=5)
    assert services.messages.set_notices(ana.account_id, ana.chart_id, enabled=False) is False
    overview = services.messages.client_overview(ana.account_id, ana.chart_id)
    assert overview.notices_enabled is False
    clock.advance(minutes=10)
    assert services.queue_due_notices() == 0
    _staff_thread(services)
    clock.advance(minutes=10)
    assert services.queue_due_notices() == 0
    services.messages.set_notices(ana.account_id, ana.chart_id, enabled=True)
    _staff_thread(services)
    clock.advance(minutes=10)
    assert services.queue_due_notices() == 1
    client = f"client:{ana.account_id}"
    assert [(who, a) for who, a, _ in audit_actions(services) if "emails" in a] == [
        (client, "message emails turned off"),
        (client, "message emails turned on"),
    ]


def test_no_email_when_access_ended_or_messaging_is_off(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    _staff_thread(services)
    services.practice.update_messaging(mode="off")
    clock.advance(minutes=10)
    assert services.queue_due_notices() == 0
    services.practice.update_messaging(mode="on")
    _staff_thread(services)
    services.invitations.revoke_access("C-1001")
    clock.advance(minutes=10)
    assert services.queue_due_notices() == 0
    assert _notices(services) == []


def test_the_practice_address_is_told_without_content(
    services: Services, ana: Client, clock: FrozenClock, smtp: SmtpServer
) -> None:
    start = services.messages.client_start
    start(ana.account_id, ana.chart_id, audience=None, subject="No one told", body="x")
    assert _notices(services, PRACTICE_NOTICE) == []  # no address set: only the inbox item
    services.practice.update_messaging(notify_email="desk@cedar.example")
    sent = start(
        ana.account_id, ana.chart_id, audience=None, subject=SECRET_SUBJECT, body=SECRET_BODY
    )
    clock.advance(minutes=30)
    services.messages.client_reply(ana.account_id, ana.chart_id, sent.thread_id, body="more")
    assert len(_notices(services, PRACTICE_NOTICE)) == 1  # one per thread per hour
    clock.advance(minutes=30)
    services.messages.client_reply(ana.account_id, ana.chart_id, sent.thread_id, body="more")
    rows = _notices(services, PRACTICE_NOTICE)
    assert [(r.to_address, r.chart_id) for r in rows] == [("desk@cedar.example", None)] * 2

    mail = smtp_settings(services.settings.database_url, smtp.port)
    delivery_for(services, mail).deliver_due()
    received, _second = _received(smtp, "A client sent a message in the Client Portal")
    text = received.get_payload()[0].get_payload(decode=True).decode()
    assert "A client sent a message through the Client Portal. Open FrontDesk to read it." in (
        " ".join(text.split())
    )
    for part in received.get_payload():
        content = part.get_payload(decode=True).decode()
        _content_free(content)
        assert "Ana" not in content and "O'Brien" not in content and "http" not in content


def test_the_delivery_loop_queues_due_notices_before_it_delivers(
    services: Services, ana: Client, clock: FrozenClock, smtp: SmtpServer
) -> None:
    _staff_thread(services)
    clock.advance(minutes=10)
    mail = smtp_settings(services.settings.database_url, smtp.port)
    looped = services.at(clock, settings=mail)
    loop = looped.delivery_loop(interval=60)
    loop.start()
    try:
        assert loop.round_done.wait(20)
    finally:
        loop.stop()
    assert smtp.mailbox.received.is_set()
    assert [r.state for r in _notices(services)] == ["sent"]
