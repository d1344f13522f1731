"""`frontdesk forms ...`, `frontdesk tasks ...` and `charts add --invite --package`, in-process
against SQLite and PostgreSQL, with the client's side done through the real services."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from tests.cli.conftest import SENDS_IT, Cli, add_chart, set_up_practice
from tests.factories import register_chart, services_for
from tests.portal.conftest import client_of

QUESTIONNAIRE = """
key = "school-intake"
title = "School counseling intake"
kind = "questionnaire"

[[sections]]
title = "School"

[[sections.fields]]
id = "school"
label = "Which school do you attend?"
kind = "short_text"
required = true

[[sections.fields]]
id = "grade"
label = "Grade"
kind = "choice"
choices = ["6", "7", "8"]
"""


@pytest.fixture
def desk(db_url: str, clock: FrozenClock) -> Iterator[Services]:
    """The same store's services, for what a client does on the web."""
    built = services_for(db_url, clock=clock)
    yield built
    built.close()


def test_forms_list_show_and_packages(cli: Cli) -> None:
    forms = cli.ok("forms", "list", "--json").json()
    assert [(f["key"], f["version"], f["kind"]) for f in forms] == [
        ("consent", 1, "consent"),
        ("gad-7", 1, "measure"),
        ("intake", 1, "questionnaire"),
        ("phq-9", 1, "measure"),
    ]
    assert {"key", "title", "version", "kind"} <= set(forms[0])
    shown = cli.ok("forms", "show", "phq-9").out
    assert "Little interest or pleasure in doing things" in shown
    assert "0 = Not at all; 1 = Several days; 2 = More than half the days" in shown
    assert "No permission required to reproduce" in shown
    as_json = json.loads(cli.ok("forms", "show", "gad-7", "--json").out)
    assert as_json["key"] == "gad-7" and len(as_json["sections"][0]["fields"]) == 7
    packages = cli.ok("forms", "packages", "list", "--json").json()
    assert packages == [
        {
            "key": "new-client",
            "title": "New client",
            "forms": ["consent", "intake", "phq-9", "gad-7"],
            "updated_at": packages[0]["updated_at"],
            "updated_by": "frontdesk",
        }
    ]
    cli.ok("forms", "packages", "set", "check-in", "--title", "Check-in", "--forms", "phq-9,gad-7")
    keys = [p["key"] for p in cli.ok("forms", "packages", "list", "--json").json()]
    assert keys == ["check-in", "new-client"]
    line = cli.fails("forms", "packages", "set", "x", "--title", "X", "--forms", "phq-9,nope")
    assert line == "frontdesk: error: --forms: No form with key 'nope'."
    assert "No form with key 'nope'" in cli.fails("forms", "show", "nope")


def test_forms_import(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "school.toml"
    path.write_text(QUESTIONNAIRE, encoding="utf-8")
    assert (
        "Form school-intake (School counseling intake) added."
        in cli.ok("forms", "import", str(path)).out
    )
    assert "unchanged (version 1)" in cli.ok("forms", "import", str(path)).out
    path.write_text(QUESTIONNAIRE.replace('"Grade"', '"School grade"'), encoding="utf-8")
    assert "saved as version 2" in cli.ok("forms", "import", str(path)).out
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "key": "x",
                "title": "X",
                "kind": "questionnaire",
                "sections": [{"title": "", "fields": [{"id": "a", "label": "A", "kind": "box"}]}],
            }
        ),
        encoding="utf-8",
    )
    line = cli.fails("forms", "import", str(bad))
    assert line.startswith(
        "frontdesk: error: sections[1].fields[1] 'a'.kind 'box': expected one of"
    )
    bad.write_text("{not json", encoding="utf-8")
    assert "bad.json: not valid JSON" in cli.fails("forms", "import", str(bad))
    phq = tmp_path / "phq.json"
    phq.write_text(cli.ok("forms", "show", "phq-9", "--json").out, encoding="utf-8")
    assert "scored measure and cannot be edited" in cli.fails("forms", "import", str(phq))


