"""The bulk action in the TUI (issue 12), keyboard only, against a real SQLite store and a real
SMTP server on 127.0.0.1: from the browser in at most 5 keys plus the confirmation; the
confirmation lists who gets an email and, apart, who is skipped and why, before anything is
sent; a progress bar with the count; Escape stops after the current chart; a summary."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, ProgressBar

from frontdesk.access import bulk
from frontdesk.access.outcomes import BulkAction
from frontdesk.access.status import PortalStatus
from frontdesk.app import FrontDeskApp
from screens.bulk_confirm import BulkConfirm
from screens.bulk_list import PeopleList
from screens.bulk_progress import BulkProgress
from screens.bulk_summary import BulkSummary
from screens.chart_browser import ChartBrowser
from screens.chart_table import ChartTable
from tests.factories import LOCKED, NO_ACCESS, WITH_GUARDIAN
from tests.tui.bulk_store import (
    EXPIRED_COUNT,
    GUARDIAN_CHART,
    KEYS_TO_BULK,
    PausedRun,
    expired_charts,
    expired_file,
    expired_url,
    set_chart_email,
)
from tests.tui.conftest import AppFactory, settle
from tests.tui.screen_text import screen_text
from tests.tui.smtp import SmtpServer

__all__ = ["expired_file", "expired_url"]  # fixtures

SIZE = (80, 24)


def text_of(app: FrontDeskApp, selector: str) -> str:
    return str(app.screen.query_one(selector).visual)


def rows_of(app: FrontDeskApp, selector: str) -> list[tuple[str, str]]:
    return app.screen.query_one(selector, PeopleList).rows


def footer(app: FrontDeskApp) -> str:
    return screen_text(app).splitlines()[-1]


async def wait_for(pilot: Pilot[object], condition: Callable[[], bool], seconds: float) -> bool:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await pilot.pause(0.05)
    return condition()


# ------------------------------------------------------------------------ the whole flow


async def test_clear_an_expired_worklist_of_30_charts_keyboard_only(
    make_app: AppFactory, expired_url: str, smtp: SmtpServer
) -> None:
    app = make_app(expired_url, smtp_port=smtp.port)
    charts = {chart.chart_number: chart for chart in expired_charts()}
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.services.search.count_charts(status="expired") == EXPIRED_COUNT
        keys = KEYS_TO_BULK["expired"]
        assert len(keys) <= 5
        await pilot.press(*keys)
        await settle(pilot)

        # The confirmation, before anything is sent: how many, who (name, full address).
        assert isinstance(app.screen, BulkConfirm)
        asked = text_of(app, ".dialog-body")
        assert asked.startswith("Send a new invitation link to 30 charts whose invitation is")
        assert "the new links expire on Dec 3, 2026" in asked
        listed = rows_of(app, "#bulk-send")
        assert len(listed) == EXPIRED_COUNT
        expected = {
            (f"{c.last_name}, {c.first_name}", c.email)
            for n, c in charts.items()
            if n != GUARDIAN_CHART
        }
        assert expected <= set(listed)
        assert ("Dubois, Dev – Mina Costa (Mother)", "mina.costa@example.com") in listed
        assert listed == sorted(listed, key=lambda row: row[0].split(" – ")[0])
        assert "Will be sent (30)" in screen_text(app)
        assert not app.screen.query_one("#bulk-skip").display  # nobody is skipped
        assert smtp.mailbox.messages == []  # nothing sent yet

        # The list scrolls from the keyboard (Tab to it, ↓).
        await pilot.press("tab")
        people = app.screen.query_one("#bulk-send", PeopleList)
        if not people.has_focus:
            await pilot.press("tab")
        assert people.has_focus
        await pilot.press(*["down"] * 10)
        await pilot.pause()
        assert people.scroll_offset.y > 0

        await pilot.press("y")
        assert await wait_for(pilot, lambda: isinstance(app.screen, BulkSummary), 30)
        summary = text_of(app, "#bulk-summary-text")
        assert "New invitation links sent to 30 of 30 charts." in summary
        assert "The mail server took all 30 emails." in summary
        assert not app.screen.query_one("#bulk-skipped").display
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChartBrowser)
        assert app.browser.query_one(ChartTable).row_count == 0  # the worklist is clear
        assert "Expired · No charts." in screen_text(app)

    # Every chart got a new link, by mail, and is Invited again.
    assert sorted(m["To"].split("<")[-1].rstrip(">") for m in smtp.mailbox.messages) == sorted(
        "mina.costa@example.com" if n == GUARDIAN_CHART else c.email or ""
        for n, c in charts.items()
    )
    for number in charts:
        chart = app.services.views.chart(number)
        assert chart.status.status is PortalStatus.INVITED
        assert chart.sent_by == "alice"
    for number in charts:  # audited chart by chart, as the desk member at the keyboard
        newest = app.services.audit.audit(chart_number=number, limit=1)[0]
        assert (newest.action, newest.actor, newest.outcome) == ("invitation resent", "alice", "ok")


async def test_the_confirmation_lists_skipped_charts_apart_with_why(
    make_app: AppFactory, expired_url: str, smtp: SmtpServer
) -> None:
    app = make_app(expired_url, smtp_port=smtp.port)
    set_chart_email(app.services, ["E-1005", "E-1017"], None)
    set_chart_email(app.services, ["E-1022"], "not-an-address")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*KEYS_TO_BULK["expired"])
        await settle(pilot)
        assert isinstance(app.screen, BulkConfirm)
        assert "27 charts (of 30)" in text_of(app, ".dialog-body")
        assert len(rows_of(app, "#bulk-send")) == 27
        assert rows_of(app, "#bulk-skip") == [
            ("E-1005  Fischer, Fay", "the portal owner has no email address"),
            ("E-1022  Garcia [x], Chloé", "the portal owner's email address is not valid"),
            ("E-1017  O'Brien, Hana", "the portal owner has no email address"),
        ]
        assert "Skipped (3)" in screen_text(app)
        await pilot.press("y")
        assert await wait_for(pilot, lambda: isinstance(app.screen, BulkSummary), 30)
        assert "sent to 27 of 30 charts" in text_of(app, "#bulk-summary-text")
        assert rows_of(app, "#bulk-skipped") == rows_of_skip_expected()
        await pilot.press("escape")
        await settle(pilot)
        assert [c.chart_number for c in app.browser.query_one(ChartTable).charts] == [
            "E-1005",
            "E-1022",
            "E-1017",
        ]
    assert len(smtp.mailbox.messages) == 27


def rows_of_skip_expected() -> list[tuple[str, str]]:
    return [
        ("E-1005  Fischer, Fay", "the portal owner has no email address"),
        ("E-1022  Garcia [x], Chloé", "the portal owner's email address is not valid"),
        ("E-1017  O'Brien, Hana", "the portal owner has no email address"),
    ]


async def test_cancel_leaves_everything_unsent(
    make_app: AppFactory, expired_url: str, smtp: SmtpServer
) -> None:
    app = make_app(expired_url, smtp_port=smtp.port)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*KEYS_TO_BULK["expired"])
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ChartBrowser)
    assert smtp.mailbox.messages == []
    assert app.services.search.count_charts(status="expired") == EXPIRED_COUNT


# ------------------------------------------------------------------------ stopping midway


async def test_escape_stops_after_the_current_chart_and_what_is_done_stays_done(
    make_app: AppFactory, expired_url: str, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "BATCH", 5)  # charts per transaction: 6 batches of 5
    app = make_app(expired_url, smtp_port=smtp.port)
    paused = PausedRun(app.services.invitations.run_bulk, at=10)
    monkeypatch.setattr(app.services.invitations, "run_bulk", paused)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*KEYS_TO_BULK["expired"])
        await settle(pilot)
        await pilot.press("y")
        assert await wait_for(pilot, paused.reached.is_set, 20)
        screen = app.screen
        assert isinstance(screen, BulkProgress)
        assert await wait_for(pilot, lambda: (10, 30) in screen.counts, 5)
        assert "Sending new invitation links: 10 of 30 charts" in screen_text(app)
        assert screen.query_one(ProgressBar).progress == 10

        # The screen stays responsive while the worker is busy: the key is handled now.
        await pilot.press("escape")
        await pilot.pause()
        assert "Stopping after the current chart…" in screen_text(app)
        assert screen.cancel.is_set()
        paused.resume.set()
        assert await wait_for(pilot, lambda: isinstance(app.screen, BulkSummary), 30)
        summary = text_of(app, "#bulk-summary-text")
        assert "New invitation links sent to 10 of 30 charts." in summary
        assert "Stopped (Esc) after 10 charts: what was done stays done." in summary
        assert "20 charts not tried; they stay on the Expired worklist." in summary
        assert "The mail server took all 10 emails." in summary
        assert app.screen.query_one(".dialog").border_title == "Resend all expired: stopped"
        await pilot.press("enter")
        await settle(pilot)
    assert paused.counts == list(range(1, 11))
    assert len(smtp.mailbox.messages) == 10
    assert app.services.search.count_charts(status="expired") == 20
    assert app.services.search.count_charts(status="invited") == 10


# ------------------------------------------------------------------------ the key and palette


async def test_the_key_follows_the_worklist_and_works_from_the_box_and_the_results(
    make_app: AppFactory, seeded_url: str
) -> None:
    """The seeded practice: one Expired (C-1001), one Locked, two with No Portal Access."""
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "^g" not in footer(app)  # All: no bulk action
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert isinstance(app.screen, ChartBrowser)  # nothing opened

        for worklist, label, action in (
            ("expired", "^g Resend all expired", BulkAction.RESEND_EXPIRED),
            ("locked", "^g Resend all locked", BulkAction.RESEND_LOCKED),
            ("no_portal_access", "^g Invite all", BulkAction.INVITE_WITHOUT_ACCESS),
        ):
            await pilot.press("escape", "slash", "ctrl+u")  # back to the box, at All
            app.browser.show_worklist("all")
            await settle(pilot)
            keys = KEYS_TO_BULK[worklist]
            assert len(keys) <= 5
            await pilot.press(*keys[:-1])
            await settle(pilot)
            assert app.browser.query_state.status == worklist
            assert label in footer(app)
            # From the search box and from the results alike.
            for focus in ("#search", "#charts"):
                app.browser.query_one(focus).focus()
                await pilot.pause()
                assert label in footer(app)
                await pilot.press(keys[-1])
                await settle(pilot)
                assert isinstance(app.screen, BulkConfirm) and app.screen.action is action
                await pilot.press("escape")
                await settle(pilot)
                assert isinstance(app.screen, ChartBrowser)

        # No Portal Access: the seeded practice's two charts would be invited.
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert isinstance(app.screen, BulkConfirm)
        assert {row[1] for row in rows_of(app, "#bulk-send")} == {
            "noah.park@example.com",
            "priya.patel@example.com",
        }
        assert "Send a portal invitation to 2 charts with No Portal Access?" in text_of(
            app, ".dialog-body"
        )
        await pilot.press("n")
        await settle(pilot)
        assert {NO_ACCESS, WITH_GUARDIAN} == {
            c.chart_number for c in app.browser.query_one(ChartTable).charts
        }


@pytest.mark.parametrize(
    ("typed", "action", "worklist"),
    [
        ("Resend all expired", BulkAction.RESEND_EXPIRED, "expired"),
        ("Resend all locked", BulkAction.RESEND_LOCKED, "locked"),
        ("Invite all without access", BulkAction.INVITE_WITHOUT_ACCESS, "no_portal_access"),
    ],
)
async def test_the_command_palette_offers_each_bulk_action_anywhere_in_the_browser(
    make_app: AppFactory, seeded_url: str, typed: str, action: BulkAction, worklist: str
) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"park")  # a search typed on the All worklist
        await settle(pilot)
        await pilot.press("ctrl+p", *typed, "enter")
        await settle(pilot)
        assert isinstance(app.screen, BulkConfirm) and app.screen.action is action
        behind = app.browser
        assert behind.query_state.status == worklist  # the whole worklist is shown behind
        assert behind.query_one("#search", Input).value == ""
        if action is BulkAction.RESEND_LOCKED:
            assert rows_of(app, "#bulk-send") == [("Müller, Keisha", "keisha.muller@example.com")]
        await pilot.press("escape")
        await settle(pilot)
        if action is BulkAction.RESEND_LOCKED:
            assert [c.chart_number for c in behind.query_one(ChartTable).charts] == [LOCKED]


async def test_nothing_to_send_says_so_and_cannot_be_confirmed(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    app.services.practice.update_practice(portal_active=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*KEYS_TO_BULK["expired"])
        await settle(pilot)
        assert isinstance(app.screen, BulkConfirm)
        assert "Nothing will be sent." in text_of(app, ".dialog-body")
        assert rows_of(app, "#bulk-skip") == [
            ("C-1001  O'Brien, Ana", "the Client Portal is not active")
        ]
        await pilot.press("y")  # dimmed: does nothing
        await settle(pilot)
        assert isinstance(app.screen, BulkConfirm)
        await pilot.press("escape")
        await settle(pilot)
    assert smtp.mailbox.messages == []
