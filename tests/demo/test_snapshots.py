"""Snapshots of the demo at 80×24: the Demo mailbox (the list and one email with its link) and a
chart screen, whose footer must still show the Demo mailbox key.

Deterministic: frozen clock, fixed emails (fixed links), the welcome toast dismissed. Update with
`pytest tests/demo --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from frontdesk.app import FrontDeskApp
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.demo.data import DEMO_PASSWORD
from frontdesk.demo.stack import DemoInfo, DemoMailbox
from frontdesk.services import Services, build_services
from tests.factories import T0
from tests.tui.conftest import open_chart, settle

Snap = Callable[..., bool]
WEB = "http://127.0.0.1:8080"
TOKEN = "Q" * 20 + "demo" + "Z" * 19  # 43 characters, like a real token
SENDER = "Cedar Counseling <portal@cedar-counseling.example>"


def raw_email(to: str, subject: str, greeting: str, body: str, link: str, at_hours: float) -> bytes:
    message = EmailMessage()
    message["Date"] = format_datetime(T0 - timedelta(hours=at_hours))
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    text = (
        f"Cedar Counseling\n\nHello {greeting},\n\n{body}\n\n{link}\n\n"
        "This link expires on Thursday, December 3 at 10:00 AM.\n\n"
        "To set up your account you will be asked for your last name, your date of birth "
        "and a new password.\n\n"
        "If the link has expired, call Cedar Counseling at (555) 010-0100 and ask for a new one.\n"
    )
    message.set_content(text)
    message.add_alternative(f"<p>Hello {greeting},</p><p><a href='{link}'>Set up</a></p>", "html")
    return message.as_bytes()


def mailbox() -> DemoMailbox:
    box = DemoMailbox(lambda: T0)
    box.add(
        raw_email(
            '"Maria O\'Brien [guardian]" <guardian.c-1001@example.com>',
            "Your Client Portal invitation",
            "Maria",
            "Cedar Counseling invites you to set up your Client Portal account.",
            f"{WEB}/register/{'A' * 43}",
            at_hours=24 * 9,
        )
    )
    box.add(
        raw_email(
            "Gabriel Yamamoto <gabriel.26@example.com>",
            "Your Client Portal account is ready",
            "Gabriel",
            "Your Client Portal account with Cedar Counseling is set up. You can now sign in.",
            f"{WEB}/login",
            at_hours=24 * 20,
        )
    )
    box.add(
        raw_email(
            "Rosa D'Angelo <rosa.8@example.com>",
            "Your new Client Portal link",
            "Rosa",
            "Cedar Counseling sent you a new link to set up your Client Portal account. "
            "Earlier links no longer work.",
            f"{WEB}/register/{TOKEN}",
            at_hours=0,
        )
    )
    return box


@pytest.fixture
def demo_services(demo_copy: Path) -> Iterator[Services]:
    services = build_services(
        Settings(database_url=f"sqlite:///{demo_copy}", public_url=WEB),
        clock=FrozenClock(T0),
        actor="alice",
    )
    yield services
    services.close()


def demo_app(services: Services) -> FrontDeskApp:
    info = DemoInfo(mailbox(), WEB, 2525, DEMO_PASSWORD, "America/New_York")
    app = FrontDeskApp(services=services, delivery=lambda: None, demo=info)
    app.animation_level = "none"
    return app


def steps(*keys: str) -> Callable[[Pilot[object]], Awaitable[None]]:
    async def run(pilot: Pilot[object]) -> None:
        await settle(pilot)
        pilot.app.clear_notifications()
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await pilot.pause()

    return run


def test_demo_mailbox_list(snap_compare: Snap, demo_services: Services) -> None:
    assert snap_compare(demo_app(demo_services), terminal_size=(80, 24), run_before=steps("ctrl+o"))


def test_demo_mailbox_email(snap_compare: Snap, demo_services: Services) -> None:
    assert snap_compare(
        demo_app(demo_services), terminal_size=(80, 24), run_before=steps("ctrl+o", "enter")
    )


def test_demo_chart_screen_footer_shows_the_mailbox_key(
    snap_compare: Snap, demo_services: Services
) -> None:
    async def run(pilot: Pilot[object]) -> None:
        await settle(pilot)
        pilot.app.clear_notifications()
        await open_chart(pilot, "C-1008", typed=False)
        await pilot.pause()

    assert snap_compare(demo_app(demo_services), terminal_size=(80, 24), run_before=run)
