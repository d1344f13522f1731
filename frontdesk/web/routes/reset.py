"""Getting back in: `GET|POST /forgot` (ask for a password-reset link) and `GET|POST
/reset/<token>` (the emailed link: the client's date of birth and a new password).

The rules are `PasswordResetService`'s (`request`, `inspect`, `complete`); this module writes
the words.

- `POST /forgot` answers the same page, in the same time, whatever the email is: the answer
  goes out first and the work (`resets.request`: look the address up, throttle, email a link)
  runs after the response, in the thread pool, so neither the words nor the time tell whether
  an account exists. A throttled address gets the same answer too.
- Opening a reset link changes nothing (mail scanners open links); only the POST can use it.
- A wrong date of birth gets one generic error with the attempts left; a refused field or a
  weak password uses no attempt and says nothing about attempts.
- A changed password ends every session of the account (the service does) and sends the
  browser to the sign-in page with a notice: no automatic sign-in (SECURITY.md R5).
"""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from frontdesk.access.outcomes import FormProblem, ResetCheck, ResetResult
from frontdesk.access.reset import LIFETIME, MAX_RESET_FAILURES
from frontdesk.core import links
from frontdesk.core.emails import InvalidEmail, normalize_email
from frontdesk.core.text import single_line
from frontdesk.services import Services
from frontdesk.web import csrf
from frontdesk.web.guard import Guard
from frontdesk.web.pages import LinkPage, Pages
from frontdesk.web.routes.signin import CHANGED_NOTICE, EMAIL_MAX
from store.models import ResetOrigin

