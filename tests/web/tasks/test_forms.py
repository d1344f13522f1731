"""The client's forms pages: the list, each form drawn from its definition, drafts, the
server's checks at submission (errors at the field, the answers kept, nothing stored), the
read-only copy, a sent form that cannot be changed, a returned one that can, the crisis
resources after PHQ-9 item 9, and hostile text shown literally."""

from __future__ import annotations

import re

from sqlmodel import select

from frontdesk.services import Services
from store.models import OutboxEmail
from store.states import TaskState
from tests.web.tasks.conftest import CONSENT_OK, INTAKE_OK, PHQ9_ZEROS, Browser

HOSTILE = '<script>alert("x")</script> & {{ 7*7 }} <b>bold</b>\nline two'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; {{ 7*7 }} &lt;b&gt;bold&lt;/b&gt;"


def state_of(ana: Browser, key: str) -> TaskState:
    return ana.services.tasks.task(ana.tasks[key]).state


def input_tag(html: str, dom_id: str) -> str:
    found = re.search(rf'<(?:input|textarea|select)[^>]*\bid="{re.escape(dom_id)}"[^>]*>', html)
    assert found, f"no input #{dom_id}"
    return found.group(0)


def main_of(html: str) -> str:
    return html.split('<main id="main" class="page">', 1)[1]


# ------------------------------------------------------------------------------ the list


def test_the_list_shows_to_do_and_sent_with_due_dates_and_the_practices_note(
    ana: Browser,
) -> None:
    page = ana.web.get("/portal/tasks")
    assert page.status_code == 200
    to_do, sent = page.text.split('id="done-title"', 1)
    for title in ("Consent for treatment", "Intake questionnaire", "(PHQ-9)", "(GAD-7)"):
        assert title in to_do
    assert to_do.count("Due Dec 10, 2026") == 4
    assert "Forms you send will be listed here" in sent

    assert ana.submit("phq-9", PHQ9_ZEROS).status_code == 303
    assert ana.submit("intake", INTAKE_OK).status_code == 303
    ana.services.tasks.return_task(ana.tasks["intake"], "Please add your <pronouns> too.")
    ana.services.tasks.review(ana.tasks["phq-9"])
    to_do, sent = ana.web.get("/portal/tasks").text.split('id="done-title"', 1)
    assert "Sent back to you" in to_do and "Please add your &lt;pronouns&gt; too." in to_do
    assert "(PHQ-9)" in sent and "Reviewed by the practice" in sent
    assert "Sent Nov 26, 2026 at 10:00 AM EST" in sent  # the practice's zone (New York)


def test_the_portal_home_links_to_the_forms_to_complete(ana: Browser) -> None:
    home = ana.web.get("/portal").text
    assert "<strong>4</strong> to complete" in home
    assert 'href="http://127.0.0.1:8080/portal/tasks"' in home
    assert ana.submit("consent", CONSENT_OK).status_code == 303
    assert "<strong>3</strong> to complete" in ana.web.get("/portal").text


def test_an_empty_list_says_so(registered: Services) -> None:
    from tests.web.conftest import make_client, sign_in

    with make_client(registered) as web:
        assert sign_in(web).status_code == 303
        page = web.get("/portal/tasks").text
        assert "You have no forms to complete right now." in page
        assert "Nothing to complete" in web.get("/portal").text


# ------------------------------------------------------------------------------ each form


