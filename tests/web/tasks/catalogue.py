"""The forms pages for the page-checks catalogue (tests/web/test_page_checks.py): the list
empty and full, each form kind blank and with errors, a draft saved, a form sent back with
the practice's note, the read-only copies (sent, reviewed, a consent), a refused change
(409), the PHQ-9 item-9 confirmation with the crisis resources, and a practice's own form
(every kind, help texts, section text) blank and with errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from frontdesk.charts.records import ChartInput
from frontdesk.services import Services
from tests.factories import register_chart
from tests.web.conftest import PASSWORD, csrf_of
from tests.web.tasks.conftest import HISTORY_FORM

Keep = Callable[[str, Any, int], None]
CHART = "T-1"
EMAIL = "t1@example.com"
HOSTILE = '<script>alert(1)</script> & "quotes" {{ 7*7 }}\nsecond line'


def keep_task_pages(services: Services, web: Any, keep: Keep) -> None:
    """Sign `web` in as a new registered chart and capture every forms page with `keep`;
    signs it out again (its cookies cleared) at the end."""
    services.charts.add_chart(ChartInput(CHART, "Tess", "Nguyen", "1979-02-03", EMAIL))
    services.invitations.send_invitation(CHART)
    assert register_chart(services, CHART, password=PASSWORD).state == "registered"
    token = csrf_of(web.get("/login").text)
    signed = web.post("/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD})
    assert signed.status_code == 303, signed.text[:300]
    keep("tasks: list, empty", web.get("/portal/tasks"), 200)

    zone = services.practice.zone()
    due = (services.clock.now().astimezone(zone) + timedelta(days=7)).date()
    made = services.tasks.assign(CHART, package_key="new-client", due=due)
    ids = {t.form_key: t.id for t in made.tasks}

    def post(key: str, fields: dict[str, str]) -> Any:
        """POST the form (and follow a 303 to the page it sends the browser to)."""
        csrf = csrf_of(web.get("/portal").text)
        answer = web.post(f"/portal/tasks/{ids[key]}", data={"csrf_token": csrf, **fields})
        if answer.status_code == 303:
            return web.get(answer.headers["location"])
        return answer

    for key in ("consent", "intake", "phq-9", "gad-7"):
        keep(f"tasks: {key}, blank", web.get(f"/portal/tasks/{ids[key]}"), 200)
    keep("tasks: consent, errors", post("consent", {"action": "submit", "full_name": " "}), 400)
    keep(
        "tasks: intake, errors",
        post("intake", {"action": "submit", "pronouns": "she/her", "last_physical": "3/4/2024",
                        "preferred_contact-9": "Carrier pigeon"}),
        400,
    )  # fmt: skip
    keep("tasks: intake, sent blank", post("intake", {"action": "submit"}), 400)
    keep(
        "tasks: phq-9, errors",
        post("phq-9", {"action": "submit", "phq9_1": "1", "phq9_2": "7"}),
        400,
    )
    saved = post(
        "intake",
        {"action": "save", "pronouns": "she/her", "reason": HOSTILE,
         "preferred_contact-1": "Phone call", "preferred_contact-3": "Email"},
    )  # fmt: skip
    keep("tasks: intake, draft saved", saved, 200)
    intake = {
        "action": "submit",
        "emergency_contact": "Sam Nguyen 555-0101",
        "reason": HOSTILE,
        "prior_therapy": "yes",
        "last_physical": "2026-05-01",
        "preferred_contact-2": "Text message",
    }
    keep("tasks: intake, sent", post("intake", intake), 200)
    consent = {"action": "submit", "agree": "yes", "full_name": "Tess Nguyen",
               "relationship": "Self"}  # fmt: skip
    assert post("consent", consent).status_code == 200
    services.tasks.review(ids["consent"])
    keep("tasks: consent, reviewed copy", web.get(f"/portal/tasks/{ids['consent']}"), 200)
    keep("tasks: sent form refuses a change (409)", post("intake", intake), 409)
    services.tasks.return_task(ids["intake"], "Please add a phone number we can reach you at.")
    keep("tasks: intake, sent back", web.get(f"/portal/tasks/{ids['intake']}"), 200)
    phq9 = {"action": "submit", **{f"phq9_{n}": "1" for n in range(1, 9)}, "phq9_9": "1"}
    keep("tasks: phq-9, item 9 confirmation", post("phq-9", phq9), 200)
    services.forms.import_form(HISTORY_FORM)
    ids["history"] = services.tasks.assign(CHART, form_key="history").tasks[0].id
    keep("tasks: a practice's own form, blank", web.get(f"/portal/tasks/{ids['history']}"), 200)
    keep(
        "tasks: a practice's own form, errors",
        post("history", {"action": "submit", "moved": "last spring", "pets-9": "Snake"}),
        400,
    )
    keep("tasks: list", web.get("/portal/tasks"), 200)
    keep("portal: with forms to complete", web.get("/portal"), 200)
    web.cookies.clear()
