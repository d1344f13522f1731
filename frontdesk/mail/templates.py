"""Practice email templates: a tiny placeholder language, its validation, and the settings service.

A template is plain text with placeholders such as `{link}`. It is parsed by a small parser of our
own (never `str.format`), so `{link.__class__}` or `{0}` is an unknown placeholder, not an
attribute lookup. `{{` and `}}` write literal braces. Paragraphs are separated by blank lines; a
paragraph holding only `{link}` becomes a button in the HTML part.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from frontdesk.core.clock import Clock
from frontdesk.core.config import Settings
from frontdesk.core.text import has_controls, single_line
from store.db import Database
from store.models import AuditEvent, Practice

if TYPE_CHECKING:
    from frontdesk.mail.compose import ComposedEmail

log = logging.getLogger(__name__)

BODY_PLACEHOLDERS = (
    "client_preferred_name",
    "client_first_name",
    "practice_name",
    "practice_phone",
    "link",
    "expires_on",
)
# One-line fields become headers or a heading: no client data and no link there.
LINE_PLACEHOLDERS = ("practice_name",)

MAX_BODY = 5000
MAX_LINE = {"from_name": 200, "header_name": 200, "subject": 300}
LABELS = {
    "from_name": "From Name",
    "header_name": "Header Name",
    "subject": "Subject",
    "body": "Body",
}


class TemplateError(ValueError):
    """A template that cannot be used; str(error) is one line naming the field and the fix."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------------------------
# Parsing and rendering
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placeholder:
    name: str


Part = str | Placeholder


def _shown(names: Sequence[str]) -> str:
    return ", ".join("{" + n + "}" for n in names)


def parse(text: str, *, allowed: Sequence[str], field: str, line_offset: int = 0) -> list[Part]:
    """Split `text` into literal strings and placeholders; raise TemplateError on anything else."""
    label = LABELS.get(field, field)
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "}":
            literal.append("}")
            i += 2 if text.startswith("}}", i) else 1
            continue
        if ch != "{":
            literal.append(ch)
            i += 1
            continue
        if text.startswith("{{", i):
            literal.append("{")
            i += 2
            continue
        line = line_offset + text.count("\n", 0, i) + 1
        where = f"{label} line {line}" if field == "body" else label
        end = text.find("}", i + 1)
        newline = text.find("\n", i + 1)
        if end == -1 or (newline != -1 and newline < end):
            raise TemplateError(
                f"{where}: a '{{' is never closed; write {{{{ for a literal brace.", field
            )
        name = text[i + 1 : end]
        if name not in allowed:
            shown = single_line(name)[:40]
            if name in BODY_PLACEHOLDERS:
                raise TemplateError(
                    f"{where}: {{{shown}}} cannot be used here; allowed: {_shown(allowed)}.",
                    field,
                )
            raise TemplateError(
                f"{where}: unknown placeholder {{{shown}}}; use one of {_shown(allowed)}.",
                field,
            )
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(Placeholder(name))
        i = end + 1
    if literal:
        parts.append("".join(literal))
    return parts


def render_text(parts: Sequence[Part], values: Mapping[str, str]) -> str:
    """Concatenate literals and values (values are used as they are: plain text)."""
    return "".join(p if isinstance(p, str) else values[p.name] for p in parts)


def _paragraphs(body: str) -> list[tuple[int, str]]:
    """(first line number - 1, text) of each blank-line separated paragraph."""
    out: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(body.split("\n")):
        if line.strip():
            if not current:
                start = number
            current.append(line.rstrip())
        elif current:
            out.append((start, "\n".join(current)))
            current = []
    if current:
        out.append((start, "\n".join(current)))
    return out


