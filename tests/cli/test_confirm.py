"""Actions ask first, name what is affected, and refuse without a terminal unless --yes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import Cli, add_chart, set_up_practice

REFUSAL = "frontdesk: error: refusing to act without confirmation: no terminal; pass --yes"


@pytest.fixture
def invited(lite: Cli) -> Cli:
    """C-1 (O'Brien, Ana) invited on Thu Nov 26; C-2 never invited; C-3 invited and expired."""
    set_up_practice(lite)
    add_chart(lite, "C-1")
    add_chart(lite, "C-2", last="Park", email="leo@example.com", first="Leo")
    add_chart(lite, "C-3", last="Lee", email="kim@example.com", first="Kim")
    lite.ok("invites", "send", "C-3", "--yes")
    lite.clock.advance(timedelta(days=7, seconds=1).total_seconds())
    lite.ok("invites", "send", "C-1", "--yes")
    lite.clock.advance(timedelta(days=1).total_seconds())
    return lite


def _state(cli: Cli) -> list[tuple[str, str, str | None]]:
    return [
        (r["chart_number"], r["status"], r["sent_at"])
        for r in cli("charts", "list", "--json").json()
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["invites", "send", "C-2"],
        ["invites", "send", "--all-without-access"],
        ["invites", "resend", "C-1"],
        ["invites", "resend", "--all-expired"],
        ["invites", "revoke", "C-1"],
        ["invites", "activate", "C-2"],
        ["owner", "set", "C-1", "--name", "Mo Lee", "--relationship", "Mother", "--email",
         "mo@example.com"],
    ],
)  # fmt: skip
def test_actions_refuse_without_a_terminal(invited: Cli, argv: list[str]) -> None:
    before = _state(invited)
    audit = invited("audit", "--json").json()
    assert invited.fails(*argv) == REFUSAL
    assert _state(invited) == before
    assert invited("audit", "--json").json() == audit


@pytest.mark.parametrize("answer", ["n", "", "no", "maybe"])
def test_anything_but_yes_cancels(invited: Cli, answer: str) -> None:
    before = _state(invited)
    result = invited("invites", "resend", "C-1", tty=True, answer=answer)
    assert result.code == 1
    assert result.err.endswith("frontdesk: error: cancelled; nothing was changed\n")
    assert _state(invited) == before


def test_resend_prompt_names_owner_chart_and_the_old_link(invited: Cli) -> None:
    result = invited("invites", "resend", "C-1", tty=True, answer="y")
    assert result.code == 0, result.err
    assert result.err == (
        "Resend the invitation to ana@example.com (O'Brien, Ana, chart C-1)? The link sent on "
        "Dec 3 stops working. The new link expires Dec 11. [y/N] "
    )
    assert "New invitation to ana@example.com queued" in result.out
    assert dict((n, s) for n, s, _ in _state(invited))["C-1"] == "invited"


def test_prompts_of_the_other_actions(invited: Cli) -> None:
    send = invited("invites", "send", "C-2", tty=True, answer="yes")
    assert send.code == 0
    assert send.err == (
        "Send a portal invitation to leo@example.com (Park, Leo, chart C-2)? The link expires "
        "Dec 11. [y/N] "
    )
    revoke = invited("invites", "revoke", "C-1", tty=True, answer="Y")
    assert revoke.code == 0
    assert revoke.err == (
        "Revoke portal access for O'Brien, Ana (chart C-1)? The invitation link sent on Dec 3 "
        "stops working. [y/N] "
    )
    owner = invited(
        "owner", "set", "C-1", "--name", "Mo O'Brien", "--relationship", "Mother", "--email",
        "mo@example.com", "--invite", tty=True, answer="y",
    )  # fmt: skip
    assert owner.code == 0, owner.err
    assert owner.err == (
        "Make Mo O'Brien (Mother, mo@example.com) the portal owner of O'Brien, Ana (chart C-1)? "
        "The current owner's invitation is revoked and their portal sessions end. An invitation "
        "is sent to the new owner. [y/N] "
    )
    bulk = invited("invites", "resend", "--all-expired", tty=True, answer="y")
    assert bulk.code == 0
    assert bulk.err.startswith(
        "Resend the invitations of the 1 chart(s) with an expired invitation? Their earlier "
        "links stop working; the new links expire Dec 11."
    )
    assert "C-3" in bulk.out and "1 new invitation queued;" in bulk.out


def test_bulk_with_nothing_to_do_does_not_ask(lite: Cli) -> None:
    set_up_practice(lite)
    result = lite.ok("invites", "send", "--all-without-access")
    assert "nothing to send" in result.out
