"""Registration from the emailed link: `GET /register/<token>` (the form, or a clear page for an
expired / replaced / used / revoked / locked / unknown link) and `POST /register/<token>`.

The rules are `RegistrationService.inspect_token` / `register`; this module writes the words.
Opening a link changes nothing; only the POST can use the invitation up.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from frontdesk.access.outcomes import FormProblem, RegistrationResult, TokenCheck
from frontdesk.core import links
from frontdesk.core.text import single_line
from frontdesk.services import Services
from frontdesk.web import csrf
from frontdesk.web.guard import Guard
from frontdesk.web.pages import LinkPage, Pages

LAST_NAME_MAX = 200
DATE_MAX = 40
FORM_TEMPLATE = "registration/register.html"
DONE_TEMPLATE = "registration/registered.html"


LINK_PAGES: dict[str, LinkPage] = {
    "expired": LinkPage(
        410,
        "This link has expired",
        "Registration links only work for a limited time, and this one has run out.",
        "Ask {practice} to resend your invitation. The new email will have a fresh link.",
    ),
    "replaced": LinkPage(
        410,
        "A newer link was sent to you",
        "{practice} has sent you a more recent invitation, and only the newest link works.",
        "Use the link in the most recent email from {practice}. If you can't find it, check "
        "your spam or junk folder, or ask the practice to resend it.",
    ),
    "used": LinkPage(
        410,
        "You're already registered",
        "This link has already been used to create a Client Portal account.",
        "Sign in with your email address and the password you chose. If you've forgotten "
        "your password, choose \u201cForgot your password?\u201d to get a link for a new one.",
        actions=("login", "forgot"),
    ),
    "revoked": LinkPage(
        410,
        "This link is no longer active",
        "{practice} has withdrawn this invitation.",
        "If you think this is a mistake, contact {practice}; they can send you a new one.",
    ),
    "locked": LinkPage(
        403,
        "This link is locked",
        "There were too many unsuccessful attempts to confirm the client's details, so for "
        "your security this link no longer works.",
        "Contact {practice} and ask them to resend your invitation. The new link will work "
        "straight away.",
    ),
    "unknown": LinkPage(
        404,
        "We can't find this link",
        "This registration link isn't one we recognize.",
        "Check that you opened the whole link from the email (long links sometimes break "
        "across two lines). If it still doesn't work, contact {practice}.",
    ),
}

_FORM_WORDS = {
    ("last_name", FormProblem.MISSING): "Enter your last name.",
    ("date_of_birth", FormProblem.MALFORMED): "Enter your date of birth as YYYY-MM-DD.",
    ("password_confirm", FormProblem.MISMATCH): "The two passwords do not match.",
    ("password", FormProblem.MISSING): "Choose a password.",
}

WRONG_DETAILS = (
    "The last name or date of birth doesn't match the practice's records. Check both and try again."
)


def registration_errors(result: RegistrationResult) -> dict[str, str]:
    """The words at each field of a refused registration form."""
    if result.state == "password":
        return {"password": result.message}
    return {
        name: _FORM_WORDS.get((name, problem), "Check this field.")
        for name, problem in (result.problems or {}).items()
    }


class RegistrationRoutes:
    """The registration link's pages, bound to one set of services."""

    def __init__(self, services: Services, pages: Pages, guard: Guard) -> None:
        self.services = services
        self.registration = services.registration
        self.pages = pages
        self.guard = guard

    def routes(self) -> list[BaseRoute]:
        path = links.register_route()
        return [
            Route(path, self.register_get, methods=["GET"]),
            Route(path, self.register_post, methods=["POST"]),
        ]

    # ------------------------------------------------------------------ opening the link

    async def register_get(self, request: Request) -> Response:
        token = request.path_params["token"]
        check = await self.link_check(token)
        self.pages.remember_practice(check.practice_name, check.practice_phone)
        if check.state != "valid":
            return self.link_page(check.state)
        form_token, new_pre = await self.guard.anonymous_form_token(request)
        response = self.register_form(form_token, for_guardian=check.for_guardian)
        return self.guard.with_pre_cookie(response, new_pre)

    async def link_check(self, token: str) -> TokenCheck:
        """What a link points at. On SQLite this one indexed read runs on the event loop: a
        WAL reader never waits for a lock and the query takes a fraction of a millisecond,
        less than the hop to a worker thread. Other databases are reached over a network, so
        the read goes to a worker thread there."""
        if self.services.db.is_sqlite:
            return self.registration.inspect_token(token)
        result: TokenCheck = await run_in_threadpool(self.registration.inspect_token, token)
        return result

    def link_page(self, state: str) -> HTMLResponse:
        return self.pages.link_page(LINK_PAGES.get(state, LINK_PAGES["unknown"]), state)

    def register_form(
        self,
        form_token: str,
        *,
        for_guardian: bool,
        status: int = 200,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        identity_error: str = "",
        attempts_left: int | None = None,
    ) -> HTMLResponse:
        """The form; `attempts_left` is shown only with a wrong-details answer (a refused
        field or a weak password uses no attempt, so it says nothing about attempts)."""
        today = self.services.clock.now().date().isoformat()
        context: dict[str, Any] = {
            "title": "Create your Client Portal account",
            "csrf_field": csrf.CSRF_FIELD,
            "attempts_left": attempts_left,
            "for_guardian": for_guardian,
            "values": values or {},
            "errors": errors or {},
            "identity_error": identity_error,
            "today": today,
        }
        if values or errors or identity_error:
            return self.pages.page(FORM_TEMPLATE, status=status, csrf_token=form_token, **context)
        return self.pages.blank_form(
            FORM_TEMPLATE, (for_guardian, today), form_token, status, context
        )

    # ------------------------------------------------------------------ posting the form

    async def register_post(self, request: Request) -> Response:
        token = request.path_params["token"]
        form = await self.guard.anonymous_form(request)
        if isinstance(form, Response):
            return form
        last_name = form.text("last_name", "Last name", max_length=LAST_NAME_MAX)
        date_of_birth = form.text("date_of_birth", "Date of birth", max_length=DATE_MAX)
        password = form.secret("password", "Password")
        password_confirm = form.secret("password_confirm", "Password again")
        kept = {  # shown back in the form: without control characters, within the caps
            "last_name": single_line(last_name)[:LAST_NAME_MAX],
            "date_of_birth": single_line(date_of_birth)[:DATE_MAX],
        }
        form_token, _ = await self.guard.anonymous_form_token(request)

        if form.errors:
            check: TokenCheck = await run_in_threadpool(self.registration.inspect_token, token)
            self.pages.remember_practice(check.practice_name, check.practice_phone)
            if check.state != "valid":
                return self.link_page(check.state)
            return self.register_form(
                form_token,
                for_guardian=check.for_guardian,
                status=400,
                values=kept,
                errors=form.errors,
            )

        source = f"web:{self.guard.client_address(request)}"[:100]
        result: RegistrationResult = await run_in_threadpool(
            lambda: self.registration.register(
                token,
                last_name=last_name,
                date_of_birth=date_of_birth,
                password=password,
                password_confirm=password_confirm,
                source=source,
            )
        )
        if result.state == "registered":
            return self.pages.page(
                DONE_TEMPLATE,
                title="Your account is ready",
                email=result.account_email or "",
            )
        if result.state in ("wrong_details", "invalid", "password"):
            check = await run_in_threadpool(self.registration.inspect_token, token)
            wrong = result.state == "wrong_details"
            return self.register_form(
                form_token,
                for_guardian=check.for_guardian,
                status=400,
                values=kept,
                errors={} if wrong else registration_errors(result),
                identity_error=WRONG_DETAILS if wrong else "",
                attempts_left=result.attempts_left if wrong else None,
            )
        return self.link_page(result.state)


def routes(services: Services, pages: Pages, guard: Guard) -> list[BaseRoute]:
    """`GET|POST /register/<token>`."""
    return RegistrationRoutes(services, pages, guard).routes()
