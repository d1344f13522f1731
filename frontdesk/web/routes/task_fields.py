"""A form (task) as the web page shows it: any `FormDefinition` turned into sections of fields,
each with the widget its kind takes, its value (the saved draft, or what was just posted), its
error and the ids that tie the error and hint to it; and the posted fields read back into the
answers the task service takes.

Element ids are `f-<field id>` (`f-<field id>-<n>` for each option of a group), so no form
can reuse an id the page needs. A multi-choice posts one checkbox per choice, named
`<field id>-<n>` (a hyphen never occurs in a field id); `posted_answers` gathers them into a
list under the field id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from frontdesk.core.identity import parse_date_strict
from frontdesk.core.text import single_line, strip_controls
from frontdesk.portal.answers import FORM_ERROR, LONG_LIMIT, NO, SHORT_LIMIT, YES, Answers
from frontdesk.portal.form_definitions import (
    CONSENT_RELATIONSHIP,
    FieldKind,
    FormDefinition,
    FormField,
)
from frontdesk.portal.task_views import TaskDetail
from store.states import FormKind

_CHECKBOX_NAME = re.compile(r"([a-z][a-z0-9_]{0,59})-([0-9]{1,3})")
SUMMARY_LABEL = 70  # characters of a question shown in the error summary


class Widget(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    DATE = "date"
    RADIOS = "radios"
    CHECKBOXES = "checkboxes"
    SELECT = "select"
    AGREEMENT = "agreement"
    SCALE = "scale"  # a measure item: its radios laid out as the scale


@dataclass(frozen=True)
class Option:
    """One radio, checkbox or select option."""

    name: str
    value: str
    label: str
    dom_id: str
    checked: bool


@dataclass(frozen=True)
class FieldView:
    """One question as the page shows it."""

    id: str
    dom_id: str  # the input's id, or the group's first option's (where an error links)
    widget: Widget
    label: str
    number: int | None  # a measure's items are numbered
    help: str
    required: bool
    value: str  # text widgets; a date that is not YYYY-MM-DD is shown in a text box
    options: tuple[Option, ...]
    error: str
    described_by: str  # ids of the hint and error ("" for none)
    date_as_text: bool = False
    max_length: int = 0


@dataclass(frozen=True)
class SectionView:
    title: str
    paragraphs: tuple[str, ...]
    fields: tuple[FieldView, ...]


@dataclass(frozen=True)
class SummaryError:
    """One line of the error summary at the top: where it links, and what it says."""

    href: str
    text: str


def paragraphs(text: str) -> tuple[str, ...]:
    """`text` as paragraphs (split at blank lines; single line breaks stay in a paragraph)."""
    parts = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return tuple(p.strip("\n") for p in parts if p.strip())


def dom_id(field_id: str) -> str:
    return f"f-{field_id}"


def _group(f: FormField, form: FormDefinition) -> list[tuple[str, str]]:
    """(value, words) of each option of a one-answer or many-answer field."""
    if f.kind is FieldKind.MEASURE_ITEM:
        return [(str(p.value), p.label) for p in form.scale]
    if f.kind is FieldKind.YES_NO:
        return [(YES, "Yes"), (NO, "No")]
    return [(choice, choice) for choice in f.choices]


def _widget(f: FormField, form: FormDefinition) -> Widget:
    consent = form.kind is FormKind.CONSENT
    if f.kind is FieldKind.CHOICE and consent and f.id == CONSENT_RELATIONSHIP:
        return Widget.SELECT
    return {
        FieldKind.SHORT_TEXT: Widget.TEXT,
        FieldKind.LONG_TEXT: Widget.TEXTAREA,
        FieldKind.DATE: Widget.DATE,
        FieldKind.CHOICE: Widget.RADIOS,
        FieldKind.YES_NO: Widget.RADIOS,
        FieldKind.MULTI_CHOICE: Widget.CHECKBOXES,
        FieldKind.AGREEMENT: Widget.AGREEMENT,
        FieldKind.MEASURE_ITEM: Widget.SCALE,
    }[f.kind]


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def field_view(
    f: FormField,
    form: FormDefinition,
    value: object,
    error: str,
    number: int | None = None,
) -> FieldView:
    """`f` with its value (`value`: as stored or as posted) and its error, ready to show."""
    widget = _widget(f, form)
    base = dom_id(f.id)
    described = []
    if widget is Widget.CHECKBOXES:
        described.append(f"{base}-how")  # "Choose all that apply."
    if widget is Widget.DATE:
        described.append(f"{base}-format")
    if f.help:
        described.append(f"{base}-hint")
    if error:
        described.append(f"{base}-error")
    options: tuple[Option, ...] = ()
    text = ""
    date_as_text = False
    chosen = _texts(value)
    if widget in (Widget.RADIOS, Widget.SCALE, Widget.SELECT, Widget.CHECKBOXES):
        many = widget is Widget.CHECKBOXES
        options = tuple(
            Option(
                name=f"{f.id}-{n}" if many else f.id,
                value=option_value,
                label=words,
                dom_id=f"{base}-{n}",
                checked=option_value in chosen
                or (f.kind is FieldKind.YES_NO and option_value in [c.lower() for c in chosen]),
            )
            for n, (option_value, words) in enumerate(_group(f, form), start=1)
        )
    elif widget is Widget.AGREEMENT:
        ticked = bool(chosen) and chosen[0].strip().lower() in (YES, "on", "true", "1")
        options = (Option(f.id, YES, f.label, base, ticked),)
    else:
        raw = chosen[0] if chosen else ""
        text = strip_controls(raw) if widget is Widget.TEXTAREA else single_line(raw)
        if widget is Widget.DATE and text.strip() and parse_date_strict(text.strip()) is None:
            date_as_text = True  # what was typed stays visible, to be corrected
    first = options[0].dom_id if options and widget is not Widget.SELECT else base
    limit = LONG_LIMIT if widget is Widget.TEXTAREA else SHORT_LIMIT if widget is Widget.TEXT else 0
    return FieldView(
        id=f.id,
        dom_id=first,
        widget=widget,
        label=f.label,
        number=number,
        help=f.help,
        required=f.required,
        value=text,
        options=options,
        error=error,
        described_by=" ".join(described),
        date_as_text=date_as_text,
        max_length=limit,
    )


def form_sections(
    form: FormDefinition, values: Mapping[str, object], errors: Mapping[str, str]
) -> tuple[SectionView, ...]:
    """Every section of `form` with its fields, filled with `values`, errors at the fields."""
    sections = []
    number = 0
    for section in form.sections:
        views = []
        for f in section.fields:
            item_number = None
            if f.kind is FieldKind.MEASURE_ITEM:
                number += 1
                item_number = number
            views.append(field_view(f, form, values.get(f.id), errors.get(f.id, ""), item_number))
        sections.append(SectionView(section.title, paragraphs(section.text), tuple(views)))
    return tuple(sections)


def error_summary(
    sections: tuple[SectionView, ...], errors: Mapping[str, str]
) -> tuple[str, tuple[SummaryError, ...]]:
    """(the whole form's error, one line per field error in page order, linking to it)."""
    lines = []
    for section in sections:
        for view in section.fields:
            if view.error:
                question = view.label
                if len(question) > SUMMARY_LABEL:
                    question = question[: SUMMARY_LABEL - 1].rstrip() + "…"
                if view.number is not None:
                    question = f"{view.number}. {question}"
                joint = " " if question.endswith(("?", ".", ":", "!", "…")) else ": "
                lines.append(SummaryError(f"#{view.dom_id}", f"{question}{joint}{view.error}"))
    return errors.get(FORM_ERROR, ""), tuple(lines)


def posted_answers(values: Mapping[str, str]) -> Answers:
    """The answers in a posted form: one text per field id, and each multi-choice's ticked
    boxes (`<field id>-<n>`) gathered into a list under its field id, in the page's order.
    Other names (the CSRF field, `action`) pass through; the service ignores them.

    Browsers post a textarea's line breaks as CR LF (the HTML form encoding); they become
    plain line breaks here, or the service would refuse the CR as a control character."""
    answers: Answers = {}
    ticked: dict[str, list[tuple[int, str]]] = {}
    for name, raw in values.items():
        value = raw.replace("\r\n", "\n").replace("\r", "\n")
        match = _CHECKBOX_NAME.fullmatch(name)
        if match:
            ticked.setdefault(match.group(1), []).append((int(match.group(2)), value))
        else:
            answers[name] = value
    for field_id, boxes in ticked.items():
        answers[field_id] = [value for _, value in sorted(boxes)]
    return answers


@dataclass(frozen=True)
class SentAnswer:
    """One question of a sent form and the client's answer, in words."""

    label: str
    answer: str  # "" when left blank


def answered_sections(detail: TaskDetail) -> list[tuple[str, list[SentAnswer]]]:
    """What the client sent, by section, for their read-only copy: a measure's items are
    numbered and answered in the scale's words only (the scores are for staff)."""
    sections: list[tuple[str, list[SentAnswer]]] = []
    number = 0
    form = detail.form
    for line in detail.lines:
        f = form.field(line.field_id)
        label, answer = line.label, line.answer
        if f is not None and f.kind is FieldKind.MEASURE_ITEM:
            number += 1
            label = f"{number}. {label}"
            value = str(detail.answers.get(f.id, ""))
            answer = form.scale_label(int(value)) if value.isdigit() else answer
        if not sections or sections[-1][0] != line.section:
            sections.append((line.section, []))
        sections[-1][1].append(SentAnswer(label, answer))
    return sections
