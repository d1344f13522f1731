"""Snapshots of forms at the desk at 80×24 (frozen clock: 2026-11-26 10:00 AM New York; seeded
store; see tests/tui/test_snapshots.py): New chart with a field error, the Assign dialog, the
chart's Forms list, a submitted PHQ-9 with its score and the urgent item in the inbox. Update
with `--snapshot-update` and look at each SVG."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from frontdesk.app import FrontDeskApp
from tests.factories import ACTIVE
from tests.tui.conftest import AppFactory, freeze_cursors, settle
from tests.tui.tasks.conftest import (
    PHQ9_MILD,
    PHQ9_MODERATE_FLAGGED,
    assign_form,
    client_submits,
)
from tests.tui.test_snapshots import steps

Snap = Callable[..., bool]


def with_forms(app: FrontDeskApp) -> None:
    """C-1005 (Active): a PHQ-9 sent with item 9 flagged, a GAD-7 and the intake waiting."""
    client_submits(app.services, "phq-9", PHQ9_MODERATE_FLAGGED, minutes_ago=25)
    assign_form(app.services, "gad-7", minutes_ago=30)
    assign_form(app.services, "intake", minutes_ago=10)


async def type_text(pilot: Pilot[object], text: str) -> None:
    await pilot.press(*text)


def test_new_chart_field_error(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    """Everything typed, a date of birth in the future: the error at the field."""

    async def run(pilot: Pilot[object]) -> None:
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        for text in ("C-2001", "Maya", "Okafor", "", "2031-02-30", "maya@example.com"):
            if text:
                await type_text(pilot, text)
            await pilot.press("tab")
        await pilot.press("ctrl+s")
        await settle(pilot)
        freeze_cursors(pilot)
        await pilot.pause()

    assert snap_compare(make_app(seeded_url), run_before=run)


def test_new_chart_guardian_owner(
    snap_compare: Snap, make_app: AppFactory, seeded_url: str
) -> None:
    """Liam's address typed for his sister: the warning suggests a guardian, who is being
    added as the Chart Owner (the form scrolled to the owner's fields, at 80×24)."""

    async def run(pilot: Pilot[object]) -> None:
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        for text in ("C-2003", "Mia", "Smith", "", "2015-04-01", "liam.smith@example.com"):
            if text:
                await type_text(pilot, text)
            await pilot.press("tab")
        await settle(pilot)
        await pilot.press("tab", "down", "enter")  # the Chart Owner: a related contact
        await settle(pilot)
        await pilot.press("tab")
        await type_text(pilot, "Rosa Smith")
        await pilot.press("tab")
        await type_text(pilot, "Mother")
        await settle(pilot)
        freeze_cursors(pilot)
        await pilot.pause()

    assert snap_compare(make_app(seeded_url), run_before=run)


def test_assign_dialog(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    assert snap_compare(make_app(seeded_url), run_before=steps(f"chart:{ACTIVE}", "f"))


def test_chart_forms(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    with_forms(app)
    assert snap_compare(app, run_before=steps(f"chart:{ACTIVE}", "c", "p"))


def test_submitted_phq9(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    """A PHQ-9 sent 20 minutes ago, opened from the chart's Forms list: 9/27 Mild."""
    app = make_app(seeded_url)
    client_submits(app.services, "phq-9", PHQ9_MILD)
    assert snap_compare(app, run_before=steps(f"chart:{ACTIVE}", "c", "p", ("tab",) * 4, "enter"))


def test_urgent_inbox_item(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    """The flagged PHQ-9 on top of the inbox, marked URGENT, above an older form."""
    app = make_app(seeded_url)
    client_submits(app.services, "gad-7", {f"gad7_{n}": "1" for n in range(1, 8)}, minutes_ago=90)
    client_submits(app.services, "phq-9", PHQ9_MODERATE_FLAGGED, minutes_ago=5)
    assert snap_compare(app, run_before=steps("ctrl+t"))


def test_urgent_task_view(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    """Opened from the inbox: URGENT until acknowledged (a)."""
    app = make_app(seeded_url)
    client_submits(app.services, "phq-9", PHQ9_MODERATE_FLAGGED, minutes_ago=5)
    assert snap_compare(app, run_before=steps("ctrl+t", "enter"))
