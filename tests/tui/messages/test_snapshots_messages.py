"""Snapshots of the Portal inbox, a thread and the reply dialog at 80×24 (frozen clock:
2026-11-26 10:00 AM New York; seeded store; see tests/tui/test_snapshots.py). Update with
`--snapshot-update` and look at each SVG."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Select

from frontdesk.app import FrontDeskApp
from tests.factories import ACTIVE
from tests.tui.conftest import AppFactory, settle
from tests.tui.messages.conftest import client_writes, register_second_client
from tests.tui.test_snapshots import steps

Snap = Callable[..., bool]


def with_items(app: FrontDeskApp) -> None:
    """Four open items from two clients, and one answered (closed) thread."""
    services = app.services
    noah = register_second_client(services)
    client_writes(services, "Bill for October", audience="billing", minutes_ago=60 * 26)
    client_writes(
        services,
        "Refill before the holidays, please",
        chart_number=noah.chart_number,
        audience="clinical",
        minutes_ago=95,
    )
    opened = client_writes(services, "Reschedule Tuesday", minutes_ago=60 * 24 * 3)
    services.messages.staff_thread(opened.thread_id)  # read at the desk: no longer unread
    client_writes(services, "Parking", chart_number=noah.chart_number, minutes_ago=7)
    answered = client_writes(services, "Old question", minutes_ago=60 * 24 * 9)
    services.messages.staff_reply(answered.thread_id, body="Answered.")


def test_inbox_empty(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    assert snap_compare(make_app(seeded_url), run_before=steps("ctrl+t"))


def test_inbox_with_items(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    with_items(app)
    assert snap_compare(app, run_before=steps("ctrl+t", "down"))


def test_inbox_filtered(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    """Typed "c-1005" and picked the Front desk audience."""
    app = make_app(seeded_url)
    with_items(app)

    async def run(pilot: Pilot[object]) -> None:
        await steps("ctrl+t", tuple("c-1005"))(pilot)
        pilot.app.screen.query_one("#inbox-audience", Select).value = "front_desk"
        await pilot.pause()  # the change reaches the screen before its workers are awaited
        await settle(pilot)

    assert snap_compare(app, run_before=run)


def test_thread(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    sent = client_writes(
        app.services,
        "Invoice question",
        "Hello,\nI was charged twice for the session on Nov 12.\nCould you check?\n\nThanks,\nLiam",
        audience="billing",
        minutes_ago=80,
    )
    at = app.services.messages
    at.staff_reply(sent.thread_id, body="We are looking into it and will write back today.")
    from tests.tui.messages.conftest import client_replies

    client_replies(app.services, sent.thread_id, "Thank you! [b]Much[/b] appreciated.")
    assert snap_compare(app, run_before=steps("ctrl+t", "enter"))


def test_reply_dialog(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    client_writes(app.services, "Parking", "Where do I park?", chart_number=ACTIVE, minutes_ago=12)
    run = steps("ctrl+t", "enter", "r", tuple("Behind the building."), "enter", tuple("Alice"))
    assert snap_compare(app, run_before=run)
