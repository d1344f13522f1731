"""A real browser (Debian's chromium through Playwright) against a real uvicorn server:
open link → wrong date of birth → right details → confirmation → sign in → portal → sign out;
forgot the password → the emailed link → wrong date of birth → a new password → the old one
fails, the new one signs in; on a desktop window and on a 375 px phone, with a screenshot of
every page.

Screenshots go to tests/web/artifacts/ (git-ignored) and, when FRONTDESK_TEST_ARTIFACTS is set,
are copied there too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frontdesk.charts.records import ChartInput
from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from tests.factories import register_token
from tests.web.conftest import (
    PASSWORD,
    LiveServer,
    latest_token,
    live_server,
    wait_for_reset_token,
)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).parent / "artifacts"
# Read at import: the suite's autouse fixture clears FRONTDESK_* variables for each test.
EXTRA_ARTIFACTS = os.environ.get("FRONTDESK_TEST_ARTIFACTS")
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1100, "height": 900}


@pytest.fixture
def live(sqlite_url: str, clock: FrozenClock) -> Iterator[LiveServer]:
    with live_server(sqlite_url, clock) as server:
        server.services.practice.update_practice(
            name="Cedar Counseling", phone="(555) 010-0100", portal_active=True
        )
        yield server


class Shots:
    """Takes screenshots, checks the page fits the viewport and saw no CSP violation."""

    def __init__(self, page: Any, prefix: str, width: int) -> None:
        self.page = page
        self.prefix = prefix
        self.width = width
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(message.text))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        # The stylesheet loaded under the CSP (the page background is the theme's).
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(243, 245, 242)", (name, background)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= self.width, f"{name}: {scroll_width}px wide at {self.width}px"
        target = ARTIFACTS / f"{self.prefix}-{name}.png"
        page.screenshot(path=str(target), full_page=True)
        extra = EXTRA_ARTIFACTS
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(target, Path(extra) / target.name)
        assert not [m for m in self.console if "Content Security Policy" in m], self.console


def invite(services: Services, number: str, email: str) -> str:
    services.charts.add_chart(ChartInput(number, "Ana", "O'Brien", "1985-03-04", email, "Annie"))
    services.invitations.send_invitation(number)
    return latest_token(services)


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_register_sign_in_and_sign_out_in_a_real_browser(
    browser: Any, live: LiveServer, size: str, viewport: dict[str, int]
) -> None:
    token = invite(live.services, f"B-{size}", f"ana.{size}@example.com")
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    shots = Shots(page, size, viewport["width"])
    try:
        page.goto(f"{live.url}/register/{token}")
        assert page.title() == "Create your Client Portal account · Cedar Counseling"
        shots.take("1-register")

        page.get_by_label("Last name").fill("O’Brien")
        page.get_by_label("Date of birth").fill("1985-04-03")
        page.get_by_label("Create a password").fill(PASSWORD)
        page.get_by_label("Type the password again").fill(PASSWORD)
        page.get_by_role("button", name="Create my account").click()
        alert = page.get_by_role("alert")
        assert "doesn't match the practice's records" in alert.inner_text()
        assert "4 attempts left" in page.content()
        assert page.get_by_label("Last name").get_attribute("aria-invalid") == "true"
        assert page.get_by_label("Create a password").input_value() == ""  # never echoed
        shots.take("2-wrong-details")

        page.get_by_label("Date of birth").fill("1985-03-04")
        page.get_by_label("Create a password").fill(PASSWORD)
        page.get_by_label("Type the password again").fill(PASSWORD)
        page.get_by_role("button", name="Create my account").click()
        page.get_by_role("heading", name="Your account is ready").wait_for()
        assert f"ana.{size}@example.com" in page.content()
        shots.take("3-registered")

        page.get_by_role("link", name="Sign in").click()
        page.get_by_role("heading", name="Sign in").wait_for()
        shots.take("4-sign-in")
        page.get_by_label("Email address").fill(f"ana.{size}@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Welcome, Ana").wait_for()
        assert page.url == f"{live.url}/portal"
        assert "Cedar Counseling" in page.content()
        shots.take("5-portal")

        page.get_by_role("button", name="Sign out").click()
        page.get_by_text("You have signed out.").wait_for()
        shots.take("6-signed-out")
        page.goto(f"{live.url}/portal")
        assert page.url.startswith(f"{live.url}/login")
    finally:
        context.close()


def test_link_state_pages_fit_a_phone(browser: Any, live: LiveServer, clock: FrozenClock) -> None:
    services = live.services
    expired = invite(services, "E-1", "e1@example.com")
    clock.advance(7 * 86400 + 1)
    replaced = invite(services, "E-2", "e2@example.com")
    clock.advance(61)
    services.invitations.resend_invitation("E-2")
    locked = invite(services, "E-3", "e3@example.com")
    for _ in range(5):
        services.registration.register(
            locked,
            last_name="Nobody",
            date_of_birth="2000-01-01",
            password=PASSWORD,
            password_confirm=PASSWORD,
        )
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    shots = Shots(page, "phone-state", PHONE["width"])
    try:
        for name, path, heading in (
            ("expired", f"/register/{expired}", "This link has expired"),
            ("replaced", f"/register/{replaced}", "A newer link was sent to you"),
            ("locked", f"/register/{locked}", "This link is locked"),
            ("unknown", "/register/not-a-real-link", "We can't find this link"),
            ("not-found", "/no/such/page", "Page not found"),
        ):
            page.goto(f"{live.url}{path}")
            page.get_by_role("heading", name=heading).wait_for()
            assert "(555) 010-0100" in page.content()
            shots.take(name)
    finally:
        context.close()


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_forgot_reset_and_sign_in_with_the_new_password(
    browser: Any, live: LiveServer, clock: FrozenClock, size: str, viewport: dict[str, int]
) -> None:
    services = live.services
    email = f"ana.reset.{size}@example.com"
    token = invite(services, f"R-{size}", email)
    assert register_token(services, token, last_name="O'Brien", date_of_birth="1985-03-04",
                          password=PASSWORD).state == "registered"  # fmt: skip
    new_password = "violet harbor sunrise kettle"
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    shots = Shots(page, f"{size}-reset", viewport["width"])
    try:
        page.goto(f"{live.url}/login")
        page.get_by_role("link", name="Forgot your password?").click()
        page.get_by_role("heading", name="Forgot your password?").wait_for()
        shots.take("1-forgot")
        page.get_by_label("Email address").fill(email)
        page.get_by_role("button", name="Email me a link").click()
        page.get_by_role("heading", name="Check your email").wait_for()
        assert email in page.content()
        shots.take("2-check-your-email")

        link = wait_for_reset_token(services, email)
        page.goto(f"{live.url}/reset/{link}")
        page.get_by_role("heading", name="Choose a new password").wait_for()
        shots.take("3-reset-form")
        page.get_by_label("Date of birth").fill("1985-04-03")
        page.get_by_label("New password", exact=True).fill(new_password)
        page.get_by_label("Type the new password again").fill(new_password)
        page.get_by_role("button", name="Change my password").click()
        alert = page.get_by_role("alert")
        assert "doesn't match the practice's records" in alert.inner_text()
        assert "4 attempts left" in page.content()
        assert page.get_by_label("New password", exact=True).input_value() == ""  # never echoed
        shots.take("4-wrong-date")

        page.get_by_label("Date of birth").fill("1985-03-04")
        page.get_by_label("New password", exact=True).fill(new_password)
        page.get_by_label("Type the new password again").fill(new_password)
        page.get_by_role("button", name="Change my password").click()
        page.get_by_text("Your password was changed. Sign in with the new password.").wait_for()
        assert page.url == f"{live.url}/login?m=password_changed"
        shots.take("5-changed")

        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)  # the old password
        page.get_by_role("button", name="Sign in").click()
        assert "don't match an account" in page.get_by_role("alert").inner_text()
        clock.advance(1)  # the sign-in throttle's first delay
        page.get_by_label("Password").fill(new_password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Welcome, Ana").wait_for()
        assert page.url == f"{live.url}/portal"
        shots.take("6-portal")
    finally:
        context.close()
