"""What a probe or a browser asks for besides pages: `GET /healthz` (can the database be
reached?) and `GET /favicon.ico` (nothing, cacheably)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from frontdesk.core import links
from frontdesk.services import Services
from frontdesk.web.security import FAVICON
from store.db import StoreError


class HealthRoutes:
    def __init__(self, services: Services) -> None:
        self.services = services

    def routes(self) -> list[BaseRoute]:
        return [
            Route(links.HEALTHZ, self.healthz, methods=["GET"]),
            Route(FAVICON, self.favicon, methods=["GET"]),
        ]

    async def healthz(self, request: Request) -> Response:
        """200 "ok" when the practice row can be read; 503 when the database cannot (the
        probe's answer, so it is not an error page)."""
        try:
            await run_in_threadpool(self.services.practice.practice)
        except StoreError:
            return PlainTextResponse("database unavailable\n", status_code=503)
        return PlainTextResponse("ok\n")

    async def favicon(self, request: Request) -> Response:
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})


def routes(services: Services) -> list[BaseRoute]:
    """`GET /healthz`, `GET /favicon.ico`."""
    return HealthRoutes(services).routes()