def test_each_form_kind_is_drawn_from_its_definition(ana: Browser) -> None:
    intake = ana.web.get(ana.path("intake")).text
    for heading in ("About you", "What brings you in", "Health"):
        assert f"<h2>{heading}</h2>" in intake
    assert 'type="text" id="f-pronouns" name="pronouns"' in intake
    assert input_tag(intake, "f-reason").startswith("<textarea")
    assert 'type="date" id="f-last_physical"' in intake
    assert 'type="checkbox" id="f-preferred_contact-2" name="preferred_contact-2"' in intake
    assert 'type="radio" id="f-prior_therapy-1" name="prior_therapy" value="yes"' in intake
    assert 'type="radio" id="f-substance_use-3" name="substance_use"' in intake
    legend = re.search(r"<legend>Have you seen a counselor.*?</legend>", intake)
    assert legend and "(required)" in legend.group(0)
    assert "Pronouns</label>" in intake  # an optional question is not marked

    phq9 = ana.web.get(ana.path("phq-9")).text
    assert phq9.count('class="question question-scale') == 9
    assert '<span class="item-number">9.</span> Thoughts that you would be better off dead' in phq9
    for n, words in enumerate(
        ("Not at all", "Several days", "More than half the days", "Nearly every day"), start=1
    ):
        assert f'id="f-phq9_9-{n}" name="phq9_9" value="{n - 1}"' in phq9
        assert f'<label for="f-phq9_9-{n}">{words}</label>' in phq9
    assert 'id="f-difficulty-1" name="difficulty" value="Not difficult at all"' in phq9
    assert "No permission required" in phq9  # the attribution

    consent = ana.web.get(ana.path("consent")).text
    assert '<h2 id="document-title">Please read</h2>' in consent
    assert "Confidentiality. What you tell your clinician" in consent  # the document, whole
    assert "consent to treatment." in consent
    assert 'type="checkbox" id="f-agree" name="agree" value="yes"' in consent
    assert '<label for="f-agree">I have read and agree' in consent
    relationship = input_tag(consent, "f-relationship")
    assert relationship.startswith("<select")
    for choice in ("Self", "Parent", "Legal guardian", "Other"):
        assert f'<option value="{choice}">{choice}</option>' in consent


def test_a_draft_is_saved_without_checks_and_shown_again(ana: Browser) -> None:
    saved = ana.save(
        "intake",
        {"pronouns": "she/her", "reason": "Half of my answer",
         "preferred_contact-1": "Phone call", "preferred_contact-3": "Email",
         "last_physical": "2025-04-01"},
    )  # fmt: skip
    assert saved.status_code == 303
    assert saved.headers["location"].endswith(f"{ana.path('intake')}?m=saved")
    task = ana.services.tasks.task(ana.tasks["intake"])
    assert task.state is TaskState.IN_PROGRESS
    assert task.answers["preferred_contact"] == ["Phone call", "Email"]
    page = ana.web.get(saved.headers["location"]).text
    assert 'role="status">Draft saved Nov 26, 2026 at 10:00 AM EST.' in page
    assert 'value="she/her"' in page and ">Half of my answer</textarea>" in page
    assert (
        'id="f-preferred_contact-1" name="preferred_contact-1" value="Phone call" checked' in page
    )
    assert 'value="Text message" checked' not in page
    assert 'value="2025-04-01"' in page
    reload = ana.web.get(ana.path("intake")).text  # a plain reload: the draft, no notice
    assert ">Half of my answer</textarea>" in reload and "Draft saved." not in reload
    assert "Draft saved" in ana.web.get("/portal/tasks").text


def test_submit_checks_required_fields_on_the_server_and_keeps_the_answers(
    ana: Browser,
) -> None:
    response = ana.submit(
        "intake", {"pronouns": "they/them", "reason": "Typed text", "last_physical": "3/4/2024"}
    )
    assert response.status_code == 400
    page = response.text
    assert "<title>Error: Intake questionnaire" in page
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert 'href="#f-emergency_contact"' in summary
    assert 'href="#f-prior_therapy-1"' in summary  # a radio group links to its first radio
    assert 'href="#f-last_physical"' in summary
    assert 'href="#f-reason"' not in summary  # answered
    tag = input_tag(page, "f-emergency_contact")
    assert 'aria-invalid="true"' in tag and 'aria-describedby="f-emergency_contact-error"' in tag
    assert 'id="f-emergency_contact-error"' in page
    radio = input_tag(page, "f-prior_therapy-1")
    assert 'aria-invalid="true"' in radio and "f-prior_therapy-error" in radio
    date = input_tag(page, "f-last_physical")  # kept as typed, in a text box, to correct
    assert 'type="text"' in date and 'value="3/4/2024"' in date
    assert 'value="they/them"' in page and ">Typed text</textarea>" in page
    task = ana.services.tasks.task(ana.tasks["intake"])
    assert task.state is TaskState.ASSIGNED and task.answers == {}  # nothing stored

    blank = ana.submit("intake", {})
    assert blank.status_code == 400 and blank.text.count('aria-invalid="true"') >= 3


