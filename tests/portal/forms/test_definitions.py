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
        ({"kind": "choice"}, "sections[1].fields[1] 'q'.choices: a list of at least 2"),
        ({"kind": "choice", "choices": ["a", "a"]}, "'q'.choices: two choices are the same"),
        ({"choices": ["a", "b"]}, "'q'.choices: only choice and multi_choice have choices"),
        ({"required": "yes"}, "'q'.required: true or false"),
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
        ({"sections": []}, "sections: a form needs a list of at least one section"),
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
