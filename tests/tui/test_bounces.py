"""A bounced invitation at the desk: the "Bounced" worklist appears in the chart browser and
the chart's Client Portal panel says "Not delivered: address does not exist" beside the tag.

The bounce is read by the real BounceReader (matching by the envelope sender's tag, audit,
state) from a mailbox that serves one Postfix notification; the IMAP side is tested against
Dovecot in tests/mail/bounces."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
from textual.widgets import Tabs

from frontdesk.core.config import Settings
from frontdesk.mail.bounces import BounceReader
from frontdesk.mail.imap import BounceMailbox
from frontdesk.mail.secrets import PasswordLookup
from frontdesk.services import Services
from screens.chart_table import ChartTable
from tests.factories import EXPIRING, MAIL_FROM, outbox_rows
from tests.mail.bounces.dsns import postfix_dsn
from tests.tui.conftest import AppFactory, freeze_cursors, settle
from tests.tui.screen_text import screen_text
from tests.tui.test_snapshots import Snap, steps

SIZE = (80, 24)


class OneNotification(BounceMailbox):
    """A bounce mailbox holding one notification (no network)."""

    def __init__(self, settings: Settings, raw: bytes) -> None:
        super().__init__(settings, None)
        self.raw = raw
        self.uid_validity = 7

    def open(self) -> None:
        return None

    def report_uids(self) -> list[int]:
        return [1]

    def fetch(self, uids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        yield from ((uid, self.raw) for uid in uids if uid == 1)

    def mark_seen(self, uids: Sequence[int]) -> None:
        return None


def bounce(services: Services, chart_number: str) -> None:
    """The chart's invitation email comes back: "550 5.1.1 user unknown"."""
    chart = services.views.chart(chart_number)
    [row] = [r for r in outbox_rows(services) if r.to_address == chart.owner.email]
    original = f"From: {MAIL_FROM}\r\nMessage-ID: {row.message_id}\r\n\r\n".encode()
    local, _, domain = MAIL_FROM.partition("@")
    raw = postfix_dsn(
        original,
        to=f"{local}+{row.bounce_tag}@{domain}",
        recipient=row.to_address,
        when=datetime(2026, 11, 26, 14, 0, tzinfo=UTC),
    )
    settings = services.settings
    reader = BounceReader(
        services.db,
        services.clock,
        settings,
        lambda: PasswordLookup(None, "none"),
        mailbox_factory=lambda s, _password: OneNotification(s, raw),
    )
    from dataclasses import replace

    reader.settings = replace(settings, imap_host="imap.cedar.example")
    assert reader.read().summary() == "1 matched, 0 left unmatched"


@pytest.fixture
def bounced_app(make_app: AppFactory, seeded_url: str) -> object:
    app = make_app(seeded_url)
    bounce(app.services, EXPIRING)
    return app


async def test_bounced_worklist_and_chart(bounced_app: object) -> None:
    from frontdesk.app import FrontDeskApp

    app = bounced_app
    assert isinstance(app, FrontDeskApp)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tabs = app.screen.query_one(Tabs)
        # Shown (a chart bounced), right after Expired: see test_bulk_keys_with_the_bounced_tab.
        assert [t.id for t in tabs.query("Tab")][3:6] == ["expired", "bounced", "locked"]
        await pilot.press("tab", *("right",) * 4)
        await settle(pilot)
        assert tabs.active == "bounced"
        table = app.screen.query_one(ChartTable)
        assert table.highlighted is not None and table.highlighted.chart_number == EXPIRING
        assert "Bounced · 1–1 of 1 chart" in screen_text(app)
        await pilot.press("enter", "c")
        await settle(pilot)
        delivery = app.screen.query_one("#owner-delivery")
        assert delivery.has_class("-failed")
        assert "Not delivered: address does not exist" in screen_text(app)


async def test_bulk_keys_with_the_bounced_tab(bounced_app: object) -> None:
    """The eighth tab takes nothing from issue 12's promise: each bulk worklist is still at
    most five keys from the search box (the keys the bulk flows use)."""
    from frontdesk.app import FrontDeskApp
    from tests.tui.bulk_store import KEYS_TO_BULK

    app = bounced_app
    assert isinstance(app, FrontDeskApp)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tabs = app.screen.query_one(Tabs)
        assert tabs.query("#bounced")
        for status, keys in KEYS_TO_BULK.items():
            assert len(keys) <= 5
            tabs.active = "all"
            app.screen.query_one("#search").focus()
            await settle(pilot)
            await pilot.press(*keys[:-1])
            await settle(pilot)
            assert tabs.active == status, (status, keys)


async def test_no_bounced_tab_without_a_bounce(make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.screen.query_one(Tabs).query("#bounced")
        await app.show_worklist("bounced")  # the palette's "Worklist: Bounced" still opens it
        await settle(pilot)
        assert app.screen.query_one(Tabs).active == "bounced"
        freeze_cursors(pilot)
        assert "Bounced · No charts." in screen_text(app)


def test_bounced_chart_snapshot(snap_compare: Snap, bounced_app: object) -> None:
    run = steps(f"chart:{EXPIRING}", "c")
    assert snap_compare(bounced_app, run_before=run, terminal_size=SIZE)


def test_bounced_worklist_snapshot(snap_compare: Snap, bounced_app: object) -> None:
    run = steps("tab", ("right",) * 4)  # All → Invited → Expiring soon → Expired → Bounced
    assert snap_compare(bounced_app, run_before=run, terminal_size=SIZE)
