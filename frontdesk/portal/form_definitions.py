"""A form's definition: what it is, how it is shown, what each answer may be.

Forms are practice data, stored as JSON (`store.models.FormVersion.definition`) and read back
into the frozen dataclasses here. `parse_definition` is the one check a definition passes
before it is stored (the built-ins, `frontdesk forms import`): each refusal is an
`InvalidDefinition` whose one line names the place and what is wrong there
(`sections[2].fields: expected a list of fields, got a text`). A key the shape does not have
is refused, never ignored: a misspelt "required" must not make a question optional.

The shape (JSON; `frontdesk forms show KEY` prints one):

    {"key": "intake", "title": "Intake questionnaire", "kind": "questionnaire",
     "attribution": "", "instructions": "shown above the form",
     "document": "consent only: the practice's document, shown whole",
     "scale": [{"value": 0, "label": "Not at all"}, ...],      measure only
     "sections": [{"title": "About you", "text": "optional paragraph(s)",
                   "fields": [{"id": "reason", "label": "What brings you in?",
                               "kind": "long_text", "required": true, "help": "",
                               "choices": ["..."]}]}]}

Field kinds: `short_text`, `long_text`, `date` (YYYY-MM-DD), `choice` (one of `choices`),
`multi_choice` (any of `choices`), `yes_no`, and two kinds a practice's questionnaire does not
use: `measure_item` (a scored item of a measure, answered on its `scale`) and `agreement` (the
consent's "I have read and agree" box).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from typing import Any

from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import has_controls
from store.states import FormKind


class FieldKind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    DATE = "date"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    YES_NO = "yes_no"
    MEASURE_ITEM = "measure_item"  # measures only: answered on the form's scale
    AGREEMENT = "agreement"  # consent only: "I have read and agree"


PRACTICE_FIELD_KINDS = (
    FieldKind.SHORT_TEXT,
    FieldKind.LONG_TEXT,
    FieldKind.DATE,
    FieldKind.CHOICE,
    FieldKind.MULTI_CHOICE,
    FieldKind.YES_NO,
)
CHOICE_KINDS = (FieldKind.CHOICE, FieldKind.MULTI_CHOICE)

# The consent's three required fields, by id.
CONSENT_AGREE = "agree"
CONSENT_NAME = "full_name"
CONSENT_RELATIONSHIP = "relationship"
RELATIONSHIPS = ("Self", "Parent", "Legal guardian", "Other")

KEY_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")
FIELD_ID_RE = re.compile(r"[a-z][a-z0-9_]{0,59}")
MAX_SECTIONS = 30
MAX_FIELDS = 200
MAX_CHOICES = 50
MAX_LABEL = 500
MAX_TEXT = 20_000  # instructions, a section's text
MAX_DOCUMENT = 100_000  # a consent document

FORM_KEYS = {
    "key", "title", "kind", "attribution", "instructions", "document", "scale", "sections"
}  # fmt: skip
SECTION_KEYS = {"title", "text", "fields"}
FIELD_KEYS = {"id", "label", "kind", "required", "help", "choices"}
SCALE_KEYS = {"value", "label"}
# Keys people write that mean one of ours (the hint in the refusal).
KEY_HINTS = {"options": "choices", "type": "kind", "questions": "fields", "name": "id"}
# Keys that mean something elsewhere in FrontDesk, and why they cannot be set here.
KEY_REASONS = {
    "version": "versions are numbered by FrontDesk when a form is imported; remove this key",
}


class InvalidDefinition(InvalidInput):
    """A form definition that cannot be stored; str() is one line naming where."""


@dataclass(frozen=True)
class ScalePoint:
    """One answer of a measure's scale: its score and its words."""

    value: int
    label: str


@dataclass(frozen=True)
class FormField:
    id: str
    label: str
    kind: FieldKind
    required: bool
    help: str = ""
    choices: tuple[str, ...] = ()  # choice / multi_choice

    @property
    def scored(self) -> bool:
        return self.kind is FieldKind.MEASURE_ITEM


@dataclass(frozen=True)
class Section:
    title: str
    text: str
    fields: tuple[FormField, ...]


