"""Checking a form definition (pure): the built-ins pass and round-trip; every refusal is one
line naming the place."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from frontdesk.portal import builtin_forms
from frontdesk.portal.form_definitions import FieldKind, InvalidDefinition, parse_definition
from store.states import FormKind


def questionnaire(**fields: Any) -> dict[str, Any]:
    field = {"id": "q", "label": "Question", "kind": "short_text"} | fields
    return {
        "key": "mine",
        "title": "Mine",
        "kind": "questionnaire",
        "sections": [{"title": "One", "fields": [field]}],
    }


@pytest.mark.parametrize("data", builtin_forms.BUILTIN_FORMS, ids=lambda d: d["key"])
def test_builtins_pass_and_round_trip(data: dict[str, Any]) -> None:
    definition = parse_definition(data, builtin=True)
    assert parse_definition(definition.to_json(), builtin=True) == definition


def test_kinds_and_fields() -> None:
    intake = parse_definition(builtin_forms.INTAKE_DEFINITION)
    assert intake.kind is FormKind.QUESTIONNAIRE
    kinds = {f.kind for f in intake.fields}
    assert kinds == {
        FieldKind.SHORT_TEXT, FieldKind.LONG_TEXT, FieldKind.DATE,
        FieldKind.CHOICE, FieldKind.MULTI_CHOICE, FieldKind.YES_NO,
    }  # fmt: skip
    consent = parse_definition(builtin_forms.CONSENT_DEFINITION)
    assert consent.document.startswith("This document describes")
    assert "\n\n" in consent.document  # paragraphs kept whole


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "checkbox"}, "sections[1].fields[1] 'q'.kind 'checkbox': expected one of"),
        ({"id": "Bad Id"}, "sections[1].fields[1].id 'Bad Id': lowercase letters"),
        ({"label": ""}, "sections[1].fields[1] 'q': label is empty"),
        ({"kind": "choice"}, "sections[1].fields[1] 'q': choices is required for a choice"),
        ({"kind": "choice", "choices": ["a", "a"]}, "'q'.choices: two choices are the same"),
        ({"choices": ["a", "b"]}, "'q'.choices: only choice and multi_choice have choices"),
        ({"required": "yes"}, "'q'.required: expected true or false, got a text"),
        ({"colour": "red"}, "sections[1].fields[1] 'q': unknown key 'colour'"),
        ({"kind": "measure_item"}, "'q'.kind: measure_item belongs to a measure only"),
        ({"kind": "agreement"}, "'q'.kind: agreement belongs to a consent only"),
        ({"label": "a\x1b[31m"}, "'q'.label: contains a control character"),
    ],
)
def test_field_errors_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        parse_definition(questionnaire(**change))
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key": "Has Spaces"}, "key 'Has Spaces': use lowercase letters"),
        ({"kind": "survey"}, "kind 'survey': expected one of measure, consent, questionnaire"),
        ({"kind": "measure"}, "only the built-in measures (PHQ-9, GAD-7) are scored"),
        ({"title": None}, "form: title is required"),
        ({"sections": []}, "sections: a form needs at least one section"),
        ({"document": "x"}, "document: only a consent has a document"),
        ({"scale": [{"value": 0, "label": "a"}]}, "scale: only a measure has a scale"),
        ({"extra": 1}, "form: unknown key 'extra'"),
    ],
)
def test_form_errors(change: dict[str, Any], message: str) -> None:
    data = questionnaire() | change
    with pytest.raises(InvalidDefinition, match=None) as refused:
        parse_definition(data)
    assert message in str(refused.value)


def about_you(**section: Any) -> dict[str, Any]:
    """A questionnaire whose second section ("About you") is `section`."""
    data = questionnaire()
    data["sections"].append({"title": "About you"} | section)
    return data


def with_field(**change: Any) -> dict[str, Any]:
    """A questionnaire whose second section's first field is a choice changed by `change`."""
    field = {"id": "colour", "label": "Colour", "kind": "choice", "choices": ["Red", "Blue"]}
    return about_you(fields=[{k: v for k, v in (field | change).items() if v is not None}])


