"""The form library on SQLite and PostgreSQL: the built-ins on a fresh database, versions
(a task keeps its version), measures not editable, packages."""

from __future__ import annotations

import copy

import pytest

from frontdesk.core.errors import InvalidInput, NotAllowed, NotFound
from frontdesk.portal import builtin_forms
from frontdesk.portal.form_definitions import FieldKind
from frontdesk.services import Services
from store.states import FormKind
from tests.portal.conftest import ACTIVE_CHART, Client

ATTRIBUTION = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)
SCALE = ["Not at all", "Several days", "More than half the days", "Nearly every day"]


def test_builtins_exist_on_a_fresh_database(services: Services) -> None:
    forms = {f.key: f for f in services.forms.forms()}
    assert set(forms) == {"consent", "intake", "phq-9", "gad-7"}
    assert {k: (f.version, f.kind) for k, f in forms.items()} == {
        "consent": (1, FormKind.CONSENT),
        "intake": (1, FormKind.QUESTIONNAIRE),
        "phq-9": (1, FormKind.MEASURE),
        "gad-7": (1, FormKind.MEASURE),
    }
    package = services.forms.package("new-client")
    assert package.form_keys == ("consent", "intake", "phq-9", "gad-7")
    # a second service over the same store adds nothing twice
    again = services.at(services.clock)
    assert len(again.forms.forms()) == 4 and len(again.forms.versions("phq-9")) == 1


def test_the_measures_are_the_manuals(services: Services) -> None:
    phq9 = services.forms.form("phq-9").definition
    assert phq9.attribution == ATTRIBUTION
    assert [p.label for p in phq9.scale] == SCALE and [p.value for p in phq9.scale] == [0, 1, 2, 3]
    assert [i.label for i in phq9.items] == list(builtin_forms.PHQ9_ITEMS)
    assert phq9.items[8].label == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    difficulty = phq9.field("difficulty")
    assert difficulty is not None and not difficulty.required and not difficulty.scored
    gad7 = services.forms.form("gad-7").definition
    assert [i.label for i in gad7.items] == list(builtin_forms.GAD7_ITEMS)
    assert len(gad7.items) == 7 and gad7.attribution == ATTRIBUTION


def test_editing_a_form_adds_a_version_and_tasks_keep_theirs(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="intake").tasks[0]
    edited = copy.deepcopy(builtin_forms.INTAKE_DEFINITION)
    edited["title"] = "New client intake"
    edited["sections"][0]["fields"].append(
        {"id": "school", "label": "School", "kind": "short_text", "required": True}
    )
    result = desk.forms.import_form(edited)
    assert result.created and result.form.version == 2
    assert desk.forms.form("intake").info.title == "New client intake"
    assert desk.forms.form("intake", version=1).info.title == "Intake questionnaire"
    # unchanged import: no new version
    assert not desk.forms.import_form(edited).created
    assert [v.version for v in desk.forms.versions("intake")] == [2, 1]
    mine = desk.tasks.client_task(ana, task.id)
    assert mine.form_version == 1 and mine.form.field("school") is None
    assert "form imported" in [row.action for row in desk.audit.audit()]


def test_scored_measures_cannot_be_edited(services: Services) -> None:
    edited = copy.deepcopy(builtin_forms.PHQ9_DEFINITION)
    edited["kind"] = "questionnaire"
    for field in edited["sections"][0]["fields"]:
        field["kind"] = "choice"
        field["choices"] = ["a", "b"]
    with pytest.raises(NotAllowed, match="scored measure and cannot be edited"):
        services.forms.import_form(edited)
    with pytest.raises(NotAllowed, match="cannot be edited"):
        services.forms.import_form(builtin_forms.PHQ9_DEFINITION)
    own_measure = copy.deepcopy(builtin_forms.PHQ9_DEFINITION) | {"key": "my-phq"}
    with pytest.raises(InvalidInput, match="only the built-in measures"):
        services.forms.import_form(own_measure)
    assert len(services.forms.versions("phq-9")) == 1


def test_the_consent_document_is_the_practices(services: Services) -> None:
    edited = copy.deepcopy(builtin_forms.CONSENT_DEFINITION)
    edited["document"] = "Cedar Counseling consent.\n\nSecond paragraph."
    assert services.forms.import_form(edited).form.version == 2
    consent = services.forms.form("consent").definition
    assert consent.document == "Cedar Counseling consent.\n\nSecond paragraph."
    assert consent.field("agree").kind is FieldKind.AGREEMENT  # type: ignore[union-attr]


def test_a_form_cannot_change_kind(services: Services) -> None:
    edited = copy.deepcopy(builtin_forms.INTAKE_DEFINITION)
    edited["kind"] = "consent"
    edited["document"] = "x"
    edited["sections"] = builtin_forms.CONSENT_DEFINITION["sections"]
    with pytest.raises(NotAllowed, match="questionnaire"):
        services.forms.import_form(edited)


def test_packages(services: Services) -> None:
    package = services.forms.set_package(
        "check-in", title=" Check-in ", form_keys=["phq-9", "gad-7"]
    )
    assert (package.title, package.form_keys) == ("Check-in", ("phq-9", "gad-7"))
    changed = services.forms.set_package(
        "new-client", title="New client", form_keys=["consent", "phq-9"]
    )
    assert changed.form_keys == ("consent", "phq-9")
    assert [p.key for p in services.forms.packages()] == ["check-in", "new-client"]
    with pytest.raises(InvalidInput) as unknown:
        services.forms.set_package("x", title="X", form_keys=["nope"])
    assert unknown.value.field == "forms"
    with pytest.raises(InvalidInput):
        services.forms.set_package("x", title="X", form_keys=["phq-9", "phq-9"])
    with pytest.raises(InvalidInput):
        services.forms.set_package("Bad Key", title="X", form_keys=["phq-9"])
    with pytest.raises(InvalidInput):
        services.forms.set_package("x", title="", form_keys=["phq-9"])
    with pytest.raises(NotFound):
        services.forms.package("x")
