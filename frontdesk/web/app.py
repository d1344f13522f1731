"""The Client Portal web endpoint: the emailed registration link, sign-in, a forgotten password
(`/forgot`, the emailed `/reset/<token>` link), the portal home and the client's messages.

`create_web_app(services)` puts the parts together: one module per capability under
`frontdesk.web.routes` (its route table and handlers), its templates under
`templates/<capability>/`, and the shared parts every route uses: `pages.Pages` (rendering,
error pages, the practice and blank-form caches) and `guard.Guard` (cookies, CSRF, and the one
session guard that gives a signed-in route its account and chart).

Routes call the services only. Blocking work (database, argon2) runs in Starlette's thread pool
so the event loop never waits on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from frontdesk.core import links
from frontdesk.services import Services
from frontdesk.web.guard import Guard
from frontdesk.web.pages import STATIC_DIR, Pages
from frontdesk.web.routes import health, messages, portal, registration, reset, signin, tasks
from frontdesk.web.security import ErrorShield, SecurityHeaders

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class PortalWeb:
    """The parts of one web app (`app.state.web`): its services, pages and guard."""

    services: Services
    pages: Pages
    guard: Guard


def _allowed_hosts(public_url: str, extra: list[str] | None) -> list[str]:
    host = (urlsplit(public_url).hostname or "").lower()
    hosts = [host, *LOOPBACK_HOSTS, *(extra or [])]
    return list(dict.fromkeys(h for h in hosts if h))


def _routes(web: PortalWeb, message_routes: messages.MessageRoutes) -> list[BaseRoute]:
    services, pages, guard = web.services, web.pages, web.guard
    return [
        *portal.routes(services, pages, guard),
        *message_routes.routes(),
        *registration.routes(services, pages, guard),
        *signin.routes(services, pages, guard),
        *reset.routes(services, pages, guard),
        *health.routes(services),
        *tasks.routes(services, pages, guard),
        Mount(links.STATIC, StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def create_web_app(services: Services, *, trusted_hosts: list[str] | None = None) -> Starlette:
    """Build the Starlette app for these services. Only the public URL's host and loopback
    names (plus `trusted_hosts`) are accepted in the Host header."""
    pages = Pages(services)
    web = PortalWeb(services, pages, Guard(services, pages))
    middleware = [
        Middleware(SecurityHeaders, https=web.guard.https),
        Middleware(
            TrustedHostMiddleware,
            allowed_hosts=_allowed_hosts(services.settings.public_url, trusted_hosts),
            www_redirect=False,
        ),
        Middleware(ErrorShield, error_page=pages.error_page),
    ]
    message_routes = messages.MessageRoutes(services, pages, web.guard)
    app = Starlette(
        routes=_routes(web, message_routes),
        middleware=middleware,
        exception_handlers={HTTPException: pages.http_error},
    )
    app.state.web = web
    # Thread views written behind the page (SQLite; None elsewhere): `serve` closes it.
    app.state.message_views = message_routes.reads.views
    return app