def test_forms_import_refuses_a_wrong_shape_or_an_unknown_key_and_adds_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    before = cli.ok("forms", "list", "--json").json()
    question = {"id": "name", "label": "Your name", "kind": "short_text", "required": True}
    form: dict[str, object] = {
        "key": "about",
        "title": "About you",
        "kind": "questionnaire",
        "sections": [{"title": "Welcome", "fields": [question]}],
    }
    path = tmp_path / "about.json"
    cases = [
        (
            {"sections": [{"title": "Welcome", "fields": [question]},
                          {"title": "About you", "fields": "abc"}]},
            "sections[2].fields: expected a list of fields, got a text",
        ),
        ({"sections": "abc"}, "sections: expected a list of sections, got a text"),
        (
            {"version": 3},
            "version: versions are numbered by FrontDesk when a form is imported; remove this key",
        ),
        (
            {"sections": [{"title": "Welcome", "fields": [
                {k: v for k, v in question.items() if k != "required"} | {"requird": True}]}]},
            "sections[1].fields[1] 'name': unknown key 'requird' (did you mean 'required'?); "
            "the keys allowed here are choices, help, id, kind, label, required",
        ),
    ]  # fmt: skip
    for change, message in cases:
        path.write_text(json.dumps(form | change), encoding="utf-8")
        assert cli.fails("forms", "import", str(path)) == f"frontdesk: error: {message}"
    path.write_text("[" * 100_000, encoding="utf-8")
    line = cli.fails("forms", "import", str(path))
    assert line == "frontdesk: error: about.json: nested too deeply to be a form definition"
    assert cli.ok("forms", "list", "--json").json() == before
    assert "form imported" not in cli.ok("audit", "--json").out
    path.write_text(json.dumps(form), encoding="utf-8")  # the same form, well shaped
    assert "Form about (About you) added." in cli.ok("forms", "import", str(path)).out
    assert "form imported" in cli.ok("audit", "--json").out


def test_assign_submit_show_review(cli: Cli, desk: Services) -> None:
    set_up_practice(cli)
    add_chart(cli, "C-1")
    cli.ok("invites", "send", "C-1", "--yes")
    register_chart(desk, "C-1")
    out = cli.ok("tasks", "assign", "C-1", "--package", "new-client", "--due", "2026-12-01").out
    assert "Assigned to chart C-1: Consent for treatment (task 1), Intake questionnaire" in out
    assert "A notice to the client's portal account is queued; " + SENDS_IT in out
    listed = cli.ok("tasks", "list", "C-1", "--json").json()
    assert [(t["form"], t["state"], t["due_date"]) for t in listed] == [
        ("consent", "assigned", "2026-12-01"),
        ("intake", "assigned", "2026-12-01"),
        ("phq-9", "assigned", "2026-12-01"),
        ("gad-7", "assigned", "2026-12-01"),
    ]
    phq = next(t for t in listed if t["form"] == "phq-9")
    answers = {f"phq9_{n}": "3" for n in range(1, 9)} | {"phq9_9": "0"}
    assert desk.tasks.submit(client_of(desk, "C-1"), phq["id"], answers).ok
    shown = cli.ok("tasks", "show", str(phq["id"]), "--json").json()
    assert (shown["state"], shown["score"], shown["severity"]) == ("submitted", 24, "severe")
    assert shown["answers"]["phq9_1"] == "3" and shown["item9_flag"] is False
    people = cli.ok("tasks", "show", str(phq["id"])).out
    assert "24/27 · Severe" in people and "3 · Nearly every day" in people
    assert "reviewed." in cli.ok("tasks", "review", str(phq["id"])).out
    assert cli.ok("tasks", "show", str(phq["id"]), "--json").json()["state"] == "reviewed"
    line = cli.fails("tasks", "review", str(phq["id"]))
    assert line.endswith("is reviewed; only a submitted task can be reviewed.")
    gad = next(t for t in listed if t["form"] == "gad-7")
    assert "cancelled." in cli.ok("tasks", "cancel", str(gad["id"])).out
    assert "only a submitted task can be returned" in cli.fails(
        "tasks", "return", str(gad["id"]), "--reason", "x"
    )
    assert "No task 999." in cli.fails("tasks", "show", "999")


def test_return_needs_a_reason(cli: Cli, desk: Services) -> None:
    set_up_practice(cli)
    add_chart(cli, "C-1")
    cli.ok("invites", "send", "C-1", "--yes")
    register_chart(desk, "C-1")
    cli.ok("tasks", "assign", "C-1", "--form", "gad-7")
    task_id = cli.ok("tasks", "list", "C-1", "--json").json()[0]["id"]
    desk.tasks.submit(client_of(desk, "C-1"), task_id, {f"gad7_{n}": "2" for n in range(1, 8)})
    assert cli("tasks", "return", str(task_id), "--reason", " ").code == 2
    out = cli.ok("tasks", "return", str(task_id), "--reason", "Please redo item 3.").out
    assert "returned to the client" in out
    shown = cli.ok("tasks", "show", str(task_id), "--json").json()
    assert (shown["state"], shown["returned_reason"]) == ("returned", "Please redo item 3.")


