"""`frontdesk signin reset CHART` (issue 11): the desk emails an Active owner a password reset
link that works once, for 24 hours, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from frontdesk.services import Services
from store.models import OUTBOX_PENDING
from tests.factories import ANA_OBRIEN, outbox_rows, register_chart, set_up_practice

from .conftest import SENDS_IT, Cli

ANA = ANA_OBRIEN.chart_number
REFUSAL = "frontdesk: error: refusing to act without confirmation: no terminal; pass --yes"


@pytest.fixture
def invited(cli: Cli, services: Services) -> Services:
    set_up_practice(services)
    services.charts.add_chart(ANA_OBRIEN)
    services.invitations.send_invitation(ANA)
    return services


def _resets(services: Services) -> list[tuple[str, str]]:
    return [(r.to_address, r.state) for r in outbox_rows(services) if r.kind == "password_reset"]


def test_reset_asks_names_the_owner_and_sends(cli: Cli, invited: Services) -> None:
    assert register_chart(invited, ANA).state == "registered"
    assert cli.fails("signin", "reset", ANA) == REFUSAL
    cancelled = cli("signin", "reset", ANA, tty=True, answer="n")
    assert cancelled.code == 1
    assert cancelled.err == (
        f"Email a password reset link to ana@example.com (Ana O'Brien, chart {ANA})? The link "
        "works once, for 24 hours; any earlier reset link stops working. The current password "
        "works until it is changed. [y/N] frontdesk: error: cancelled; nothing was changed\n"
    )
    assert _resets(invited) == []

    done = cli.ok("signin", "reset", ANA, "--yes")
    assert done.out == (
        "Password reset link sent to ana@example.com (Ana O'Brien); it works once, until "
        f"Fri Nov 27, 10:00 AM. The email is queued; {SENDS_IT}\n"
    )
    assert _resets(invited) == [("ana@example.com", OUTBOX_PENDING)]
    audit = cli("audit", "--chart", ANA, "--json").json()[0]
    assert (audit["actor"], audit["action"]) == ("alice", "password reset sent")


def test_reset_expiry_is_shown_in_the_practice_zone(cli: Cli, invited: Services) -> None:
    register_chart(invited, ANA)
    cli.ok("practice", "set", "--timezone", "America/Los_Angeles")
    assert "until Fri Nov 27, 7:00 AM." in cli.ok("signin", "reset", ANA, "--yes").out


def test_reset_needs_an_active_account(cli: Cli, invited: Services) -> None:
    assert cli.fails("signin", "reset", ANA, "--yes") == (
        f"frontdesk: error: chart {ANA} (Invited): The owner has not registered yet; resend "
        "the invitation instead"
    )
    cli.ok("invites", "revoke", ANA, "--yes")
    assert cli.fails("signin", "reset", ANA, "--yes") == (
        f"frontdesk: error: chart {ANA} (No Portal Access): There is no portal account to reset"
    )
    assert cli.fails("signin", "reset", "NOPE", "--yes") == (
        "frontdesk: error: No chart with number 'NOPE'."
    )
    assert _resets(invited) == []
    assert cli("signin", "reset").code == 2
