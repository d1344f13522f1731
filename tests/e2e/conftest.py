"""End-to-end fixtures: one store served by a real uvicorn server (tests/web/conftest.py), a
real SMTP server (aiosmtpd, tests/tui/smtp.py), Debian's chromium through Playwright's async
API (the sync API cannot run inside the asyncio loop Textual's `run_test` uses), and the
FrontDesk TUI built on the same store, clock and mail server as a second process would be."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from frontdesk.app import FrontDeskApp
from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from tests.factories import services_for, smtp_settings
from tests.tui.smtp import SmtpServer
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, live_server, missing

SIZE = (80, 24)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def live(sqlite_url: str, clock: FrozenClock, smtp: SmtpServer) -> Iterator[LiveServer]:
    """The portal on a free loopback port, its emails going to `smtp`; an active practice."""
    with live_server(sqlite_url, clock, smtp_port=smtp.port, smtp_timeout=10.0) as server:
        server.services.practice.update_practice(
            name="Cedar Counseling", phone="(555) 010-0100", portal_active=True
        )
        yield server


@pytest.fixture
def desk(live: LiveServer, sqlite_url: str, clock: FrozenClock, smtp: SmtpServer) -> Iterator[Any]:
    """`desk()` → the FrontDesk TUI on the live store (its own services, as the desk's own
    process has), on the same frozen clock, delivering through `smtp`."""
    built: list[Services] = []

    def make() -> FrontDeskApp:
        settings = smtp_settings(sqlite_url, smtp.port, public_url=live.url)
        services = services_for(settings, clock=clock)
        built.append(services)
        app = FrontDeskApp(services=services, refresh_interval=1.0)
        app.animation_level = "none"
        return app

    yield make
    for services in built:
        services.close()


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    """Debian's chromium, headless, through Playwright's async API (never `playwright
    install`)."""
    if not CHROMIUM.exists():
        missing("/usr/bin/chromium is not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()
