"""Practice email templates: validation, safe rendering, saving with an audit row, preview."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from frontdesk.core.config import Settings
from frontdesk.mail import compose
from frontdesk.mail.placeholders import Body, parse
from frontdesk.mail.templates import (
    TemplateError,
    TemplateFields,
    TemplateService,
    detached_copy,
    validate,
)
from frontdesk.services import Services
from store.models import AuditEvent, Practice

LINK = "https://portal.cedar.example/register/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde"
EXPIRES = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)


def practice(**template: object) -> Practice:
    row = Practice(
        id=1, name="Cedar Counseling", phone="(555) 010-0100", timezone="America/New_York"
    )
    for key, value in template.items():
        setattr(row, key, value)
    return row


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            TemplateFields(body="Hi {client_dob}\n\n{link}"),
            "body",
            "unknown placeholder {client_dob}",
        ),
        (
            TemplateFields(body="Hi {link.__class__}\n\n{link}"),
            "body",
            "unknown placeholder {link.__class__}",
        ),
        (
            TemplateFields(body="{link.__class__.__init__.__globals__}"),
            "body",
            "unknown placeholder",
        ),
        (TemplateFields(body="{0}{link}"), "body", "unknown placeholder {0}"),
        (TemplateFields(body="{}{link}"), "body", "unknown placeholder {}"),
        (TemplateFields(body="{link!r}"), "body", "unknown placeholder {link!r}"),
        (TemplateFields(body="{link:>99999999}"), "body", "unknown placeholder"),
        (TemplateFields(body="Hello {client_first_name}, call us."), "body", "must contain {link}"),
        (TemplateFields(body="Hello {client_first_name\n\n{link}"), "body", "never closed"),
        (TemplateFields(subject="Hi\r\nBcc: x@evil.test"), "subject", "one line"),
        (TemplateFields(subject="Hi\nthere"), "subject", "one line"),
        (TemplateFields(from_name="Cedar\r\nBcc: x@evil.test"), "from_name", "one line"),
        (TemplateFields(header_name="Cedar\nX"), "header_name", "one line"),
        (
            TemplateFields(subject="Invite for {client_first_name}"),
            "subject",
            "cannot be used here",
        ),
        (TemplateFields(subject="Link {link}"), "subject", "cannot be used here"),
        (TemplateFields(from_name="{nope}"), "from_name", "unknown placeholder {nope}"),
        (TemplateFields(body="Hi \x1b]52;c;x\x07 {link}"), "body", "control character"),
        (TemplateFields(subject="x" * 301), "subject", "longer than 300"),
    ],
)
def test_invalid_templates_are_rejected_with_a_clear_message(
    fields: TemplateFields, field: str, message: str
) -> None:
    with pytest.raises(TemplateError) as caught:
        validate(fields)
    assert caught.value.field == field
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_error_names_the_body_line() -> None:
    with pytest.raises(TemplateError, match=r"Body line 3: unknown placeholder \{dob\}"):
        validate(TemplateFields(body="Hello\n\nYour {dob}\n\n{link}"))


def test_enabling_needs_subject_and_body() -> None:
    with pytest.raises(TemplateError, match="Set a Subject"):
        validate(TemplateFields(body="{link}"), complete=True)
    with pytest.raises(TemplateError, match="Set a Body"):
        validate(TemplateFields(subject="Hi"), complete=True)


def test_braces_and_crlf_bodies() -> None:
    cleaned = validate(TemplateFields(body="Use {{this}} and }} and }\r\n\r\n{link}\r\n"))
    assert cleaned.body == "Use {{this}} and }} and }\n\n{link}\n"
    parts = parse("a {{b}} c }", allowed=(), field="body")
    assert parts == ["a {b} c }"]


def test_values_are_never_interpreted() -> None:
    """A value that looks like a placeholder or markup is output literally."""
    body = Body.parse("Hi {client_first_name}\n\n{link}")
    values = {"client_first_name": "{link} <b>&", "link": LINK}
    assert body.text(values).startswith("Hi {link} <b>&\n")
    html = body.html_blocks(values, button="Go")
    assert "Hi {link} &lt;b&gt;&amp;" in html
    assert "<b>" not in html


def test_practice_template_is_used_when_enabled() -> None:
    enabled = practice(
        template_enabled=True,
        template_from_name="{practice_name} Desk",
        template_header_name="Welcome to {practice_name}",
        template_subject="Your portal invitation from {practice_name}",
        template_body=(
            "Dear {client_first_name} ({client_preferred_name}),\n\n"
            "Please register: {link}\n\n{link}\n\nBy {expires_on}. Call {practice_phone}."
        ),
    )
    email = compose.invitation_email(
        enabled,
        greeting_name="Alex",
        first_name="Alexandra",
        link=LINK,
        expires_at=EXPIRES,
        resend=False,
    )
    assert email.subject == "Your portal invitation from Cedar Counseling"
    assert email.from_name == "Cedar Counseling Desk"
    assert "Welcome to Cedar Counseling" in email.text
    assert "Dear Alexandra (Alex)," in email.text
    assert f"Please register: {LINK}" in email.text
    assert "By Thursday, December 3 at 4:00 PM EST. Call (555) 010-0100." in email.text
    assert f'Please register: <a href="{LINK}">{LINK}</a>' in email.html
    assert "Set up my account</a>" in email.html  # the link-only paragraph is a button
    disabled = detached_copy(enabled)
    disabled.template_enabled = False
    default = compose.invitation_email(
        disabled, greeting_name="Alex", link=LINK, expires_at=EXPIRES, resend=False
    )
    assert default.subject == compose.INVITATION_SUBJECT
    assert default.from_name == "Cedar Counseling"


def test_hostile_practice_values_are_escaped_in_html() -> None:
    hostile = practice(name='Cedar "<script>alert(1)</script>" & Co')
    email = compose.invitation_email(
        hostile,
        greeting_name="<img src=x onerror=alert(1)>",
        link=LINK,
        expires_at=EXPIRES,
        resend=True,
    )
    assert "<script>" not in email.html and "<img" not in email.html
    assert "&lt;script&gt;" in email.html and "&lt;img src=x" in email.html
    assert "<script>alert(1)</script>" in email.text  # plain text stays literal


def test_service_saves_enables_and_audits(services: Services, settings: Settings) -> None:
    service = TemplateService(services.db, services.clock, settings, "alice")
    with pytest.raises(TemplateError, match="Set a Subject"):
        service.set_enabled(True)
    view = service.save(subject="Portal invitation", body="Hi {client_preferred_name}\n\n{link}")
    assert not view.enabled and view.fields.subject == "Portal invitation"
    assert service.set_enabled(True).enabled
    with pytest.raises(TemplateError, match="must contain"):
        service.save(body="no link here")
    with pytest.raises(TemplateError, match="Set a Body"):
        service.save(body="")  # an enabled template cannot lose its body
    assert service.show().fields.body == "Hi {client_preferred_name}\n\n{link}\n"
    service.set_enabled(False)
    service.save(body="")  # fine once disabled
    assert service.show().fields.body is None
    with services.db.read() as session:
        audits = session.exec(
            select(AuditEvent).where(AuditEvent.action == "email template changed")
        ).all()
    assert [a.detail for a in audits] == [
        "saved: subject,body",
        "enabled",
        "disabled",
        "saved: body",
    ]
    assert all(a.actor == "alice" for a in audits)


def test_preview_uses_sample_values_and_unsaved_edits(
    practice_ready: Services, settings: Settings
) -> None:
    service = TemplateService(practice_ready.db, practice_ready.clock, settings, "alice")
    default = service.preview("invitation")
    assert "Hello Alex," in default.text
    assert "/register/sample-link-for-preview-only" in default.text
    assert "This link expires on Thursday, December 3 at 10:00 AM EST." in default.text
    draft = TemplateFields(subject="Draft {practice_name}", body="Yo {client_first_name}\n\n{link}")
    edited = service.preview("invitation", fields=draft, enabled=True)
    assert edited.subject == "Draft Cedar Counseling"
    assert "Yo Alexandra" in edited.text
    assert service.show().fields.subject is None  # the preview saved nothing
    for kind in ("resend", "restore", "registered", "message"):
        assert "Alex" in service.preview(kind).text
    with pytest.raises(TemplateError, match="Unknown email kind"):
        service.preview("bogus")
