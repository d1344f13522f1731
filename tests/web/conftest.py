"""Web fixtures: services with an active practice and one invited chart, a TestClient on the
configured public URL, a real uvicorn server in a thread on a free loopback port, and Debian's
chromium through Playwright (skipped where it is missing, failing under CI)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel import col, select
from starlette.testclient import TestClient

from frontdesk.charts.records import ChartInput
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.services import Services, build_services
from frontdesk.web import create_web_app
from frontdesk.web.server import build_server
from store.models import OutboxEmail
from tests.conftest import T0

PUBLIC_URL = "http://127.0.0.1:8080"
PASSWORD = "maple river quiet lantern"
CHART = "C-1001"
LAST_NAME = "O'Brien"
DOB = "1985-03-04"
EMAIL = "ana@example.com"
LINK_RE = re.compile(r"/register/([A-Za-z0-9_-]{43})")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class CountingHasher:
    """Wraps the real argon2 hasher and counts the work it does (a spy, not a stand-in)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.hashes = 0
        self.verifies = 0

    def hash(self, password: str, **kwargs: Any) -> str:
        self.hashes += 1
        return str(self.real.hash(password, **kwargs))

    def verify(self, stored: str, password: str) -> bool:
        self.verifies += 1
        return bool(self.real.verify(stored, password))

    def check_needs_rehash(self, stored: str) -> bool:
        return bool(self.real.check_needs_rehash(stored))


@pytest.fixture
def argon_counter(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    from frontdesk.access import passwords

    counter = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counter)
    return counter


def make_settings(database_url: str, public_url: str = PUBLIC_URL, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        public_url=public_url,
        smtp_host="127.0.0.1",
        smtp_security="none",
        mail_from="portal@cedar.example",
        **extra,
    )


def prepare(services: Services) -> None:
    """An active practice and chart C-1001 (Ana O'Brien, 1985-03-04) with an invitation."""
    services.practice.update_practice(
        name="Cedar Counseling", phone="(555) 010-0100", portal_active=True
    )
    services.charts.add_chart(ChartInput(CHART, "Ana", LAST_NAME, DOB, EMAIL, "Annie"))
    services.invitations.send_invitation(CHART)


def latest_token(services: Services) -> str:
    """The token in the newest queued invitation email (the only place it exists)."""
    with services.db.read() as session:
        rows = session.exec(select(OutboxEmail).order_by(col(OutboxEmail.id).desc())).all()
    for row in rows:
        match = LINK_RE.search(row.body_text)
        if match:
            return match.group(1)
    raise AssertionError("no registration link in any queued email")


def reset_token(services: Services, to: str = EMAIL) -> str:
    """The token in the newest queued password-reset email to `to`."""
    from frontdesk.core import links

    with services.db.read() as session:
        rows = session.exec(
            select(OutboxEmail)
            .where(OutboxEmail.kind == "password_reset", OutboxEmail.to_address == to)
            .order_by(col(OutboxEmail.id).desc())
        ).all()
    for row in rows:
        found = links.find_reset_token(row.body_text)
        if found:
            return found
    raise AssertionError(f"no password-reset link in any email to {to}")


