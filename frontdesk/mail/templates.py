"""Practice email templates: their validation, and the settings service (show, save, enable,
preview). The placeholder language itself is in `placeholders`; `compose` writes the emails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from frontdesk import audit
from frontdesk.core import links
from frontdesk.core.clock import Clock
from frontdesk.core.config import Settings
from frontdesk.core.text import has_controls
from frontdesk.mail import compose
from frontdesk.mail.placeholders import (
    LABELS,
    LINE_PLACEHOLDERS,
    Body,
    parse,
)
from frontdesk.mail.placeholders import TemplateError as TemplateError  # callers import it here
from frontdesk.practice import practice_row
from store.db import Database
from store.models import Practice

MAX_BODY = 5000
MAX_LINE = {"from_name": 200, "header_name": 200, "subject": 300}

# --------------------------------------------------------------------------------------------
# The practice's template: validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateFields:
    """The editable parts of a practice template (None = not set)."""

    from_name: str | None = None
    header_name: str | None = None
    subject: str | None = None
    body: str | None = None

    @classmethod
    def of(cls, practice: Practice) -> TemplateFields:
        return cls(
            from_name=practice.template_from_name,
            header_name=practice.template_header_name,
            subject=practice.template_subject,
            body=practice.template_body,
        )


def clean_line(value: str | None, field: str) -> str | None:
    """Validate a one-line field (From Name, Header Name, Subject); '' or None mean unset."""
    if value is None:
        return None
    label = LABELS[field]
    if "\r" in value or "\n" in value:
        raise TemplateError(f"{label} must be one line (no line breaks).", field)
    if has_controls(value):
        raise TemplateError(f"{label} contains a control character.", field)
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_LINE[field]:
        raise TemplateError(f"{label} is longer than {MAX_LINE[field]} characters.", field)
    parse(value, allowed=LINE_PLACEHOLDERS, field=field)
    return value


def clean_body(value: str | None) -> str | None:
    """Validate a template body: known placeholders only, and `{link}` at least once."""
    if value is None:
        return None
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if has_controls(value.replace("\t", " "), allow_newlines=True):
        raise TemplateError("Body contains a control character.", "body")
    if not value.strip():
        return None
    if len(value) > MAX_BODY:
        raise TemplateError(f"Body is longer than {MAX_BODY} characters.", "body")
    if not Body.parse(value).has_link:
        raise TemplateError(
            "Body must contain {link}: without it the client cannot register.", "body"
        )
    return value.strip("\n") + "\n"


def validate(fields: TemplateFields, *, complete: bool = False) -> TemplateFields:
    """Return the cleaned fields or raise TemplateError for the first problem.

    `complete` also requires what an enabled template needs (a Subject and a Body)."""
    cleaned = TemplateFields(
        from_name=clean_line(fields.from_name, "from_name"),
        header_name=clean_line(fields.header_name, "header_name"),
        subject=clean_line(fields.subject, "subject"),
        body=clean_body(fields.body),
    )
    if complete:
        if cleaned.subject is None:
            raise TemplateError("Set a Subject before enabling the template.", "subject")
        if cleaned.body is None:
            raise TemplateError("Set a Body (with {link}) before enabling the template.", "body")
    return cleaned


# --------------------------------------------------------------------------------------------
# Saving (the TUI settings screen and the CLI use this)
# --------------------------------------------------------------------------------------------

SAMPLE_GREETING = "Alex"
SAMPLE_FIRST_NAME = "Alexandra"


@dataclass(frozen=True)
class TemplateView:
    """What staff see of the template."""

    enabled: bool
    fields: TemplateFields


class TemplateService:
    """Read, validate, save, enable and preview the practice's email template."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, actor: str) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.actor = actor

    def show(self) -> TemplateView:
        with self.db.read() as session:
            practice = practice_row(session)
            return TemplateView(practice.template_enabled, TemplateFields.of(practice))

    def save(
        self,
        *,
        from_name: str | None = None,
        header_name: str | None = None,
        subject: str | None = None,
        body: str | None = None,
    ) -> TemplateView:
        """Change the given fields ('' clears one; None keeps it). Validates the result as a
        whole: an enabled template must stay complete."""

        def work(session: Session) -> TemplateView:
            practice = practice_row(session)
            current = TemplateFields.of(practice)
            merged = TemplateFields(
                from_name=current.from_name if from_name is None else from_name,
                header_name=current.header_name if header_name is None else header_name,
                subject=current.subject if subject is None else subject,
                body=current.body if body is None else body,
            )
            cleaned = validate(merged, complete=practice.template_enabled)
            changed = [
                name
                for name in ("from_name", "header_name", "subject", "body")
                if getattr(cleaned, name) != getattr(current, name)
            ]
            if not changed:
                return TemplateView(practice.template_enabled, current)
            practice.template_from_name = cleaned.from_name
            practice.template_header_name = cleaned.header_name
            practice.template_subject = cleaned.subject
            practice.template_body = cleaned.body
            self._touch(session, practice, "saved: " + ",".join(changed))
            return TemplateView(practice.template_enabled, cleaned)

        return self.db.transact(work)

    def set_enabled(self, enabled: bool) -> TemplateView:
        """Turn the practice template on (it must be complete and valid) or off."""

        def work(session: Session) -> TemplateView:
            practice = practice_row(session)
            fields = TemplateFields.of(practice)
            if enabled:
                fields = validate(fields, complete=True)
            if practice.template_enabled != enabled:
                practice.template_enabled = enabled
                self._touch(session, practice, "enabled" if enabled else "disabled")
            return TemplateView(enabled, fields)

        return self.db.transact(work)

    def preview(
        self,
        kind: str = "invitation",
        *,
        fields: TemplateFields | None = None,
        enabled: bool | None = None,
    ) -> compose.ComposedEmail:
        """Render one kind of email with sample values (Alex, a sample link, the expiry a new
        invitation would have now). `fields`/`enabled` preview unsaved edits."""
        with self.db.read() as session:
            practice = detached_copy(practice_row(session))
        if fields is not None:
            cleaned = validate(fields)
            practice.template_from_name = cleaned.from_name
            practice.template_header_name = cleaned.header_name
            practice.template_subject = cleaned.subject
            practice.template_body = cleaned.body
        if enabled is not None:
            practice.template_enabled = enabled
        if practice.template_enabled:
            validate(TemplateFields.of(practice), complete=True)
        if not practice.name:
            practice.name = "Your Practice"
        base = self.settings.public_base
        sample_link = links.register_link(base, "sample-link-for-preview-only")
        now = self.clock.now()
        if kind in ("invitation", "resend", "invitation-with-forms"):
            return compose.invitation_email(
                practice,
                greeting_name=SAMPLE_GREETING,
                first_name=SAMPLE_FIRST_NAME,
                link=sample_link,
                expires_at=now + timedelta(days=practice.invitation_days or 7),
                resend=kind == "resend",
                forms_waiting=kind == "invitation-with-forms",
            )
        if kind == "forms":
            return compose.forms_waiting_email(
                practice, greeting_name=SAMPLE_GREETING, link=links.login_link(base)
            )
        if kind == "restore":
            return compose.access_restored_email(
                practice, greeting_name=SAMPLE_GREETING, link=links.login_link(base)
            )
        if kind == "registered":
            return compose.registration_complete_email(
                practice, greeting_name=SAMPLE_GREETING, link=links.login_link(base)
            )
        if kind == "message":
            return compose.new_message_email(
                practice, greeting_name=SAMPLE_GREETING, link=links.login_link(base)
            )
        raise TemplateError(
            f"Unknown email kind {kind!r}; use invitation, resend, restore, registered, message, "
            "forms or invitation-with-forms.",
            "kind",
        )

    def _touch(self, session: Session, practice: Practice, detail: str) -> None:
        now: datetime = self.clock.now()
        practice.updated_at = now
        session.add(practice)
        audit.record(
            session,
            at=now,
            actor=self.actor,
            action="email template changed",
            detail=detail,
            source=f"os:{self.actor}",
        )


def detached_copy(practice: Practice) -> Practice:
    """A copy of the practice row that no session tracks (safe to change for previews)."""
    return Practice(**practice.model_dump())
