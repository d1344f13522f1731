"""The command line only queues email (issue 11): after an action it says "queued", why
nothing has gone out yet, and what sends it — never "sent"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import SENDS_IT, SENDS_THEM, Cli, add_chart, set_up_practice


@pytest.fixture
def charts(lite: Cli) -> Cli:
    """C-1 (Ana, ana@example.com), C-2 (Leo, leo@example.com), C-3 (no email)."""
    set_up_practice(lite)
    add_chart(lite, "C-1")
    add_chart(lite, "C-2", last="Park", first="Leo", email="leo@example.com")
    lite.ok("charts", "add", "--number", "C-3", "--first", "No", "--last", "Mail", "--dob",
            "1990-01-01", "--email", "")  # fmt: skip
    return lite


def test_single_and_bulk_sends_say_queued(charts: Cli) -> None:
    one = charts.ok("invites", "send", "C-1", "--yes").out
    assert one == f"Invitation to ana@example.com queued; {SENDS_IT}\n"
    assert "sent" not in one.replace("sends", "")
    bulk = charts.ok("invites", "send", "--all-without-access", "--yes").out
    assert bulk.splitlines()[-1] == (
        f"1 invitation queued, 1 skipped. {SENDS_IT[0].upper()}{SENDS_IT[1:]}"
    )
    assert [line.split()[:2] for line in bulk.splitlines()[1:3]] == [
        ["C-2", "queued"],
        ["C-3", "skipped"],
    ]
    charts.clock.advance(timedelta(minutes=2).total_seconds())
    resent = charts.ok("invites", "resend", "C-1", "--yes").out
    assert resent == (
        "New invitation to ana@example.com queued (every earlier link no longer works); "
        f"{SENDS_IT}\n"
    )
    charts.ok("invites", "revoke", "C-2", "--yes")
    charts.clock.advance(timedelta(days=8).total_seconds())
    again = charts.ok("invites", "resend", "--all-expired", "--yes").out
    assert again.splitlines()[-1] == f"1 new invitation queued; {SENDS_IT}"
    restored = charts.ok("invites", "activate", "C-2", "--yes").out
    assert restored == f"Invitation to leo@example.com queued; {SENDS_IT}\n"


def test_several_queued_emails(lite: Cli) -> None:
    set_up_practice(lite)
    for number in range(3):
        add_chart(lite, f"C-{number}", last=f"Lee{number}", email=f"c{number}@example.com")
    out = lite.ok("invites", "send", "--all-without-access", "--yes").out
    assert out.splitlines()[-1] == f"3 invitations queued; {SENDS_THEM}"


def test_without_a_sender_address_nothing_can_go_out(
    charts: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRONTDESK_MAIL_FROM")
    why = "not sent: no sender address is set (FRONTDESK_MAIL_FROM); once it is set, "
    assert charts.ok("invites", "send", "C-1", "--yes").out == (
        f"Invitation to ana@example.com queued, {why}{SENDS_IT}\n"
    )
    bulk = charts.ok("invites", "send", "--all-without-access", "--yes").out
    assert bulk.splitlines()[-1] == f"1 invitation queued, 1 skipped. N{why[1:]}{SENDS_IT}"


def test_emails_left_waiting_mean_no_delivery_is_running(charts: Cli) -> None:
    charts.ok("invites", "send", "C-1", "--yes")
    charts.clock.advance(timedelta(minutes=20).total_seconds())
    assert charts.ok("invites", "send", "C-2", "--yes").out == (
        "Invitation to leo@example.com queued, not sent yet: emails due since Thu Nov 26, "
        f"10:00 AM still wait in the outbox, so no delivery is running; {SENDS_IT}\n"
    )
