"""The Client Portal web endpoint: the emailed registration link, sign-in, and the portal page.

Routes call the services only: `RegistrationService.inspect_token` / `register` (the
invitation rules) and `SignInService` (accounts, sessions, throttling). Blocking work
(database, argon2) runs in Starlette's thread pool so the event loop never waits on it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from frontdesk.access.outcomes import FormProblem, RegistrationResult, TokenCheck
from frontdesk.access.signin import IDLE_TIMEOUT, ActiveSession
from frontdesk.core import tokens
from frontdesk.core.text import single_line
from frontdesk.services import Services
from frontdesk.web import csrf
from frontdesk.web.forms import FormRejected, PostedForm, read_form
from frontdesk.web.security import ErrorShield, SecurityHeaders
from store.db import StoreError

log = logging.getLogger("frontdesk.web")

WEB_DIR = Path(__file__).parent
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
LAST_NAME_MAX = 200
EMAIL_MAX = 320
DATE_MAX = 40
BLANK_FORMS_KEPT = 64
_COOKIE_SAFE = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class LinkPage:
    """How one state of a registration link is explained to the person who opened it."""

    status: int
    title: str
    lead: str
    todo: str
    action: str | None = None  # "login" shows a Sign in button


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
        "your password, contact {practice}.",
        action="login",
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

HTTP_ERRORS = {
    400: ("We couldn't read that form", "Please go back, reload the page and try again."),
    403: ("This page can't be used like that", "Please go back, reload the page and try again."),
    404: ("Page not found", "Check the address, or use the link in your email."),
    405: ("That isn't possible here", "Please go back and use the buttons on the page."),
    413: ("That was too much text", "Please go back, shorten what you typed and try again."),
    415: ("We couldn't read that form", "Please go back, reload the page and try again."),
    500: (
        "Something went wrong on our side",
        "Nothing has been lost. Please try again in a few minutes.",
    ),
    503: (
        "The portal is briefly unavailable",
        "Please try again in a few minutes.",
    ),
}

Handler = Callable[[Request], Awaitable[Response]]


_FORM_WORDS = {
    ("last_name", FormProblem.MISSING): "Enter your last name.",
    ("date_of_birth", FormProblem.MALFORMED): "Enter your date of birth as YYYY-MM-DD.",
    ("password_confirm", FormProblem.MISMATCH): "The two passwords do not match.",
    ("password", FormProblem.MISSING): "Choose a password.",
}


def registration_errors(result: RegistrationResult) -> dict[str, str]:
    """The words at each field of a refused registration form."""
    if result.state == "password":
        return {"password": result.message}
    return {
        name: _FORM_WORDS.get((name, problem), "Check this field.")
        for name, problem in (result.problems or {}).items()
    }


class PortalWeb:
    """The routes, bound to one set of services."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services = services
        self.registration = services.registration
        self.signin = services.signin
        self.https = settings.public_is_https
        self.base = settings.public_base
        self.origin = csrf.public_origin(settings.public_url)
        prefix = "__Host-" if self.https else ""
        self.session_cookie = f"{prefix}fd_session"
        self.pre_cookie = f"{prefix}fd_pre"
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # templates are loaded once (no stat of the file per page)
        )
        css = (WEB_DIR / "static" / "portal.css").read_bytes()
        self.css_url = f"{self.base}/static/portal.css?v={hashlib.sha256(css).hexdigest()[:10]}"
        self._csrf_key: bytes | None = None
        self._token_slot = f"csrf-slot-{secrets.token_hex(16)}"
        self._blank_forms: dict[tuple[object, ...], str] = {}
        # Last practice name/phone seen, for error pages that must not touch the database.
        self._practice = ("", "")

    # ------------------------------------------------------------------ rendering

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.render(template, **context), status_code=status)

    def render(self, template: str, **context: Any) -> str:
        practice_name, practice_phone = self._practice
        values = {
            "base": self.base,
            "css_url": self.css_url,
            "practice_name": practice_name,
            "practice_phone": practice_phone,
            "practice_tel": re.sub(r"[^0-9+]", "", practice_phone),
        }
        values.update(context)
        return self.env.get_template(template).render(values)

    def error_page(self, status: int, incident: str = "", **overrides: str) -> HTMLResponse:
        heading, message = HTTP_ERRORS.get(status, HTTP_ERRORS[400])
        return self.page(
            "error.html",
            status,
            title=overrides.get("heading", heading),
            heading=overrides.get("heading", heading),
            message=overrides.get("message", message),
            incident=incident,
        )

    def csrf_failed(self) -> HTMLResponse:
        return self.error_page(
            403,
            heading="This form has expired",
            message=(
                "For your security, forms only work in the browser tab they were opened in, "
                "with cookies allowed. Go back, reload the page and try again."
            ),
        )

    def link_page(self, state: str) -> HTMLResponse:
        info = LINK_PAGES.get(state, LINK_PAGES["unknown"])
        practice = self._practice[0] or "the practice"
        return self.page(
            "link_state.html",
            info.status,
            title=info.title,
            state=state,
            lead=info.lead.format(practice=practice),
            todo=info.todo.format(practice=practice),
            action=info.action,
        )

    def redirect(self, path: str) -> RedirectResponse:
        return RedirectResponse(f"{self.base}{path}", status_code=303)

    def remember_practice(self, name: str, phone: str) -> None:
        self._practice = (name, phone)

    # ------------------------------------------------------------------ cookies and CSRF

    def _set_cookie(self, response: Response, name: str, value: str) -> None:
        if _COOKIE_SAFE.fullmatch(value):  # our tokens: the header Starlette would write, built
            secure = "; Secure" if self.https else ""  # without SimpleCookie (per request)
            header = f"{name}={value}; HttpOnly; Path=/; SameSite=lax{secure}"
            response.raw_headers.append((b"set-cookie", header.encode("latin-1")))
            return
        response.set_cookie(name, value, path="/", secure=self.https, httponly=True, samesite="lax")

    def _clear_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", secure=self.https, httponly=True, samesite="lax")

    async def csrf_key(self) -> bytes:
        if self._csrf_key is None:
            self._csrf_key = await run_in_threadpool(self.signin.server_secret, csrf.KEY_NAME)
        return self._csrf_key

    async def link_check(self, token: str) -> TokenCheck:
        """What a link points at. On SQLite this one indexed read runs on the event loop: a
        WAL reader never waits for a lock and the query takes a fraction of a millisecond,
        less than the hop to a worker thread. Other databases are reached over a network, so
        the read goes to a worker thread there."""
        if self.services.db.is_sqlite:
            return self.registration.inspect_token(token)
        result: TokenCheck = await run_in_threadpool(self.registration.inspect_token, token)
        return result

    async def anonymous_form_token(self, request: Request) -> tuple[str, str | None]:
        """(token for the form, new pre-session id to set as a cookie or None)."""
        pre_id = request.cookies.get(self.pre_cookie)
        new_id = None
        if not pre_id or not tokens.looks_like_token(pre_id):
            pre_id = new_id = tokens.new_token()
        return csrf.anonymous_token(await self.csrf_key(), pre_id), new_id

    async def anonymous_csrf_ok(self, request: Request, form: PostedForm) -> bool:
        return csrf.anonymous_token_ok(
            await self.csrf_key(),
            request.cookies.get(self.pre_cookie),
            form.values.get(csrf.CSRF_FIELD),
        )

    def with_pre_cookie(self, response: Response, new_pre_id: str | None) -> Response:
        if new_pre_id:
            self._set_cookie(response, self.pre_cookie, new_pre_id)
        return response

    async def posted_form(self, request: Request) -> PostedForm | Response:
        """The form of a POST, or the page refusing it (cross-site, too large, unreadable)."""
        if csrf.is_cross_site(request.headers, self.origin):
            return self.csrf_failed()
        try:
            return await read_form(request)
        except FormRejected as rejected:
            return self.error_page(rejected.status)

    @staticmethod
    def client_address(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    async def current_session(self, request: Request) -> ActiveSession | None:
        cookie = request.cookies.get(self.session_cookie)
        if not cookie:
            return None
        found = await run_in_threadpool(self.signin.session, cookie)
        if found is not None:
            self.remember_practice(found.practice_name, found.practice_phone)
        return found

    def signed_out_redirect(self, request: Request, notice: str | None) -> Response:
        response = self.redirect(f"/login?m={notice}" if notice else "/login")
        if request.cookies.get(self.session_cookie) is not None:
            self._clear_cookie(response, self.session_cookie)
        return response

    # ------------------------------------------------------------------ registration

    async def register_get(self, request: Request) -> Response:
        token = request.path_params["token"]
        check = await self.link_check(token)
        self.remember_practice(check.practice_name, check.practice_phone)
        if check.state != "valid":
            return self.link_page(check.state)
        form_token, new_pre = await self.anonymous_form_token(request)
        response = self.register_form(form_token, check.attempts_left)
        return self.with_pre_cookie(response, new_pre)

    def register_form(
        self,
        form_token: str,
        attempts_left: int,
        *,
        status: int = 200,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        identity_error: str = "",
    ) -> HTMLResponse:
        today = self.services.clock.now().date().isoformat()
        context: dict[str, Any] = {
            "title": "Create your Client Portal account",
            "csrf_field": csrf.CSRF_FIELD,
            "attempts_left": attempts_left,
            "values": values or {},
            "errors": errors or {},
            "identity_error": identity_error,
            "today": today,
        }
        if values or errors or identity_error:
            return self.page("register.html", status=status, csrf_token=form_token, **context)
        return self.blank_form("register.html", (attempts_left, today), form_token, status, context)

    def blank_form(
        self,
        template: str,
        varies_by: tuple[object, ...],
        form_token: str,
        status: int,
        context: dict[str, Any],
    ) -> HTMLResponse:
        """A form nobody has filled in differs between visitors only in its CSRF token: render
        it once per (template, practice, `varies_by`) with a random placeholder, then fill
        the token in."""
        key = (template, *self._practice, *varies_by)
        blank = self._blank_forms.get(key)
        if blank is None:
            blank = self.render(template, csrf_token=self._token_slot, **context)
            if len(self._blank_forms) >= BLANK_FORMS_KEPT:
                self._blank_forms.clear()
            self._blank_forms[key] = blank
        return HTMLResponse(blank.replace(self._token_slot, form_token), status_code=status)

    async def register_post(self, request: Request) -> Response:
        token = request.path_params["token"]
        form = await self.posted_form(request)
        if isinstance(form, Response):
            return form
        if not await self.anonymous_csrf_ok(request, form):
            return self.csrf_failed()
        last_name = form.text("last_name", "Last name", max_length=LAST_NAME_MAX)
        date_of_birth = form.text("date_of_birth", "Date of birth", max_length=DATE_MAX)
        password = form.secret("password", "Password")
        password_confirm = form.secret("password_confirm", "Password again")
        kept = {  # shown back in the form: without control characters, within the caps
            "last_name": single_line(last_name)[:LAST_NAME_MAX],
            "date_of_birth": single_line(date_of_birth)[:DATE_MAX],
        }
        form_token, _ = await self.anonymous_form_token(request)

        if form.errors:
            check: TokenCheck = await run_in_threadpool(self.registration.inspect_token, token)
            self.remember_practice(check.practice_name, check.practice_phone)
            if check.state != "valid":
                return self.link_page(check.state)
            return self.register_form(
                form_token, check.attempts_left, status=400, values=kept, errors=form.errors
            )

        result: RegistrationResult = await run_in_threadpool(
            lambda: self.registration.register(
                token,
                last_name=last_name,
                date_of_birth=date_of_birth,
                password=password,
                password_confirm=password_confirm,
                source=f"web:{self.client_address(request)}"[:100],
            )
        )
        if result.state == "registered":
            return self.page(
                "registered.html",
                title="Your account is ready",
                email=result.account_email or "",
            )
        if result.state == "wrong_details":
            return self.register_form(
                form_token,
                result.attempts_left,
                status=400,
                values=kept,
                identity_error=(
                    "The last name or date of birth doesn't match the practice's records. "
                    "Check both and try again."
                ),
            )
        if result.state in ("invalid", "password"):
            left = (await run_in_threadpool(self.registration.inspect_token, token)).attempts_left
            return self.register_form(
                form_token, left, status=400, values=kept, errors=registration_errors(result)
            )
        return self.link_page(result.state)

    # ------------------------------------------------------------------ sign-in

    async def login_get(self, request: Request) -> Response:
        if await self.current_session(request) is not None:
            return self.redirect("/portal")
        await self.refresh_practice()
        notice = {
            "signed_out": "You have signed out.",
            "ended": (
                "Your session ended. For your security, you're signed out after "
                f"{int(IDLE_TIMEOUT.total_seconds() // 60)} minutes without activity."
            ),
        }.get(request.query_params.get("m", ""), "")
        form_token, new_pre = await self.anonymous_form_token(request)
        response = self.login_form(form_token, notice=notice)
        if request.cookies.get(self.session_cookie) is not None:
            self._clear_cookie(response, self.session_cookie)
        return self.with_pre_cookie(response, new_pre)

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
            return self.page("login.html", status, csrf_token=form_token, **context)
        return self.blank_form("login.html", (notice,), form_token, status, context)

    async def login_post(self, request: Request) -> Response:
        form = await self.posted_form(request)
        if isinstance(form, Response):
            return form
        if not await self.anonymous_csrf_ok(request, form):
            return self.csrf_failed()
        email = form.text("email", "Email address", max_length=EMAIL_MAX)
        password = form.secret("password", "Password")
        form_token, _ = await self.anonymous_form_token(request)
        shown_email = single_line(email)[:EMAIL_MAX]
        if form.errors:
            return self.login_form(form_token, status=400, email=shown_email, errors=form.errors)
        result = await run_in_threadpool(
            lambda: self.signin.sign_in(
                email,
                password,
                client_address=self.client_address(request),
                previous_session_id=request.cookies.get(self.session_cookie),
            )
        )
        if result.ok and result.session_id:
            signed_in = self.redirect("/portal")
            self._set_cookie(signed_in, self.session_cookie, result.session_id)
            return signed_in
        if result.throttled:
            wait = result.retry_after
            when = f"{wait} seconds" if wait < 120 else f"{(wait + 59) // 60} minutes"
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
        return self.login_form(
            form_token,
            status=400,
            email=shown_email,
            failure=(
                "That email address and password don't match an account. Check both and try again."
            ),
        )

    async def logout_post(self, request: Request) -> Response:
        form = await self.posted_form(request)
        if isinstance(form, Response):
            return form
        active = await self.current_session(request)
        if active is None:
            return self.signed_out_redirect(request, None)
        if not csrf.session_token_ok(active.csrf_token, form.values.get(csrf.CSRF_FIELD)):
            return self.csrf_failed()
        await run_in_threadpool(
            lambda: self.signin.sign_out(
                request.cookies.get(self.session_cookie),
                client_address=self.client_address(request),
            )
        )
        return self.signed_out_redirect(request, "signed_out")

    # ------------------------------------------------------------------ the portal

    async def portal_get(self, request: Request) -> Response:
        active = await self.current_session(request)
        if active is None:
            had_cookie = request.cookies.get(self.session_cookie) is not None
            return self.signed_out_redirect(request, "ended" if had_cookie else None)
        return self.page(
            "portal.html",
            title="Your Client Portal",
            session=active,
            first_name=(active.owner_name.split() or [""])[0],
            csrf_field=csrf.CSRF_FIELD,
            csrf_token=active.csrf_token,
            idle_minutes=int(IDLE_TIMEOUT.total_seconds() // 60),
        )

    async def favicon(self, request: Request) -> Response:
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})

    async def home(self, request: Request) -> Response:
        return self.redirect("/portal")

    async def healthz(self, request: Request) -> Response:
        try:
            await run_in_threadpool(self.services.practice.practice)
        except StoreError:
            return PlainTextResponse("database unavailable\n", status_code=503)
        return PlainTextResponse("ok\n")

    async def refresh_practice(self) -> None:
        """Read the practice's name and phone for a page (kept if the database is down)."""
        try:
            if self.services.db.is_sqlite:  # one indexed row, as the link page reads
                name, phone = self.services.practice.practice_contact()
            else:
                name, phone = await run_in_threadpool(self.services.practice.practice_contact)
        except StoreError:
            return
        self.remember_practice(name, phone)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        await self.refresh_practice()
        response = self.error_page(status if status in HTTP_ERRORS else 400)
        if isinstance(exc, HTTPException) and exc.headers:
            allow = exc.headers.get("Allow")
            if allow:
                response.headers["Allow"] = allow
        return response