DATE_MAX = 40
FORGOT_TEMPLATE = "reset/forgot.html"
SENT_TEMPLATE = "reset/forgot_sent.html"
FORM_TEMPLATE = "reset/reset.html"
CLIENT_LINK_MINUTES = int(LIFETIME[ResetOrigin.CLIENT].total_seconds() // 60)
STAFF_LINK_HOURS = int(LIFETIME[ResetOrigin.STAFF].total_seconds() // 3600)

LINK_PAGES: dict[str, LinkPage] = {
    "expired": LinkPage(
        410,
        "This link has expired",
        f"A link to choose a new password works for {CLIENT_LINK_MINUTES} minutes "
        f"({STAFF_LINK_HOURS} hours when {{practice}} sent it), and this one has run out.",
        "Ask for a new link below, or from the sign-in page (\u201cForgot your password?\u201d). "
        "Your password has not changed.",
        actions=("new_link", "login"),
    ),
    "used": LinkPage(
        410,
        "This link has already been used",
        "Your password was already changed with this link, and each link works only once.",
        "Sign in with your new password. If you've forgotten it again, ask for a new link.",
        actions=("login", "new_link"),
    ),
    "replaced": LinkPage(
        410,
        "A newer link was sent to you",
        "A more recent link to choose a new password was sent after this one, and only the "
        "newest link works.",
        "Use the link in the most recent email about your password. If you can't find it, "
        "check your spam or junk folder, or ask for a new link.",
        actions=("new_link",),
    ),
    "dead": LinkPage(
        403,
        "This link no longer works",
        "For your security, this link has stopped working: there were too many unsuccessful "
        "tries, or your access to the portal has ended.",
        "Contact {practice} for help getting back into your account.",
    ),
    "unknown": LinkPage(
        404,
        "We can't find this link",
        "This link to choose a new password isn't one we recognize.",
        "Check that you opened the whole link from the email (long links sometimes break "
        "across two lines), or ask for a new link.",
        actions=("new_link",),
    ),
}

WRONG_DATE = "The date of birth doesn't match the practice's records. Check it and try again."


def _whose(for_guardian: bool) -> str:
    return "the client's" if for_guardian else "your"


def reset_errors(result: ResetResult, *, for_guardian: bool) -> dict[str, str]:
    """The words at each field of a refused reset form (never an attempts count)."""
    if result.state == "password":
        return {"password": result.message}
    words = {
        ("date_of_birth", FormProblem.MALFORMED): (
            f"Enter {_whose(for_guardian)} date of birth as YYYY-MM-DD, for example 1985-03-04."
        ),
        ("password_confirm", FormProblem.MISMATCH): "The two passwords do not match.",
        ("password", FormProblem.MISSING): "Choose a new password.",
    }
    return {
        name: words.get((name, problem), "Check this field.")
        for name, problem in (result.problems or {}).items()
    }


class ResetRoutes:
    """The forgotten-password pages, bound to one set of services."""

    def __init__(self, services: Services, pages: Pages, guard: Guard) -> None:
        self.services = services
        self.resets = services.resets
        self.pages = pages
        self.guard = guard

    def routes(self) -> list[BaseRoute]:
        path = links.reset_route()
        return [
            Route(links.FORGOT, self.forgot_get, methods=["GET"]),
            Route(links.FORGOT, self.forgot_post, methods=["POST"]),
            Route(path, self.reset_get, methods=["GET"]),
            Route(path, self.reset_post, methods=["POST"]),
        ]

    # ------------------------------------------------------------------ asking for a link

    async def forgot_get(self, request: Request) -> Response:
        await self.pages.refresh_practice()
        form_token, new_pre = await self.guard.anonymous_form_token(request)
        return self.guard.with_pre_cookie(self.forgot_form(form_token), new_pre)

    def forgot_form(
        self,
        form_token: str,
        *,
        status: int = 200,
        email: str = "",
        errors: dict[str, str] | None = None,
    ) -> HTMLResponse:
        context: dict[str, Any] = {
            "title": "Forgot your password?",
            "csrf_field": csrf.CSRF_FIELD,
            "email": email,
            "errors": errors or {},
            "link_minutes": CLIENT_LINK_MINUTES,
        }
        if email or errors:
            return self.pages.page(FORGOT_TEMPLATE, status, csrf_token=form_token, **context)
        return self.pages.blank_form(FORGOT_TEMPLATE, (), form_token, status, context)

    async def forgot_post(self, request: Request) -> Response:
        form = await self.guard.anonymous_form(request)
        if isinstance(form, Response):
            return form
        email = form.text("email", "Email address", max_length=EMAIL_MAX)
        shown = single_line(email)[:EMAIL_MAX].strip()
        if not form.errors:
            try:
                normalize_email(email)
            except InvalidEmail:
                form.errors["email"] = (
                    "Enter your email address in the right format, like name@example.com."
                )
        if form.errors:
            await self.pages.refresh_practice()
            form_token, _ = await self.guard.anonymous_form_token(request)
            return self.forgot_form(form_token, status=400, email=shown, errors=form.errors)
        await self.pages.refresh_practice()
        response = self.pages.page(
            SENT_TEMPLATE,
            title="Check your email",
            email=shown,
            link_minutes=CLIENT_LINK_MINUTES,
        )
        # The answer is on its way before the work starts (a sync callable: the thread pool).
        response.background = BackgroundTask(
            self.resets.request, email, client_address=self.guard.client_address(request)
        )
        return response

    # ------------------------------------------------------------------ opening the link

    async def reset_get(self, request: Request) -> Response:
        token = request.path_params["token"]
        check = await self.link_check(token)
        if check.state != "valid":
            return self.link_page(check.state)
        form_token, new_pre = await self.guard.anonymous_form_token(request)
        response = self.reset_form(form_token, for_guardian=check.for_guardian)
        return self.guard.with_pre_cookie(response, new_pre)

    async def link_check(self, token: str) -> ResetCheck:
        """What a link points at (reads only), remembering the practice for the page."""
        check: ResetCheck = await run_in_threadpool(self.resets.inspect, token)
        self.pages.remember_practice(check.practice_name, check.practice_phone)
        return check

    def link_page(self, state: str) -> HTMLResponse:
        return self.pages.link_page(LINK_PAGES.get(state, LINK_PAGES["unknown"]), state)

    def reset_form(
        self,
        form_token: str,
        *,
        for_guardian: bool,
        status: int = 200,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        date_error: str = "",
        attempts_left: int | None = None,
    ) -> HTMLResponse:
        today = self.services.clock.now().date().isoformat()
        context: dict[str, Any] = {
            "title": "Choose a new password",
            "csrf_field": csrf.CSRF_FIELD,
            "for_guardian": for_guardian,
            "values": values or {},
            "errors": errors or {},
            "date_error": date_error,
            "attempts_left": attempts_left,
            "max_attempts": MAX_RESET_FAILURES,
            "today": today,
        }
        if values or errors or date_error:
            return self.pages.page(FORM_TEMPLATE, status, csrf_token=form_token, **context)
        return self.pages.blank_form(
            FORM_TEMPLATE, (for_guardian, today), form_token, status, context
        )

    # ------------------------------------------------------------------ posting the form

    async def reset_post(self, request: Request) -> Response:
        token = request.path_params["token"]
        form = await self.guard.anonymous_form(request)
        if isinstance(form, Response):
            return form
        date_of_birth = form.text(
            "date_of_birth", "Date of birth", max_length=DATE_MAX, required=False
        )
        password = form.secret("password", "New password")
        password_confirm = form.secret("password_confirm", "New password again")
        kept = {"date_of_birth": single_line(date_of_birth)[:DATE_MAX]}
        form_token, _ = await self.guard.anonymous_form_token(request)

        if form.errors or not date_of_birth.strip():
            check = await self.link_check(token)
            if check.state != "valid":
                return self.link_page(check.state)
            errors = dict(form.errors)
            if not date_of_birth.strip():
                errors.setdefault(
                    "date_of_birth", f"Enter {_whose(check.for_guardian)} date of birth."
                )
            return self.reset_form(
                form_token,
                for_guardian=check.for_guardian,
                status=400,
                values=kept,
                errors=_in_form_order(errors),
            )

        address = self.guard.client_address(request)
        result: ResetResult = await run_in_threadpool(
            lambda: self.resets.complete(
                token,
                date_of_birth=date_of_birth,
                password=password,
                password_confirm=password_confirm,
                client_address=address,
            )
        )
        if result.state == "changed":
            return self.guard.forget_session(
                request, self.pages.redirect(links.login_path(CHANGED_NOTICE))
            )
        if result.state in ("wrong_details", "invalid", "password"):
            check = await self.link_check(token)
            if check.state != "valid":  # e.g. the access ended meanwhile
                return self.link_page(check.state)
            wrong = result.state == "wrong_details"
            return self.reset_form(
                form_token,
                for_guardian=check.for_guardian,
                status=400,
                values=kept,
                errors={} if wrong else reset_errors(result, for_guardian=check.for_guardian),
                date_error=WRONG_DATE if wrong else "",
                attempts_left=result.attempts_left if wrong else None,
            )
        return self.link_page(result.state)


def _in_form_order(errors: dict[str, str]) -> dict[str, str]:
    """The errors in the order of the fields on the page (the summary lists them so)."""
    order = ("date_of_birth", "password", "password_confirm")
    rank = {name: n for n, name in enumerate(order)}
    return {name: errors[name] for name in sorted(errors, key=lambda n: rank.get(n, len(order)))}


def routes(services: Services, pages: Pages, guard: Guard) -> list[BaseRoute]:
    """`GET|POST /forgot`, `GET|POST /reset/<token>`."""
    return ResetRoutes(services, pages, guard).routes()
