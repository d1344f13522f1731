"""Snapshots of what reception sees, at 80×24 (one at 120×36, one with NO_COLOR).

Deterministic: frozen clock (2026-11-26 10:00 AM New York), fixed actor, seeded store, cursors
that do not blink. Update with `pytest tests/tui --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.factories import (
    ACTIVE,
    EXPIRED,
    EXPIRING,
    INVITED,
    LOCKED,
    NO_ACCESS,
    WITH_GUARDIAN,
    add_numbered_charts,
    set_up_practice,
)
from tests.tui.conftest import AppFactory, freeze_cursors, open_chart, settle
from tests.tui.smtp import SmtpServer

Snap = Callable[..., bool]
Steps = Callable[[Pilot[object]], Awaitable[None]]


def steps(*actions: str | tuple[str, ...]) -> Steps:
    """A run_before: open a chart ("chart:C-1001"), then press keys, settling after each group."""

    async def run(pilot: Pilot[object]) -> None:
        await settle(pilot)
        for action in actions:
            if isinstance(action, str) and action.startswith("chart:"):
                await open_chart(pilot, action.removeprefix("chart:"), typed=False)
            else:
                keys = (action,) if isinstance(action, str) else action
                await pilot.press(*keys)
                await settle(pilot)
        freeze_cursors(pilot)
        await pilot.pause()

    return run


# ------------------------------------------------------------------------------ chart browser


def test_browser_empty_store(snap_compare: Snap, make_app: AppFactory, sqlite_url: str) -> None:
    assert snap_compare(make_app(sqlite_url), run_before=steps())


def test_browser_populated(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    assert snap_compare(make_app(seeded_url), run_before=steps("down", "down"))


@pytest.mark.parametrize(
    "presses",
    [1, 2, 3, 4, 5, 6],
    ids=["invited", "expiring_soon", "expired", "locked", "no_portal_access", "active"],
)
def test_browser_status_filter(
    snap_compare: Snap, make_app: AppFactory, seeded_url: str, presses: int
) -> None:
    """Tab to the worklist filter, → to pick it."""
    run = steps("tab", ("right",) * presses)
    assert snap_compare(make_app(seeded_url), run_before=run)


def test_browser_long_page_scrolled(
    snap_compare: Snap, make_app: AppFactory, sqlite_url: str
) -> None:
    """A page longer than the view, the cursor moved below it: the window follows the
    cursor and the table draws its scroll bar."""
    app = make_app(sqlite_url)
    set_up_practice(app.services)
    add_numbered_charts(app.services, 30)
    assert snap_compare(app, run_before=steps("tab", "tab", ("down",) * 17))


def test_browser_search_without_match(
    snap_compare: Snap, make_app: AppFactory, seeded_url: str
) -> None:
    assert snap_compare(make_app(seeded_url), run_before=steps(tuple("Smith [x")))


# ------------------------------------------------------------------------------ chart screen


@pytest.mark.parametrize(
    "chart_number",
    [NO_ACCESS, INVITED, EXPIRING, EXPIRED, LOCKED, ACTIVE],
    ids=[
        "no_portal_access",
        "invited_mail_refused",
        "expiring_soon",
        "expired",
        "locked",
        "active",
    ],
)
def test_chart_communications(
    snap_compare: Snap, make_app: AppFactory, seeded_url: str, chart_number: str
) -> None:
    run = steps(f"chart:{chart_number}", "c")
    assert snap_compare(make_app(seeded_url), run_before=run)


def test_chart_overview_with_guardian(
    snap_compare: Snap, make_app: AppFactory, seeded_url: str
) -> None:
    assert snap_compare(make_app(seeded_url), run_before=steps(f"chart:{WITH_GUARDIAN}"))


def test_chart_portal_collapsed(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    run = steps(f"chart:{EXPIRED}", "c", "p")
    assert snap_compare(make_app(seeded_url), run_before=run)


def test_chart_large_terminal(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    run = steps(f"chart:{EXPIRED}", "c")
    assert snap_compare(make_app(seeded_url), run_before=run, terminal_size=(120, 36))


def test_browser_no_color(
    snap_compare: Snap,
    make_app: AppFactory,
    seeded_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(make_app(seeded_url), run_before=steps("down"))


def test_chart_no_color(
    snap_compare: Snap,
    make_app: AppFactory,
    seeded_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    run = steps(f"chart:{EXPIRED}", "c")
    assert snap_compare(make_app(seeded_url), run_before=run)


# ------------------------------------------------------------------------------ ⋮ menu


def test_menu_expired(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    run = steps(f"chart:{EXPIRED}", "full_stop")
    assert snap_compare(make_app(seeded_url), run_before=run)


def test_menu_no_access_shows_reasons(
    snap_compare: Snap, make_app: AppFactory, seeded_url: str
) -> None:
    run = steps(f"chart:{NO_ACCESS}", "full_stop")
    assert snap_compare(make_app(seeded_url), run_before=run)


# ------------------------------------------------------------------------------ dialogs


def test_resend_dialog(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    run = steps(f"chart:{EXPIRED}", "full_stop", "r")
    assert snap_compare(make_app(seeded_url), run_before=run)


def test_revoke_dialog(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    run = steps(f"chart:{ACTIVE}", "full_stop", "v")
    assert snap_compare(make_app(seeded_url), run_before=run)


def test_activate_dialog(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    run = steps(f"chart:{NO_ACCESS}", "full_stop", "a")
    assert snap_compare(make_app(seeded_url), run_before=run)


def test_change_owner_dialog(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    run = steps(f"chart:{WITH_GUARDIAN}", "full_stop", "c")
    assert snap_compare(make_app(seeded_url), run_before=run)


def test_change_owner_field_error(
    snap_compare: Snap, make_app: AppFactory, seeded_url: str
) -> None:
    """A new contact with an invalid email: the error shows at the field."""

    async def run(pilot: Pilot[object]) -> None:
        await steps(f"chart:{NO_ACCESS}", "full_stop", "c", "enter")(pilot)
        form = pilot.app.screen
        form.query_one("#contact-name", Input).value = "Grace Park"
        form.query_one("#contact-relationship", Input).value = "Guardian"
        form.query_one("#contact-email", Input).value = "grace.park@"
        form.query_one("#contact-email", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        freeze_cursors(pilot)

    assert snap_compare(make_app(seeded_url), run_before=run)


def test_change_owner_confirm(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    run = steps(f"chart:{WITH_GUARDIAN}", "full_stop", "c", "enter")
    assert snap_compare(make_app(seeded_url), run_before=run)


def test_after_resend(
    snap_compare: Snap, make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    """Confirmed: the row shows the new invitation and a toast says the email went out."""
    run = steps(f"chart:{EXPIRED}", "full_stop", "r", "y")
    assert snap_compare(make_app(seeded_url, smtp_port=smtp.port), run_before=run)


# ------------------------------------------------------------------------------ issue 11


def test_edit_chart_field_error(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    """Edit chart with an impossible date of birth: the error shows at the field."""

    async def run(pilot: Pilot[object]) -> None:
        await steps(f"chart:{EXPIRED}", "e")(pilot)
        form = pilot.app.screen
        form.query_one("#field-date_of_birth", Input).value = "1985-02-30"
        form.query_one("#field-date_of_birth", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        freeze_cursors(pilot)

    assert snap_compare(make_app(seeded_url), run_before=run)


def test_edit_chart_confirm_offers_a_new_link(
    snap_compare: Snap, make_app: AppFactory, seeded_url: str
) -> None:
    """A new email under a live link: the confirmation says the link ends and offers a new
    one to the whole new address in the same step."""

    async def run(pilot: Pilot[object]) -> None:
        await steps(f"chart:{EXPIRING}", "e")(pilot)
        pilot.app.screen.query_one("#field-email", Input).value = "chloe.l@example.com"
        await pilot.press("ctrl+s")
        await settle(pilot)
        freeze_cursors(pilot)

    assert snap_compare(make_app(seeded_url), run_before=run)


def test_contact_list(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    """The Related contacts on the Overview, the list focused: the Chart Owner marked, its
    Remove dimmed and the reason said under the list."""
    from frontdesk.charts.records import ContactInput

    app = make_app(seeded_url)
    edits = app.services.chart_edits
    maria = edits.contacts(WITH_GUARDIAN)[0]
    edits.add_contact(
        WITH_GUARDIAN,
        ContactInput("Dev Patel", "Father", "dev.patel@example.com", "(555) 010-7007"),
    )
    app.services.invitations.change_owner(WITH_GUARDIAN, contact_id=maria.id, invite=False)
    assert snap_compare(app, run_before=steps(f"chart:{WITH_GUARDIAN}", "tab"))


def test_reset_confirm(snap_compare: Snap, make_app: AppFactory, seeded_url: str) -> None:
    run = steps(f"chart:{ACTIVE}", "full_stop", "s")
    assert snap_compare(make_app(seeded_url), run_before=run)
