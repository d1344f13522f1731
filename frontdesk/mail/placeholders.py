"""The placeholder language of practice email templates: parsing, rendering, one-line fields.

A template is plain text with placeholders such as `{link}`. It is parsed by a small parser of our
own (never `str.format`), so `{link.__class__}` or `{0}` is an unknown placeholder, not an
attribute lookup. `{{` and `}}` write literal braces. Paragraphs are separated by blank lines; a
paragraph holding only `{link}` becomes a button in the HTML part.

Composing an email (`compose`) and checking and saving the practice's template (`templates`)
both build on this module; it imports neither.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from frontdesk.core.errors import FrontDeskError
from frontdesk.core.text import single_line
from store.models import Practice

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

LABELS = {
    "from_name": "From Name",
    "header_name": "Header Name",
    "subject": "Subject",
    "body": "Body",
}


class TemplateError(FrontDeskError, ValueError):
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

    @cached_property
    def _html_paragraphs(self) -> tuple[tuple[Part, ...] | None, ...]:
        """Each paragraph with its literals escaped once (None: the link alone, a button)."""
        return tuple(
            None
            if self._is_link_only(paragraph)
            else tuple(
                html.escape(part, quote=True) if isinstance(part, str) else part
                for part in paragraph
            )
            for paragraph in self.paragraphs
        )

    def html_blocks(self, values: Mapping[str, str], *, button: str) -> str:
        """The paragraphs as HTML; every literal and value is escaped."""
        blocks = []
        for paragraph in self._html_paragraphs:
            if paragraph is None:
                blocks.append(button_html(values["link"], button))
                continue
            pieces = []
            for part in paragraph:
                if isinstance(part, str):
                    pieces.append(part)  # escaped when the body was parsed
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
# A practice's one-line fields (From Name, Header Name, Subject)
# --------------------------------------------------------------------------------------------


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