@dataclass(frozen=True)
class FormDefinition:
    """A whole form as stored in one FormVersion row (its version number is the row's)."""

    key: str
    title: str
    kind: FormKind
    attribution: str
    instructions: str
    document: str  # consent: the practice's document text, shown whole
    scale: tuple[ScalePoint, ...]  # measure: the answer scale of its items
    sections: tuple[Section, ...]

    @property
    def fields(self) -> tuple[FormField, ...]:
        """Every field, in order, across sections."""
        return tuple(f for section in self.sections for f in section.fields)

    def field(self, field_id: str) -> FormField | None:
        return next((f for f in self.fields if f.id == field_id), None)

    @property
    def items(self) -> tuple[FormField, ...]:
        """A measure's scored items, in order."""
        return tuple(f for f in self.fields if f.scored)

    def scale_label(self, value: int) -> str:
        return next((p.label for p in self.scale if p.value == value), str(value))

    def to_json(self) -> dict[str, Any]:
        """The stored JSON (what `parse_definition` reads back to an equal definition)."""
        data: dict[str, Any] = {"key": self.key, "title": self.title, "kind": self.kind.value}
        if self.attribution:
            data["attribution"] = self.attribution
        if self.instructions:
            data["instructions"] = self.instructions
        if self.document:
            data["document"] = self.document
        if self.scale:
            data["scale"] = [{"value": p.value, "label": p.label} for p in self.scale]
        data["sections"] = [
            {
                "title": s.title,
                **({"text": s.text} if s.text else {}),
                "fields": [_field_json(f) for f in s.fields],
            }
            for s in self.sections
        ]
        return data


def _field_json(f: FormField) -> dict[str, Any]:
    data: dict[str, Any] = {"id": f.id, "label": f.label, "kind": f.kind.value}
    data["required"] = f.required
    if f.help:
        data["help"] = f.help
    if f.choices:
        data["choices"] = list(f.choices)
    return data


# -------------------------------------------------------------------------------- the check


def parse_definition(data: object, *, builtin: bool = False) -> FormDefinition:
    """Check a definition (parsed JSON or TOML) and return it; InvalidDefinition naming the
    place otherwise. Only the built-ins (`builtin`) may be measures: a practice's own form
    cannot be scored."""
    if not isinstance(data, dict):
        raise InvalidDefinition(f"a form definition must be a table/object, got {got(data)}")
    _no_unknown(data, FORM_KEYS, "form")
    key = _text(data, "key", "form", limit=60)
    if not KEY_RE.fullmatch(key):
        raise InvalidDefinition(
            f"key {key!r}: use lowercase letters, digits and hyphens (up to 60), e.g. 'intake'"
        )
    title = _text(data, "title", "form", limit=200)
    kind_text = _text(data, "kind", "form", limit=20)
    try:
        kind = FormKind(kind_text)
    except ValueError:
        raise InvalidDefinition(
            f"kind {kind_text!r}: expected one of {', '.join(k.value for k in FormKind)}"
        ) from None
    if kind is FormKind.MEASURE and not builtin:
        raise InvalidDefinition(
            "kind 'measure': only the built-in measures (PHQ-9, GAD-7) are scored; "
            "import your form as a 'questionnaire'"
        )
    attribution = _text(data, "attribution", "form", limit=MAX_LABEL, required=False)
    instructions = _text(
        data, "instructions", "form", limit=MAX_TEXT, required=False, multiline=True
    )
    document = _text(data, "document", "form", limit=MAX_DOCUMENT, required=False, multiline=True)
    if kind is FormKind.CONSENT and not document.strip():
        raise InvalidDefinition("document: a consent needs the practice's document text")
    if kind is not FormKind.CONSENT and document:
        raise InvalidDefinition("document: only a consent has a document")
    scale = _scale(data.get("scale"), kind)
    sections = _sections(data.get("sections"), kind)
    definition = FormDefinition(
        key, title, kind, attribution, instructions, document, scale, sections
    )
    if kind is FormKind.CONSENT:
        _check_consent(definition)
    if kind is FormKind.MEASURE and not definition.items:
        raise InvalidDefinition("a measure needs at least one measure_item field")
    return definition


def _scale(raw: object, kind: FormKind) -> tuple[ScalePoint, ...]:
    if kind is not FormKind.MEASURE:
        if raw not in (None, []):
            raise InvalidDefinition("scale: only a measure has a scale")
        return ()
    if raw is None:
        raise InvalidDefinition("form: scale is required for a measure (a list of points)")
    if not isinstance(raw, list):
        raise InvalidDefinition(f"scale: expected a list of points, got {got(raw)}")
    if len(raw) < 2:
        raise InvalidDefinition("scale: a measure needs at least 2 points")
    points = []
    for index, point in enumerate(raw, start=1):
        where = f"scale[{index}]"
        if not isinstance(point, dict):
            raise InvalidDefinition(
                f"{where}: expected a table/object with value and label, got {got(point)}"
            )
        _no_unknown(point, SCALE_KEYS, where)
        value = point.get("value")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
            raise InvalidDefinition(
                f"{where}.value: expected a whole number from 0 to 10, got {got(value)}"
            )
        points.append(ScalePoint(value, _text(point, "label", where, limit=100)))
    if len({p.value for p in points}) != len(points):
        raise InvalidDefinition("scale: two points have the same value")
    return tuple(points)


