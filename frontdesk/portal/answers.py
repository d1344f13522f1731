"""A client's answers to a form: kept as a draft as they go, checked whole when they submit.

Answers are stored as JSON, one value per field id: text for every kind (`"yes"`/`"no"` for
yes_no, `"yes"` for a ticked agreement, the scale value `"0"`..`"3"` for a measure item,
YYYY-MM-DD for a date, the choice's words for a choice) and a list of the choices' words for
a multi_choice. A field left blank has no entry. Input comes as a browser posts it (text, or
a list of texts for a multi_choice); keys that are not field ids are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from frontdesk.core.identity import parse_date_strict
from frontdesk.core.text import has_controls, strip_controls, unify_line_breaks
from frontdesk.portal.form_definitions import (
    CONSENT_NAME,
    FieldKind,
    FormDefinition,
    FormField,
)
from store.states import FormKind

Answer = str | list[str]
Answers = dict[str, Answer]

FORM_ERROR = "_form"  # the key of an error about the whole form, not one field
SHORT_LIMIT = 500
LONG_LIMIT = 10_000
YES = "yes"
NO = "no"
_TICKED = frozenset({"yes", "on", "true", "1"})


@dataclass
class Checked:
    """A submission's answers as they would be stored, and its errors by field id (with
    FORM_ERROR for the whole form). Nothing is stored while `errors` is not empty."""

    answers: Answers
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _texts(raw: object) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list | tuple):
        return [item for item in raw if isinstance(item, str)]
    return []


def _one(raw: object) -> str:
    texts = _texts(raw)
    return unify_line_breaks(texts[0]) if texts else ""


def clean_draft(form: FormDefinition, raw: Mapping[str, object]) -> Answers:
    """What a draft keeps of `raw`: every field's text as typed (control characters removed,
    cut to its limit), choices only when they are among the options, dates as typed (they are
    checked on submit). A draft is never refused: the client's typing is never lost."""
    kept: Answers = {}
    for f in form.fields:
        if f.id not in raw:
            continue
        value = raw[f.id]
        if f.kind is FieldKind.MULTI_CHOICE:
            picked = [c for c in f.choices if c in _texts(value)]
            if picked:
                kept[f.id] = picked
            continue
        text = _one(value)
        if f.kind is FieldKind.LONG_TEXT:
            text = strip_controls(text).strip()[:LONG_LIMIT]
        else:
            text = " ".join(strip_controls(text).split())[:SHORT_LIMIT]
        if not text:
            continue
        normal = _choice_value(f, form, text)
        if normal is not None:
            kept[f.id] = normal
        elif f.kind in (FieldKind.SHORT_TEXT, FieldKind.LONG_TEXT, FieldKind.DATE):
            kept[f.id] = text[:10] if f.kind is FieldKind.DATE else text
    return kept


def _choice_value(f: FormField, form: FormDefinition, text: str) -> str | None:
    """The stored value of a one-answer field of fixed options, or None (not one of them /
    not such a field)."""
    if f.kind is FieldKind.CHOICE:
        return text if text in f.choices else None
    if f.kind is FieldKind.YES_NO:
        lowered = text.lower()
        return lowered if lowered in (YES, NO) else None
    if f.kind is FieldKind.AGREEMENT:
        return YES if text.lower() in _TICKED else None
    if f.kind is FieldKind.MEASURE_ITEM:
        return text if text.isdigit() and any(str(p.value) == text for p in form.scale) else None
    return None