def test_the_consent_needs_the_agreement_the_name_and_the_relationship(ana: Browser) -> None:
    response = ana.submit("consent", {"full_name": "Ana O'Brien", "relationship": "Cousin"})
    assert response.status_code == 400
    page = response.text
    assert 'href="#f-agree"' in page and "Tick “I have read and agree” to sign." in page
    assert 'href="#f-relationship"' in page and 'href="#f-full_name"' not in page
    assert 'value="Ana O&#39;Brien"' in page
    assert state_of(ana, "consent") is TaskState.ASSIGNED
    assert ana.submit("consent", CONSENT_OK).status_code == 303
    assert state_of(ana, "consent") is TaskState.SUBMITTED


def test_the_consent_asks_for_the_typed_name_as_its_signature(ana: Browser) -> None:
    response = ana.submit("consent", {**CONSENT_OK, "full_name": "  "})
    assert response.status_code == 400
    page = response.text
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'href="#f-([a-z_]+)', summary) == ["full_name"]
    assert "Your full name: Type your full name to sign." in summary
    error = page.split('id="f-full_name-error"', 1)[1].split("</p>", 1)[0]
    assert error.endswith("Type your full name to sign.")
    tag = input_tag(page, "f-full_name")
    assert 'aria-invalid="true"' in tag and 'aria-describedby="f-full_name-error"' in tag
    assert "Answer this question." not in page
    assert state_of(ana, "consent") is TaskState.ASSIGNED


def test_every_measure_item_is_required(ana: Browser) -> None:
    answers = {**PHQ9_ZEROS, "phq9_4": "", "phq9_7": "9"}
    del answers["phq9_2"]
    response = ana.submit("phq-9", answers)
    assert response.status_code == 400
    summary = response.text.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'href="#f-(phq9_\d)-1"', summary) == ["phq9_2", "phq9_4", "phq9_7"]
    assert "2. Feeling down, depressed, or hopeless" in summary
    assert 'id="f-phq9_1-1" name="phq9_1" value="0" checked' in response.text  # kept
    assert state_of(ana, "phq-9") is TaskState.ASSIGNED


def test_save_then_submit_then_the_read_only_copy(ana: Browser) -> None:
    assert ana.save("intake", {"reason": "Started"}).status_code == 303
    sent = ana.submit("intake", {**INTAKE_OK, "preferred_contact-4": "Portal message"})
    assert sent.status_code == 303 and sent.headers["location"].endswith("?m=sent")
    page = ana.web.get(sent.headers["location"]).text
    assert "Your form was sent to the practice." in page
    assert '<form method="post" action="http://127.0.0.1:8080/portal/tasks' not in page
    assert "<input" not in main_of(page).split("</main>")[0]
    assert "Trouble sleeping since the move." in page and "Portal message" in page
    assert "Not answered" in page  # the optional questions left blank
    assert "Next form: Consent for treatment" in page
    assert "crisis" not in page
    task = ana.services.tasks.task(ana.tasks["intake"])
    assert task.state is TaskState.SUBMITTED and task.answers["reason"] == INTAKE_OK["reason"]
    again = ana.web.get(ana.path("intake")).text  # later: the copy, no notice
    assert "Trouble sleeping since the move." in again and "Your form was sent" not in again


