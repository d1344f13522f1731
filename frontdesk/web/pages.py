"""Pages of the web endpoint: Jinja rendering, the shared error pages, and the two caches that
keep a page cheap (the practice's name and phone, and blank forms rendered once).

Every capability renders through one `Pages`: `page(template, status, **context)` with its own
template under `templates/<capability>/`; `shared/base.html` gives every page its masthead and
footer. Links in a page come from `frontdesk.core.links` (`login_url`, `logout_url`,
`forgot_url`), always on the configured public base URL, never on a request's Host header.
An emailed link that no longer works (registration, password reset) is explained by
`link_page(LinkPage(...))`: what happened, what to do, and the practice's phone.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from frontdesk.core import links
from frontdesk.services import Services
from store.db import StoreError

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
ERROR_TEMPLATE = "shared/error.html"
LINK_STATE_TEMPLATE = "shared/link_state.html"
BLANK_FORMS_KEPT = 64

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


@dataclass(frozen=True)
class LinkPage:
    """How one state of an emailed link is explained to the person who opened it. `lead` and
    `todo` may name `{practice}`; `actions` are buttons, the first one the main one:
    "login" (Sign in), "forgot" ("Forgot your password?") and "new_link" ("Ask for a new
    link"); the last two open the form that emails a password-reset link."""

    status: int
    title: str
    lead: str
    todo: str
    actions: tuple[str, ...] = ()


class Pages:
    """Rendering for one set of services: templates, the stylesheet's URL, redirects and the
    error pages, with the last practice name and phone seen (error pages must render while the
    database is down)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.base = services.settings.public_base
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # templates are loaded once (no stat of the file per page)
        )
        css = (STATIC_DIR / "portal.css").read_bytes()
        version = hashlib.sha256(css).hexdigest()[:10]
        self.css_url = f"{self.base}{links.STATIC}/portal.css?v={version}"
        self.login_url = f"{self.base}{links.LOGIN}"
        self.logout_url = f"{self.base}{links.LOGOUT}"
        self.forgot_url = f"{self.base}{links.FORGOT}"
        self._token_slot = f"csrf-slot-{secrets.token_hex(16)}"
        self._blank_forms: dict[tuple[object, ...], str] = {}
        # Last practice name/phone seen, for error pages that must not touch the database.
        self._practice = ("", "")

    # ------------------------------------------------------------------ the practice

    @property
    def practice_name(self) -> str:
        return self._practice[0]

    @property
    def practice_contact(self) -> tuple[str, str]:
        """The practice's name and phone as the pages show them now."""
        return self._practice

    def remember_practice(self, name: str, phone: str) -> None:
        self._practice = (name, phone)

    async def refresh_practice(self) -> None:
        """Read the practice's name and phone for a page (kept if the database is down: the
        page is then still shown, with the last name and phone seen)."""
        practice = self.services.practice
        try:
            if self.services.db.is_sqlite:  # one indexed row, as the link page reads
                name, phone = practice.practice_contact()
            else:
                name, phone = await run_in_threadpool(practice.practice_contact)
        except StoreError:
            return
        self.remember_practice(name, phone)

    # ------------------------------------------------------------------ rendering

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.render(template, **context), status_code=status)

    def render(self, template: str, **context: Any) -> str:
        practice_name, practice_phone = self._practice
        values = {
            "css_url": self.css_url,
            "login_url": self.login_url,
            "logout_url": self.logout_url,
            "forgot_url": self.forgot_url,
            "practice_name": practice_name,
            "practice_phone": practice_phone,
            "practice_tel": re.sub(r"[^0-9+]", "", practice_phone),
        }
        values.update(context)
        return self.env.get_template(template).render(values)

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

    def link_page(self, info: LinkPage, state: str) -> HTMLResponse:
        """The page for an emailed link in `state` (expired, used, ...), explained by `info`."""
        practice = self.practice_name or "the practice"
        return self.page(
            LINK_STATE_TEMPLATE,
            info.status,
            title=info.title,
            state=state,
            lead=info.lead.format(practice=practice),
            todo=info.todo.format(practice=practice),
            actions=info.actions,
        )

    def redirect(self, path: str) -> RedirectResponse:
        """A 303 to one of our paths (from `links`), on the configured public base URL."""
        return RedirectResponse(f"{self.base}{path}", status_code=303)

    # ------------------------------------------------------------------ error pages

    def error_page(self, status: int, incident: str = "", **overrides: str) -> HTMLResponse:
        heading, message = HTTP_ERRORS.get(status, HTTP_ERRORS[400])
        return self.page(
            ERROR_TEMPLATE,
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

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's HTTP errors (no such page, method not allowed) as our pages."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        await self.refresh_practice()
        response = self.error_page(status if status in HTTP_ERRORS else 400)
        if isinstance(exc, HTTPException) and exc.headers:
            allow = exc.headers.get("Allow")
            if allow:
                response.headers["Allow"] = allow
        return response
