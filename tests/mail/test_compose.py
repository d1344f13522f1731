"""The messages: content, headers, multipart structure, and no PHI (SECURITY.md E6, E7, R6)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.mail import compose
from frontdesk.mail.compose import MessageError, build_message, format_expiry
from frontdesk.services import Services
from store.models import OutboxEmail, Practice
from tests.factories import delivery_for
from tests.mail.conftest import (
    CHART_NUMBER,
    Received,
    StartSmtp,
)

DOB_FORMATS = [
    "1985-03-04",
    "03/04/1985",
    "3/4/1985",
    "March 4, 1985",
    "04.03.1985",
    "19850304",
    "Mar 4, 1985",
    "4 March 1985",
    "04/03/1985",
    "1985/03/04",
]


def _scan(haystack: str) -> list[str]:
    found = [fmt for fmt in DOB_FORMATS if fmt.lower() in haystack.lower()]
    if CHART_NUMBER.lower() in haystack.lower() or "20931" in haystack:
        found.append(CHART_NUMBER)
    return found


def assert_no_phi(received: Received) -> None:
    raw = received.raw.decode("utf-8", "replace")
    decoded = "\n".join(
        str(part.get_content()) for part in received.message.walk() if not part.is_multipart()
    )
    headers = "\n".join(f"{k}: {v}" for k, v in received.message.items())
    for where, text in (("raw", raw), ("decoded", decoded), ("headers", headers)):
        assert _scan(text) == [], f"PHI in the {where} message"


def test_no_phi_in_any_message_the_portal_sends(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    """Invitation, resend, registration complete, access restored and new-message notice."""
    server = start_smtp()
    delivery = delivery_for(invited, mail_settings(server.port))
    delivery.deliver_due()
    clock.advance(seconds=61)
    invited.invitations.resend_invitation(CHART_NUMBER)
    delivery.deliver_due()
    token = server.messages[-1].token
    result = invited.registration.register(
        token,
        last_name="Okafor",
        date_of_birth="1985-03-04",
        password="correct horse battery staple",
        password_confirm="correct horse battery staple",
        source="test",
    )
    assert result.state == "registered"
    invited.invitations.revoke_access(CHART_NUMBER)
    invited.invitations.activate_access(CHART_NUMBER)
    delivery.deliver_due()
    subjects = [m.message["Subject"] for m in server.messages]
    assert subjects == [
        compose.INVITATION_SUBJECT,
        compose.RESEND_SUBJECT,
        compose.REGISTERED_SUBJECT,
        compose.RESTORED_SUBJECT,
    ]
    notice = compose.new_message_email(
        invited.practice.practice(), greeting_name="Alex", link="http://127.0.0.1:8080/login"
    )
    row = OutboxEmail(
        kind="new_message",
        to_address="alex@example.com",
        to_name="Alexandra Okafor",
        subject=notice.subject,
        body_text=notice.text,
        body_html=notice.html,
        message_id="<n1@cedar.example>",
        created_at=clock.now(),
        next_attempt_at=clock.now(),
    )
    message = build_message(row, mail_settings(server.port), invited.practice.practice())
    messages = [*server.messages, Received("", [], bytes(message), False, False, None)]
    for received in messages:
        assert_no_phi(received)
        subject = str(received.message["Subject"])
        assert "Alex" not in subject and "Cedar" not in subject  # neutral subject
        assert "Hello Alex," in received.text


def test_invitation_content(invited: Services) -> None:
    practice = invited.practice.practice()
    email = compose.invitation_email(
        practice,
        greeting_name="Alex",
        link="http://127.0.0.1:8080/register/TOKEN",
        expires_at=datetime(2026, 12, 3, 21, 0, tzinfo=UTC),
        resend=False,
    )
    text = email.text
    assert "Hello Alex," in text
    assert "Cedar Counseling" in text and "(555) 010-0100" in text
    assert "\nhttp://127.0.0.1:8080/register/TOKEN\n" in text
    assert "This link expires on Thursday, December 3 at 4:00 PM EST." in text
    assert "last name, your date of birth and a new password" in text
    assert "If the link has expired, call Cedar Counseling at (555) 010-0100" in text
    assert 'href="http://127.0.0.1:8080/register/TOKEN"' in email.html
    assert "Set up my account</a>" in email.html
    assert email.html.count("http://127.0.0.1:8080/register/TOKEN") == 3  # button, href, text


def test_no_phone_wording(invited: Services) -> None:
    practice = invited.practice.practice()
    practice.phone = ""
    email = compose.invitation_email(
        practice,
        greeting_name="Alex",
        link="http://x/register/T",
        expires_at=datetime(2026, 12, 3, 21, 0, tzinfo=UTC),
        resend=True,
    )
    assert "contact Cedar Counseling and ask for a new one" in email.text
    assert " at ." not in email.text
    assert "Any earlier link no longer works" in email.text


@pytest.mark.parametrize(
    ("when", "zone", "expected"),
    [
        (
            datetime(2026, 12, 3, 21, 0, tzinfo=UTC),
            "America/New_York",
            "Thursday, December 3 at 4:00 PM EST",
        ),
        (
            datetime(2026, 12, 3, 5, 5, tzinfo=UTC),
            "America/Los_Angeles",
            "Wednesday, December 2 at 9:05 PM PST",
        ),
        (
            datetime(2026, 3, 8, 17, 0, tzinfo=UTC),
            "America/New_York",
            "Sunday, March 8 at 1:00 PM EDT",
        ),
        (datetime(2026, 3, 1, 0, 30, tzinfo=UTC), "UTC", "Sunday, March 1 at 12:30 AM UTC"),
    ],
)
def test_format_expiry(when: datetime, zone: str, expected: str) -> None:
    assert format_expiry(when, zone) == expected


def _row(**changes: Any) -> OutboxEmail:
    values: dict[str, Any] = {
        "kind": "invitation",
        "to_address": "alex@example.com",
        "to_name": "Alex O",
        "subject": "Your Client Portal invitation",
        "body_text": "Hi ünïcode\n" + "x" * 200,
        "body_html": "<p>Hi</p>",
        "message_id": "<abc@cedar.example>",
        "created_at": datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
        "next_attempt_at": datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
    }
    values.update(changes)
    return OutboxEmail(**values)


def test_build_message_headers_and_parts() -> None:
    practice = Practice(id=1, name="Cedar Counseling", phone="", reply_to="desk@cedar.example")
    settings = Settings(mail_from="portal@cedar.example")
    now = datetime(2026, 11, 26, 15, 0, 7, tzinfo=UTC)
    message = build_message(_row(), settings, practice, now=now)
    assert message["Date"] == "Thu, 26 Nov 2026 15:00:07 +0000"
    assert message["Message-ID"] == "<abc@cedar.example>"
    assert message["From"] == "Cedar Counseling <portal@cedar.example>"
    assert message["Reply-To"] == "desk@cedar.example"
    assert message["To"] == "Alex O <alex@example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and plain.get_content() == "Hi ünïcode\n" + "x" * 200 + "\n"
    assert html is not None and html.get_content() == "<p>Hi</p>\n"
    wire = message.as_bytes(policy=compose.wire_policy(False))
    assert all(len(line) <= 998 for line in wire.split(b"\r\n"))
    assert b"\n" not in wire.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    "changes",
    [
        {"to_address": "a@b.test\r\nBcc: x@evil.test"},
        {"to_address": "a@b.test\nBcc: x@evil.test"},
        {"to_name": "Alex\r\nBcc: x@evil.test"},
        {"subject": "Hello\r\nBcc: x@evil.test"},
        {"message_id": "<a@b>\r\nBcc: x@evil.test"},
    ],
)
def test_header_injection_is_rejected(changes: dict[str, str]) -> None:
    practice = Practice(id=1, name="Cedar", phone="")
    with pytest.raises(MessageError, match="line break"):
        build_message(_row(**changes), Settings(mail_from="portal@cedar.example"), practice)


def test_header_injection_through_practice_values_is_rejected() -> None:
    settings = Settings(mail_from="portal@cedar.example")
    with pytest.raises(MessageError):
        build_message(_row(), settings, Practice(id=1, name="C", reply_to="a@b.test\r\nBcc: x@y"))
    # A practice name with a line break is flattened, never a second header.
    message = build_message(_row(), settings, Practice(id=1, name="Cedar\r\nBcc: x@evil.test"))
    assert message["Bcc"] is None
    assert re.fullmatch(r".*<portal@cedar\.example>", str(message["From"]))


def test_build_message_needs_a_sender() -> None:
    with pytest.raises(MessageError, match="FRONTDESK_MAIL_FROM"):
        build_message(_row(), Settings(mail_from=None), Practice(id=1, name="C"))
