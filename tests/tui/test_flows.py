"""Pilot flows, keyboard only, against a real SQLite store and a real SMTP server on 127.0.0.1.

Each flow asserts on three things: what the desk sees (screen text, toasts), what the store
holds (through the service), and what the mail server received.
"""

from __future__ import annotations

import gc
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from email.message import Message
from typing import Any

import keyring
import keyring.backend
import pytest
import sqlalchemy as sa
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerState

import store.db
from frontdesk.access.status import PortalStatus
from frontdesk.app import FrontDeskApp
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.mail.outbox import OutboxDelivery
from frontdesk.mail.secrets import smtp_password_provider
from frontdesk.services import Services, build_services
from screens.action_menu import ActionMenu
from screens.actions import ActionFinished, MailSettled
from screens.change_owner_dialog import ChangeOwnerDialog
from screens.chart_browser import PAGE_SIZE, ChartBrowser
from screens.chart_overview import ContactList
from screens.chart_screen import ChartScreen
from screens.chart_table import ChartTable
from screens.confirm_dialog import ConfirmDialog
from store.models import SQLModel
from tests.factories import (
    ACTIVE,
    EXPIRED,
    LOCKED,
    NO_ACCESS,
    T0,
    WITH_GUARDIAN,
    add_numbered_charts,
    register_chart,
    services_for,
    set_up_practice,
    smtp_settings,
)
from tests.tui.conftest import AppFactory, open_chart, seed_store, settle
from tests.tui.screen_text import screen_text
from tests.tui.smtp import SmtpServer

SIZE = (80, 24)
LINK = re.compile(r"http://127\.0\.0\.1:8080/register/([A-Za-z0-9_-]{43})")


