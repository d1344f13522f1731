"""Issue 16 in the TUI: the banner every screen shows while email is paused (snapshots at
80×24), the pause and its end seen from another process's store within 2 seconds, and "Retry
email now" on a chart whose invitation email failed (⋮ menu, confirmation, toast)."""

from __future__ import annotations

from sqlmodel import select

from frontdesk.mail.failures import SetupFailure, SetupKind
from frontdesk.services import Services
from screens.action_menu import ActionMenu
from screens.chart_browser import ChartBrowser
from screens.confirm_dialog import ConfirmDialog
from store.models import AuditEvent
from tests.factories import EXPIRED, INVITED, REFUSED_ADDRESS, outbox_rows
from tests.tui.conftest import AppFactory, open_chart, settle
from tests.tui.screen_text import screen_text
from tests.tui.smtp import SmtpServer
from tests.tui.test_flows import SIZE, Told, dialog_text, wait_until
from tests.tui.test_snapshots import Snap, steps

LOGIN_REFUSED = SetupFailure.of(SetupKind.LOGIN, "535 5.7.8 Error: authentication failed")
BANNER = "Email is paused: the mail server refused the login"


def pause(services: Services) -> None:
    services.mail_pauses().pause(LOGIN_REFUSED)


# ------------------------------------------------------------------------------ snapshots


def test_banner_on_the_browser(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    pause(app.services)
    assert snap_compare(app, run_before=steps("down"), terminal_size=(80, 24))


def test_banner_on_a_chart_with_retry_in_its_menu(
    snap_compare: Snap, make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    pause(app.services)
    run = steps(f"chart:{INVITED}", "c", "full_stop")
    assert snap_compare(app, run_before=run, terminal_size=(80, 24))


# ------------------------------------------------------------------------------ flows


async def test_banner_follows_the_stored_pause(make_app: AppFactory, seeded_url: str) -> None:
    """Another process (`frontdesk serve`, the CLI) pauses and resumes: every screen shows it
    within 2 seconds, the desk typing all the while."""
    app = make_app(seeded_url, refresh_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Email is paused" not in screen_text(app)
        other = app.services.at(app.services.clock)
        pause(other)
        assert await wait_until(pilot, lambda: BANNER in screen_text(app), 2)
        await open_chart(pilot, EXPIRED)
        assert BANNER in screen_text(app)
        other.mail_pauses().resume()
        assert await wait_until(pilot, lambda: "Email is paused" not in screen_text(app), 2)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChartBrowser) and "Email is paused" not in screen_text(app)


async def test_retry_email_from_the_menu_sends_the_same_link(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    [failed] = [r for r in outbox_rows(app.services) if r.to_address == REFUSED_ADDRESS]
    assert failed.state == "failed"
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_chart(pilot, INVITED)
        await pilot.press("c")
        await settle(pilot)
        assert "Not delivered: 550 5.1.1 Mailbox unavailable" in screen_text(app)
        await pilot.press("full_stop")
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu)
        assert "Retry email now" in screen_text(app)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        question = dialog_text(app)
        assert f"Send the invitation email to {REFUSED_ADDRESS} again now?" in question
        assert "same link" in question
        await pilot.press("y")
        await settle(pilot)
        assert await wait_until(pilot, lambda: bool(smtp.mailbox.messages), 5)
        await settle(pilot)
        assert "Email sent" in screen_text(app)
    assert told.toasts == [f"Invitation email sent again to {REFUSED_ADDRESS}"]
    [message] = smtp.mailbox.messages
    assert message["Message-ID"] == failed.message_id
    [after] = [r for r in outbox_rows(app.services) if r.id == failed.id]
    assert after.state == "sent"
    with app.services.db.read() as session:
        [audit] = session.exec(select(AuditEvent).where(AuditEvent.action == "email retry")).all()
    assert audit.chart_number == INVITED and audit.actor == app.services.actor


async def test_retry_is_not_offered_without_a_failed_email(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("full_stop")
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu)
        assert "Retry email now" not in screen_text(app)
        await pilot.press("t")  # not offered: the key does nothing
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu)