def test_assign_errors(cli: Cli) -> None:
    set_up_practice(cli)
    add_chart(cli, "C-1")
    assert cli("tasks", "assign", "C-1").code == 2  # --form or --package
    assert "No chart with number 'C-9'" in cli.fails("tasks", "assign", "C-9", "--form", "phq-9")
    line = cli.fails("tasks", "assign", "C-1", "--form", "phq-9", "--due", "12/01/2026")
    assert line.startswith("frontdesk: error: --due: Due date must be a real date")
    assert "No form package with key 'x'" in cli.fails("tasks", "assign", "C-1", "--package", "x")
    out = cli.ok("tasks", "assign", "C-1", "--form", "phq-9").out
    assert "notice" not in out  # no portal account: no email
    assert "already has that form" in cli.fails("tasks", "assign", "C-1", "--form", "phq-9")


def test_charts_add_with_invitation_and_package(cli: Cli, desk: Services) -> None:
    set_up_practice(cli)
    out = cli.ok(
        "charts", "add", "--number", "C-7", "--first", "Ana", "--last", "Lee",
        "--dob", "1990-01-01", "--email", "ana@example.com", "--invite", "--package", "new-client",
    ).out  # fmt: skip
    assert "Chart C-7 added: Lee, Ana. Forms assigned (new-client): Consent for treatment" in out
    assert "Invitation to ana@example.com queued; " + SENDS_IT in out
    outbox = cli.ok("outbox", "list", "--json").json()
    assert [row["kind"] for row in outbox] == ["invitation"]  # one email, not two
    assert len(cli.ok("tasks", "list", "C-7", "--json").json()) == 4
    result = cli(
        "charts", "add", "--number", "C-8", "--first", "Bo", "--last", "Lee",
        "--dob", "2015-01-01", "--email", "ana@example.com", "--package", "new-client",
    )  # fmt: skip
    assert result.code == 0
    assert "ana@example.com is also on chart(s) C-7" in result.err
    line = cli.fails(
        "charts", "add", "--number", "C-9", "--first", "Cy", "--last", "Lee",
        "--dob", "2015-01-01", "--email", "cy@example.com", "--package", "nope",
    )  # fmt: skip
    assert line == "frontdesk: error: --package: No form package with key 'nope'."
    assert "No chart with number 'C-9'" in cli.fails("charts", "show", "C-9")


def test_an_urgent_submission_in_the_inbox(cli: Cli, desk: Services) -> None:
    set_up_practice(cli)
    add_chart(cli, "C-1")
    cli.ok("invites", "send", "C-1", "--yes")
    register_chart(desk, "C-1")
    cli.ok("tasks", "assign", "C-1", "--form", "phq-9")
    task_id = cli.ok("tasks", "list", "C-1", "--json").json()[0]["id"]
    answers = {f"phq9_{n}": "0" for n in range(1, 9)} | {"phq9_9": "1"}
    assert desk.tasks.submit(client_of(desk, "C-1"), task_id, answers).crisis
    (item,) = cli.ok("inbox", "--kind", "task", "--json").json()
    assert (item["kind"], item["chart_number"], item["urgent"]) == ("task", "C-1", True)
    cli.ok("inbox", "ack", str(item["id"]))
    shown = cli.ok("tasks", "show", str(task_id), "--json").json()
    assert shown["item9_flag"] is True and shown["severity"] == "minimal"
    assert "item 9" in cli.ok("tasks", "show", str(task_id)).out
    cli.ok("tasks", "review", str(task_id))
    assert cli.ok("inbox", "--json").json() == []


def test_inbox_done_on_a_submitted_form_says_it_is_reviewed(cli: Cli, desk: Services) -> None:
    """`inbox done` on a form's item reviews the form (desk/inbox.py): the command says so,
    and the closed list shows each reason once ('done (reviewed)', never 'done (done)')."""
    set_up_practice(cli)
    add_chart(cli, "C-1")
    cli.ok("invites", "send", "C-1", "--yes")
    register_chart(desk, "C-1")
    cli.ok("tasks", "assign", "C-1", "--form", "gad-7")
    task_id = cli.ok("tasks", "list", "C-1", "--json").json()[0]["id"]
    desk.tasks.submit(client_of(desk, "C-1"), task_id, {f"gad7_{n}": "1" for n in range(1, 8)})
    (item,) = cli.ok("inbox", "--kind", "task", "--json").json()
    assert cli.ok("inbox", "done", str(item["id"])).out == (
        f"Inbox item {item['id']} (task, chart C-1) marked done; task {task_id} is reviewed.\n"
    )
    assert cli.ok("tasks", "show", str(task_id), "--json").json()["state"] == "reviewed"
    table = cli.ok("inbox", "--state", "done").out
    assert "done" in table and "done (done)" not in table