def wait_for_reset_token(services: Services, to: str = EMAIL, timeout: float = 20) -> str:
    """`reset_token`, waiting for it on a real server: /forgot answers first and queues the
    email after the response, so it can take a moment to appear."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return reset_token(services, to)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def registration(
    last_name: str = LAST_NAME,
    dob: str = DOB,
    password: str = PASSWORD,
    confirm: str | None = None,
) -> dict[str, str]:
    return {
        "last_name": last_name,
        "date_of_birth": dob,
        "password": password,
        "password_confirm": password if confirm is None else confirm,
    }


def open_and_post(client: Any, token: str, fields: dict[str, str], **kwargs: Any) -> Any:
    """GET the link (for its CSRF token and pre-session cookie), then POST the form."""
    page = client.get(f"/register/{token}")
    assert page.status_code == 200, page.text
    return client.post(
        f"/register/{token}", data={"csrf_token": csrf_of(page.text), **fields}, **kwargs
    )


def sign_in(client: Any, email: str = EMAIL, password: str = PASSWORD, **kwargs: Any) -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "email": email, "password": password},
        follow_redirects=False,
        **kwargs,
    )


def _template(path: Path, *, register: bool) -> Path:
    services = build_services(
        make_settings(f"sqlite:///{path}"), clock=FrozenClock(T0), actor="alice"
    )
    prepare(services)
    if register:
        result = services.registration.register(
            latest_token(services),
            last_name=LAST_NAME,
            date_of_birth=DOB,
            password=PASSWORD,
            password_confirm=PASSWORD,
        )
        assert result.state == "registered"
    services.close()
    for suffix in ("-wal", "-shm"):
        leftover = Path(f"{path}{suffix}")
        assert not leftover.exists() or leftover.stat().st_size == 0
    return path


@pytest.fixture(scope="session")
def prepared_sqlite(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Migrated SQLite files holding `prepare`'s data at T0 (and, in "registered", the owner's
    account), made once per run: copying one is ~20x faster than building it for each test."""
    folder = tmp_path_factory.mktemp("web-templates")
    return {
        "invited": _template(folder / "invited.db", register=False),
        "registered": _template(folder / "registered.db", register=True),
    }


@pytest.fixture
def web_services(
    request: pytest.FixtureRequest,
    prepared_sqlite: dict[str, Path],
    tmp_path: Path,
    clock: FrozenClock,
) -> Iterator[Services]:
    """SQLite services (most web tests) with the practice and an invited chart; when the test
    also asks for `registered`, the owner has registered too."""
    kind = "registered" if "registered" in request.fixturenames else "invited"
    path = tmp_path / "frontdesk.db"
    shutil.copyfile(prepared_sqlite[kind], path)
    services = build_services(make_settings(f"sqlite:///{path}"), clock=clock, actor="alice")
    yield services
    services.close()


@pytest.fixture
def token(web_services: Services) -> str:
    return latest_token(web_services)


def make_client(services: Services, **kwargs: Any) -> TestClient:
    app = create_web_app(services=services)
    return TestClient(app, base_url=services.settings.public_url, **kwargs)


@pytest.fixture
def client(web_services: Services) -> Iterator[TestClient]:
    with make_client(web_services) as test_client:
        yield test_client


@pytest.fixture
def registered(web_services: Services) -> Services:
    """The chart's owner has registered (ana@example.com, PASSWORD)."""
    assert web_services.views.chart(CHART).status.label == "Active"
    return web_services


# ------------------------------------------------------------------------------------------
# What a check needs from the machine: skipped where it is missing, a failure under CI
# ------------------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def missing(reason: str) -> None:
    """Skip the test for `reason`; under CI (the CI variable set) fail it instead: CI must
    have every tool the suite uses (.ci/run installs them)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must have it: see .ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright (never `playwright install`)."""
    if not CHROMIUM.exists():
        missing("/usr/bin/chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


# ------------------------------------------------------------------------------------------
# A real uvicorn server in a thread
# ------------------------------------------------------------------------------------------


class _ReadyServer(uvicorn.Server):
    """uvicorn.Server that signals once it is listening."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@dataclass
class LiveServer:
    url: str
    services: Services
    server: uvicorn.Server

    def client(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("follow_redirects", True)
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)


def free_socket() -> socket.socket:
    """A bound loopback socket on a free port for uvicorn. IPPROTO_TCP is named: asyncio sets
    TCP_NODELAY only on sockets whose proto says TCP, and without it each keep-alive response
    (headers and body written apart) waits ~40 ms for the client's delayed ACK."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def live_server(database_url: str, clock: FrozenClock, **settings: Any) -> Iterator[LiveServer]:
    """Services whose public URL is a real uvicorn server on a free 127.0.0.1 port."""
    sock = free_socket()
    port = sock.getsockname()[1]
    services = build_services(
        make_settings(database_url, f"http://127.0.0.1:{port}", **settings),
        clock=clock,
        actor="alice",
    )
    app = create_web_app(services=services)
    built = build_server(app, services, host="127.0.0.1", port=port)
    server = _ReadyServer(built.config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert server.ready.wait(20), "uvicorn did not start"
        yield LiveServer(f"http://127.0.0.1:{port}", services, server)
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
        services.close()