MALFORMED = [
    (questionnaire() | {"sections": "abc"}, "sections: expected a list of sections, got a text"),
    (
        questionnaire() | {"sections": {"title": "One"}},
        "sections: expected a list of sections, got a table/object",
    ),
    (
        {k: v for k, v in questionnaire().items() if k != "sections"},
        "form: sections is required (a list of sections, each with its fields)",
    ),
    (
        questionnaire() | {"sections": ["One"]},
        "sections[1]: expected a table/object with title and fields, got a text",
    ),
    (about_you(fields="abc"), "sections[2].fields: expected a list of fields, got a text"),
    (
        about_you(fields={"id": "q"}),
        "sections[2].fields: expected a list of fields, got a table/object",
    ),
    (about_you(fields=7), "sections[2].fields: expected a list of fields, got a number"),
    (about_you(), "sections[2]: fields is required (a list of its fields)"),
    (about_you(fields=[]), "sections[2].fields: a section needs at least one field"),
    (
        about_you(fields=["abc"]),
        "sections[2].fields[1]: expected a table/object with id, label and kind, got a text",
    ),
    (
        about_you(fields=[{"label": "Name", "kind": "short_text"}]),
        "sections[2].fields[1]: id is required",
    ),
    (about_you(title=["About", "you"]), "sections[2].title: expected text, got a list"),
    (about_you(text=True, fields=[]), "sections[2].text: expected text, got true"),
    (questionnaire() | {"title": 3}, "title: expected text, got a number"),
    (
        questionnaire() | {"instructions": {"text": "x"}},
        "instructions: expected text, got a table/object",
    ),
    (
        with_field(choices="Red, Blue"),
        "sections[2].fields[1] 'colour'.choices: expected a list of choices, got a text",
    ),
    (
        with_field(choices=None),
        "sections[2].fields[1] 'colour': choices is required for a choice field (a list of at "
        "least 2)",
    ),
    (
        with_field(choices=["Red"]),
        "sections[2].fields[1] 'colour'.choices: a choice field needs at least 2, got 1",
    ),
    (
        with_field(choices=["Red", 2]),
        "sections[2].fields[1] 'colour'.choices[2]: expected text, got a number",
    ),
    (
        with_field(choices=["Red", " "]),
        "sections[2].fields[1] 'colour'.choices[2]: a choice cannot be empty",
    ),
    (
        with_field(required="true"),
        "sections[2].fields[1] 'colour'.required: expected true or false, got a text",
    ),
    (
        with_field(required=1),
        "sections[2].fields[1] 'colour'.required: expected true or false, got a number",
    ),
    (with_field(label=None), "sections[2].fields[1] 'colour': label is required"),
    (with_field(kind=None), "sections[2].fields[1] 'colour': kind is required"),
    (with_field(help=["a"]), "sections[2].fields[1] 'colour'.help: expected text, got a list"),
    (["x"], "a form definition must be a table/object, got a list"),
    ("x", "a form definition must be a table/object, got a text"),
]


@pytest.mark.parametrize(("data", "message"), MALFORMED, ids=[m for _, m in MALFORMED])
def test_a_malformed_shape_is_named_with_what_was_found(data: object, message: str) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        parse_definition(data)
    assert str(refused.value) == message


def test_a_measures_scale_of_the_wrong_shape() -> None:
    for scale, message in [
        ("0-3", "scale: expected a list of points, got a text"),
        ([{"value": 0, "label": "No"}], "scale: a measure needs at least 2 points"),
        (["No", "Yes"], "scale[1]: expected a table/object with value and label, got a text"),
        ([{"value": "0", "label": "No"}, {"value": 1, "label": "Yes"}],
         "scale[1].value: expected a whole number from 0 to 10, got a text"),
    ]:  # fmt: skip
        data = copy.deepcopy(builtin_forms.PHQ9_DEFINITION) | {"scale": scale}
        with pytest.raises(InvalidDefinition) as refused:
            parse_definition(data, builtin=True)
        assert str(refused.value) == message


FIELD_KEYS = "choices, help, id, kind, label, required"
UNKNOWN = [
    (
        questionnaire() | {"version": 2},
        "version: versions are numbered by FrontDesk when a form is imported; remove this key",
    ),
    (
        with_field(requird=True),
        f"sections[2].fields[1] 'colour': unknown key 'requird' (did you mean 'required'?); the "
        f"keys allowed here are {FIELD_KEYS}",
    ),
    (
        with_field(options=["Red", "Blue"], choices=None),
        f"sections[2].fields[1] 'colour': unknown key 'options' (did you mean 'choices'?); the "
        f"keys allowed here are {FIELD_KEYS}",
    ),
    (
        with_field(colour="red"),
        f"sections[2].fields[1] 'colour': unknown key 'colour'; the keys allowed here are "
        f"{FIELD_KEYS}",
    ),
    (
        about_you(feilds=[]),
        "sections[2]: unknown key 'feilds' (did you mean 'fields'?); the keys allowed here are "
        "fields, text, title",
    ),
    (
        questionnaire() | {"titel": "Mine"},
        "form: unknown key 'titel' (did you mean 'title'?); the keys allowed here are "
        "attribution, document, instructions, key, kind, scale, sections, title",
    ),
]


@pytest.mark.parametrize(("data", "message"), UNKNOWN, ids=[m[:40] for _, m in UNKNOWN])
def test_an_unknown_key_is_refused_with_the_keys_allowed(data: object, message: str) -> None:
    with pytest.raises(InvalidDefinition) as refused:
        parse_definition(data)
    assert str(refused.value) == message


def test_two_fields_with_one_id() -> None:
    data = questionnaire()
    data["sections"].append({"title": "Two", "fields": [{"id": "q", "label": "Again",
                                                         "kind": "long_text"}]})  # fmt: skip
    with pytest.raises(InvalidDefinition, match=r"sections\[2\].fields\[1\] 'q': another field"):
        parse_definition(data)


def test_a_consent_needs_its_signature_fields() -> None:
    data = copy.deepcopy(builtin_forms.CONSENT_DEFINITION)
    data["sections"][0]["fields"] = data["sections"][0]["fields"][:2]
    with pytest.raises(InvalidDefinition, match="relationship"):
        parse_definition(data)
    data = copy.deepcopy(builtin_forms.CONSENT_DEFINITION)
    data["document"] = "  "
    with pytest.raises(InvalidDefinition, match="document: a consent needs"):
        parse_definition(data)


def test_not_a_table() -> None:
    with pytest.raises(InvalidDefinition, match="must be a table/object"):
        parse_definition(["x"])