def check_submission(form: FormDefinition, raw: Mapping[str, object], *, today: date) -> Checked:
    """Check every answer as the form requires; the answers to store, or the errors by field.
    `today` is the practice's date (a date answered may be up to 100 years ahead of it)."""
    answers: Answers = {}
    errors: dict[str, str] = {}
    for f in form.fields:
        value = raw.get(f.id)
        if f.kind is FieldKind.MULTI_CHOICE:
            texts = [" ".join(t.split()) for t in _texts(value) if t.strip()]
            if any(t not in f.choices for t in texts):
                errors[f.id] = "Choose from the listed answers."
            elif len(set(texts)) != len(texts):
                errors[f.id] = "An answer was chosen twice."
            elif texts:
                answers[f.id] = [c for c in f.choices if c in texts]
            elif f.required:
                errors[f.id] = "Choose at least one answer."
            continue
        text = _one(value)
        if has_controls(text, allow_newlines=f.kind is FieldKind.LONG_TEXT):
            errors[f.id] = "This contains a character that isn't allowed."
            continue
        text = text.strip() if f.kind is FieldKind.LONG_TEXT else " ".join(text.split())
        if not text:
            if f.required:
                errors[f.id] = _missing(f, form)
            continue
        error = _check_one(f, form, text, today)
        if error:
            errors[f.id] = error
            continue
        normal = _choice_value(f, form, text)
        answers[f.id] = normal if normal is not None else text
    if not errors and not answers:
        errors[FORM_ERROR] = "Answer at least one question before sending the form."
    return Checked(answers, errors)


def _missing(f: FormField, form: FormDefinition) -> str:
    if f.kind is FieldKind.AGREEMENT:
        return f"Tick “{f.label}” to sign."
    if form.kind is FormKind.CONSENT and f.id == CONSENT_NAME:
        return "Type your full name to sign."  # the typed name is the consent's signature
    if f.kind in (FieldKind.SHORT_TEXT, FieldKind.LONG_TEXT):
        return "Answer this question."
    if f.kind is FieldKind.DATE:
        return "Enter a date (YYYY-MM-DD)."
    return "Choose an answer."


def _check_one(f: FormField, form: FormDefinition, text: str, today: date) -> str | None:
    if f.kind is FieldKind.SHORT_TEXT and len(text) > SHORT_LIMIT:
        return f"Keep this under {SHORT_LIMIT} characters."
    if f.kind is FieldKind.LONG_TEXT and len(text) > LONG_LIMIT:
        return f"Keep this under {LONG_LIMIT:,} characters."
    if f.kind is FieldKind.DATE:
        parsed = parse_date_strict(text)
        if parsed is None:
            return "Enter a real date written YYYY-MM-DD, e.g. 2024-03-31."
        if parsed.year < 1900 or parsed.year > today.year + 100:
            return "Enter a date between 1900 and 100 years from now."
        return None
    one_of = (FieldKind.CHOICE, FieldKind.YES_NO, FieldKind.MEASURE_ITEM)
    if f.kind in one_of and _choice_value(f, form, text) is None:
        return "Choose one of the listed answers."
    if f.kind is FieldKind.AGREEMENT and _choice_value(f, form, text) is None:
        return f"Tick “{f.label}” to sign."
    return None


@dataclass(frozen=True)
class AnsweredField:
    """One answer as staff read it: the question, and the answer in words ("" unanswered)."""

    field_id: str
    label: str
    answer: str
    section: str


def answer_lines(form: FormDefinition, answers: Mapping[str, object]) -> list[AnsweredField]:
    """Every field of `form` with its answer in words (a measure item: "2 · More than half
    the days"; a multi-choice: its choices joined with "; "; yes/no: "Yes"/"No")."""
    lines = []
    for section in form.sections:
        for f in section.fields:
            raw = answers.get(f.id)
            if raw is None or raw == "" or raw == []:
                words = ""
            elif f.kind is FieldKind.MULTI_CHOICE:
                words = "; ".join(_texts(raw))
            elif f.kind is FieldKind.MEASURE_ITEM:
                value = str(raw)
                words = f"{value} · {form.scale_label(int(value))}" if value.isdigit() else value
            elif f.kind in (FieldKind.YES_NO, FieldKind.AGREEMENT):
                words = "Yes" if str(raw) == YES else "No"
            else:
                words = str(raw)
            lines.append(AnsweredField(f.id, f.label, words, section.title))
    return lines
