"""What the Demo mailbox makes of a received message: the link, the time, odd input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from frontdesk.demo.stack import DemoMailbox, parse_mail

ARRIVED = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def message(text: str | None, *, date: datetime | None = None, html: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Cedar Counseling <portal@cedar-counseling.example>"
    msg["To"] = "Ana <ana@example.com>"
    msg["Subject"] = "Your Client Portal invitation"
    if date is not None:
        msg["Date"] = format_datetime(date)
    if text is not None:
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    return msg.as_bytes()


def test_the_registration_link_is_preferred_over_other_links() -> None:
    text = "Call us: https://cedar.example/contact\nhttp://127.0.0.1:9/register/abc_DEF-123\n"
    mail = parse_mail(1, message(text, date=ARRIVED - timedelta(days=2)), ARRIVED)
    assert mail.link == "http://127.0.0.1:9/register/abc_DEF-123"
    assert mail.sent_at == ARRIVED - timedelta(days=2)  # the Date header, not the arrival
    assert mail.to == "Ana <ana@example.com>" and mail.subject == "Your Client Portal invitation"


def test_otherwise_the_first_link_and_without_a_date_the_arrival() -> None:
    mail = parse_mail(1, message("Sign in: http://127.0.0.1:9/login.\n"), ARRIVED)
    assert mail.link == "http://127.0.0.1:9/login"  # the sentence's full stop is not part of it
    assert mail.sent_at == ARRIVED


def test_no_plain_text_part_no_link_and_garbage_never_raise() -> None:
    html_only = parse_mail(1, message(None, html="<p>Hello</p>"), ARRIVED)
    assert html_only.text == "" and html_only.link is None
    garbage = parse_mail(2, b"\xff\xfe not an email \x00\r\nDate: yesterday\r\n\r\n", ARRIVED)
    assert garbage.sent_at == ARRIVED and garbage.link is None


def test_the_mailbox_lists_newest_first_and_counts_arrivals() -> None:
    box = DemoMailbox(lambda: ARRIVED)
    box.add(message("one", date=ARRIVED - timedelta(days=9)))
    box.add(message("two", date=ARRIVED))
    box.add(message("three", date=ARRIVED - timedelta(days=1)))
    assert box.count == 3 and box.wait_for(3, timeout=0)
    assert [m.text.strip() for m in box.messages()] == ["two", "three", "one"]