def text_body(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")


def store_dump(app: FrontDeskApp) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for "nothing changed" comparisons."""
    with app.services.db.read() as session:
        return {
            table.name: sorted(
                (tuple(str(value) for value in row) for row in session.execute(sa.select(table))),
            )
            for table in SQLModel.metadata.sorted_tables
        }


async def wait_until(pilot: Pilot[object], condition: Callable[[], bool], seconds: float) -> bool:
    """Let the app run until `condition` holds (at most `seconds`)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await pilot.pause(0.05)
    return condition()


class Told:
    """What the app told the desk: the messages that flowed (action outcomes, mail outcomes)."""

    def __init__(self) -> None:
        self.messages: list[object] = []

    def __call__(self, message: object) -> None:
        self.messages.append(message)

    @property
    def toasts(self) -> list[str]:
        said = []
        for message in self.messages:
            if isinstance(message, MailSettled):
                said.append(message.toast()[0])
            elif isinstance(message, ActionFinished):
                if message.error:
                    said.append(message.error)
                elif message.result is not None and message.result.outbox_id is None:
                    said.append(message.result.message)
        return said


def dialog_text(app: FrontDeskApp) -> str:
    """The open dialog's question, as shown (before wrapping)."""
    return str(app.screen.query_one(".dialog-body").visual)


def owner_status(app: FrontDeskApp) -> str:
    return str(app.screen.query_one("#owner-status").visual).strip()


# ---------------------------------------------------------------------------------- actions


async def test_resend_expired_invitation_end_to_end(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("c")
        await settle(pilot)
        assert owner_status(app) == "Expired"

        await pilot.press("full_stop")
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        asked = dialog_text(app)
        assert "Resend the invitation to Ana O'Brien (ana.obrien@example.com)?" in asked
        assert "The link sent on Nov 17, 2026 stops working." in asked
        assert "expires on Dec 3, 2026" in asked

        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
        assert owner_status(app) == "Invited"
        shown = screen_text(app)
        assert "Expires Dec 3, 2026 10:00 AM EST" in shown
        assert "New invitation sent to ana.obrien@example.com" in shown  # the toast, whole address
        assert "Email sent Nov 26, 2026 10:00 AM EST" in shown

    assert len(smtp.mailbox.messages) == 1
    message = smtp.mailbox.messages[0]
    assert message["To"].endswith("<ana.obrien@example.com>") or message["To"] == (
        "ana.obrien@example.com"
    )
    match = LINK.search(text_body(message))
    assert match, "the email carries a registration link built from the configured base URL"
    assert app.services.registration.inspect_token(match.group(1)).state == "valid"
    chart = app.services.views.chart(EXPIRED)
    assert chart.status.status is PortalStatus.INVITED
    assert chart.expires_at == T0 + timedelta(days=7)
    assert chart.sent_by == "alice"


async def test_revoke_access(make_app: AppFactory, seeded_url: str, smtp: SmtpServer) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, ACTIVE)
        await pilot.press("full_stop")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert "any open portal session ends now" in dialog_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert owner_status(app) == "No Portal Access"
        assert "Portal access revoked for Smith [/], Liam" in screen_text(app)
    assert app.services.views.chart(ACTIVE).status.status is PortalStatus.NO_PORTAL_ACCESS
    revoked = [row for row in app.services.audit.history(ACTIVE) if row.action == "access revoked"]
    assert [row.actor for row in revoked] == ["alice"]
    assert smtp.mailbox.messages == []  # revoking sends nothing


async def test_change_ownership_to_a_new_guardian(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    """Add the guardian in the form (an invalid email and a likely typo are caught at the
    field first), confirm, and the guardian is invited at once."""
    app = make_app(seeded_url, smtp_port=smtp.port)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, NO_ACCESS)
        await pilot.press("full_stop")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ChangeOwnerDialog)
        await pilot.press("enter")  # "+ Add a related contact…" (the client owns it already)
        await pilot.press(*"Ann Lee", "tab", *"Aunt", "tab", *"ann@")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChangeOwnerDialog), "an invalid email stops here"
        assert "There must be something after the @-sign." in str(
            app.screen.query_one("#email-error").visual
        )
        email = app.screen.query_one("#contact-email", Input)
        assert email.has_focus and email.has_class("-invalid")

        await pilot.press("ctrl+u", *"ann@gmial.com", "enter")
        await settle(pilot)
        assert "Did you mean ann@gmail.com?" in str(app.screen.query_one("#email-error").visual)
        await pilot.press("ctrl+u", *"ann@gmail.com", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        asked = dialog_text(app)
        assert "Make Ann Lee (Aunt) the owner of portal access for Noah Park?" in asked
        assert "An invitation is emailed to ann@gmail.com" in asked

        await pilot.press("y")
        await settle(pilot)
        assert owner_status(app) == "Invited"
        shown = screen_text(app)
        assert "Ann Lee · Aunt" in shown
        assert "ann@gmail.com" in shown

    chart = app.services.views.chart(NO_ACCESS)
    assert (chart.owner.name, chart.owner.relationship) == ("Ann Lee", "Aunt")
    assert chart.owner.email == "ann@gmail.com"
    assert chart.status.status is PortalStatus.INVITED
    assert [m["To"] for m in smtp.mailbox.messages] == ["Ann Lee <ann@gmail.com>"]


async def test_cancel_leaves_everything_unchanged(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    before = store_dump(app)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, EXPIRED)
        for keys in (
            ("full_stop", "escape"),  # the menu, closed
            ("full_stop", "r", "n"),  # resend, n
            ("full_stop", "r", "escape"),  # resend, Escape
            ("full_stop", "v", "enter"),  # revoke: Cancel has the focus there
            ("full_stop", "c", "escape"),  # change ownership, closed
            ("full_stop", "c", "enter", "escape"),  # the new-contact form, closed
        ):
            await pilot.press(*keys)
            await settle(pilot)
            assert isinstance(app.screen, ChartScreen), keys
        assert owner_status(app) == "Expired"
        await pilot.press("escape")
        await open_chart(pilot, WITH_GUARDIAN)
        await pilot.press("full_stop", "c", "enter", "n")  # guardian picked; confirmation refused
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
        assert owner_status(app) == "No Portal Access"
    assert store_dump(app) == before
    assert smtp.mailbox.messages == []


async def test_resend_cooldown_is_refused_with_a_clear_message(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_chart(pilot, LOCKED)
        await pilot.press("full_stop", "r", "y")
        await settle(pilot)
        assert owner_status(app) == "Invited"  # a resend starts fresh
        await pilot.press("full_stop", "r", "y")
        await settle(pilot)
    assert told.toasts[-1] == "alice sent an invitation 0 s ago; wait 61 s before resending."
    resent = [r for r in app.services.audit.history(LOCKED) if r.action == "invitation resent"]
    refused = [r for r in app.services.audit.history(LOCKED) if r.action == "resend refused"]
    assert len(resent) == 1 and len(refused) == 1
    assert len(smtp.mailbox.messages) == 1


async def test_another_desk_resent_first_nothing_is_repeated(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("full_stop", "r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        other_desk = app.services.at(app.services.clock, actor="bob")
        other_desk.invitations.resend_invitation(EXPIRED)
        await pilot.press("y")
        await settle(pilot)
        assert "by bob" in screen_text(app)  # the row shows the other desk's invitation
    assert told.toasts == [
        "bob just changed this invitation (resend at 10:00 AM); nothing was repeated."
    ]
    resent = [r for r in app.services.audit.history(EXPIRED) if r.action == "invitation resent"]
    assert [r.actor for r in resent] == ["bob"]


async def test_mail_server_down_keeps_the_invitation_queued(
    make_app: AppFactory, seeded_url: str
) -> None:
    """Unreachable is a setup failure (issue 16): email pauses, the banner says so on every
    screen, and the invitation waits without spending a try."""
    app = make_app(seeded_url)  # nothing listens on its SMTP port
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("full_stop", "r", "y")
        await settle(pilot)
        banner = "Email is paused: the mail server cannot be reached"
        assert await wait_until(pilot, lambda: banner in screen_text(app), 5)
        assert owner_status(app) == "Invited"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChartBrowser)
        assert banner in screen_text(app)
    assert told.toasts == [
        "Email is paused (the mail server cannot be reached): the invitation is queued and "
        "goes out once the mail server setup is fixed"
    ]
    delivery = app.services.views.chart(EXPIRED).delivery
    assert delivery is not None and delivery.state == "queued"


async def test_keys_work_while_a_slow_mail_server_holds_the_send(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    """The mail server sits on the message (until released); the desk keeps working."""
    smtp.mailbox.gate = threading.Event()
    app = make_app(seeded_url, smtp_port=smtp.port)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("full_stop", "r", "y")
        assert await wait_until(pilot, smtp.mailbox.waiting.is_set, 10)
        sending = [w for w in app.workers if w.group == "portal-actions"]
        assert sending and sending[0].state is WorkerState.RUNNING
        assert "Email: sending…" in screen_text(app)

        await pilot.press("slash", *"gar")
        await pilot.pause()
        assert isinstance(app.screen, ChartBrowser)
        assert app.screen.query_one("#search", Input).value == "gar"
        assert await wait_until(
            pilot,
            lambda: (
                [c.chart_number for c in app.browser.query_one(ChartTable).charts] == ["C-1002"]
            ),
            5,
        )
        assert sending[0].state is WorkerState.RUNNING, "the send is still in flight"

        smtp.mailbox.gate.set()
        await settle(pilot)
        assert sending[0].state is WorkerState.SUCCESS
        assert "New invitation sent to ana.obrien@example.com" in screen_text(app)
    assert len(smtp.mailbox.messages) == 1


async def test_locked_keyring_does_not_block_the_desk(
    seeded_url: str, tui_clock: FrozenClock, smtp: SmtpServer
) -> None:
    """K2: a keyring that never answers is given up on; the email stays queued, said so."""
    release = threading.Event()
    called = threading.Event()

    class StuckKeyring(keyring.backend.KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            called.set()
            release.wait(20)
            return None

        def set_password(self, service: str, username: str, password: str) -> None:
            raise NotImplementedError

        def delete_password(self, service: str, username: str) -> None:
            raise NotImplementedError

    settings = replace(smtp_settings(seeded_url, smtp.port), smtp_username="desk")
    services = services_for(settings, clock=tui_clock)
    delivery = OutboxDelivery(
        services.db, tui_clock, settings, smtp_password_provider(settings, timeout=8.0)
    )
    previous = keyring.get_keyring()
    keyring.set_keyring(StuckKeyring())
    try:
        app = FrontDeskApp(services=services, delivery=delivery.deliver_due)
        told = Told()
        async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
            await open_chart(pilot, EXPIRED)
            await pilot.press("full_stop", "r", "y")
            assert await wait_until(pilot, called.is_set, 5)
            await pilot.press("slash", *"park")
            assert app.screen.query_one("#search", Input).value == "park"
            assert not told.toasts, "the desk typed while the keyring was being waited on"
            # The time box (8 s, long enough that typing under load finishes inside it) ends the
            # wait: the desk is told, and nothing was sent.
            assert await wait_until(pilot, lambda: bool(told.toasts), 20)
            await settle(pilot)
            assert "The invitation is queued but not sent" in screen_text(app)
    finally:
        release.set()
        keyring.set_keyring(previous)
        services.close()
    assert len(told.toasts) == 1
    assert told.toasts[0].startswith("The invitation is queued but not sent: ")
    assert "keyring did not answer within 8 s" in told.toasts[0]
    assert smtp.mailbox.messages == []
    delivery_state = services.views.chart(EXPIRED).delivery
    assert delivery_state is not None and delivery_state.state == "queued"


async def test_database_busy_is_reported_and_nothing_is_half_written(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D3: another process holds the write lock past the busy timeout."""
    monkeypatch.setattr(store.db, "BUSY_TIMEOUT_MS", 100)
    app = make_app(seeded_url, smtp_port=smtp.port)
    before = store_dump(app)
    path = seeded_url.removeprefix("sqlite:///")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("full_stop", "r")
        await settle(pilot)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            await pilot.press("y")
            await settle(pilot)
            assert "The database is busy — try again in a moment." in screen_text(app)
            assert owner_status(app) == "Expired"
            assert app.screen.check_action("menu", ()) is True, "the menu is usable again"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    assert store_dump(app) == before
    assert smtp.mailbox.messages == []


# ---------------------------------------------------------------------------------- living data


async def test_changes_made_elsewhere_show_within_two_seconds(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    other_desk = app.services.at(app.services.clock, actor="bob")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        table = app.browser.query_one(ChartTable)

        def browser_status(number: str) -> str:
            row = [c for c in table.charts if c.chart_number == number]
            return row[0].status.label if row else ""

        assert browser_status(NO_ACCESS) == "No Portal Access"
        other_desk.invitations.send_invitation(NO_ACCESS)
        assert await wait_until(pilot, lambda: browser_status(NO_ACCESS) == "Invited", 2.0)

        await pilot.press("escape", "down")  # to the results (it also moves: any row will do)
        await open_chart(pilot, WITH_GUARDIAN)
        assert owner_status(app) == "No Portal Access"
        other_desk.invitations.send_invitation(WITH_GUARDIAN)
        assert await wait_until(pilot, lambda: owner_status(app) == "Invited", 2.0)
        # The client registers on the web: the open chart turns Active.
        register_chart(other_desk, WITH_GUARDIAN)
        assert await wait_until(pilot, lambda: owner_status(app) == "Active", 2.0)


# ---------------------------------------------------------------------------------- navigation


async def test_paging_never_loads_every_chart(make_app: AppFactory, sqlite_url: str) -> None:
    app = make_app(sqlite_url)
    set_up_practice(app.services)
    add_numbered_charts(app.services, 120)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.browser.query_one(ChartTable)
        assert table.row_count == PAGE_SIZE
        for _ in range(10):  # page down through the first page, then past its end
            await pilot.press("pagedown")
            await settle(pilot)
            if table.charts[0].chart_number != "P-000":
                break
        assert table.row_count == PAGE_SIZE
        assert table.charts[0].chart_number == f"P-{PAGE_SIZE:03}"
        first, last = PAGE_SIZE + 1, 2 * PAGE_SIZE
        assert f"{first}–{last} of 120 charts" in screen_text(app)
        await pilot.press("up")  # past the top: the previous page, cursor on its last row
        await settle(pilot)
        assert table.charts[0].chart_number == "P-000"
        assert table.highlighted is not None
        assert table.highlighted.chart_number == f"P-{PAGE_SIZE - 1:03}"


async def test_the_table_window_follows_the_cursor_and_the_wheel(
    make_app: AppFactory, sqlite_url: str
) -> None:
    """A page longer than the view: the cursor keeps its row in view, the wheel moves the
    window, a scroll bar shows; a search that fits the view has no bar. Changing the page
    lays nothing out (the table draws its own window)."""
    app = make_app(sqlite_url)
    set_up_practice(app.services)
    add_numbered_charts(app.services, 40)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.browser.query_one(ChartTable)
        table.focus()
        visible = table.content_region.height - 1
        assert table.row_count == PAGE_SIZE > visible
        assert "Doe000" in screen_text(app) and f"Doe{PAGE_SIZE - 1:03}" not in screen_text(app)
        assert table._bar_width == table.styles.scrollbar_size_vertical > 0
        await pilot.press(*("down",) * (PAGE_SIZE - 1))
        await settle(pilot)
        assert table.highlighted is not None
        assert table.highlighted.chart_number == f"P-{PAGE_SIZE - 1:03}"
        assert f"Doe{PAGE_SIZE - 1:03}" in screen_text(app)  # the cursor's row is in view
        assert "Doe000" not in screen_text(app)
        await pilot.press("home")
        await settle(pilot)
        assert "Doe000" in screen_text(app)
        for _ in range(2):
            table.post_message(events.MouseScrollDown(table, 5, 5, 0, 1, 0, False, False, False))
        await settle(pilot)
        assert "Doe000" not in screen_text(app) and "Doe002" in screen_text(app)
        assert table.highlighted.chart_number == "P-000"  # the wheel moves the view only
        app.browser.query_one("#search", Input).focus()
        await settle(pilot)  # the footer shows the search box's keys
        layouts: list[object] = []
        app.screen.screen_layout_refresh_signal.subscribe(table, layouts.append)
        await pilot.press(*"doe01")
        await settle(pilot)
        assert [c.chart_number for c in table.charts] == [f"P-{n:03}" for n in range(10, 20)]
        assert "Doe010" in screen_text(app) and "Doe019" in screen_text(app)
        assert table._bar_width == 0  # all rows fit: no bar
        assert layouts == []  # typing and a shorter page repainted; nothing was laid out


async def test_keys_typed_right_after_slash_reach_the_search_box(
    make_app: AppFactory, seeded_url: str
) -> None:
    """From the results, "/" then a name typed at once (as a terminal delivers a fast typist's
    or a paste's keys, all queued together): every letter lands in the box."""
    from textual import events

    app = make_app(seeded_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.browser.query_one(ChartTable)
        table.focus()
        await settle(pilot)
        for key in ("slash", "p", "a", "r", "k"):
            app.post_message(events.Key(key, "/" if key == "slash" else key))
        await settle(pilot)
        assert app.browser.query_one("#search", Input).value == "park"
        assert [c.last_name for c in table.charts] == ["Park"]


async def test_enter_with_nothing_found_rings_the_bell(
    make_app: AppFactory, seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The footer keeps "Open chart" while typing (redrawing it lays the screen out);
    Enter on an empty result opens nothing and says so with the terminal bell."""
    app = make_app(seeded_url)
    rings: list[bool] = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(True))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"zzzz")
        await settle(pilot)
        assert app.browser.query_one(ChartTable).row_count == 0
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChartBrowser) and rings == [True]
        assert "No charts match “zzzz”." in screen_text(app)


@pytest.mark.postgres
async def test_the_browser_and_a_chart_on_postgresql(make_app: AppFactory, pg_url: str) -> None:
    """Several desks share PostgreSQL: there every page is read on the reader thread. The
    same searches, worklists and chart as on SQLite."""
    seed_store(pg_url)
    app = make_app(pg_url)
    assert not app.services.search.pages_read_in_place
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.browser.query_one(ChartTable)
        assert [c.last_name for c in table.charts] == [
            "García", "Lefèvre", "Müller", "O'Brien", "Park", "Patel", "Smith [/]"
        ]  # fmt: skip
        await pilot.press(*"obri")
        await settle(pilot)
        assert [c.chart_number for c in table.charts] == ["C-1001"]
        await pilot.press("ctrl+u", *"example.com")  # a substring (pg_trgm)
        await settle(pilot)
        assert table.row_count == 7
        await pilot.press("ctrl+u", "tab", "right", "right", "right")  # the Expired worklist
        await settle(pilot)
        assert [c.status.label for c in table.charts] == ["Expired"]
        await pilot.press("tab", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen) and app.screen.chart_number == EXPIRED
        await pilot.press("c")
        await settle(pilot)
        assert "Expired" in screen_text(app) and "Chart Owner" in screen_text(app)


async def test_status_worklist_and_keys(make_app: AppFactory, seeded_url: str) -> None:
    """Tab to the worklist, → to Expired, ↓ Enter opens; Escape back; `p` folds the portal."""
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("tab", "right", "right", "right")
        await settle(pilot)
        table = app.browser.query_one(ChartTable)
        assert [c.status.label for c in table.charts] == ["Expired"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen) and app.screen.chart_number == EXPIRED
        await pilot.press("p")
        await settle(pilot)
        assert app.screen.query_one("#client-portal").collapsed is False  # opened on Comms
        await pilot.press("p")
        assert app.screen.query_one("#client-portal").collapsed is True
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChartBrowser)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_slash_is_the_search_key_in_the_box_and_from_the_results(
    make_app: AppFactory, seeded_url: str
) -> None:
    """In the box `/` selects the query (typing replaces it) instead of typing a slash; from the
    results `/` goes back to the box with the query selected."""
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        search = app.browser.query_one("#search", Input)
        table = app.browser.query_one(ChartTable)
        assert search.has_focus
        await pilot.press(*"gar", "slash")
        await pilot.pause()
        assert search.has_focus
        assert search.value == "gar", "`/` is not typed into the query"
        await pilot.press(*"park")
        await settle(pilot)
        assert search.value == "park", "what is typed after `/` replaces the query"
        assert [c.chart_number for c in table.charts] == [NO_ACCESS]

        await pilot.press("escape")
        assert table.has_focus
        await pilot.press("slash")
        await pilot.pause()
        assert search.has_focus and search.value == "park"
        await pilot.press(*"gar")
        await settle(pilot)
        assert search.value == "gar"
        assert [c.chart_number for c in table.charts] == ["C-1002"]


async def test_the_chart_footer_shows_every_shown_key_whole_at_80_columns(
    make_app: AppFactory, seeded_url: str
) -> None:
    """The footer keys of the issues (Escape back, e Edit chart, c, p, the ⋮ menu; on the
    contact list a / Enter / Delete) and any other key the footer shows fit an 80-column
    terminal, none cut off. `q` still quits from a chart (key panel, palette)."""

    def footer_keys() -> tuple[list[str], str]:
        footer = screen_text(app).splitlines()[-1]
        shown = [
            f"{app.get_key_display(active.binding)} {active.binding.description}"
            for active in app.screen.active_bindings.values()
            if active.binding.show
        ]
        return shown, footer

    app = make_app(seeded_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_chart(pilot, WITH_GUARDIAN)
        shown, footer = footer_keys()
        for hint in ("esc Back", "e Edit", "c Communications", "p Portal", ". ⋮ Menu"):
            assert hint in shown
        for hint in shown:
            assert hint in footer, f"{hint!r} is cut from {footer!r}"
        await pilot.press("tab")  # to the contact list
        await settle(pilot)
        assert isinstance(app.focused, ContactList)
        shown, footer = footer_keys()
        for hint in ("a Add contact", "⏎ Edit contact", "del Remove", "esc Back"):
            assert hint in shown
        for hint in shown:
            assert hint in footer, f"{hint!r} is cut from {footer!r}"
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_command_palette_offers_the_chart_actions(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Resend")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Resend the invitation to Ana O'Brien" in dialog_text(app)
        await pilot.press("n", "ctrl+p", *"Worklist: Lock", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ChartBrowser)
        assert [c.chart_number for c in app.browser.query_one(ChartTable).charts] == [LOCKED]


async def test_the_mouse_works_too(make_app: AppFactory, seeded_url: str, smtp: SmtpServer) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("c")
        await settle(pilot)
        assert await pilot.click("#owner-menu")
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu)
        await pilot.click("#action-options", offset=(4, 1))  # Resend Invite
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert await pilot.click("#confirm")
        await settle(pilot)
        assert owner_status(app) == "Invited"
    assert len(smtp.mailbox.messages) == 1


async def test_unavailable_menu_items_say_why(make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, NO_ACCESS)
        await pilot.press("full_stop", "r")
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu), "a disabled item does not run"
        assert "No invitation to resend; use Activate Portal Access" in screen_text(app)


# ---------------------------------------------------------------------------------- start-up


async def test_services_open_behind_the_first_screen(
    seeded_url: str, tui_clock: FrozenClock
) -> None:
    """Given a factory, the first screen takes keys while the store opens in a worker."""
    opened = threading.Event()

    def open_services() -> Services:
        assert opened.wait(10), "the test lets the store open once the screen is up"
        return services_for(smtp_settings(seeded_url, 25), clock=tui_clock)

    app = FrontDeskApp(services=open_services)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"park")
        assert app.browser.query_one("#search", Input).value == "park"
        assert "Opening the database" in screen_text(app)
        assert not gc.isenabled()  # paused while the database layer loads (see app.py)
        opened.set()
        await settle(pilot)
        charts = app.browser.query_one(ChartTable).charts
        assert [c.chart_number for c in charts] == [NO_ACCESS]  # the search typed meanwhile
        assert gc.isenabled()  # the first page is on screen: collecting again
        # The search's statements were built while the store opened: typing builds none.
        prepared = dict(app.services.search._page_statements)
        assert len(prepared) > 1
        await pilot.press("ctrl+u", *"gar", "backspace", *"rk")
        await settle(pilot)
        assert app.services.search._page_statements == prepared
    app.services.close()


async def test_a_long_search_scrolls_in_its_box(seeded_url: str, tui_clock: FrozenClock) -> None:
    """The box repaints rather than re-laying the screen out on each key; a query longer
    than the box still scrolls so that the cursor and the last letters typed stay in view."""
    services = services_for(smtp_settings(seeded_url, 25), clock=tui_clock)
    app = FrontDeskApp(services=services)
    long_query = "abcdefghij" * 10 + "XYZ"
    async with app.run_test(size=SIZE) as pilot:
        box = app.browser.query_one("#search", Input)
        await pilot.press(*long_query)
        await settle(pilot)
        assert box.value == long_query
        assert box.scroll_offset.x > 0
        assert "XYZ" in screen_text(app)
        await pilot.press("home")
        await settle(pilot)
        assert box.scroll_offset.x == 0
        assert "XYZ" not in screen_text(app)
    services.close()


async def test_a_store_that_cannot_open_is_reported() -> None:
    def open_services() -> Services:
        return build_services(Settings(database_url="nonsense://nowhere"))

    app = FrontDeskApp(services=open_services)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        shown = screen_text(app)
        assert "Cannot open the database" in shown
        assert gc.isenabled()  # no page will come: the collector is not left paused
        await pilot.press(*"abc")
        assert app.browser.query_one("#search", Input).value == "abc"


def test_importing_the_app_loads_no_database_layer() -> None:
    """The quick start depends on it: the first screen needs only Textual."""
    probe = (
        "import sys, frontdesk.app; "
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'argon2') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
