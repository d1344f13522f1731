"""Signing in and out: `GET|POST /login` and `POST /logout`.

The rules (accounts, sessions, throttling) are `SignInService`'s; this module writes the words.
A signed-in browser opening the sign-in page goes on to the portal; sign-out is a signed-in
POST behind the session guard.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from frontdesk.access.signin import IDLE_TIMEOUT
from frontdesk.core import links
from frontdesk.core.text import single_line
from frontdesk.services import Services
from frontdesk.web import csrf
from frontdesk.web.guard import ENDED_NOTICE, Guard, SignedIn
from frontdesk.web.pages import Pages

EMAIL_MAX = 320
LOGIN_TEMPLATE = "signin/login.html"
SIGNED_OUT_NOTICE = "signed_out"
CHANGED_NOTICE = "password_changed"  # after a password reset (no automatic sign-in)
NOTICES = {
    SIGNED_OUT_NOTICE: "You have signed out.",
    CHANGED_NOTICE: "Your password was changed. Sign in with the new password.",
    ENDED_NOTICE: (
        "Your session ended. For your security, you're signed out after "
        f"{int(IDLE_TIMEOUT.total_seconds() // 60)} minutes without activity."
    ),
}
NO_MATCH = "That email address and password don't match an account. Check both and try again."


def wait_words(seconds: int) -> str:
    """ "1 second", "45 seconds", "3 minutes": how long a throttled client waits."""
    if seconds < 120:
        return f"{seconds} second" if seconds == 1 else f"{seconds} seconds"
    minutes = (seconds + 59) // 60
    return f"{minutes} minutes"


class SignInRoutes:
    """The sign-in page and sign-out, bound to one set of services."""

    def __init__(self, services: Services, pages: Pages, guard: Guard) -> None:
        self.signin = services.signin
        self.pages = pages
        self.guard = guard

    def routes(self) -> list[BaseRoute]:
        return [
            Route(links.LOGIN, self.login_get, methods=["GET"]),
            Route(links.LOGIN, self.login_post, methods=["POST"]),
            Route(
                links.LOGOUT,
                self.guard.signed_in(self.logout_post, ended_notice=False),
                methods=["POST"],
            ),
        ]

    # ------------------------------------------------------------------ sign-in

    async def login_get(self, request: Request) -> Response:
        if await self.guard.current_session(request) is not None:
            return self.pages.redirect(links.PORTAL)
        await self.pages.refresh_practice()
        notice = NOTICES.get(request.query_params.get("m", ""), "")
        form_token, new_pre = await self.guard.anonymous_form_token(request)
        response = self.guard.forget_session(request, self.login_form(form_token, notice=notice))
        return self.guard.with_pre_cookie(response, new_pre)

    def login_form(
        self,
        form_token: str,
        *,
        status: int = 200,
        email: str = "",
        notice: str = "",
        failure: str = "",
        errors: dict[str, str] | None = None,
    ) -> HTMLResponse:
        context: dict[str, Any] = {
            "title": "Sign in",
            "csrf_field": csrf.CSRF_FIELD,
            "email": email,
            "notice": notice,
            "failure": failure,
            "errors": errors or {},
        }
        if email or failure or errors:
            return self.pages.page(LOGIN_TEMPLATE, status, csrf_token=form_token, **context)
        return self.pages.blank_form(LOGIN_TEMPLATE, (notice,), form_token, status, context)

    async def login_post(self, request: Request) -> Response:
        form = await self.guard.anonymous_form(request)
        if isinstance(form, Response):
            return form
        email = form.text("email", "Email address", max_length=EMAIL_MAX)
        password = form.secret("password", "Password")
        form_token, _ = await self.guard.anonymous_form_token(request)
        shown_email = single_line(email)[:EMAIL_MAX]
        if form.errors:
            return self.login_form(form_token, status=400, email=shown_email, errors=form.errors)
        address = self.guard.client_address(request)
        previous = self.guard.session_id_of(request)
        result = await run_in_threadpool(
            lambda: self.signin.sign_in(
                email, password, client_address=address, previous_session_id=previous
            )
        )
        if result.ok and result.session_id:
            return self.guard.start_session(self.pages.redirect(links.PORTAL), result.session_id)
        if result.throttled:
            wait = result.retry_after
            when = wait_words(wait)
            response = self.login_form(
                form_token,
                status=429,
                email=shown_email,
                failure=(
                    "There have been several unsuccessful attempts to sign in. For your "
                    f"security, please wait {when} and try again."
                ),
            )
            response.headers["Retry-After"] = str(wait)
            return response
        return self.login_form(form_token, status=400, email=shown_email, failure=NO_MATCH)

    # ------------------------------------------------------------------ sign-out

    async def logout_post(self, request: Request, signed: SignedIn) -> Response:
        address = self.guard.client_address(request)
        await run_in_threadpool(
            lambda: self.signin.sign_out(signed.session_id, client_address=address)
        )
        return self.guard.signed_out_redirect(request, SIGNED_OUT_NOTICE)


def routes(services: Services, pages: Pages, guard: Guard) -> list[BaseRoute]:
    """`GET|POST /login`, `POST /logout`."""
    return SignInRoutes(services, pages, guard).routes()