@dataclass(frozen=True)
class Body:
    """A parsed body: a list of paragraphs, each a list of parts."""

    paragraphs: tuple[tuple[Part, ...], ...]

    @classmethod
    def parse(cls, body: str, *, allowed: Sequence[str] = BODY_PLACEHOLDERS) -> Body:
        paragraphs = tuple(
            tuple(parse(text, allowed=allowed, field="body", line_offset=offset))
            for offset, text in _paragraphs(body)
        )
        return cls(paragraphs)

    @property
    def has_link(self) -> bool:
        return any(
            isinstance(p, Placeholder) and p.name == "link"
            for para in self.paragraphs
            for p in para
        )

    @staticmethod
    def _is_link_only(paragraph: Sequence[Part]) -> bool:
        meaningful = [p for p in paragraph if not (isinstance(p, str) and not p.strip())]
        return len(meaningful) == 1 and meaningful[0] == Placeholder("link")

    def text(self, values: Mapping[str, str]) -> str:
        return "\n\n".join(render_text(p, values).strip() for p in self.paragraphs) + "\n"

    def html_blocks(self, values: Mapping[str, str], *, button: str) -> str:
        """The paragraphs as HTML; every literal and value is escaped."""
        blocks = []
        for paragraph in self.paragraphs:
            if self._is_link_only(paragraph):
                blocks.append(button_html(values["link"], button))
                continue
            pieces = []
            for part in paragraph:
                if isinstance(part, str):
                    pieces.append(html.escape(part, quote=True))
                elif part.name == "link":
                    safe = html.escape(values["link"], quote=True)
                    pieces.append(f'<a href="{safe}">{safe}</a>')
                else:
                    pieces.append(html.escape(values[part.name], quote=True))
            blocks.append("<p>" + "".join(pieces).strip().replace("\n", "<br>\n") + "</p>")
        return "\n".join(blocks)


def button_html(link: str, label: str) -> str:
    """The link as a button, then as plain text for mail programs that hide buttons."""
    safe = html.escape(link, quote=True)
    return (
        f'<p><a href="{safe}" style="display:inline-block;padding:12px 20px;'
        "background:#1f5f8b;color:#ffffff;text-decoration:none;border-radius:6px;"
        f'font-weight:bold">{html.escape(label)}</a></p>\n'
        "<p>If the button does not work, copy this link into your browser:<br>\n"
        f'<a href="{safe}">{safe}</a></p>'
    )


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


def line_values(practice: Practice) -> dict[str, str]:
    return {"practice_name": single_line(practice.name or "")}


def render_line(template: str | None, practice: Practice, default: str) -> str:
    """Render a one-line field; the default when unset. Never returns a line break."""
    if not template:
        return single_line(default)
    parts = parse(template, allowed=LINE_PLACEHOLDERS, field="subject")
    return single_line(render_text(parts, line_values(practice))).strip() or single_line(default)


def sender_name(practice: Practice) -> str:
    """The From display name: the template's From Name when enabled, else the practice name."""
    if practice.template_enabled and practice.template_from_name:
        try:
            return render_line(practice.template_from_name, practice, practice.name or "")
        except TemplateError:
            log.warning("stored From Name template is invalid; using the practice name")
    return single_line(practice.name or "")


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
            practice = _practice(session)
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
            practice = _practice(session)
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
            practice = _practice(session)
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
    ) -> ComposedEmail:
        """Render one kind of email with sample values (Alex, a sample link, the expiry a new
        invitation would have now). `fields`/`enabled` preview unsaved edits."""
        from frontdesk.mail import compose  # local: compose imports this module

        with self.db.read() as session:
            practice = detached_copy(_practice(session))
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
        sample_link = f"{base}/register/sample-link-for-preview-only"
        now = self.clock.now()
        if kind in ("invitation", "resend"):
            return compose.invitation_email(
                practice,
                greeting_name=SAMPLE_GREETING,
                first_name=SAMPLE_FIRST_NAME,
                link=sample_link,
                expires_at=now + timedelta(days=practice.invitation_days or 7),
                resend=kind == "resend",
            )
        if kind == "restore":
            return compose.access_restored_email(
                practice, greeting_name=SAMPLE_GREETING, link=f"{base}/login"
            )
        if kind == "registered":
            return compose.registration_complete_email(
                practice, greeting_name=SAMPLE_GREETING, link=f"{base}/login"
            )
        if kind == "message":
            return compose.new_message_email(
                practice, greeting_name=SAMPLE_GREETING, link=f"{base}/login"
            )
        raise TemplateError(
            f"Unknown email kind {kind!r}; use invitation, resend, restore, registered or message.",
            "kind",
        )

    def _touch(self, session: Session, practice: Practice, detail: str) -> None:
        now: datetime = self.clock.now()
        practice.updated_at = now
        session.add(practice)
        session.add(
            AuditEvent(
                at=now,
                actor=self.actor,
                action="email template changed",
                outcome="ok",
                detail=detail[:500],
                source=f"os:{self.actor}"[:100],
            )
        )


def _practice(session: Session) -> Practice:
    practice = session.get(Practice, 1)
    if practice is None:
        practice = Practice(id=1, name="", phone="")
    return practice


def detached_copy(practice: Practice) -> Practice:
    """A copy of the practice row that no session tracks (safe to change for previews)."""
    return Practice(**practice.model_dump())
