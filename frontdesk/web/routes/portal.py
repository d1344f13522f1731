"""The signed-in client's portal: `GET /portal` (behind the session guard) and `GET /`, which
sends a visitor there (and the guard on to sign-in when there is no session).

The portal home shows one tile per client feature: messages with its unread count (linking to
`/portal/messages`); the features still to come say "Not available yet", never a number."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from frontdesk.access.signin import IDLE_TIMEOUT
from frontdesk.core import links
from frontdesk.portal.message_reads import ClientMessagePages
from frontdesk.services import Services
from frontdesk.web import csrf
from frontdesk.web.guard import Guard, SignedIn
from frontdesk.web.pages import Pages

HOME_TEMPLATE = "portal/portal.html"
# The portal's features that have no page yet (their issues add them), in the order shown.
COMING = ("Appointment requests", "Documents", "Balance")


class PortalRoutes:
    """The portal's pages. Each is behind `Guard.signed_in` and shows only the session's own
    account and chart."""

    def __init__(self, services: Services, pages: Pages, guard: Guard) -> None:
        self.pages = pages
        self.guard = guard
        self.reads = ClientMessagePages(services.db, services.clock, services.messages)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.home, methods=["GET"]),
            Route(links.PORTAL, self.guard.signed_in(self.portal_get), methods=["GET"]),
        ]

    async def home(self, request: Request) -> Response:
        return self.pages.redirect(links.PORTAL)

    async def portal_get(self, request: Request, signed: SignedIn) -> Response:
        active = signed.session
        forms = await run_in_threadpool(self.pages.services.tasks.client_tasks, active)
        messaging = await run_in_threadpool(self.reads.overview, signed.account_id, signed.chart_id)
        return self.pages.page(
            HOME_TEMPLATE,
            title="Your Client Portal",
            session=active,
            first_name=(active.owner_name.split() or [""])[0],
            csrf_field=csrf.CSRF_FIELD,
            csrf_token=active.csrf_token,
            idle_minutes=int(IDLE_TIMEOUT.total_seconds() // 60),
            forms_to_do=len(forms.to_do),
            tasks_url=self.pages.base + links.PORTAL_TASKS,
            messaging=messaging,
            messages_url=self.pages.base + links.PORTAL_MESSAGES,
            coming=COMING,
        )


def routes(services: Services, pages: Pages, guard: Guard) -> list[BaseRoute]:
    """`GET /`, `GET /portal`."""
    return PortalRoutes(services, pages, guard).routes()