def test_a_sent_form_cannot_be_changed_and_a_returned_one_can(ana: Browser) -> None:
    assert ana.submit("intake", INTAKE_OK).status_code == 303
    for action in ("save", "submit"):
        refused = ana.post(ana.path("intake"), {"action": action, **INTAKE_OK, "reason": "New"})
        assert refused.status_code == 409
        assert "can no longer be changed. Nothing was changed." in refused.text
        assert "Trouble sleeping since the move." in refused.text
    assert ana.services.tasks.task(ana.tasks["intake"]).answers["reason"] == INTAKE_OK["reason"]

    ana.services.tasks.return_task(ana.tasks["intake"], "Please add\na phone number.")
    page = ana.web.get(ana.path("intake")).text
    assert "The practice sent this form back to you" in page
    assert "Their note: Please add a phone number." in page
    assert ">Trouble sleeping since the move.</textarea>" in page  # the answers to change
    assert ana.save("intake", {**INTAKE_OK, "reason": "Sleep"}).status_code == 303
    drafted = ana.web.get(ana.path("intake")).text  # the note stays while they correct it
    assert "Their note: Please add a phone number." in drafted
    assert "Please add a phone number." in ana.web.get("/portal/tasks").text
    changed = ana.submit("intake", {**INTAKE_OK, "reason": "Sleep, and a new job."})
    assert changed.status_code == 303
    task = ana.services.tasks.task(ana.tasks["intake"])
    assert task.state is TaskState.SUBMITTED and task.answers["reason"] == "Sleep, and a new job."

    ana.services.tasks.review(ana.tasks["intake"])
    assert ana.save("intake", INTAKE_OK).status_code == 409
    assert "Reviewed by the practice" in ana.web.get(ana.path("intake")).text


def test_line_breaks_as_browsers_post_them_are_kept(ana: Browser) -> None:
    """A browser posts a textarea's line breaks as CR LF: they are line breaks, not refused
    control characters."""
    sent = ana.submit("intake", {**INTAKE_OK, "reason": "First line\r\nSecond line\rThird"})
    assert sent.status_code == 303, sent.text
    reason = ana.services.tasks.task(ana.tasks["intake"]).answers["reason"]
    assert reason == "First line\nSecond line\nThird"
    assert "First line\nSecond line\nThird</dd>" in ana.web.get(ana.path("intake")).text


def test_an_unknown_action_is_refused(ana: Browser) -> None:
    assert ana.post(ana.path("phq-9"), {"action": "delete", **PHQ9_ZEROS}).status_code == 400
    assert ana.post(ana.path("phq-9"), PHQ9_ZEROS).status_code == 400
    assert state_of(ana, "phq-9") is TaskState.ASSIGNED


def test_a_long_answer_in_any_script_fits_the_form(ana: Browser) -> None:
    long_reason = "漢字" * 5000  # 10,000 characters, ~90 KB posted: over the account forms' cap
    sent = ana.submit("intake", {**INTAKE_OK, "reason": long_reason})
    assert sent.status_code == 303
    assert ana.services.tasks.task(ana.tasks["intake"]).answers["reason"] == long_reason


# ------------------------------------------------------------------------------ item 9


def test_phq9_item_9_shows_crisis_resources_first_and_emails_nothing(ana: Browser) -> None:
    with ana.services.db.read() as session:
        before = len(session.exec(select(OutboxEmail)).all())
    sent = ana.submit("phq-9", {**PHQ9_ZEROS, "phq9_9": "1"})
    assert sent.status_code == 303
    page = main_of(ana.web.get(sent.headers["location"]).text)
    assert page.index('class="crisis"') < page.index("Patient Health Questionnaire")
    assert '<h1 id="crisis-title">Help is available right now</h1>' in page
    assert 'href="tel:988"' in page and 'href="sms:988"' in page
    assert "988 Suicide &amp; Crisis Lifeline" in page
    assert 'href="tel:911"' in page
    assert 'href="tel:5550100100">Call Cedar Counseling at (555) 010-0100</a>' in page
    with ana.services.db.read() as session:
        rows = session.exec(select(OutboxEmail)).all()
    assert len(rows) == before  # nothing of it by email
    assert all("988" not in row.body_text for row in rows)
    task = ana.services.tasks.task(ana.tasks["phq-9"])
    assert task.item9_flag and task.state is TaskState.SUBMITTED


def test_no_crisis_box_when_item_9_is_not_at_all(ana: Browser) -> None:
    sent = ana.submit("phq-9", {**PHQ9_ZEROS, "phq9_1": "3"})
    page = ana.web.get(sent.headers["location"]).text
    assert 'class="crisis"' not in page and "Help is available" not in page


# ------------------------------------------------------------------------------ hostile text