def _allowed_hosts(public_url: str, extra: list[str] | None) -> list[str]:
    host = (urlsplit(public_url).hostname or "").lower()
    hosts = [host, *LOOPBACK_HOSTS, *(extra or [])]
    return list(dict.fromkeys(h for h in hosts if h))


def create_web_app(services: Services, *, trusted_hosts: list[str] | None = None) -> Starlette:
    """Build the Starlette app for these services. Only the public URL's host and loopback
    names (plus `trusted_hosts`) are accepted in the Host header."""
    web = PortalWeb(services)
    routes = [
        Route("/", web.home, methods=["GET"]),
        Route("/register/{token:path}", web.register_get, methods=["GET"]),
        Route("/register/{token:path}", web.register_post, methods=["POST"]),
        Route("/login", web.login_get, methods=["GET"]),
        Route("/login", web.login_post, methods=["POST"]),
        Route("/logout", web.logout_post, methods=["POST"]),
        Route("/portal", web.portal_get, methods=["GET"]),
        Route("/healthz", web.healthz, methods=["GET"]),
        Route("/favicon.ico", web.favicon, methods=["GET"]),
        Mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders, https=web.https),
        Middleware(
            TrustedHostMiddleware,
            allowed_hosts=_allowed_hosts(services.settings.public_url, trusted_hosts),
            www_redirect=False,
        ),
        Middleware(ErrorShield, error_page=web.error_page),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: web.http_error},
    )
    app.state.web = web
    return app
