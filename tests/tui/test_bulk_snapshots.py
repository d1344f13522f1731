"""Snapshots of the bulk action (issue 12) at 80×24: the confirmation with skipped charts, the
progress bar mid-run, and the summary. Deterministic: frozen clock, the seeded Expired worklist,
the run paused at a known count. Update with `--snapshot-update` and look at the SVGs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from frontdesk.access import bulk
from frontdesk.app import FrontDeskApp
from screens.bulk_progress import BulkProgress
from screens.bulk_summary import BulkSummary
from screens.chart_table import ChartTable
from tests.tui.bulk_store import (
    KEYS_TO_BULK,
    PausedRun,
    expired_file,
    expired_url,
    set_chart_email,
)
from tests.tui.conftest import AppFactory, freeze_cursors, settle
from tests.tui.smtp import SmtpServer

__all__ = ["expired_file", "expired_url"]  # fixtures

Snap = Callable[..., bool]
SIZE = (80, 24)


def with_skipped(make_app: AppFactory, url: str, smtp_port: int | None = None) -> FrontDeskApp:
    """The Expired worklist of 30 charts, 3 of which the action would skip."""
    app = make_app(url, smtp_port=smtp_port)
    set_chart_email(app.services, ["E-1005", "E-1017"], None)
    set_chart_email(app.services, ["E-1022"], "not-an-address")
    return app


async def to_confirmation(pilot: Pilot[object]) -> None:
    await settle(pilot)
    await pilot.press(*KEYS_TO_BULK["expired"])
    await settle(pilot)


def test_bulk_confirm_with_skipped_charts(
    snap_compare: Snap, make_app: AppFactory, expired_url: str
) -> None:
    async def run(pilot: Pilot[object]) -> None:
        await to_confirmation(pilot)
        freeze_cursors(pilot)
        await pilot.pause()

    assert snap_compare(with_skipped(make_app, expired_url), run_before=run, terminal_size=SIZE)


def test_bulk_progress(
    snap_compare: Snap,
    make_app: AppFactory,
    expired_url: str,
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk, "BATCH", 5)
    app = with_skipped(make_app, expired_url, smtp.port)
    paused = PausedRun(app.services.invitations.run_bulk, at=10, until_cancel=True)
    monkeypatch.setattr(app.services.invitations, "run_bulk", paused)

    async def run(pilot: Pilot[object]) -> None:
        await to_confirmation(pilot)
        await pilot.press("y")
        for _ in range(400):
            screen = pilot.app.screen
            if isinstance(screen, BulkProgress) and (10, 30) in screen.counts:
                break
            await pilot.pause(0.05)
        # The browser behind re-read its page when the confirmation closed, while the run
        # went on: read it again now (10 charts sent), so the picture does not race the run.
        browser = app.browser
        browser.action_refresh()
        sent = {f"E-{1000 + n}" for n in range(10)} - {"E-1005"}  # E-1005 is skipped
        for _ in range(200):
            await pilot.pause(0.05)
            shown = {chart.chart_number for chart in browser.query_one(ChartTable).charts}
            if shown and not shown & sent:
                break
        freeze_cursors(pilot)
        await pilot.pause()

    assert snap_compare(app, run_before=run, terminal_size=SIZE)


def test_bulk_summary(
    snap_compare: Snap, make_app: AppFactory, expired_url: str, smtp: SmtpServer
) -> None:
    async def run(pilot: Pilot[object]) -> None:
        await to_confirmation(pilot)
        await pilot.press("y")
        for _ in range(600):
            if isinstance(pilot.app.screen, BulkSummary):
                break
            await pilot.pause(0.05)
        await settle(pilot)
        freeze_cursors(pilot)
        await pilot.pause()

    app = with_skipped(make_app, expired_url, smtp.port)
    assert snap_compare(app, run_before=run, terminal_size=SIZE)