def test_hostile_text_is_shown_literally_in_the_draft_the_errors_and_the_copy(
    ana: Browser,
) -> None:
    assert ana.save("intake", {"reason": HOSTILE, "pronouns": HOSTILE}).status_code == 303
    draft = ana.web.get(ana.path("intake")).text
    assert "<script>" not in draft and "<b>bold</b>" not in draft
    assert ESCAPED + "\nline two</textarea>" in draft
    assert f'value="{ESCAPED} line two"' in draft  # one line: the break became a space
    refused = ana.submit("intake", {"reason": HOSTILE})
    assert refused.status_code == 400 and "<script>" not in refused.text
    assert ESCAPED in refused.text
    assert ana.submit("intake", {**INTAKE_OK, "reason": HOSTILE}).status_code == 303
    copy = ana.web.get(ana.path("intake")).text
    assert "<script>" not in copy and ESCAPED in copy and "49" not in copy


def test_a_form_past_its_due_date_says_so(ana: Browser) -> None:
    from frontdesk.core.clock import FrozenClock
    from tests.web.conftest import sign_in

    clock = ana.services.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(15 * 86400)  # Dec 11: the package was due Dec 10 (the session has ended)
    assert sign_in(ana.web).status_code == 303
    listed = ana.web.get("/portal/tasks").text
    assert listed.count("Overdue: it was due Dec 10, 2026") == 4
    page = ana.web.get(ana.path("gad-7")).text
    assert "This form was due Thursday, December 10, 2026." in page


def test_the_copy_of_a_measure_shows_the_answers_in_words_not_scores(ana: Browser) -> None:
    sent = ana.submit("gad-7", {**{f"gad7_{n}": "2" for n in range(1, 8)}, "gad7_7": "3"})
    page = ana.web.get(sent.headers["location"]).text
    assert "<dt>7. Feeling afraid as if something awful might happen</dt>" in page
    assert page.count(">More than half the days</dd>") == 6
    assert ">Nearly every day</dd>" in page
    assert "2 · " not in page and "15" not in page.split("<main", 1)[1]  # no item or total score


def test_a_practices_own_form_is_drawn_and_checked_generically(ana: Browser) -> None:
    from tests.web.conftest import CHART
    from tests.web.tasks.conftest import HISTORY_FORM

    services = ana.services
    services.forms.import_form(HISTORY_FORM)
    task_id = services.tasks.assign(CHART, form_key="history").tasks[0].id
    path = f"/portal/tasks/{task_id}"
    page = ana.web.get(path).text
    assert '<p class="lead keep-lines">A few questions about your family.</p>' in page
    assert '<p class="keep-lines">Take your time.</p>' in page
    assert "<h2>Household</h2>" in page and "Who lives with you?\nInclude children." in page
    assert page.count("<h2") == 1  # "Household"; the untitled section and no document: none
    household = input_tag(page, "f-household")
    assert 'aria-describedby="f-household-hint"' in household
    pets = input_tag(page, "f-pets-1")
    assert 'aria-describedby="f-pets-how f-pets-hint"' in pets
    assert 'aria-describedby="f-moved-format f-moved-hint"' in input_tag(page, "f-moved")

    refused = ana.post(path, {"action": "submit", "nickname": "Bee", "pets-9": "Snake"})
    assert refused.status_code == 400
    summary = refused.text.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'href="#([^"]+)"', summary) == ["f-household", "f-pets-1"]
    pets = input_tag(refused.text, "f-pets-1")
    assert 'aria-describedby="f-pets-how f-pets-hint f-pets-error"' in pets

    sent = ana.post(
        path,
        {"action": "submit", "household": "Ana 41\r\nLeo 9", "pets-1": "Dog", "pets-2": "Cat",
         "siblings": "yes", "order": "Middle"},
    )  # fmt: skip
    assert sent.status_code == 303
    answers = services.tasks.task(task_id).answers
    assert answers == {
        "household": "Ana 41\nLeo 9",
        "pets": ["Dog", "Cat"],
        "siblings": "yes",
        "order": "Middle",
    }
    copy = ana.web.get(path).text
    assert ">Dog; Cat</dd>" in copy and ">Ana 41\nLeo 9</dd>" in copy