def _sections(raw: object, kind: FormKind) -> tuple[Section, ...]:
    if raw is None:
        raise InvalidDefinition(
            "form: sections is required (a list of sections, each with its fields)"
        )
    if not isinstance(raw, list):
        raise InvalidDefinition(f"sections: expected a list of sections, got {got(raw)}")
    if not raw:
        raise InvalidDefinition("sections: a form needs at least one section")
    if len(raw) > MAX_SECTIONS:
        raise InvalidDefinition(f"sections: at most {MAX_SECTIONS}")
    sections: list[Section] = []
    seen: set[str] = set()
    count = 0
    for s_index, section in enumerate(raw, start=1):
        where = f"sections[{s_index}]"
        if not isinstance(section, dict):
            raise InvalidDefinition(
                f"{where}: expected a table/object with title and fields, got {got(section)}"
            )
        _no_unknown(section, SECTION_KEYS, where)
        title = _text(section, "title", where, limit=200, required=False)
        text = _text(section, "text", where, limit=MAX_TEXT, required=False, multiline=True)
        raw_fields = section.get("fields")
        if raw_fields is None:
            raise InvalidDefinition(f"{where}: fields is required (a list of its fields)")
        if not isinstance(raw_fields, list):
            raise InvalidDefinition(
                f"{where}.fields: expected a list of fields, got {got(raw_fields)}"
            )
        if not raw_fields:
            raise InvalidDefinition(f"{where}.fields: a section needs at least one field")
        fields = []
        for f_index, raw_field in enumerate(raw_fields, start=1):
            field = _field(raw_field, f"{where}.fields[{f_index}]", kind)
            if field.id in seen:
                raise InvalidDefinition(
                    f"{where}.fields[{f_index}] {field.id!r}: another field has this id"
                )
            seen.add(field.id)
            fields.append(field)
            count += 1
        if count > MAX_FIELDS:
            raise InvalidDefinition(f"sections: at most {MAX_FIELDS} fields in a form")
        sections.append(Section(title, text, tuple(fields)))
    return tuple(sections)


def _field(raw: object, where: str, form_kind: FormKind) -> FormField:
    if not isinstance(raw, dict):
        raise InvalidDefinition(
            f"{where}: expected a table/object with id, label and kind, got {got(raw)}"
        )
    field_id = _text(raw, "id", where, limit=60)
    if not FIELD_ID_RE.fullmatch(field_id):
        raise InvalidDefinition(
            f"{where}.id {field_id!r}: lowercase letters, digits and _ (starting with a letter)"
        )
    where = f"{where} {field_id!r}"
    _no_unknown(raw, FIELD_KEYS, where)
    label = _text(raw, "label", where, limit=MAX_LABEL)
    kind_text = _text(raw, "kind", where, limit=20)
    try:
        kind = FieldKind(kind_text)
    except ValueError:
        kinds = ", ".join(k.value for k in PRACTICE_FIELD_KINDS)
        raise InvalidDefinition(f"{where}.kind {kind_text!r}: expected one of {kinds}") from None
    if kind is FieldKind.MEASURE_ITEM and form_kind is not FormKind.MEASURE:
        raise InvalidDefinition(f"{where}.kind: measure_item belongs to a measure only")
    if kind is FieldKind.AGREEMENT and form_kind is not FormKind.CONSENT:
        raise InvalidDefinition(f"{where}.kind: agreement belongs to a consent only")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise InvalidDefinition(f"{where}.required: expected true or false, got {got(required)}")
    if kind is FieldKind.MEASURE_ITEM:
        required = True  # every item of a measure is answered
    help_text = _text(raw, "help", where, limit=MAX_LABEL, required=False)
    choices: tuple[str, ...] = ()
    if kind in CHOICE_KINDS:
        raw_choices = raw.get("choices")
        if raw_choices is None:
            raise InvalidDefinition(
                f"{where}: choices is required for a {kind.value} field (a list of at least 2)"
            )
        if not isinstance(raw_choices, list):
            raise InvalidDefinition(
                f"{where}.choices: expected a list of choices, got {got(raw_choices)}"
            )
        if len(raw_choices) < 2:
            raise InvalidDefinition(
                f"{where}.choices: a {kind.value} field needs at least 2, got {len(raw_choices)}"
            )
        if len(raw_choices) > MAX_CHOICES:
            raise InvalidDefinition(f"{where}.choices: at most {MAX_CHOICES}")
        cleaned = []
        for c_index, choice in enumerate(raw_choices, start=1):
            if not isinstance(choice, str):
                raise InvalidDefinition(
                    f"{where}.choices[{c_index}]: expected text, got {got(choice)}"
                )
            if not choice.strip():
                raise InvalidDefinition(f"{where}.choices[{c_index}]: a choice cannot be empty")
            if has_controls(choice) or len(choice) > 200:
                raise InvalidDefinition(
                    f"{where}.choices[{c_index}]: one line of at most 200 characters"
                )
            cleaned.append(" ".join(choice.split()))
        if len(set(cleaned)) != len(cleaned):
            raise InvalidDefinition(f"{where}.choices: two choices are the same")
        choices = tuple(cleaned)
    elif "choices" in raw:
        raise InvalidDefinition(f"{where}.choices: only choice and multi_choice have choices")
    return FormField(field_id, label, kind, required, help_text, choices)


def _check_consent(definition: FormDefinition) -> None:
    agree = definition.field(CONSENT_AGREE)
    name = definition.field(CONSENT_NAME)
    relationship = definition.field(CONSENT_RELATIONSHIP)
    if agree is None or agree.kind is not FieldKind.AGREEMENT or not agree.required:
        raise InvalidDefinition(
            f"a consent needs a required agreement field with id {CONSENT_AGREE!r}"
        )
    if name is None or name.kind is not FieldKind.SHORT_TEXT or not name.required:
        raise InvalidDefinition(
            f"a consent needs a required short_text field with id {CONSENT_NAME!r} "
            "(the typed full name)"
        )
    if (
        relationship is None
        or relationship.kind is not FieldKind.CHOICE
        or not relationship.required
        or relationship.choices != RELATIONSHIPS
    ):
        raise InvalidDefinition(
            f"a consent needs a required choice field with id {CONSENT_RELATIONSHIP!r} and "
            f"the choices {', '.join(RELATIONSHIPS)}"
        )


def got(value: object) -> str:
    """What a JSON/TOML value is, in plain words: the "got ..." of a refusal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table/object"
    if isinstance(value, date | time):  # TOML dates and times
        return "a date/time"
    return f"a {type(value).__name__}"


def _place(where: str, key: str) -> str:
    """Where `key` of the thing at `where` is: `title` of the form itself, `sections[1].text`."""
    return key if where == "form" else f"{where}.{key}"


def _no_unknown(data: dict[str, Any], allowed: set[str], where: str) -> None:
    """Refuse the first key `allowed` does not have, naming it and the keys allowed here."""
    unknown = [str(k) for k in data if k not in allowed]
    if not unknown:
        return
    key = unknown[0]
    if key in KEY_REASONS:
        raise InvalidDefinition(f"{_place(where, key)}: {KEY_REASONS[key]}")
    hint = KEY_HINTS.get(key.lower())
    if hint not in allowed:
        close = difflib.get_close_matches(key.lower(), sorted(allowed), n=1, cutoff=0.7)
        hint = close[0] if close else None
    mean = f" (did you mean {hint!r}?)" if hint else ""
    raise InvalidDefinition(
        f"{where}: unknown key {key!r}{mean}; the keys allowed here are "
        f"{', '.join(sorted(allowed))}"
    )


def _text(
    data: dict[str, Any],
    name: str,
    where: str,
    *,
    limit: int,
    required: bool = True,
    multiline: bool = False,
) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidDefinition(f"{where}: {name} is required")
        return ""
    if not isinstance(value, str):
        raise InvalidDefinition(f"{_place(where, name)}: expected text, got {got(value)}")
    if has_controls(value, allow_newlines=multiline):
        raise InvalidDefinition(f"{_place(where, name)}: contains a control character")
    text = value.strip() if multiline else " ".join(value.split())
    if required and not text:
        raise InvalidDefinition(f"{where}: {name} is empty")
    if len(text) > limit:
        raise InvalidDefinition(f"{_place(where, name)}: longer than {limit} characters")
    return text
